"""PostgreSQL: dossier_events partitioned by month, idempotency kept in dossier_event_keys."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from tests.factories import event


def _postgres_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("monthly partitions exist on PostgreSQL only (SQLite: one table)")


async def _partitions_of(db: Database, event_id: str) -> list[str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tableoid::regclass::text FROM dossier_events WHERE event_id = :e"),
            {"e": event_id},
        )
        return [r[0] for r in rows]


async def test_an_event_is_stored_once_in_the_partition_of_its_month(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    _postgres_only(db)
    body = event(event_id="p-1", at="2025-03-05T08:00:00+07:00")
    first = await client.post("/api/v1/events", json=body, headers=ingest_headers)
    again = await client.post("/api/v1/events", json=body, headers=ingest_headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert await _partitions_of(db, "p-1") == ["dossier_events_2025_03"]


async def test_a_direct_insert_of_a_stored_key_is_skipped_by_the_trigger(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    _postgres_only(db)
    body = event(event_id="p-2", at="2025-03-05T08:00:00+07:00")
    await client.post("/api/v1/events", json=body, headers=ingest_headers)
    async with db.engine.begin() as conn:
        inserted = await conn.execute(
            text(
                "INSERT INTO dossier_events SELECT * FROM dossier_events WHERE event_id = 'p-2' "
                "RETURNING event_id"
            )
        )
        assert inserted.all() == []
    assert await _partitions_of(db, "p-2") == ["dossier_events_2025_03"]


async def test_a_month_outside_the_window_goes_to_default_then_moves_to_its_new_partition(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    _postgres_only(db)
    old = event(event_id="p-old", at="2001-06-05T08:00:00+07:00")
    assert (
        await client.post("/api/v1/events", json=old, headers=ingest_headers)
    ).status_code == 201
    assert await _partitions_of(db, "p-old") == ["dossier_events_default"]
    async with db.engine.begin() as conn:
        await conn.execute(text("SELECT onestop_event_partition(DATE '2001-06-01')"))
    assert await _partitions_of(db, "p-old") == ["dossier_events_2001_06"]
    again = await client.post("/api/v1/events", json=old, headers=ingest_headers)
    assert again.json()["result"] == "duplicate"  # the move kept its key
    async with db.engine.begin() as conn:  # leave the schema as the migration made it
        await conn.execute(text("DROP TABLE dossier_events_2001_06"))


async def test_truncating_events_forgets_their_keys(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    _postgres_only(db)
    body = event(event_id="p-3", at="2025-03-05T08:00:00+07:00")
    await client.post("/api/v1/events", json=body, headers=ingest_headers)
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE dossier_events"))
    again = await client.post("/api/v1/events", json=body, headers=ingest_headers)
    assert again.status_code == 201
