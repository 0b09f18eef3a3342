"""Cache-Control and ETag on metric answers, and CORS for browser front ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from app.caching import MetricCaching, etag_matches, strong_etag
from app.main import create_app
from tests.conftest import make_settings

SUMMARY = "/api/v1/metrics/summary?from=2026-01-01&to=2026-03-31"


async def test_metric_answers_carry_cache_control_and_a_strong_etag(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get(SUMMARY, headers=read_headers)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, max-age=60"
    assert r.headers["etag"] == strong_etag(r.content)


async def test_a_matching_if_none_match_gets_304_without_a_body(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    first = await client.get(SUMMARY, headers=read_headers)
    again = await client.get(
        SUMMARY, headers={**read_headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_a_stale_etag_gets_the_full_answer(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get(SUMMARY, headers={**read_headers, "If-None-Match": '"old"'})
    assert r.status_code == 200
    assert r.json()["rows"]


async def test_errors_are_not_cached(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1/metrics/summary?from=2026-02-01", headers=read_headers)
    assert r.status_code == 422
    assert "etag" not in r.headers


async def test_non_metric_routes_are_not_tagged(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1/units", headers=read_headers)
    assert "etag" not in r.headers


def test_if_none_match_uses_weak_comparison_and_lists() -> None:
    tag = strong_etag(b"x")
    assert etag_matches(f'"a", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"a", "b"', tag)


@pytest.fixture
async def cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, cors_origins="https://dashboard.tinh.gov.vn")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_cors_allows_configured_origins_only(cors_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=cors_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        preflight = await c.options(
            "/api/v1/metrics/summary",
            headers={
                "Origin": "https://dashboard.tinh.gov.vn",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        foreign = await c.get("/healthz", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://dashboard.tinh.gov.vn"
    assert "access-control-allow-origin" not in foreign.headers


async def test_without_configured_origins_no_cors_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"Origin": "https://dashboard.tinh.gov.vn"})
    assert "access-control-allow-origin" not in r.headers


async def test_a_streamed_answer_passes_through_untagged() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a,b\r\n"
        yield b"1,2\r\n"

    async def export(_: Request) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/csv")

    inner = Starlette(routes=[Route("/api/v1/metrics/export", export)])
    transport = httpx.ASGITransport(app=MetricCaching(inner, max_age=60))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/api/v1/metrics/export")
    assert r.content == b"a,b\r\n1,2\r\n"
    assert "etag" not in r.headers
