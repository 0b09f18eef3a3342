"""Prometheus /metrics, request ids, JSON logs: observed through the app, not mocked."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import Database
from app.main import create_app
from app.observability.logs import JsonFormatter, redact
from app.observability.prometheus import POOL_CONNECTIONS, observe_engine
from tests.conftest import ADMIN_TOKEN, KeyFactory, make_settings
from tests.factories import event


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def latency_count(samples: dict, route: str, status: str, method: str = "GET") -> float:
    key = (
        "onestop_http_request_duration_seconds_count",
        (("method", method), ("route", route), ("status", status)),
    )
    return samples.get(key, 0.0)


async def test_events_are_counted_per_source_and_result(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    source = f"obs-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {await make_key('ingest', source=source)}"}
    first, second = event(event_id="a-1"), event(event_id="a-2", status="processing")
    invalid = event(event_id="a-3", status="lost")
    r = await client.post(
        "/api/v1/events/batch", json={"events": [first, second, first, invalid]}, headers=headers
    )
    assert r.status_code == 200
    conflict = await client.post(
        "/api/v1/events", json={**first, "unit_code": "OTHER"}, headers=headers
    )
    assert conflict.status_code == 409
    samples = await scrape(client)
    counted = {
        result: samples.get(("onestop_events_total", (("result", result), ("source", source))))
        for result in ("accepted", "duplicate", "conflict", "invalid")
    }
    assert counted == {"accepted": 2.0, "duplicate": 1.0, "conflict": 1.0, "invalid": 1.0}


async def test_request_latency_is_labelled_by_route_template_and_status(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    before = await scrape(client)
    missing = await client.get("/api/v1/dossiers/NO-SUCH-DOSSIER", headers=read_headers)
    assert missing.status_code == 404
    after = await scrape(client)
    route = "/api/v1/dossiers/{code}"
    assert latency_count(after, route, "404") == latency_count(before, route, "404") + 1


async def test_unknown_paths_share_one_route_label(client: httpx.AsyncClient) -> None:
    path = f"/no-such-page-{uuid.uuid4().hex}"
    assert (await client.get(path)).status_code == 404
    text = (await client.get("/metrics")).text
    assert path not in text
    assert 'route="<unmatched>",status="404"' in text


async def test_pool_gauges_show_open_and_checked_out_connections(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/units", headers=read_headers)).status_code == 200
    samples = await scrape(client)
    capacity = samples[("onestop_db_pool_capacity", (("engine", "primary"),))]
    opened = samples[("onestop_db_pool_connections", (("engine", "primary"), ("state", "open")))]
    in_use = samples[
        ("onestop_db_pool_connections", (("engine", "primary"), ("state", "checked_out")))
    ]
    assert capacity > 0
    assert opened >= 1
    assert 0 <= in_use <= opened


def write_pool(samples: dict) -> tuple[float | None, float | None, float | None]:
    """(open, checked_out, capacity) of the PostgreSQL write path's own pool."""
    gauge = "onestop_db_pool_connections"
    return (
        samples.get((gauge, (("engine", "write"), ("state", "open")))),
        samples.get((gauge, (("engine", "write"), ("state", "checked_out")))),
        samples.get(("onestop_db_pool_capacity", (("engine", "write"),))),
    )


async def test_the_write_pool_gauges_show_its_connections_at_scrape_time(
    client: httpx.AsyncClient, db: Database, ingest_headers: dict[str, str]
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the write path's own pool: PostgreSQL only")
    r = await client.post("/api/v1/events", json=event(event_id="pool-1"), headers=ingest_headers)
    assert r.status_code == 201, r.text
    opened, idle_in_use, capacity = write_pool(await scrape(client))
    async with db.storage.write():  # a write transaction holds one connection
        _, held_in_use, _ = write_pool(await scrape(client))
    settings = db.settings
    assert opened is not None and opened >= 1
    assert capacity == settings.db_pool_size + settings.db_max_overflow
    assert (idle_in_use, held_in_use) == (0, 1)


async def test_the_write_pool_gauges_read_zero_until_a_write_opens_the_pool(
    database_url: str,
) -> None:
    application = create_app(make_settings(database_url))
    transport = httpx.ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://test") as c,
    ):
        samples = await scrape(c)  # no key checked, nothing written: no pool opened
    assert write_pool(samples) == (0, 0, 0)


async def test_on_sqlite_the_write_pool_gauges_stay_zero_after_an_ingest(
    client: httpx.AsyncClient, db: Database, ingest_headers: dict[str, str]
) -> None:
    if db.dialect != "sqlite":
        pytest.skip("SQLite writes on the engine's sessions: it has no write pool")
    r = await client.post("/api/v1/events", json=event(event_id="pool-2"), headers=ingest_headers)
    assert r.status_code == 201, r.text
    assert write_pool(await scrape(client)) == (0, 0, 0)


async def test_request_id_is_generated_and_echoed(client: httpx.AsyncClient) -> None:
    first, second = await client.get("/healthz"), await client.get("/healthz")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(i) == 32 for i in ids)
    assert ids[0] != ids[1]


async def test_a_valid_incoming_request_id_is_kept(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "igate-2026.11.29:42"})
    assert r.headers["x-request-id"] == "igate-2026.11.29:42"


async def test_an_unsafe_incoming_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    assert len(r.headers["x-request-id"]) == 32


@pytest.fixture
async def logged_app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, access_log=True))
    async with application.router.lifespan_context(application):
        yield application


async def test_access_log_is_json_with_the_request_id_and_no_token(
    logged_app: FastAPI, db: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="onestop.access")
    transport = httpx.ASGITransport(app=logged_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get(
            "/api/v1/units?secret=x",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Request-ID": "req-77"},
        )
    assert r.status_code == 200
    lines = [JsonFormatter().format(rec) for rec in caplog.records if rec.name == "onestop.access"]
    assert len(lines) == 1
    entry = orjson.loads(lines[0])
    assert {k: entry[k] for k in ("request_id", "method", "path", "route", "status")} == {
        "request_id": "req-77",
        "method": "GET",
        "path": "/api/v1/units",
        "route": "/api/v1/units",
        "status": 200,
    }
    assert ADMIN_TOKEN not in caplog.text + lines[0]


def test_log_lines_redact_bearer_tokens_keys_and_signing_secrets() -> None:
    record = logging.makeLogRecord(
        {
            "name": "onestop.test",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "header Authorization: Bearer abc.def key=%s whsec_c2VjcmV0",
            "args": ("osk_AbC-12_x",),
        }
    )
    line = JsonFormatter().format(record)
    assert "abc.def" not in line
    assert "osk_AbC" not in line
    assert "c2VjcmV0" not in line
    assert orjson.loads(line)["message"] == (
        "header Authorization: [redacted] key=[redacted] [redacted]"
    )


def test_redaction_keeps_vietnamese_text() -> None:
    assert redact("Hồ sơ quá hạn: Bearer x1") == "Hồ sơ quá hạn: [redacted]"


@pytest.fixture
async def guarded_app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, metrics_token="scrape-me"))
    async with application.router.lifespan_context(application):
        yield application


async def test_metrics_token_guards_the_scrape_endpoint(guarded_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=guarded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        anonymous = await c.get("/metrics")
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await c.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "onestop_events_total" in right.text or "onestop_events" in right.text


def test_multiprocess_mode_aggregates_samples_from_every_worker(tmp_path: Path) -> None:
    """Two processes write into PROMETHEUS_MULTIPROC_DIR; a third one's scrape sees both."""
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(prom_dir)}
    worker = textwrap.dedent(
        """
        from app.observability.prometheus import record_ingest
        record_ingest("igate", accepted=3, duplicates=1, conflicts=0, invalid=0)
        """
    )
    scraper = textwrap.dedent(
        """
        from app.observability.prometheus import exposition
        print(exposition()[0].decode())
        """
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-c", scraper], env=env, check=True, capture_output=True, text=True
    ).stdout
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    assert samples[("onestop_events_total", (("result", "accepted"), ("source", "igate")))] == 6
    assert samples[("onestop_events_total", (("result", "duplicate"), ("source", "igate")))] == 2


async def test_a_crash_is_logged_with_the_request_id_and_timed_as_500(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    application = create_app(make_settings(database_url))

    async def boom() -> None:
        raise RuntimeError("kaputt")

    application.add_api_route("/boom", boom)
    caplog.set_level(logging.ERROR)
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://test") as c,
    ):
        r = await c.get("/boom", headers={"X-Request-ID": "crash-1"})
        text = (await c.get("/metrics")).text
    assert r.status_code == 500
    crash = [rec for rec in caplog.records if rec.exc_info]
    assert crash
    assert orjson.loads(JsonFormatter().format(crash[0]))["request_id"] == "crash-1"
    assert 'route="/boom",status="500"' in text


async def test_a_checkin_without_a_checkout_leaves_the_in_use_gauge_alone() -> None:
    """A failed checkout (the database gone at its pre-ping) checks in without checking out;
    the gauge must not go below the connections really in use."""
    engine = create_async_engine("sqlite+aiosqlite://")
    observe_engine(engine, "gauge-test")
    gauge = POOL_CONNECTIONS.labels("gauge-test", "checked_out")
    try:
        async with engine.connect():
            assert gauge._value.get() == 1
        assert gauge._value.get() == 0
        engine.sync_engine.pool.dispatch.checkin(None, object())  # a slot never checked out
        assert gauge._value.get() == 0
    finally:
        await engine.dispose()
