"""The benchmark program still runs end to end (tiny sizes; no timing is judged here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, PG_ADMIN_DSN

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif("postgresql" not in BACKENDS, reason="the benchmark measures PostgreSQL")
def test_a_tiny_benchmark_run_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    command = [
        sys.executable, "-m", "bench", "run",
        "--dossiers", "300", "600",
        "--ingest-dossiers", "120", "--single-requests", "40",
        "--batch-size", "100", "--single-concurrency", "4", "--workers", "1",
        "--repeats", "1", "--raw-repeats", "1", "--export-rows", "200",
        "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "BENCH_PG_DSN": PG_ADMIN_DSN}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = out.read_text()
    for label in ("(a) asyncpg COPY", "(b) bare FastAPI", "(c) our batch ingest", "(d) single"):
        assert label in table
    assert "FAILED" not in table
    assert "### (e) metrics at 600 dossiers" in table
    assert "### (g) growth" in table
    assert "### (e2) 8 answers by unit at once" in table
    assert "| summary |" in table.split("### (e2)", 1)[1].split("###", 1)[0]
    assert "CSV export streamed: 200 rows" in table
    # the same figure computed by DuckDB from Parquet and by the API
    check = next(line for line in table.splitlines() if "received in the quarter" in line)
    duck, api = (part.rsplit(" ", 1)[1] for part in check.split(": ", 1)[1].split(", "))
    assert duck == api
