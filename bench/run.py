"""The benchmark's command line and its markdown report."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ingest


def _log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def conditions() -> str:
    load = os.getloadavg()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load[0]:.2f}/{load[1]:.2f}/"
        f"{load[2]:.2f}"
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def markdown(results: dict[str, Any]) -> str:
    out = [f"Run: {results['started']} → load at end: {results['ended']}", ""]
    out.append(f"Command: `{results['command']}`")
    out.append("")
    out.append(
        "| measurement | rate | p50 ms | p99 ms | CPU µs per event/request (app+db) "
        "| server peak RSS MB | checks |"
    )
    out.append("|---|---|---|---|---|---|---|")
    for row in results["write"]:
        out.append(
            f"| {row['name']} | {_fmt(row['rate'])} {row['unit']} | {_fmt(row.get('p50_ms'))} | "
            f"{_fmt(row.get('p99_ms'))} | "
            f"{_fmt(row.get('cpu_us'))} ({row.get('cpu_split', '–')}) | "
            f"{_fmt(row.get('rss_mb'))} | "
            f"{'ok' if row.get('ok', True) else 'FAILED'} |"
        )
    for section in results.get("sections", []):
        out.append("")
        out.append(section)
    return "\n".join(out) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "started": conditions(),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        results["write"] = (
            []
            if args.skip_ingest
            else await ingest.run(
                workdir,
                ingest_dossiers=args.ingest_dossiers,
                single_requests=args.single_requests,
                batch_size=args.batch_size,
                batch_concurrency=args.batch_concurrency,
                single_concurrency=args.single_concurrency,
                worker_counts=tuple(args.workers),
                log=_log,
            )
        )
        results["sections"] = []
        if not args.skip_metrics:
            from bench import reads

            results["sections"] = await reads.run(
                workdir,
                sizes=args.dossiers,
                repeats=args.repeats,
                raw_repeats=args.raw_repeats,
                export_rows=args.export_rows,
                log=_log,
            )
    results["ended"] = conditions()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the benchmark and write a markdown table")
    p.add_argument(
        "--dossiers",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="history sizes for the read benchmarks (growth is measured across them)",
    )
    p.add_argument("--ingest-dossiers", type=int, default=40_000)
    p.add_argument("--single-requests", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--batch-concurrency", type=int, default=4)
    p.add_argument("--single-concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=20, help="runs of each metric query")
    p.add_argument("--raw-repeats", type=int, default=3, help="runs of each raw-SQL query")
    p.add_argument("--export-rows", type=int, default=1_000_000)
    p.add_argument("--skip-metrics", action="store_true")
    p.add_argument("--skip-ingest", action="store_true", help="only (e)-(g)")
    p.add_argument("--out", type=Path, default=Path("bench/out/results.md"))
    args = parser.parse_args()
    started = time.perf_counter()
    results = asyncio.run(run(args))
    text = markdown(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    _log(f"done in {time.perf_counter() - started:.0f} s; written to {args.out}")
