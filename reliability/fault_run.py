"""The fault run: PostgreSQL killed, stopped and its connections cut while clients push batches.

    .venv/bin/python -m reliability.fault_run

Starts a PRIVATE PostgreSQL 15 cluster under /tmp on a free port (never the shared server),
uvicorn with two workers on it, and C clients that each push their own batches (every event
in exactly one batch) and resend a batch until it is answered 200. Meanwhile:

1. ``pg_ctl stop -m immediate`` (every PostgreSQL process quits at once, like a crash), down
   for ``--down`` seconds, then started again;
2. ``pg_ctl stop -m fast`` (a clean shutdown that ends open sessions), down, started again;
3. every connection of the service terminated by ``pg_terminate_backend`` (server stays up);
4. every PostgreSQL process frozen with SIGSTOP for ``--down`` seconds, then SIGCONT.

A probe reads ``/readyz`` throughout. Figures: requests sent, answers by status (500 must be
0; while down only 503 with Retry-After), slowest failed answer, events lost, counted twice,
batches half-applied (a resend answered with both ``accepted`` and ``duplicate`` items: part
of the batch was stored by an attempt that failed), and per fault the recovery time: from
PostgreSQL accepting connections again to the first batch stored and to ``/readyz`` 200.
Prints JSON; exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from reliability.live import PrivateCluster, Uvicorn, create_database, create_key
from reliability.workload import Event, check_store, make_batches, make_events

SOURCE = "fault"


@dataclass
class Load:
    statuses: Counter[int] = field(default_factory=Counter)
    failed_without_retry_after: int = 0
    slowest_failure: float = 0.0
    slowest_answer: float = 0.0
    half_applied: int = 0
    stored_at: list[float] = field(default_factory=list)  # monotonic times of 200 answers
    ready: list[tuple[float, int]] = field(default_factory=list)
    done: bool = False


async def client(http: httpx.AsyncClient, key: str, batches: list[list[Event]], load: Load) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    for batch in batches:
        failed_before = False
        while True:
            started = time.monotonic()
            try:
                r = await http.post("/api/v1/events/batch", json={"events": batch}, headers=headers)
            except httpx.TransportError:
                load.statuses[0] += 1
                failed_before = True
                await asyncio.sleep(0.2)
                continue
            load.statuses[r.status_code] += 1
            load.slowest_answer = max(load.slowest_answer, time.monotonic() - started)
            if r.status_code == 200:
                body = r.json()
                load.stored_at.append(time.monotonic())
                mixed = body["accepted"] and body["duplicates"]
                if failed_before and mixed:
                    load.half_applied += 1
                break
            failed_before = True
            load.slowest_failure = max(load.slowest_failure, time.monotonic() - started)
            if r.status_code == 503 and not r.headers.get("retry-after"):
                load.failed_without_retry_after += 1
            await asyncio.sleep(0.2)  # Retry-After says 5 s; a hurried client tries sooner


async def probe(http: httpx.AsyncClient, load: Load) -> None:
    while not load.done:
        try:
            status = (await http.get("/readyz")).status_code
        except httpx.TransportError:
            status = 0
        load.ready.append((time.monotonic(), status))
        await asyncio.sleep(0.1)


def first_after(times: list[float], moment: float) -> float | None:
    later = [t for t in times if t >= moment]
    return round(min(later) - moment, 2) if later else None


async def chaos(cluster: PrivateCluster, db_dsn: str, load: Load, down: float) -> list[Any]:
    faults: list[dict[str, Any]] = []
    for mode in ("immediate", "fast"):
        await asyncio.sleep(2)
        stopped = time.monotonic()
        await asyncio.to_thread(cluster.stop, mode)
        await asyncio.sleep(down)
        await asyncio.to_thread(cluster.start)  # returns once it accepts connections
        back = time.monotonic()
        faults.append({"fault": f"pg_ctl stop -m {mode}", "stopped_at": stopped, "back_at": back})
    await asyncio.sleep(2)
    conn = await asyncpg.connect(db_dsn)
    try:
        cut = time.monotonic()
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    faults.append({"fault": f"pg_terminate_backend x{killed}", "stopped_at": cut, "back_at": cut})
    await asyncio.sleep(2)
    frozen = time.monotonic()
    cluster.freeze(True)
    try:
        await asyncio.sleep(down)
    finally:
        cluster.freeze(False)
    thawed = time.monotonic()
    faults.append(
        {"fault": "SIGSTOP of every PostgreSQL process", "stopped_at": frozen, "back_at": thawed}
    )
    return faults


def recovery(faults: list[dict[str, Any]], load: Load) -> list[dict[str, Any]]:
    ready_times = [t for t, s in load.ready if s == 200]
    out = []
    for fault in faults:
        down_statuses = Counter(
            s for t, s in load.ready if fault["stopped_at"] + 0.5 <= t < fault["back_at"]
        )
        out.append(
            {
                "fault": fault["fault"],
                "down_seconds": round(fault["back_at"] - fault["stopped_at"], 2),
                "readyz_while_down": {str(k): v for k, v in down_statuses.items()},
                "seconds_to_first_batch_stored": first_after(load.stored_at, fault["back_at"]),
                "seconds_to_readyz_200": first_after(ready_times, fault["back_at"]),
            }
        )
    return out


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    events = make_events(rng, args.dossiers, args.per_dossier, tag="F")
    batches = make_batches(rng, events, min_size=5, max_size=30, overlap=0, resend=0)
    cluster = PrivateCluster()
    cluster.init()
    cluster.start()
    server: Uvicorn | None = None
    load = Load()
    try:
        name, url = await create_database(cluster.admin_dsn, "onestop_fault")
        db_dsn = cluster.admin_dsn.rsplit("/", 1)[0] + f"/{name}"
        server = Uvicorn(url, workers=2, db_timeout_seconds=args.db_timeout)
        server.start()
        await server.wait_ready()
        key = await create_key(server.base_url, SOURCE, ["ingest"])
        shares = [batches[i :: args.clients] for i in range(args.clients)]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            started = time.monotonic()
            probing = asyncio.create_task(probe(http, load))
            faulting = asyncio.create_task(chaos(cluster, db_dsn, load, args.down))
            pushing = asyncio.gather(*(client(http, key, share, load) for share in shares))
            faults = await faulting
            await pushing
            elapsed = time.monotonic() - started
            load.done = True
            await probing
        engine = create_async_engine(url)
        report = await check_store(engine, events, source=SOURCE, zone=ZoneInfo("Asia/Ho_Chi_Minh"))
        await engine.dispose()
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()
    figures = {
        "clients": args.clients,
        "batches": len(batches),
        "events": len(events),
        "seconds": round(elapsed, 1),
        "requests_sent": sum(load.statuses.values()),
        "answers": {str(k): v for k, v in sorted(load.statuses.items())},
        "responses_500": load.statuses[500],
        "responses_5xx_other_than_503": sum(
            v for k, v in load.statuses.items() if k >= 500 and k != 503
        ),
        "connection_errors": load.statuses[0],
        "503_without_retry_after": load.failed_without_retry_after,
        "slowest_failed_answer_seconds": round(load.slowest_failure, 2),
        "slowest_answer_seconds": round(load.slowest_answer, 2),
        "events_stored": report.stored,
        "events_lost": report.lost,
        "counted_twice": report.counted_twice,
        "batches_half_applied": load.half_applied,
        "dossiers_differing_from_sequential_fold": len(report.dossiers_mismatched),
        "faults": recovery(faults, load),
    }
    print(json.dumps(figures, indent=2))
    ok = (
        report.ok
        and figures["responses_5xx_other_than_503"] == 0
        and load.failed_without_retry_after == 0
        and load.half_applied == 0
        and all(f["seconds_to_first_batch_stored"] is not None for f in figures["faults"])
    )
    return 0 if ok else 1


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--dossiers", type=int, default=1500)
    p.add_argument("--per-dossier", type=int, default=8)
    p.add_argument("--down", type=float, default=4.0, help="seconds PostgreSQL stays down")
    p.add_argument("--db-timeout", type=float, default=2.0, help="ONESTOP_DB_TIMEOUT_SECONDS")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
