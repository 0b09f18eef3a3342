from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import make_settings


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_readyz_reports_database_and_migration(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert (r.status_code, r.json()["database"]) == (200, "ok")


async def test_readyz_is_503_when_database_unreachable() -> None:
    app: FastAPI = create_app(
        make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none", db_timeout_seconds=2)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["database"] == "unreachable"


async def test_body_over_limit_is_413(database_url: str) -> None:
    app: FastAPI = create_app(make_settings(database_url, max_body_bytes=2048))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        r = await client.post(
            "/api/v1/events/batch",
            content=b"x" * 4096,
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 413


async def test_openapi_documents_the_event_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "occurred_at" in schema["components"]["schemas"]["EventIn"]["properties"]
