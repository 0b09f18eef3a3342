"""The alert scan at scale: ``python -m bench.alerts --dossiers 1000000``.

Fills a private PostgreSQL database with dossier rows (straight SQL: the scan reads only the
folded ``dossiers`` table, so no events are needed): 5 % open, their due dates spread over a
month either side of now, the rest closed over three years. Then it times the scan of
``app.alerts.service`` for subscriptions at the three sizes of subtree (the province, its 10
districts, its 470 communes): a first scan that records every alert, and the steady scan that
finds nothing new (what the service does every minute). The plan of the overdue query is
printed with its buffers, and the same query is timed without the partial index as a baseline.
Prints a Markdown section for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app.alerts import repository, service
from app.alerts.models import Alert
from app.alerts.schemas import SubscriptionIn
from app.config import Settings
from app.db import Database
from bench import data, pg

ZONE = "Asia/Ho_Chi_Minh"


def _log(msg: str) -> None:
    print(f"[alerts-bench] {msg}", flush=True)


FILL = """
INSERT INTO dossiers (code, unit_code, procedure_code, status, received_at, received_date,
    due_at, due_date, ended_at, ended_date, resolved_at, resolved_date, supplement_count,
    event_count, first_event_at, last_event_at, last_event_id, last_event_source, updated_at)
SELECT code, unit, proc, CASE WHEN open THEN 'processing' ELSE 'resolved' END,
    rec, (rec AT TIME ZONE $3)::date, due, (due AT TIME ZONE $3)::date,
    CASE WHEN open THEN NULL ELSE rec + interval '4 days' END,
    CASE WHEN open THEN NULL ELSE ((rec + interval '4 days') AT TIME ZONE $3)::date END,
    CASE WHEN open THEN NULL ELSE rec + interval '4 days' END,
    CASE WHEN open THEN NULL ELSE ((rec + interval '4 days') AT TIME ZONE $3)::date END,
    0, 2, rec, rec, 'e-' || code, 'bench', now()
FROM (
    SELECT 'B-' || lpad(g::text, 9, '0') AS code,
        ($4::text[])[1 + (g * 7 % cardinality($4::text[]))] AS unit,
        '1.' || lpad((g % 300)::text, 6, '0') AS proc,
        g % 100 < 5 AS open,
        CASE WHEN g % 100 < 5
            THEN now() - make_interval(secs => 60 + (g * 7919 % (45 * 86400)))
            ELSE now() - make_interval(secs => 86400 * 60 + (g * 104729 % (3 * 365 * 86400)))
        END AS rec,
        CASE WHEN g % 100 < 5
            THEN now() + make_interval(secs => (g * 15485863 % (60 * 86400)) - 30 * 86400)
            ELSE now() - make_interval(secs => (g * 104729 % (3 * 365 * 86400)))
        END AS due
    FROM generate_series($1::bigint, $2::bigint) AS g
) AS rows
"""

CANDIDATES = """
SELECT s.subscription_id, d.code, d.unit_code, d.due_at, d.received_at, d.procedure_code
FROM alert_scopes s JOIN dossiers d ON d.unit_code = s.unit_code
  AND d.ended_at IS NULL AND d.due_at IS NOT NULL AND d.received_at IS NOT NULL
  AND d.due_at < CASE WHEN s.want_due_soon THEN now() + interval '2 days' ELSE now() END
  AND (s.want_overdue OR d.due_at >= now())
WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.subscription_id = s.subscription_id
  AND a.type = CASE WHEN d.due_at < now() THEN 'dossier.overdue' ELSE 'dossier.due_soon' END
  AND a.dossier_code = d.code AND a.due_at = d.due_at AND a.channel = 'webhook')
ORDER BY s.subscription_id, d.due_at, d.code
"""
"""The scan's candidate query (``app.alerts.service._dossier_alerts``) written out in SQL."""

FIND = CANDIDATES.split("WHERE NOT EXISTS")[0].replace(
    "SELECT s.subscription_id, d.code, d.unit_code, d.due_at, d.received_at, d.procedure_code",
    "SELECT count(*)",
)
"""Only the finding part: the open dossiers due soon or overdue in every subscription's units."""


async def fill(dsn: str, count: int) -> float:
    communes = [u.code for u in data.units() if u.level == "commune"]
    conn = await asyncpg.connect(dsn)
    start = time.perf_counter()
    try:
        step = 250_000
        for first in range(1, count + 1, step):
            last = min(first + step - 1, count)
            await conn.execute(FILL, first, last, ZONE, communes)
            _log(f"dossiers {last:,}/{count:,}")
        await conn.execute("VACUUM ANALYZE dossiers")
    finally:
        await conn.close()
    return time.perf_counter() - start


async def subscribe(db: Database, units: list[str | None], server_secret: bytes) -> list[str]:
    ids = []
    async with db.sessionmaker() as session, session.begin():
        for unit in units:
            body = SubscriptionIn(
                url="https://hooks.example.vn/x",
                unit=unit,
                events=["dossier.overdue", "dossier.due_soon"],
            )
            sub, _secret = await repository.create(session, body, server_secret=server_secret)
            ids.append(sub.id)
    return ids


async def timed_scan(db: Database, settings: Settings) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    result = await service.scan(db, settings, now=datetime.now(UTC))
    return time.perf_counter() - start, result.created


async def plan(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + CANDIDATES)
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


async def timed_query(dsn: str, sql: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            await conn.fetch(sql)
            best = min(best, time.perf_counter() - start)
        return best
    finally:
        await conn.close()


async def baseline(dsn: str, sql: str) -> float:
    """``sql`` with the partial index hidden (in a rolled-back transaction): best of 3."""
    conn = await asyncpg.connect(dsn)
    best = float("inf")
    try:
        async with conn.transaction():
            await conn.execute("DROP INDEX ix_dossiers_open_due")
            for _ in range(3):
                start = time.perf_counter()
                await conn.fetch(sql)
                best = min(best, time.perf_counter() - start)
            raise _Rollback
    except _Rollback:
        return best
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


async def run(count: int) -> dict[str, Any]:
    out: dict[str, Any] = {"dossiers": count, "load": ["", ""]}
    out["load"][0] = f"{os.getloadavg()[0]:.1f}"
    async with pg.database("alerts") as name:
        dsn = pg.dsn_of(name)
        await pg.load_reference(dsn)
        out["fill_seconds"] = await fill(dsn, count)
        conn = await asyncpg.connect(dsn)
        try:
            out["open"] = await conn.fetchval(
                "SELECT count(*) FROM dossiers WHERE ended_at IS NULL"
            )
            out["overdue"] = await conn.fetchval(
                "SELECT count(*) FROM dossiers WHERE ended_at IS NULL AND due_at < now()"
            )
            out["index_mb"] = (
                await conn.fetchval("SELECT pg_relation_size('ix_dossiers_open_due')") / 2**20
            )
            out["table_mb"] = await conn.fetchval("SELECT pg_relation_size('dossiers')") / 2**20
        finally:
            await conn.close()
        settings = Settings(
            database_url=pg.sqlalchemy_url(name),
            secret_key="bench",
            alert_max_pending=10_000_000,
            db_pool_size=2,
        )
        db = Database(settings)
        secret = settings.hashing_secret()
        try:
            units = data.units()
            groups: dict[str, list[str | None]] = {
                "province (1 subscription, all units)": [None],
                "districts (10 subscriptions)": [u.code for u in units if u.level == "district"],
                "communes (470 subscriptions)": [u.code for u in units if u.level == "commune"],
            }
            scans: list[dict[str, Any]] = []
            for label, group in groups.items():
                ids = await subscribe(db, group, secret)
                first, created = await timed_scan(db, settings)
                steady = [(await timed_scan(db, settings))[0] for _ in range(3)]
                scans.append(
                    {
                        "label": label,
                        "first_seconds": first,
                        "created": sum(created.values()),
                        "steady_seconds": min(steady),
                    }
                )
                _log(f"{label}: first {first:.2f}s ({created}), steady {min(steady):.3f}s")
                del ids
            out["scans"] = scans
            out["plan"] = await plan(dsn)
            out["indexed_seconds"] = await timed_query(dsn, CANDIDATES)
            out["baseline_seconds"] = await baseline(dsn, CANDIDATES)
            out["find_indexed_seconds"] = await timed_query(dsn, FIND)
            out["find_baseline_seconds"] = await baseline(dsn, FIND)
            async with db.sessionmaker() as session:
                from sqlalchemy import func, select

                out["alerts"] = (
                    await session.execute(select(func.count()).select_from(Alert))
                ).scalar_one()
        finally:
            await db.dispose()
    out["load"][1] = f"{os.getloadavg()[0]:.1f}"
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"Dossiers: {r['dossiers']:,} ({r['open']:,} open, {r['overdue']:,} of them overdue); "
        f"table {r['table_mb']:.0f} MB, `ix_dossiers_open_due` {r['index_mb']:.1f} MB.",
        "",
        "| subscriptions | first scan (alerts recorded) | steady scan (nothing new) |",
        "|---|---|---|",
    ]
    for s in r["scans"]:
        lines.append(
            f"| {s['label']} | {s['first_seconds']:.2f} s ({s['created']:,}) | "
            f"{s['steady_seconds'] * 1000:.0f} ms |"
        )
    lines += [
        "",
        f"The candidate query of a steady scan, all {sum(1 for _ in r['scans'])} groups "
        f"subscribed (481 subscriptions, {r['alerts']:,} alerts recorded): "
        f"{r['indexed_seconds'] * 1000:.0f} ms with `ix_dossiers_open_due`, "
        f"{r['baseline_seconds'] * 1000:.0f} ms without it; its finding part alone (the "
        f"open dossiers due soon or overdue in the subscriptions' units, before the anti-join "
        f"with the alerts already recorded): {r['find_indexed_seconds'] * 1000:.0f} ms with "
        f"the index, {r['find_baseline_seconds'] * 1000:.0f} ms without. Load average "
        f"{r['load'][0]} at the start, {r['load'][1]} at the end. Plan:",
        "",
        "```",
        r["plan"],
        "```",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    args = parser.parse_args()
    result = asyncio.run(run(args.dossiers))
    print(markdown(result))


if __name__ == "__main__":
    main()
