"""Text columns reach the database as written, whatever the batch size: an empty text is
stored as '' and never as NULL (NULL in ``dossiers.waits`` means "folded before waits
existed", and ``onestop migrate`` refolds such rows)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.db import Database
from app.dossiers.models import Dossier
from tests.factories import event


async def _waits(db: Database) -> dict[str, str | None]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(Dossier.code, Dossier.waits))
        return {code: waits for code, waits in rows}


async def test_a_single_event_stores_an_empty_waits_as_empty_text(
    client: httpx.AsyncClient, db: Database, ingest_headers: dict[str, str]
) -> None:
    response = await client.post("/api/v1/events", json=event("D-1"), headers=ingest_headers)
    assert response.status_code == 201, response.text
    assert await _waits(db) == {"D-1": ""}


async def test_a_batch_stores_empty_and_present_waits_as_written(
    client: httpx.AsyncClient, db: Database, ingest_headers: dict[str, str]
) -> None:
    events = [
        event("D-1"),
        event("D-2", at="2024-01-05T08:00:00+07:00"),
        event("D-2", status="supplement_requested", at="2024-01-06T08:00:00+07:00"),
        event("D-2", status="processing", at="2024-01-08T08:00:00+07:00"),
    ]
    response = await client.post(
        "/api/v1/events/batch", json={"events": events}, headers=ingest_headers
    )
    assert response.status_code == 200, response.text
    waits = await _waits(db)
    assert waits["D-1"] == ""
    assert waits["D-2"] not in ("", None)
