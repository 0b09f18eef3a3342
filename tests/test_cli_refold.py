"""``onestop refold``: dossiers rebuilt from their events in the configured zone."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from app.db import Database
from tests.cli_helpers import run_cli
from tests.factories import event


async def test_refold_redates_dossiers_in_a_new_zone(
    database_url: str,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    # 23:30 on 31 March in Hà Nội (UTC+7) is already 1 April in Tokyo (UTC+9).
    await client.post(
        "/api/v1/events",
        json=event(dossier="Z", at="2024-03-31T23:30:00+07:00", channel="online"),
        headers=ingest_headers,
    )
    result = await run_cli(database_url, ["refold"], ONESTOP_TIMEZONE="Asia/Tokyo")
    april = await client.get(
        "/api/v1/metrics/online?from=2024-04-01&to=2024-04-30", headers=read_headers
    )
    assert result.exit_code == 0, result.output
    assert april.json()["rows"][0]["received"] == 1


async def test_refold_recounts_rollups_written_around_the_app(
    database_url: str,
    db: Database,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await client.post(
        "/api/v1/events",
        json=event(dossier="Z", at="2024-03-10T08:00:00+07:00", channel="online"),
        headers=ingest_headers,
    )
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE metric_rollups SET received = received + 5"))
    result = await run_cli(database_url, ["refold"])
    march = await client.get(
        "/api/v1/metrics/online?from=2024-03-01&to=2024-03-31", headers=read_headers
    )
    assert result.exit_code == 0, result.output
    assert march.json()["rows"][0]["received"] == 1
