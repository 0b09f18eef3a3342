"""The long Schemathesis run against a live uvicorn on PostgreSQL, with a valid (admin) token.

    .venv/bin/python -m reliability.schemathesis_run --max-examples 60

Creates its own database on the shared server (dropped at the end), starts uvicorn with two
workers and its access log on, runs the ``schemathesis`` CLI over every operation of
``/openapi.json`` (examples, coverage and fuzzing phases; valid and invalid data) with the
conformance checks, then counts the requests the server answered from its access log.
Prints the figures as JSON; exit status is Schemathesis' own (non-zero on any failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from reliability.live import ADMIN_TOKEN, ROOT, SHARED_PG, Uvicorn, create_database, drop_database

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def count_access_log(path: Path) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            statuses[int(match["status"])] += 1
    return statuses


async def main(args: argparse.Namespace) -> int:
    out = ROOT / "var" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "schemathesis-uvicorn.log"
    name, url = await create_database(SHARED_PG, "onestop_st")
    server = Uvicorn(url, workers=2, access_log=True, log_path=log_path)
    try:
        server.start()
        await server.wait_ready()
        cmd = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{server.base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-with-security-parameters",
            "false",
            "--workers",
            "1",  # with threads, Hypothesis' lambda-source cache raised internal errors
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(out / "schemathesis-report"),
        ]
        result = await asyncio.to_thread(
            subprocess.run,
            cmd,
            cwd=out,
            capture_output=True,
            text=True,  # its cache goes there
        )
    finally:
        server.stop()
        await drop_database(SHARED_PG, name)
    (out / "schemathesis-output.txt").write_text(result.stdout + result.stderr)
    statuses = count_access_log(log_path)
    api_requests = sum(statuses.values())
    tail = [line for line in result.stdout.splitlines() if line.strip()][-12:]
    figures = {
        "schemathesis_exit_status": result.returncode,
        "requests_answered": api_requests,
        "answers": {str(k): v for k, v in sorted(statuses.items())},
        "responses_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "schemathesis_summary": tail,
        "full_output": str(out / "schemathesis-output.txt"),
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return result.returncode


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--max-examples", type=int, default=60)
    p.add_argument("--seed", type=int, default=20261129)
    return p.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
