"""PostgreSQL plumbing for the benchmark: private databases and bulk loading."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from app.dossiers.derive import portal_due_at
from app.dossiers.fold import FoldEvent, Status, fold
from app.migrate import ensure_rollups, upgrade_async
from bench import data

ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

EVENT_COLUMNS = [
    "source",
    "event_id",
    "dossier_code",
    "status",
    "occurred_at",
    "unit_code",
    "procedure_code",
    "sector_code",
    "channel",
    "received_at",
    "due_at",
    "components_total",
    "components_digitized",
    "result_digitized",
    "result_signed",
    "fee_required",
    "paid_online",
    "body_hash",
    "payload",
    "ingested_at",
]

BARE_TABLE = """
CREATE TABLE bare_events (
    id bigserial PRIMARY KEY,
    source varchar(128) NOT NULL, event_id varchar(128) NOT NULL,
    dossier_code varchar(64) NOT NULL, status varchar(24) NOT NULL,
    occurred_at timestamptz NOT NULL, unit_code varchar(64) NOT NULL,
    procedure_code varchar(64), sector_code varchar(64), channel varchar(8),
    received_at timestamptz, due_at timestamptz,
    components_total int, components_digitized int,
    result_digitized bool, result_signed bool, fee_required bool, paid_online bool,
    body_hash varchar(64) NOT NULL, payload json NOT NULL, ingested_at timestamptz NOT NULL,
    UNIQUE (source, event_id)
)
"""


def dsn_of(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


def sqlalchemy_url(name: str) -> str:
    return dsn_of(name).replace("postgresql://", "postgresql+asyncpg://", 1)


@contextlib.asynccontextmanager
async def database(
    tag: str, *, migrate: bool = True, template: str | None = None
) -> AsyncIterator[str]:
    """A fresh database ``bench_<tag>_<random>`` (migrated), dropped on exit; a copy of
    ``template`` (a database made by this module, migrated already) when given."""
    name = f"bench_{tag}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    try:
        if migrate and template is None:
            await upgrade_async(sqlalchemy_url(name))
        yield name
    finally:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def event_record(body: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    """One dossier_events row for COPY (the hash is of the body, not the API's canonical)."""
    raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return (
        data.SOURCE,
        body["event_id"],
        body["dossier_code"],
        body["status"],
        _ts(body["occurred_at"]),
        body["unit_code"],
        body.get("procedure_code"),
        body.get("sector_code"),
        body.get("channel"),
        _ts(body.get("received_at")),
        _ts(body.get("due_at")),
        body.get("components_total"),
        body.get("components_digitized"),
        body.get("result_digitized"),
        body.get("result_signed"),
        body.get("fee_required"),
        body.get("paid_online"),
        hashlib.sha256(raw).hexdigest(),
        raw.decode(),
        now,
    )


def _fold_event(rec: tuple[Any, ...]) -> FoldEvent:
    return FoldEvent(rec[0], rec[1], rec[2], Status(rec[3]), *rec[4:17])


async def copy_ceiling(dsn: str, records: list[tuple[Any, ...]]) -> float:
    """(a): COPY the rows into a bare table with the same columns; returns rows/s."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(BARE_TABLE)
        started = time.perf_counter()
        for i in range(0, len(records), 10_000):
            await conn.copy_records_to_table(
                "bare_events", records=records[i : i + 10_000], columns=EVENT_COLUMNS
            )
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bare_events")
    finally:
        await conn.close()
    return len(records) / elapsed


async def load_reference(dsn: str) -> None:
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO units (code, name, level, parent_code, registered, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, true, $5, $5) ON CONFLICT DO NOTHING",
            [(u.code, u.name, u.level, u.parent_code, now) for u in data.units()],
        )
        await conn.executemany(
            "INSERT INTO procedures (code, name, level, online_service, sector_code, registered,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, true, $6, $6)"
            " ON CONFLICT DO NOTHING",
            [
                (code, f"Thủ tục {code}", level, ("full", "partial", "none")[i % 3], sector, now)
                for i, (code, level, sector) in enumerate(data.procedures())
            ],
        )
    finally:
        await conn.close()


async def bulk_load(
    dsn: str, first: int, count: int, zone: ZoneInfo, *, chunk: int = 50_000
) -> float:
    """Dossiers ``first`` … by COPY: their events, and dossier rows folded by ``app``'s fold.

    This is how the history for the metric benchmarks is built quickly; the HTTP ingest path
    is measured separately. Returns seconds spent.
    """
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    columns: list[str] | None = None
    try:
        for start in range(first, first + count, chunk):
            n = min(chunk, first + count - start)
            now = datetime.now(UTC)
            events: list[tuple[Any, ...]] = []
            dossiers: list[tuple[Any, ...]] = []
            for evs in data.generate(start, n):
                recs = [event_record(b, now) for b in evs]
                events.extend(recs)
                state = fold([_fold_event(r) for r in recs])
                row = state.to_row(zone)
                # the derived columns (no statutory durations here: due_at is the events')
                portal = portal_due_at(state, state.due_at_field)
                row["portal_due_at"] = portal
                row["portal_due_date"] = portal.astimezone(zone).date() if portal else None
                row["updated_at"] = now
                if columns is None:
                    columns = list(row)
                dossiers.append(tuple(row[c] for c in columns))
            # the key rows directly, with the per-row key trigger off for this session
            await conn.execute("SET session_replication_role = replica")
            await conn.copy_records_to_table(
                "dossier_event_keys",
                records=[(r[0], r[1], r[17]) for r in events],
                columns=["source", "event_id", "body_hash"],
            )
            await conn.copy_records_to_table(
                "dossier_events", records=events, columns=EVENT_COLUMNS
            )
            await conn.execute("SET session_replication_role = origin")
            assert columns is not None
            await conn.copy_records_to_table("dossiers", records=dossiers, columns=columns)
        # COPY bypasses the app, which keeps the metric rollups on every dossier write
        await ensure_rollups(dsn.replace("postgresql://", "postgresql+asyncpg://", 1), force=True)
        await conn.execute("VACUUM ANALYZE")  # as autovacuum would, after a bulk load
    finally:
        await conn.close()
    return time.perf_counter() - started
