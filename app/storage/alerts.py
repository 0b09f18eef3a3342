"""The alert scan's one bulk insert, spelled per database (``app/alerts/service.py`` calls it
without knowing which database it runs on)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ARRAY, DateTime, String, Table, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.storage.sql import POSTGRES, sql_of

ALERTS = cast(Table, Alert.__table__)

_PG_COLUMNS = (
    "subscription_id",
    "channel",
    "type",
    "dossier_code",
    "unit_code",
    "due_at",
    "webhook_id",
    "body",
)
_PG_INSERT = text(
    "INSERT INTO alerts (subscription_id, channel, type, dossier_code, unit_code, due_at, "
    "webhook_id, body, status, attempts, next_attempt_at, created_at) "
    "SELECT s, c, t, d, u, due, w, b, 'pending', 0, :now, :now FROM unnest("
    "CAST(:subscription_id AS text[]), CAST(:channel AS text[]), CAST(:type AS text[]), "
    "CAST(:dossier_code AS text[]), CAST(:unit_code AS text[]), "
    "CAST(:due_at AS timestamptz[]), CAST(:webhook_id AS text[]), CAST(:body AS text[])"
    ") AS v(s, c, t, d, u, due, w, b) ON CONFLICT DO NOTHING RETURNING type"
).bindparams(
    *(bindparam(c, type_=ARRAY(String)) for c in _PG_COLUMNS if c != "due_at"),
    bindparam("due_at", type_=ARRAY(DateTime(timezone=True))),
    bindparam("now", type_=DateTime(timezone=True)),
)


async def insert_alerts(session: AsyncSession, values: list[dict[str, Any]]) -> list[str]:
    """Insert pending alerts, skipping any whose key is already recorded; the types of those
    inserted (RETURNING names only them, not the rows a concurrent scan recorded first).

    PostgreSQL: one statement over arrays (``unnest``) per 10,000 rows; the ORM's row-by-row
    parameter handling cost more than the insert (docs/performance.md, "Alert scan").
    SQLite: one executemany per 5,000 rows."""
    if not values:
        return []
    sql = sql_of(session)
    created: list[str] = []
    if sql is POSTGRES:
        for start in range(0, len(values), 10_000):
            part = values[start : start + 10_000]
            params: dict[str, Any] = {c: [row[c] for row in part] for c in _PG_COLUMNS}
            params["now"] = part[0]["created_at"]
            created += list((await session.execute(_PG_INSERT, params)).scalars())
        return created
    stmt = sql.insert(ALERTS).on_conflict_do_nothing().returning(Alert.type)
    for start in range(0, len(values), 5000):
        created += list((await session.execute(stmt, values[start : start + 5000])).scalars())
    return created
