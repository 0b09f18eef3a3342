"""The write path beside its ceilings, in one run: ``python -m bench.write_path``.

For each connection count, the single-event POST of the bare FastAPI + asyncpg endpoint
(``bench/bare_app.py`` ``/event``: validate, insert, answer) and of the service (key
look-up, insert, classify, fold, rollups); then batch ingest of the same events in sync
order and shuffled, bare and ours. Each measurement on a fresh database; the load average is
recorded before and after each (the machine may be shared: repeat and compare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import data, pg, servers
from bench.ingest import CpuMeter, app_env, count_rows, create_key, loadgen, write_bodies


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


# A database holding ``--history`` dossiers, copied for every measurement (None: empty).
TEMPLATE: str | None = None


async def _bare(path: str, bodies: Path, concurrency: int) -> dict[str, Any]:
    async with pg.database("bare", template=TEMPLATE) as name:
        env = {"BENCH_DSN": pg.dsn_of(name)}
        with servers.uvicorn("bench.bare_app:app", env) as srv:
            async with CpuMeter(srv, name) as cpu:
                result = await loadgen(srv.port, path, "-", bodies, concurrency)
            return {**result, "cpu_server": cpu.server, "cpu_db": cpu.db}


async def _ours(path: str, bodies: Path, concurrency: int, warm: Path | None) -> dict[str, Any]:
    async with pg.database("ingest", template=TEMPLATE) as name:
        with servers.uvicorn("app.main:app", app_env(name)) as srv:
            token = create_key(srv.base, ["ingest"])
            if warm is not None:  # the same number of warm-up requests as the bare run gets
                await loadgen(srv.port, path, token, warm, concurrency)
            async with CpuMeter(srv, name) as cpu:
                result = await loadgen(srv.port, path, token, bodies, concurrency)
            result["dossiers"] = await count_rows(name, "dossiers")
            return {**result, "cpu_server": cpu.server, "cpu_db": cpu.db}


def _row(name: str, res: dict[str, Any], unit_count: int, load: str) -> dict[str, Any]:
    return {
        "name": name,
        "rate": unit_count / res["seconds"],
        "p50_ms": res["p50_ms"],
        "p99_ms": res["p99_ms"],
        "statuses": res["statuses"],
        # CPU time of the server and of its database backends per event or request: the
        # figure that depends least on what else the machine runs
        "cpu_server_us": res["cpu_server"] / unit_count * 1e6,
        "cpu_db_us": res["cpu_db"] / unit_count * 1e6,
        "load": f"{load} → {_load()}",
    }


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    if not args.history:
        return await _measure(args)
    global TEMPLATE
    async with pg.database("history") as name:
        await pg.load_reference(pg.dsn_of(name))
        seconds = await pg.bulk_load(pg.dsn_of(name), 0, args.history, ZoneInfo("Asia/Ho_Chi_Minh"))
        print(json.dumps({"history": args.history, "load_seconds": round(seconds, 1)}), flush=True)
        TEMPLATE = name
        try:
            return await _measure(args)
        finally:
            TEMPLATE = None


async def _floor(work: Path, concurrency: int) -> list[dict[str, Any]]:
    """What each app costs for a request it answers without work: the bare app's 404 and our
    405 (``POST /healthz``), through every middleware, the router and the error handler."""
    bodies = write_bodies(work / "floor.jsonl", data.in_sync_order(40_000_000, 2000)[:4000])
    rows = []
    for label, run_one in (
        ("bare 404", _bare("/nothing", bodies, concurrency)),
        ("ours 405", _ours("/healthz", bodies, concurrency, None)),
    ):
        load = _load()
        res = await run_one
        rows.append(_row(f"no-op POST c={concurrency} {label}", res, 4000, load))
        print(json.dumps(rows[-1]), flush=True)
    return rows


async def _measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if args.floor:
        with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
            rows += await _floor(Path(tmp), 32)
    with tempfile.TemporaryDirectory(prefix="bench-write-") as tmp:
        work = Path(tmp)
        first = 30_000_000
        for concurrency in args.concurrency:
            singles = data.in_sync_order(first, args.single_dossiers)[: args.requests]
            warm = data.in_sync_order(first + 5_000_000, 200)[:500]
            first += args.single_dossiers
            bodies = write_bodies(work / f"singles-{concurrency}.jsonl", singles)
            warm_file = write_bodies(work / f"warm-{concurrency}.jsonl", warm)
            for label, run_one in (
                ("bare", _bare("/event", bodies, concurrency)),
                ("ours", _ours("/api/v1/events", bodies, concurrency, warm_file)),
            ):
                load = _load()
                res = await run_one
                rows.append(_row(f"single POST c={concurrency} {label}", res, len(singles), load))
                print(json.dumps(rows[-1]), flush=True)
        events = data.in_sync_order(10_000_000, args.batch_dossiers)
        shuffled = events[:]
        random.Random(1).shuffle(shuffled)
        for order, evs in (("sync order", events), ("shuffled", shuffled)):
            size = args.batch_size
            batches = [{"events": evs[i : i + size]} for i in range(0, len(evs), size)]
            path = write_bodies(work / f"batches-{order[:4]}.jsonl", batches)
            for label, run_one in (
                ("bare", _bare("/batch", path, args.batch_concurrency)),
                ("ours", _ours("/api/v1/events/batch", path, args.batch_concurrency, None)),
            ):
                load = _load()
                res = await run_one
                rows.append(_row(f"batch {order} {label}", res, len(evs), load))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.write_path", description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 32, 64])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--single-dossiers", type=int, default=3000)
    parser.add_argument("--batch-dossiers", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-concurrency", type=int, default=4)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="first, a request each app answers without work (the framework's own cost)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="dossiers of history every database starts with (loaded once by COPY, then "
        "copied): a province in service, whose tables are read by index",
    )
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    print(
        "| measurement | rate | p50 ms | p99 ms | CPU µs per unit: server + db | statuses "
        "| load 1m/5m before → after |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cpu = f"{r['cpu_server_us']:,.0f} + {r['cpu_db_us']:,.0f}"
        print(
            f"| {r['name']} | {r['rate']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{cpu} | {r['statuses']} | {r['load']} |"
        )


if __name__ == "__main__":
    main()
