"""The large race run: uvicorn workers on PostgreSQL, many clients, overlapping shuffled batches.

    .venv/bin/python -m reliability.race_run --workers 2 --clients 32 --dossiers 2000

Creates its own database on the shared server (dropped at the end), starts uvicorn with N
workers, and lets C clients push batches cut from the same dossiers' events in random order,
with overlaps between batches and whole batches resent. Then compares the database with what
was sent: stored = distinct events, none lost or counted twice, every dossier row equal to the
sequential fold of its events. Prints the figures as JSON; exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from reliability.live import SHARED_PG, Uvicorn, create_database, create_key, drop_database
from reliability.workload import Event, check_store, make_batches, make_events

SOURCE = "race"
MAX_ATTEMPTS = 20  # a batch still failing after this many sends is given up (and reported)


async def push_all(
    base_url: str, key: str, batches: list[list[Event]], clients: int
) -> dict[str, Any]:
    queue: asyncio.Queue[list[Event]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    statuses: Counter[int] = Counter()
    accepted = 0
    resends = 0
    given_up: list[list[Event]] = []
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def client() -> None:
            nonlocal accepted, resends
            while not queue.empty():
                batch = queue.get_nowait()
                for _attempt in range(MAX_ATTEMPTS):
                    try:
                        r = await http.post(
                            "/api/v1/events/batch", json={"events": batch}, headers=headers
                        )
                        statuses[r.status_code] += 1
                        if r.status_code == 200:
                            accepted += r.json()["accepted"]
                            break
                    except httpx.TransportError:
                        statuses[0] += 1
                    resends += 1  # a failed batch is resent as it is
                    await asyncio.sleep(0.1)
                else:
                    given_up.append(batch)

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "requests_sent": sum(statuses.values()),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "responses_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "resends_after_failure": resends,
        "accepted_reported": accepted,
        "batches_given_up": len(given_up),
        "seconds": round(elapsed, 2),
    }


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    events = make_events(rng, args.dossiers, args.per_dossier, tag="R")
    batches = make_batches(rng, events, min_size=args.min_batch, max_size=args.max_batch)
    name, url = await create_database(SHARED_PG, "onestop_race")
    server = Uvicorn(url, workers=args.workers, db_pool_size=4, db_max_overflow=4)
    try:
        server.start()
        await server.wait_ready()
        key = await create_key(server.base_url, SOURCE, ["ingest"])
        load = await push_all(server.base_url, key, batches, args.clients)
        engine = create_async_engine(url)
        report = await check_store(engine, events, source=SOURCE, zone=ZoneInfo("Asia/Ho_Chi_Minh"))
        await engine.dispose()
    finally:
        server.stop()
        await drop_database(SHARED_PG, name)
    sent_items = sum(len(b) for b in batches)
    figures = {
        "workers": args.workers,
        "clients": args.clients,
        "dossiers": args.dossiers,
        "batches": len(batches),
        "event_items_sent": sent_items,
        **load,
        "distinct_events_sent": report.distinct_sent,
        "events_stored": report.stored,
        "events_lost": report.lost,
        "counted_twice": report.counted_twice,
        "dossiers_checked": report.dossiers,
        "dossiers_differing_from_sequential_fold": len(report.dossiers_mismatched),
        "events_per_second": round(sent_items / load["seconds"]),
    }
    print(json.dumps(figures, indent=2))
    ok = report.ok and load["responses_5xx"] == 0 and load["accepted_reported"] == len(events)
    return 0 if ok else 1


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--dossiers", type=int, default=2000)
    p.add_argument("--per-dossier", type=int, default=8)
    p.add_argument("--min-batch", type=int, default=5)
    p.add_argument("--max-batch", type=int, default=60)
    p.add_argument("--seed", type=int, default=20261129)
    return p.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
