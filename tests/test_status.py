"""GET /api/v1/status/sources: the last event of each source, and which ones went quiet."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from app.db import Database, utcnow
from app.dossiers.models import DossierEvent
from tests.conftest import KeyFactory
from tests.factories import event

URL = "/api/v1/status/sources"


async def push(client: httpx.AsyncClient, key: str, *events: dict[str, object]) -> None:
    r = await client.post(
        "/api/v1/events/batch",
        json={"events": list(events)},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


async def test_each_source_shows_its_count_and_latest_times(
    client: httpx.AsyncClient, make_key: KeyFactory, read_headers: dict[str, str]
) -> None:
    igate = await make_key("ingest", source="igate", name="igate")
    await push(
        client,
        igate,
        event(event_id="i-1", at="2026-11-28T09:00:00+07:00"),
        event(event_id="i-2", status="processing", at="2026-11-28T10:30:00+07:00"),
    )
    body = (await client.get(URL, headers=read_headers)).json()
    (row,) = [s for s in body["sources"] if s["source"] == "igate"]
    assert row["events"] == 2
    assert row["last_occurred_at"] == "2026-11-28T03:30:00Z"
    assert row["stale"] is False
    assert row["active_keys"] == 1
    assert body["stale_after_seconds"] == 3600


async def test_a_source_silent_past_the_limit_is_stale(
    client: httpx.AsyncClient, db: Database, make_key: KeyFactory, read_headers: dict[str, str]
) -> None:
    await push(client, await make_key("ingest", source="vnpt"), event(event_id="v-1"))
    async with db.engine.begin() as conn:  # the last push happened two hours ago
        await conn.execute(update(DossierEvent).values(ingested_at=utcnow() - timedelta(hours=2)))
    body = (await client.get(URL, headers=read_headers)).json()
    (row,) = [s for s in body["sources"] if s["source"] == "vnpt"]
    assert row["stale"] is True
    assert row["silent_seconds"] >= 7200


async def test_a_key_that_never_sent_anything_is_listed_stale(
    client: httpx.AsyncClient, make_key: KeyFactory, read_headers: dict[str, str]
) -> None:
    await make_key("ingest", source="bưu điện tỉnh", name="postal")
    body = (await client.get(URL, headers=read_headers)).json()
    (row,) = [s for s in body["sources"] if s["source"] == "bưu điện tỉnh"]
    assert row == {
        "source": "bưu điện tỉnh",
        "events": 0,
        "last_ingested_at": None,
        "last_occurred_at": None,
        "silent_seconds": None,
        "stale": True,
        "active_keys": 1,
    }


async def test_read_only_keys_are_not_sources(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    body = (await client.get(URL, headers=read_headers)).json()
    assert body["sources"] == []
