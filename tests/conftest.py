"""Test fixtures: every test that needs a database runs on SQLite *and* PostgreSQL.

Each pytest run creates its own databases (a fresh SQLite file, a uniquely named PostgreSQL
database) so runs cannot collide, migrates them with Alembic, and drops them at the end.
PostgreSQL unreachable is an error, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

import app.models
from app.config import Settings
from app.db import Base, Database
from app.main import create_app
from app.migrate import upgrade_async

ADMIN_TOKEN = "test-admin-token-7f3a"
PG_ADMIN_DSN = os.environ.get(
    "ONESTOP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("ONESTOP_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def data_tables() -> list[Table]:
    """Every table a test may write, children first: the app's metadata (complete once
    ``app.main`` and ``app.models`` are imported), less the tables migrations fill (the
    calendar: ``info={"filled_by_migrations": True}``). PostgreSQL's ``dossier_event_keys``
    (outside the metadata) follows ``dossier_events`` by its delete trigger."""
    return [
        t for t in reversed(Base.metadata.sorted_tables) if not t.info.get("filled_by_migrations")
    ]


async def empty_tables(conn: AsyncConnection) -> None:
    """Delete every row a test may have written, and restart PostgreSQL's id sequences.

    ``DELETE`` rather than ``TRUNCATE``: a test writes few rows, and TRUNCATE of the
    partitioned ``dossier_events`` (49 partitions with their indexes) swaps ~200 files and
    took 1.2-3 s per test on the shared machine, against 3-7 ms for the DELETEs
    (docs/performance.md, "Tests")."""
    for table in data_tables():
        await conn.execute(table.delete())
    if conn.dialect.name == "postgresql":
        for table in data_tables():
            column = table.autoincrement_column
            if column is not None:
                await conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, :c), 1, false)"),
                    {"t": table.name, "c": column.name},
                )


KeyFactory = Callable[..., Awaitable[str]]


async def _create_pg_database() -> tuple[str, str]:
    name = f"onestop_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    except Exception as exc:  # make the cause plain: these tests must not be skipped
        raise RuntimeError(
            f"PostgreSQL tests need a server at {PG_ADMIN_DSN} ({exc!r}); start it with "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        ) from exc
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    return name, dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A freshly migrated database of each backend, private to this pytest run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "onestop.db"
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


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "secret_key": "test-server-secret",
        "timezone": "Asia/Ho_Chi_Minh",
        "alerts_enabled": False,  # tests run alert rounds themselves (app.state.alerts)
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[Database]:
    """The app's database, emptied before the test."""
    database: Database = app.state.db
    async with database.engine.begin() as conn:
        await empty_tables(conn)
    yield database


@pytest.fixture
async def client(app: FastAPI, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def make_key(client: httpx.AsyncClient, admin: dict[str, str]) -> KeyFactory:
    """Create an API key through the API; returns its secret."""

    async def factory(*scopes: str, source: str | None = None, name: str = "test-key") -> str:
        body: dict[str, Any] = {"name": name, "scopes": list(scopes) or ["ingest"]}
        if source is not None:
            body["source"] = source
        response = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key

    return factory


@pytest.fixture
async def ingest_headers(make_key: KeyFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_key('ingest', source='igate')}"}


@pytest.fixture
async def read_headers(make_key: KeyFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_key('read', name='dashboard')}"}
