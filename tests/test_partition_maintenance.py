"""Migrating keeps the monthly event partitions ahead of time (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text

from app.db import Database
from app.migrate import ensure_event_partitions


async def test_partitions_reach_a_year_ahead(db: Database, database_url: str) -> None:
    if db.dialect != "postgresql":
        assert await ensure_event_partitions(database_url) == 0
        return
    await ensure_event_partitions(database_url, months_ahead=18)
    async with db.engine.connect() as conn:
        name = await conn.scalar(
            text(
                "SELECT to_regclass(format('dossier_events_%s', to_char("
                "date_trunc('month', now() AT TIME ZONE 'UTC') + interval '18 months',"
                " 'YYYY_MM')))::text"
            )
        )
    assert name is not None
