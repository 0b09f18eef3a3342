"""Faults: the database goes away (refused, reset, cut in the middle of a commit) and comes back.

The app reaches its PostgreSQL database through a TCP proxy the test controls, so an outage is
deterministic: no sleeps, no timing. While the database is unreachable every request answers
503 with ``Retry-After`` and ``/readyz`` says so; once it is back the same app serves again by
itself; a batch whose COMMIT never reached the server left nothing behind, and resending it
stores every event exactly once. (The long run with a real PostgreSQL stopped and killed under
load is ``reliability/fault_run.py``; figures in docs/reliability.md.)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.dossiers.models import Dossier, DossierEvent
from app.main import create_app
from app.migrate import upgrade_async
from reliability.workload import check_store, make_events
from tests.conftest import (
    ADMIN_TOKEN,
    BACKENDS,
    _create_pg_database,
    _drop_pg_database,
    empty_tables,
    make_settings,
)

BATCH = "/api/v1/events/batch"
SINGLE = "/api/v1/events"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL that can refuse, reset, or cut at the next COMMIT."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()
        self.cut_at_commit = False
        self.commits_cut = 0

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Refuse new connections and reset every open one, as a crashed server would."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        self.reset_open()

    def reset_open(self) -> None:
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.open |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer, watch=(writer, up_writer)),
            self._pipe(up_reader, writer),
            return_exceptions=True,
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        watch: tuple[asyncio.StreamWriter, ...] = (),
    ) -> None:
        try:
            while data := await reader.read(65536):
                if watch and self.cut_at_commit and b"COMMIT" in data.upper():
                    self.cut_at_commit = False
                    self.commits_cut += 1
                    for w in watch:  # the COMMIT never reaches the server
                        w.transport.abort()
                    return
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
            self.open.discard(writer)


@pytest.fixture(scope="module")
async def pg_url() -> AsyncIterator[str]:
    if "postgresql" not in BACKENDS:
        pytest.skip("fault tests need PostgreSQL (ONESTOP_TEST_BACKENDS excludes it)")
    name, url = await _create_pg_database()
    try:
        await upgrade_async(url)
        yield url
    finally:
        await _drop_pg_database(name)


@pytest.fixture
async def direct(pg_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine straight to the database (not through the proxy), emptied first."""
    engine = create_async_engine(pg_url)
    async with engine.begin() as conn:
        await empty_tables(conn)
    yield engine
    await engine.dispose()


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[CuttableProxy]:
    url = make_url(pg_url)
    cut = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await cut.up()
    yield cut
    await cut.down()


@pytest.fixture
async def service(
    pg_url: str, proxy: CuttableProxy, direct: AsyncEngine
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    url = make_url(pg_url).set(host="127.0.0.1", port=proxy.port)
    settings = make_settings(
        url.render_as_string(hide_password=False), db_timeout_seconds=10, db_pool_size=2
    )
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://svc"
        ) as client,
    ):
        yield application, client


@pytest.fixture
async def ingest_key(service: tuple[FastAPI, httpx.AsyncClient]) -> dict[str, str]:
    _, client = service
    body = {"name": "igate", "scopes": ["ingest", "read"], "source": "igate"}
    key = (await client.post("/api/v1/admin/api-keys", json=body, headers=ADMIN)).json()["key"]
    return {"Authorization": f"Bearer {key}"}


async def count_events(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        events = (await conn.execute(select(func.count()).select_from(DossierEvent))).scalar()
        dossiers = (await conn.execute(select(func.count()).select_from(Dossier))).scalar()
    return int(events or 0), int(dossiers or 0)


def batch(n: int, tag: str) -> list[dict[str, object]]:
    return make_events(random.Random(tag), dossiers=n, per_dossier=3, tag=tag)


async def test_while_the_database_is_down_requests_get_503_with_retry_after(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
) -> None:
    _, client = service
    await proxy.down()
    answers = [
        await client.post(BATCH, json={"events": batch(2, "down")}, headers=ingest_key),
        await client.get("/api/v1/units", headers=ingest_key),
        await client.post(BATCH, json={"events": batch(2, "down")}, headers=ADMIN),
        await client.post(SINGLE, json=batch(1, "down")[0], headers=ingest_key),
        await client.post(SINGLE, json=batch(1, "down")[0], headers=ADMIN),
    ]
    assert [(r.status_code, r.json()["code"]) for r in answers] == [(503, "unavailable")] * 5
    assert all(r.headers.get("retry-after") for r in answers)


async def test_readyz_reports_the_outage(
    service: tuple[FastAPI, httpx.AsyncClient], proxy: CuttableProxy
) -> None:
    _, client = service
    before = await client.get("/readyz")
    await proxy.down()
    during = await client.get("/readyz")
    await proxy.up()
    after = await client.get("/readyz")
    assert [before.status_code, during.status_code, after.status_code] == [200, 503, 200]
    assert (during.json()["database"], during.headers["retry-after"]) == ("unreachable", "5")


async def test_the_service_recovers_by_itself_when_the_database_returns(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
    direct: AsyncEngine,
) -> None:
    _, client = service
    events = batch(3, "recover")
    await client.get("/api/v1/units", headers=ingest_key)  # the pool holds live connections
    await proxy.down()
    failed = await client.post(BATCH, json={"events": events}, headers=ingest_key)
    await proxy.up()
    retried = await client.post(BATCH, json={"events": events}, headers=ingest_key)
    assert (failed.status_code, retried.status_code) == (503, 200)
    assert retried.json()["accepted"] == len(events)
    assert await count_events(direct) == (9, 3)


async def test_reset_pooled_connections_are_replaced_transparently(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
) -> None:
    _, client = service
    await client.get("/api/v1/units", headers=ingest_key)
    proxy.reset_open()  # e.g. the server restarted between two requests
    r = await client.post(BATCH, json={"events": batch(1, "reset")}, headers=ingest_key)
    assert r.status_code == 200


async def test_reset_pooled_connections_are_replaced_for_a_single_event_too(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
) -> None:
    _, client = service
    await client.post(SINGLE, json=batch(1, "warm")[0], headers=ingest_key)
    proxy.reset_open()
    r = await client.post(SINGLE, json=batch(1, "reset")[0], headers=ingest_key)
    assert r.status_code == 201


async def test_single_event_cut_at_commit_is_not_applied_and_its_resend_stores_it_once(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
    direct: AsyncEngine,
) -> None:
    _, client = service
    event = batch(1, "cut-one")[0]
    proxy.cut_at_commit = True
    cut = await client.post(SINGLE, json=event, headers=ingest_key)
    after_cut = await count_events(direct)
    resent = await client.post(SINGLE, json=event, headers=ingest_key)
    again = await client.post(SINGLE, json=event, headers=ingest_key)
    assert (proxy.commits_cut, cut.status_code, after_cut) == (1, 503, (0, 0))
    assert (resent.status_code, again.status_code) == (201, 200)
    assert await count_events(direct) == (1, 1)


async def test_batch_cut_at_commit_is_not_applied_and_its_resend_stores_it_once(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
    direct: AsyncEngine,
) -> None:
    app, client = service
    events = batch(20, "cut")
    proxy.cut_at_commit = True
    cut = await client.post(BATCH, json={"events": events}, headers=ingest_key)
    after_cut = await count_events(direct)
    resent = await client.post(BATCH, json={"events": events}, headers=ingest_key)
    assert (proxy.commits_cut, cut.status_code, after_cut) == (1, 503, (0, 0))
    assert (resent.status_code, resent.json()["accepted"]) == (200, 60)
    report = await check_store(direct, events, source="igate", zone=app.state.settings.zone)
    assert (report.stored, report.lost, report.counted_twice, report.dossiers_mismatched) == (
        60,
        0,
        0,
        [],
    )


async def test_clients_that_resend_after_an_outage_store_everything_once(
    service: tuple[FastAPI, httpx.AsyncClient],
    proxy: CuttableProxy,
    ingest_key: dict[str, str],
    direct: AsyncEngine,
) -> None:
    """Concurrent clients meet an outage (one batch cut at its COMMIT, then the database
    gone) and resend until accepted: every event stored once, no answer but 200 and 503."""
    app, client = service
    batches = [batch(4, f"load-{i}") for i in range(12)]
    statuses: list[int] = []
    all_failed_once = asyncio.Event()
    back = asyncio.Event()

    async def send_until_stored(events: list[dict[str, object]]) -> None:
        while True:
            r = await client.post(BATCH, json={"events": events}, headers=ingest_key)
            statuses.append(r.status_code)
            if r.status_code == 200:
                return
            if len(statuses) >= len(batches):
                all_failed_once.set()
            await back.wait()  # resend once the database is back

    proxy.cut_at_commit = True
    first = await client.post(BATCH, json={"events": batches[0]}, headers=ingest_key)
    await proxy.down()

    async def restore() -> None:
        await all_failed_once.wait()
        await proxy.up()
        back.set()

    await asyncio.gather(restore(), *(send_until_stored(b) for b in batches))
    everything = [e for b in batches for e in b]
    report = await check_store(direct, everything, source="igate", zone=app.state.settings.zone)
    assert (first.status_code, statuses.count(503), statuses.count(200)) == (503, 12, 12)
    assert (report.stored, report.lost, report.counted_twice, report.dossiers_mismatched) == (
        len(everything),
        0,
        0,
        [],
    )


def test_a_connection_left_mid_operation_counts_as_unavailable() -> None:
    """Seen in the fault run after pg_terminate_backend: asyncpg's InternalClientError,
    wrapped by SQLAlchemy, must answer 503 (the batch was not applied), not 500."""
    from asyncpg.exceptions import InternalClientError
    from sqlalchemy.exc import InternalError

    from app.errors import database_unavailable

    driver = InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    try:
        try:
            raise driver
        except InternalClientError as exc:
            raise InternalError("BEGIN", None, exc) from exc
    except InternalError as wrapped:
        assert database_unavailable(wrapped)
