"""Alerts: subscriptions, the scan, signed webhook deliveries with retries, the digest.

Every webhook goes over real HTTP to a receiver the test starts; signatures are checked with
the ``standardwebhooks`` library. Rounds are run at chosen instants (``run_once(now=...)``);
Monday 2026-11-23 is the reference day: Tuesday 24 is a public holiday in the calendar, so one
working day from Monday reaches Wednesday 25.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from standardwebhooks.webhooks import Webhook

from app.alerts import crypto, delivery
from app.alerts import service as alert_service
from app.alerts.service import SCHEDULER_LOCK, scan
from app.alerts.worker import AlertWorker
from app.db import Database
from tests.alerts_helpers import Receiver, push, put_units, received, receiving
from tests.conftest import make_settings
from tests.factories import event

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


@pytest.fixture
async def worker(app: FastAPI, db: Database) -> AsyncIterator[AlertWorker]:
    alerts = AlertWorker(db, db.settings, app.state.hashing_secret)
    yield alerts
    await alerts.stop()


async def subscribe(
    client: httpx.AsyncClient, admin: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/subscriptions", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def verified(secret: str, request: Any) -> dict[str, Any]:
    """The body of a received webhook, after the library verified its signature."""
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def test_signing_reproduces_the_specification_example() -> None:
    """The Standard Webhooks example vector, through the library the service signs with."""
    signature = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        datetime.fromtimestamp(1614265330, UTC),
        '{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sealed_secret_opens_only_with_its_server_secret_and_row() -> None:
    secret = crypto.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    sealed = crypto.seal(secret, server_secret=b"server-a", subscription_id="s1")
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert crypto.unseal(sealed, server_secret=b"server-a", subscription_id="s1") == secret
    with pytest.raises(crypto.SealError):
        crypto.unseal(sealed, server_secret=b"server-b", subscription_id="s1")
    with pytest.raises(crypto.SealError):
        crypto.unseal(sealed, server_secret=b"server-a", subscription_id="s2")


def test_retry_delays_double_up_to_an_hour() -> None:
    delays = [delivery.retry_delay(k, 5) for k in range(1, 12)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == 3600 and delays[-1] == 3600


async def test_subscription_lifecycle(
    client: httpx.AsyncClient, admin: dict[str, str], read_headers: dict[str, str]
) -> None:
    await put_units(client, admin)
    body = {"url": "https://hooks.example.vn/a", "unit": "H40.31", "events": ["dossier.overdue"]}
    assert (await client.post("/api/v1/subscriptions", json=body)).status_code == 401
    denied = await client.post("/api/v1/subscriptions", json=body, headers=read_headers)
    assert denied.status_code == 403
    created = await subscribe(client, admin, **body)
    assert created["due_within_working_days"] == 1 and created["digest_time"] == "07:30"
    assert created["secret"].startswith("whsec_")
    listed = (await client.get("/api/v1/subscriptions", headers=admin)).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0] and created["secret"] not in str(listed)
    path = f"/api/v1/subscriptions/{created['id']}"
    assert (await client.get(f"{path}/deliveries", headers=admin)).json() == {"items": []}
    assert (await client.delete(path, headers=admin)).status_code == 204
    assert (await client.get("/api/v1/subscriptions", headers=admin)).json() == {"items": []}
    assert (await client.delete(path, headers=admin)).status_code == 404
    assert (await client.get(f"{path}/deliveries", headers=admin)).status_code == 404
    for odd in ("X1", "a" * 300):
        assert (
            await client.delete(f"/api/v1/subscriptions/{odd}", headers=admin)
        ).status_code == 404
    # a NUL in a path is refused before any route (a 4xx naming the path), never a 500
    nul = await client.delete("/api/v1/subscriptions/%00", headers=admin)
    assert nul.status_code in (404, 422)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": "https://h.example/a"}, ["body", "events"]),
        ({"url": "https://h.example/a", "events": ["dossier.late"]}, ["body", "events", 0]),
        ({"url": "ftp://h.example/a", "events": ["dossier.overdue"]}, ["body", "url"]),
        ({"events": ["dossier.overdue"]}, ["body", "url"]),  # a rule over fields names its field
        (
            {"url": "https://h.example/a", "events": ["digest.daily"], "digest_time": "7:30"},
            ["body", "digest_time"],
        ),
        (
            {"url": "https://h.example/a", "events": ["dossier.overdue"], "unit": "NOPE"},
            ["body", "unit"],
        ),
        (
            {"url": "https://h.example/a", "events": ["digest.daily"], "emails": ["a@b.vn"]},
            ["body", "emails"],
        ),
        (
            {"url": "https://h.example/a", "events": ["dossier.overdue"], "secret": "x"},
            ["body", "secret"],
        ),
        ({"url": "http://h.example:99999/a", "events": ["dossier.overdue"]}, ["body", "url"]),
        (
            {"url": "https://h.example/a", "events": ["dossier.overdue"], "emails": ["a@b.vn"]},
            ["body", "events"],
        ),
        ({"url": "http://[::1/a", "events": ["dossier.overdue"]}, ["body", "url"]),
        (
            {"url": "https://h.example/a", "events": ["dossier.overdue"], "unit": "H40\x00"},
            ["body", "unit"],
        ),
    ],
)
async def test_bad_subscription_is_422_with_its_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/api/v1/subscriptions", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


async def test_allowed_hosts_limit_targets(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"webhook_allowed_hosts": ["hooks.gov.vn"]})
    try:
        body = {"url": "http://169.254.169.254/latest", "events": ["dossier.overdue"]}
        response = await client.post("/api/v1/subscriptions", json=body, headers=admin)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "url"]
        body["url"] = "https://hooks.gov.vn/x"
        response = await client.post("/api/v1/subscriptions", json=body, headers=admin)
        assert response.status_code == 201
    finally:
        app.state.settings = settings


async def test_due_soon_and_overdue_are_announced_once_signed_and_retried(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    worker: AlertWorker,
    receiver: Receiver,
) -> None:
    await put_units(client, admin)
    await push(
        client,
        ingest_headers,
        received("OVERDUE-1", "H40.31.05", "2026-11-20T17:00:00+07:00"),
        received("SOON-WED", "H40.31", "2026-11-25T17:00:00+07:00"),  # Tue 24 is a holiday
        received("LATER-THU", "H40.31", "2026-11-26T17:00:00+07:00"),
        received("RESOLVED-1", "H40.31", "2026-11-19T17:00:00+07:00"),
        event(
            dossier="RESOLVED-1", status="resolved", at="2026-11-20T10:00:00+07:00", unit="H40.31"
        ),
        received("OTHER-UNIT", "H40.32", "2026-11-20T17:00:00+07:00"),
    )
    sub = await subscribe(
        client,
        admin,
        url=receiver.url,
        unit="H40.31",
        events=["dossier.due_soon", "dossier.overdue"],
    )
    receiver.answers = [500, 500]  # both first attempts fail, the retries succeed
    first = await worker.run_once(now=MONDAY_9)
    assert first.scan is not None and first.scan.created == {
        "dossier.overdue": 1,
        "dossier.due_soon": 1,
    }
    assert len(receiver.requests) == 2
    await worker.run_once(now=MONDAY_9 + timedelta(seconds=4))  # before the first retry
    assert len(receiver.requests) == 2
    await worker.run_once(now=MONDAY_9 + timedelta(seconds=5))
    assert len(receiver.requests) == 4
    for later in (60, 3600, 4 * 3600):  # later scans announce nothing again
        await worker.run_once(now=MONDAY_9 + timedelta(seconds=later))
    assert len(receiver.requests) == 4

    bodies = [verified(sub["secret"], r) for r in receiver.requests]
    by_type = {b["type"]: b for b in bodies}
    assert set(by_type) == {"dossier.overdue", "dossier.due_soon"}
    overdue = by_type["dossier.overdue"]["data"]
    assert overdue["dossier_code"] == "OVERDUE-1" and overdue["unit_code"] == "H40.31.05"
    assert local(overdue["due_at"]) == local("2026-11-20T17:00:00+07:00")
    assert local(overdue["received_at"]) == local("2026-11-16T08:00:00+07:00")
    assert by_type["dossier.due_soon"]["data"]["dossier_code"] == "SOON-WED"
    # a retry carries the same webhook-id and the very same body
    sent: dict[str, list[bytes]] = {}
    for request in receiver.requests:
        sent.setdefault(request.headers["webhook-id"], []).append(request.body)
    assert sorted(len(bodies) for bodies in sent.values()) == [2, 2]
    assert all(bodies[0] == bodies[1] for bodies in sent.values())
    log = (await client.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=admin)).json()[
        "items"
    ]
    assert sorted((d["attempt"], d["status_code"]) for d in log) == [
        (1, 500),
        (1, 500),
        (2, 200),
        (2, 200),
    ]
    failed_attempt = next(d for d in log if d["status_code"] == 500)
    assert local(failed_attempt["next_attempt_at"]) == MONDAY_9 + timedelta(seconds=5)
    assert {d["event_id"] for d in log} == {r.headers["webhook-id"] for r in receiver.requests}
    listed = (await client.get("/api/v1/subscriptions", headers=admin)).json()["items"][0]
    assert listed["pending"] == 0 and listed["last_delivery"]["status_code"] == 200


async def test_failing_receiver_is_retried_with_growing_delays_then_dead_lettered(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    db: Database,
) -> None:
    settings = db.settings.model_copy(
        update={"webhook_max_attempts": 4, "webhook_retry_base_seconds": 5}
    )
    worker = AlertWorker(db, settings, app.state.hashing_secret)
    await put_units(client, admin)
    await push(client, ingest_headers, received("LATE-1", "H40.31", "2026-11-20T17:00:00+07:00"))
    with receiving(default=503) as receiver:
        sub = await subscribe(client, admin, url=receiver.url, events=["dossier.overdue"])
        at = MONDAY_9
        for expected_requests, wait in ((1, 5), (2, 10), (3, 20), (4, 40), (4, 3600)):
            await worker.run_once(now=at)
            assert len(receiver.requests) == expected_requests
            at += timedelta(seconds=wait)
            await worker.run_once(now=at - timedelta(seconds=1))  # not yet due
            assert len(receiver.requests) == expected_requests
    await worker.stop()
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    log = (await client.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=admin)).json()[
        "items"
    ]
    assert [d["attempt"] for d in log] == [4, 3, 2, 1]
    assert all(d["status_code"] == 503 and d["state"] == "dead" for d in log)
    assert log[0]["next_attempt_at"] is None
    gaps = [
        (local(d["next_attempt_at"]) - local(d["at"])).total_seconds() for d in reversed(log[1:])
    ]
    assert gaps == [5, 10, 20]
    listed = (await client.get("/api/v1/subscriptions", headers=admin)).json()["items"][0]
    assert listed["dead"] == 1 and listed["pending"] == 0
    metrics = (await client.get("/metrics")).text
    assert 'onestop_alert_deliveries_total{channel="webhook",result="dead"}' in metrics


async def test_a_due_date_moved_by_a_supplement_alerts_again_only_when_it_passes(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    worker: AlertWorker,
    receiver: Receiver,
) -> None:
    await put_units(client, admin)
    await push(client, ingest_headers, received("MOVED-1", "H40.31", "2026-11-20T17:00:00+07:00"))
    sub = await subscribe(client, admin, url=receiver.url, events=["dossier.overdue"])
    await worker.run_once(now=MONDAY_9)
    assert len(receiver.requests) == 1
    await push(
        client,
        ingest_headers,
        event(
            dossier="MOVED-1",
            status="supplement_requested",
            at="2026-11-23T10:00:00+07:00",
            unit="H40.31",
        ),
        event(
            dossier="MOVED-1",
            status="processing",
            at="2026-11-23T11:00:00+07:00",
            unit="H40.31",
            due_at="2026-11-27T17:00:00+07:00",
        ),
    )
    await worker.run_once(now=MONDAY_9 + timedelta(hours=3))
    await worker.run_once(now=local("2026-11-27T16:59:00+07:00"))
    assert len(receiver.requests) == 1  # the new date has not passed
    await worker.run_once(now=local("2026-11-27T17:01:00+07:00"))
    await worker.run_once(now=local("2026-11-27T18:00:00+07:00"))
    assert len(receiver.requests) == 2
    bodies = [verified(sub["secret"], r) for r in receiver.requests]
    assert [local(b["data"]["due_at"]) for b in bodies] == [
        local("2026-11-20T17:00:00+07:00"),
        local("2026-11-27T17:00:00+07:00"),
    ]
    assert receiver.requests[0].headers["webhook-id"] != receiver.requests[1].headers["webhook-id"]


async def test_a_resolved_dossier_never_alerts(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    worker: AlertWorker,
    receiver: Receiver,
) -> None:
    await put_units(client, admin)
    await push(
        client,
        ingest_headers,
        received("DONE-1", "H40.31", "2026-11-24T17:00:00+07:00"),
        event(dossier="DONE-1", status="resolved", at="2026-11-23T08:30:00+07:00", unit="H40.31"),
        received("WITHDRAWN-1", "H40.31", "2026-11-20T17:00:00+07:00"),
        event(
            dossier="WITHDRAWN-1", status="withdrawn", at="2026-11-18T08:30:00+07:00", unit="H40.31"
        ),
    )
    await subscribe(client, admin, url=receiver.url, events=["dossier.overdue", "dossier.due_soon"])
    for hours in (0, 24, 24 * 30):
        result = await worker.run_once(now=MONDAY_9 + timedelta(hours=hours))
        assert result.scan is not None and result.scan.created == {}
    assert receiver.requests == []


async def test_a_due_date_derived_from_the_statutory_duration_is_announced(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    worker: AlertWorker,
    receiver: Receiver,
) -> None:
    """A dossier received without ``due_at`` is due when its procedure's statutory duration
    says (as ``in_progress_overdue`` judges it); one whose procedure has none is never due."""
    await put_units(client, admin)
    for code, days in (("P3", 3), ("P-NONE", None)):
        body = {"name": code, "level": "district", "online_service": "full"}
        body["duration_working_days"] = days
        response = await client.put(f"/api/v1/procedures/{code}", json=body, headers=admin)
        assert response.status_code in (200, 201), response.text
    at = "2026-11-16T08:00:00+07:00"  # Monday: three working days reach Thursday 19
    await push(
        client,
        ingest_headers,
        event(dossier="STATUTORY-1", status="received", at=at, unit="H40.31", procedure_code="P3"),
        event(dossier="NO-DUE-1", status="received", at=at, unit="H40.31", procedure_code="P-NONE"),
    )
    sub = await subscribe(client, admin, url=receiver.url, events=["dossier.overdue"])
    result = await worker.run_once(now=MONDAY_9)
    assert result.scan is not None and result.scan.created == {"dossier.overdue": 1}
    [request] = receiver.requests
    data = verified(sub["secret"], request)["data"]
    assert data["dossier_code"] == "STATUTORY-1"
    assert local(data["due_at"]).astimezone(ZONE).date().isoformat() == "2026-11-19"


async def test_two_workers_announce_each_dossier_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    db: Database,
    receiver: Receiver,
) -> None:
    await put_units(client, admin)
    codes = [f"MANY-{i:03d}" for i in range(60)]
    await push(
        client,
        ingest_headers,
        *(received(c, "H40.31.05", "2026-11-20T17:00:00+07:00") for c in codes),
    )
    await subscribe(client, admin, url=receiver.url, unit="H40", events=["dossier.overdue"])
    receiver.answers = [500] * 10  # some first attempts fail and are retried
    databases = [Database(make_settings(db.settings.database_url)) for _ in range(2)]
    workers = [AlertWorker(d, d.settings, app.state.hashing_secret) for d in databases]
    try:
        for step in range(4):
            at = MONDAY_9 + timedelta(seconds=10 * step)
            await asyncio.gather(*(w.run_once(now=at) for w in workers))
    finally:
        for w in workers:
            await w.stop()
        for d in databases:
            await d.dispose()
    delivered = [r for r in receiver.requests]
    announced = [orjson.loads(r.body)["data"]["dossier_code"] for r in delivered]
    assert sorted(set(announced)) == codes
    ids_by_code: dict[str, set[str]] = {}
    for r in delivered:
        ids_by_code.setdefault(orjson.loads(r.body)["data"]["dossier_code"], set()).add(
            r.headers["webhook-id"]
        )
    assert all(len(ids) == 1 for ids in ids_by_code.values())  # one alert per dossier
    assert len(delivered) == len(codes) + 10  # each sent once, plus the 10 retries


async def test_a_scan_skips_its_round_while_another_scheduler_holds_the_lock(
    db: Database,
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one scheduler in one process: there is no lock to hold")
    async with db.sessionmaker() as other, other.begin():
        await other.execute(select(func.pg_try_advisory_xact_lock(SCHEDULER_LOCK)))
        while_held = await scan(db, db.settings, now=MONDAY_9)
    after = await scan(db, db.settings, now=MONDAY_9)
    assert (while_held.ran, after.ran) == (False, True)


async def analyze_counts(db: Database) -> dict[str, int]:
    """How many times ``alert_scopes`` and ``alerts`` were ANALYZEd by hand (autovacuum's
    runs are counted apart, in ``autoanalyze_count``)."""
    async with db.engine.connect() as conn:
        await conn.execute(select(func.pg_stat_clear_snapshot()))
        rows = await conn.execute(
            text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE relname IN ('alert_scopes', 'alerts')"
            )
        )
        return {name: count for name, count in rows.all()}


async def test_a_scan_that_writes_more_than_the_threshold_analyzes_what_it_wrote(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("refresh_statistics is a no-op on SQLite: there is nothing to observe")
    monkeypatch.setattr(alert_service, "ANALYZE_AFTER_ROWS", 3)
    await put_units(client, admin)  # 4 units: a subscription without a unit covers them all
    overdue = "2026-11-20T17:00:00+07:00"
    await push(client, ingest_headers, *(received(f"BIG-{i}", "H40.31", overdue) for i in range(4)))
    await subscribe(client, admin, url="http://127.0.0.1:9/hook", events=["dossier.overdue"])
    before = await analyze_counts(db)
    large = await scan(db, db.settings, now=MONDAY_9)  # 4 scope rows, 4 alerts: over 3 each
    after_large = await analyze_counts(db)
    unit = {"name": "Huyện Ba", "level": "district", "parent_code": "H40"}  # one scope row more
    assert (await client.put("/api/v1/units/H40.33", json=unit, headers=admin)).is_success
    await push(
        client, ingest_headers, *(received(f"SMALL-{i}", "H40.32", overdue) for i in range(3))
    )
    small = await scan(db, db.settings, now=MONDAY_9)  # 1 scope row, 3 alerts: not over 3
    after_small = await analyze_counts(db)
    assert (large.created, small.created) == ({"dossier.overdue": 4}, {"dossier.overdue": 3})
    assert set(before) == {"alert_scopes", "alerts"}
    assert after_large == {name: count + 1 for name, count in before.items()}
    assert after_small == after_large


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Mailbox]]:
    """A real SMTP server (aiosmtpd) on a free local port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


async def test_daily_digest_by_webhook_and_email_on_working_days_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    db: Database,
    receiver: Receiver,
    smtp_server: tuple[int, _Mailbox],
) -> None:
    import email
    from email import policy

    port, mailbox = smtp_server
    settings = db.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "canhbao@h40.gov.vn"}
    )
    await put_units(client, admin)
    await push(
        client,
        ingest_headers,
        received("OVERDUE-A", "H40.31.05", "2026-11-20T17:00:00+07:00"),
        received("OVERDUE-B", "H40.31", "2026-11-19T17:00:00+07:00"),
        received("SOON-TUE", "H40.31", "2026-12-08T17:00:00+07:00"),
        received("ELSEWHERE", "H40.32", "2026-11-19T17:00:00+07:00"),
    )
    saved = app.state.settings
    app.state.settings = settings
    try:
        sub = await subscribe(
            client,
            admin,
            url=receiver.url,
            unit="H40.31",
            events=["digest.daily"],
            emails=["vanphong@phumy.h40.gov.vn"],
        )
    finally:
        app.state.settings = saved
    worker = AlertWorker(db, settings, app.state.hashing_secret)
    try:
        monday = datetime(2026, 12, 7, 7, 29, tzinfo=ZONE)
        await worker.run_once(now=monday)
        assert receiver.requests == [] and mailbox.messages == []
        await worker.run_once(now=monday + timedelta(minutes=2))
        await worker.run_once(now=monday + timedelta(hours=1))
        assert len(receiver.requests) == 1 and len(mailbox.messages) == 1
        await worker.run_once(now=datetime(2026, 12, 12, 8, 0, tzinfo=ZONE))  # a Saturday
        assert len(receiver.requests) == 1 and len(mailbox.messages) == 1
        await worker.run_once(now=datetime(2026, 12, 14, 7, 31, tzinfo=ZONE))
        assert len(receiver.requests) == 2 and len(mailbox.messages) == 2
    finally:
        await worker.stop()

    digest = verified(sub["secret"], receiver.requests[0])
    assert digest["type"] == "digest.daily"
    data = digest["data"]
    assert data["date"] == "2026-12-07" and data["unit"] == "H40.31"
    assert data["totals"] == {"open": 3, "overdue": 2, "due_soon": 1}
    units = {u["unit_code"]: u for u in data["units"]}
    assert set(units) == {"H40.31", "H40.31.05"}
    worst = units["H40.31"]["worst"]
    # working days d with 19/11 < d <= 07/12, Tuesday 24/11 being a holiday
    assert [(w["dossier_code"], w["working_days_overdue"]) for w in worst] == [("OVERDUE-B", 11)]
    recipients, raw = mailbox.messages[0]
    assert recipients == ["vanphong@phumy.h40.gov.vn"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "[Một cửa] Tổng hợp hồ sơ ngày 07/12/2026 — Huyện Một"
    text = message.get_body().get_content()  # type: ignore[union-attr]
    assert "Hồ sơ quá hạn: 2" in text and "Hồ sơ sắp đến hạn: 1" in text
    assert "OVERDUE-B: hạn 19/11/2026 17:00, quá hạn 11 ngày làm việc" in text
    assert "ELSEWHERE" not in text


async def test_the_service_scans_and_delivers_on_its_own_timer(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    db: Database,
    receiver: Receiver,
) -> None:
    """With the loop enabled (the default outside tests), the lifespan's worker announces a
    dossier that is overdue now without anyone calling a round."""
    from app.main import create_app

    await put_units(client, admin)
    await push(client, ingest_headers, received("TIMER-1", "H40.31", "2026-11-20T17:00:00+07:00"))
    settings = make_settings(
        db.settings.database_url, alerts_enabled=True, alert_interval_seconds=0.2
    )
    service = create_app(settings)
    async with service.router.lifespan_context(service):
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
            response = await other.post(
                "/api/v1/subscriptions",
                json={"url": receiver.url, "events": ["dossier.overdue"]},
                headers=admin,
            )
            assert response.status_code == 201
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.1)
    assert len(receiver.requests) == 1
    data = verified(response.json()["secret"], receiver.requests[0])["data"]
    assert data["dossier_code"] == "TIMER-1"


async def test_pruning_keeps_what_stops_a_second_announcement(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    db: Database,
    worker: AlertWorker,
    receiver: Receiver,
) -> None:
    from sqlalchemy import func, select

    from app.alerts import service
    from app.alerts.models import Alert, DeliveryAttempt

    await put_units(client, admin)
    await push(
        client,
        ingest_headers,
        received("STILL-OPEN", "H40.31", "2026-11-20T17:00:00+07:00"),
        received("CLOSED-LATER", "H40.31", "2026-11-20T17:00:00+07:00"),
    )
    await subscribe(client, admin, url=receiver.url, events=["dossier.overdue"])
    await worker.run_once(now=MONDAY_9)
    assert len(receiver.requests) == 2
    await push(
        client,
        ingest_headers,
        event(
            dossier="CLOSED-LATER", status="resolved", at="2026-11-23T10:00:00+07:00", unit="H40.31"
        ),
    )
    later = MONDAY_9 + timedelta(days=db.settings.alert_retention_days + 1)
    assert await service.prune(db, db.settings, now=later) == 3  # 2 attempts, 1 alert
    async with db.sessionmaker() as session:
        kept = (await session.execute(select(Alert.dossier_code))).scalars().all()
        attempts = (await session.execute(select(func.count(DeliveryAttempt.id)))).scalar_one()
    assert kept == ["STILL-OPEN"] and attempts == 0
    await worker.run_once(now=later)
    assert len(receiver.requests) == 2  # the kept row still stops a second announcement
