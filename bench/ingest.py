"""(a)–(d): the write path, from the COPY ceiling to our HTTP ingest with the fold."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench import data, pg, servers

ADMIN_TOKEN = "bench-admin-token"


def app_env(db_name: str, **extra: str) -> dict[str, str]:
    env = {
        "ONESTOP_DATABASE_URL": pg.sqlalchemy_url(db_name),
        "ONESTOP_ADMIN_TOKEN": ADMIN_TOKEN,
        "ONESTOP_SECRET_KEY": "bench-secret",
        "ONESTOP_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def create_key(base: str, scopes: list[str], source: str = data.SOURCE) -> str:
    r = httpx.post(
        f"{base}/api/v1/admin/api-keys",
        json={"name": f"bench-{'-'.join(scopes)}", "scopes": scopes, "source": source},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    r.raise_for_status()
    key: str = r.json()["key"]
    return key


def write_bodies(path: Path, bodies: list[Any]) -> Path:
    with path.open("wb") as fh:
        for body in bodies:
            fh.write(orjson.dumps(body) + b"\n")
    return path


async def loadgen(
    port: int, path: str, token: str, bodies: Path, concurrency: int
) -> dict[str, Any]:
    """Run the load generator in its own process and return its summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(
            {
                "host": servers.HOST,
                "port": port,
                "path": path,
                "token": token,
                "bodies": str(bodies),
                "concurrency": concurrency,
            },
            fh,
        )
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bench.loadgen", fh.name],
        capture_output=True,
        timeout=1800,
        check=False,
    )
    os.unlink(fh.name)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr.decode()[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


async def backend_pids(db_name: str) -> list[int]:
    conn = await asyncpg.connect(pg.dsn_of(db_name))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            db_name,
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


class CpuMeter:
    """Server and database CPU seconds spent during a measurement (load-independent cost)."""

    def __init__(self, srv: servers.Server, db_name: str) -> None:
        self.srv = srv
        self.db_name = db_name

    async def __aenter__(self) -> CpuMeter:
        self.server0 = self.srv.cpu_seconds()
        self.db0 = servers.backend_cpu_seconds(await backend_pids(self.db_name))
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Backends alive at the end count from their start value (0 if new); a backend that
        ended during the run (a pool overflow connection) is lost: a slight undercount."""
        self.server = self.srv.cpu_seconds() - self.server0
        end = servers.backend_cpu_seconds(await backend_pids(self.db_name))
        self.db = sum(cpu - self.db0.get(pid, 0.0) for pid, cpu in end.items())


async def count_rows(db_name: str, table: str) -> int:
    conn = await asyncpg.connect(pg.dsn_of(db_name))
    try:
        value: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
        return value
    finally:
        await conn.close()


def batch_row(
    name: str, events: int, result: dict[str, Any], rss: int, cpu: CpuMeter
) -> dict[str, Any]:
    ok = result["statuses"].get("200", 0) == result["requests"]
    return {
        "cpu_us": (cpu.server + cpu.db) / max(events, 1) * 1e6,
        "cpu_split": f"{cpu.server / max(events, 1) * 1e6:.0f}+{cpu.db / max(events, 1) * 1e6:.0f}",
        "name": name,
        "rate": events / result["seconds"],
        "unit": "events/s",
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "ok": ok,
        "rss_mb": rss / 2**20,
        "detail": result,
    }


async def run(
    workdir: Path,
    *,
    ingest_dossiers: int,
    single_requests: int,
    batch_size: int,
    batch_concurrency: int,
    single_concurrency: int,
    worker_counts: tuple[int, ...],
    log: Any,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    events = data.in_sync_order(10_000_000, ingest_dossiers)
    batches = [{"events": events[i : i + batch_size]} for i in range(0, len(events), batch_size)]
    batch_file = write_bodies(workdir / "batches.jsonl", batches)
    # single events: whole new dossiers, in sync order
    singles: list[dict[str, Any]] = []
    first = 20_000_000
    while len(singles) < single_requests:
        singles.extend(data.in_sync_order(first, 2000))
        first += 2000
    single_file = write_bodies(workdir / "singles.jsonl", singles[:single_requests])
    log(f"{len(events)} events in {len(batches)} batches; {single_requests} single events")

    # (a) the COPY ceiling
    now = datetime.now(UTC)
    records = [pg.event_record(e, now) for e in events]
    async with pg.database("copy", migrate=False) as name:
        rate = await pg.copy_ceiling(pg.dsn_of(name), records)
    rows.append({"name": "(a) asyncpg COPY into a bare table", "rate": rate, "unit": "rows/s"})
    log(f"(a) {rate:,.0f} rows/s")

    # (b) the framework ceiling
    for workers in worker_counts:
        async with pg.database("bare") as name:
            env = {"BENCH_DSN": pg.dsn_of(name)}
            with servers.uvicorn("bench.bare_app:app", env, workers=workers) as srv:
                srv.reset_peak()
                async with CpuMeter(srv, name) as cpu:
                    res = await loadgen(srv.port, "/batch", "-", batch_file, batch_concurrency)
                stored = await count_rows(name, "dossier_events")
                row = batch_row(
                    f"(b) bare FastAPI+asyncpg batch insert, {workers} worker(s)",
                    stored,
                    res,
                    srv.peak_rss,
                    cpu,
                )
        row["ok"] = row["ok"] and stored == len(events)
        rows.append(row)
        log(f"{row['name']}: {row['rate']:,.0f} events/s ok={row['ok']}")

    # (c) our batch ingest with the fold, (d) single POST
    for workers in worker_counts:
        async with pg.database("ingest") as name:
            with servers.uvicorn("app.main:app", app_env(name), workers=workers) as srv:
                token = create_key(srv.base, ["ingest"])
                srv.reset_peak()
                async with CpuMeter(srv, name) as cpu:
                    res = await loadgen(
                        srv.port, "/api/v1/events/batch", token, batch_file, batch_concurrency
                    )
                stored = await count_rows(name, "dossier_events")
                dossiers = await count_rows(name, "dossiers")
                row = batch_row(
                    f"(c) our batch ingest + fold, {workers} worker(s), batches of {batch_size}",
                    stored,
                    res,
                    srv.peak_rss,
                    cpu,
                )
                row["ok"] = row["ok"] and stored == len(events) and dossiers == ingest_dossiers
                rows.append(row)
                log(f"{row['name']}: {row['rate']:,.0f} events/s ok={row['ok']}")
                srv.reset_peak()
                async with CpuMeter(srv, name) as cpu:
                    res = await loadgen(
                        srv.port, "/api/v1/events", token, single_file, single_concurrency
                    )
                ok = res["statuses"].get("201", 0) == res["requests"]
                rows.append(
                    {
                        "name": f"(d) single-event POST, c={single_concurrency}, "
                        f"{workers} worker(s)",
                        "rate": res["requests"] / res["seconds"],
                        "unit": "req/s",
                        "p50_ms": res["p50_ms"],
                        "p99_ms": res["p99_ms"],
                        "ok": ok,
                        "rss_mb": srv.peak_rss / 2**20,
                        "cpu_us": (cpu.server + cpu.db) / max(res["requests"], 1) * 1e6,
                        "cpu_split": f"{cpu.server / max(res['requests'], 1) * 1e6:.0f}+"
                        f"{cpu.db / max(res['requests'], 1) * 1e6:.0f}",
                        "detail": res,
                    }
                )
                log(f"{rows[-1]['name']}: {rows[-1]['rate']:,.0f} req/s ok={ok}")
    return rows
