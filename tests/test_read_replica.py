"""ONESTOP_READ_DATABASE_URL: metric and dossier reads go to the read database, writes do not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.migrate import upgrade_async
from tests.conftest import (
    ADMIN_TOKEN,
    _create_pg_database,
    _drop_pg_database,
    make_settings,
)
from tests.factories import event

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PERIOD = {"from": "2025-03-01", "to": "2025-03-31"}


@pytest.fixture(scope="module")
async def replica_url(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A second migrated database of the same backend, standing in for a replica."""
    if database_url.startswith("sqlite"):
        path: Path = tmp_path_factory.mktemp("replica") / "replica.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async(url)
        yield url
        return
    name, url = await _create_pg_database()
    try:
        await upgrade_async(url)
        yield url
    finally:
        await _drop_pg_database(name)


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")


async def test_metric_reads_use_the_read_database(database_url: str, replica_url: str) -> None:
    # The "replica" holds one received dossier (written through an app whose primary it is).
    on_replica = create_app(make_settings(replica_url))
    async with on_replica.router.lifespan_context(on_replica), _client(on_replica) as c:
        key = await c.post(
            "/api/v1/admin/api-keys",
            json={"name": "sync", "scopes": ["ingest"], "source": "replica-src"},
            headers=ADMIN,
        )
        headers = {"Authorization": f"Bearer {key.json()['key']}"}
        r = await c.post(
            "/api/v1/events",
            json=event(dossier="ONLY-ON-REPLICA", at="2025-03-03T09:00:00+07:00"),
            headers=headers,
        )
        assert r.status_code == 201
    # An app with the primary elsewhere and the replica as read database.
    app = create_app(make_settings(database_url, read_database_url=replica_url))
    async with app.router.lifespan_context(app), _client(app) as c:
        metrics = await c.get("/api/v1/metrics/online", params=PERIOD, headers=ADMIN)
        dossier = await c.get("/api/v1/dossiers/ONLY-ON-REPLICA", headers=ADMIN)
    assert metrics.status_code == 200
    assert metrics.json()["rows"][0]["received"] == 1
    assert dossier.status_code == 200


async def test_writes_go_to_the_primary_not_the_read_database(
    database_url: str, replica_url: str
) -> None:
    app = create_app(make_settings(database_url, read_database_url=replica_url))
    async with app.router.lifespan_context(app), _client(app) as c:
        key = await c.post(
            "/api/v1/admin/api-keys",
            json={"name": "sync2", "scopes": ["ingest"], "source": "primary-src"},
            headers=ADMIN,
        )
        headers = {"Authorization": f"Bearer {key.json()['key']}"}
        r = await c.post(
            "/api/v1/events",
            json=event(dossier="WRITTEN-TO-PRIMARY", at="2025-03-04T09:00:00+07:00"),
            headers=headers,
        )
        assert r.status_code == 201
        through_replica = await c.get("/api/v1/dossiers/WRITTEN-TO-PRIMARY", headers=ADMIN)
    primary_only = create_app(make_settings(database_url))
    async with primary_only.router.lifespan_context(primary_only), _client(primary_only) as c:
        on_primary = await c.get("/api/v1/dossiers/WRITTEN-TO-PRIMARY", headers=ADMIN)
    assert through_replica.status_code == 404  # the replica never saw it (no replication here)
    assert on_primary.status_code == 200
