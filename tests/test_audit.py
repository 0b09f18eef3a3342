"""The audit log: every change with its actor and request, refusals aggregated, append-only."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.auth import audit, service
from app.db import Database
from tests.conftest import ADMIN_TOKEN
from tests.metrics_helpers import dossier, push, put_unit

AUDIT = "/api/v1/admin/audit"
KEYS = "/api/v1/admin/api-keys"


async def entries(client: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> Any:
    response = await client.get(AUDIT, params=params, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def rid() -> dict[str, str]:
    return {"X-Request-ID": f"req-{uuid.uuid4().hex}"}


async def test_key_changes_are_recorded_with_actor_and_request_id_and_no_secret(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    request = rid()
    created = await client.post(
        KEYS, json={"name": "audited", "scopes": ["read"]}, headers=admin | request
    )
    key = created.json()
    await client.post(f"{KEYS}/{key['id']}/rotate", json={"grace_seconds": 5}, headers=admin)
    await client.delete(f"{KEYS}/{key['id']}", headers=admin)
    items = [
        e for e in await entries(client, admin, action="api_key.*") if e["target"] == key["id"]
    ]
    assert [e["action"] for e in items] == ["api_key.revoke", "api_key.rotate", "api_key.create"]
    first = items[-1]
    assert first["actor"] == {"kind": "admin_token", "id": None, "name": "admin-token"}
    assert first["request_id"] == request["X-Request-ID"]
    assert first["client_ip"] == "127.0.0.1"
    assert first["details"]["scopes"] == ["read"]
    listing = (await client.get(AUDIT, headers=admin)).text
    assert key["key"] not in listing and ADMIN_TOKEN not in listing


async def revoked_at(client: httpx.AsyncClient, admin: dict[str, str], key_id: str) -> Any:
    keys = (await client.get(KEYS, params={"include_revoked": "true"}, headers=admin)).json()
    return next(k["revoked_at"] for k in keys["keys"] if k["id"] == key_id)


async def test_revoking_a_revoked_key_is_204_and_records_nothing_more(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = (
        await client.post(KEYS, json={"name": "twice", "scopes": ["read"]}, headers=admin)
    ).json()
    first = await client.delete(f"{KEYS}/{key['id']}", headers=admin)
    when = await revoked_at(client, admin, key["id"])
    again = await client.delete(f"{KEYS}/{key['id']}", headers=admin)
    unknown = await client.delete(f"{KEYS}/no-such-key", headers=admin)
    assert (first.status_code, again.status_code, unknown.status_code) == (204, 204, 404)
    assert when is not None and await revoked_at(client, admin, key["id"]) == when
    actions = [
        (e["action"], e["target"])
        for e in await entries(client, admin, action="api_key.*")
        if e["target"] in (key["id"], "no-such-key")
    ]
    assert actions == [("api_key.revoke", key["id"]), ("api_key.create", key["id"])]


async def test_of_two_overlapping_revocations_only_the_first_revokes(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    """The second transaction starts before the first commits: it must not see the key as
    live (and record a second ``api_key.revoke``) once the first has revoked it."""
    key = (
        await client.post(KEYS, json={"name": "raced", "scopes": ["read"]}, headers=admin)
    ).json()
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        await first.begin()
        await second.begin()
        answered = await service.revoke(session=first, key_id=key["id"])
        late = asyncio.create_task(service.revoke(session=second, key_id=key["id"]))
        await asyncio.sleep(0.3)  # the second waits for the first's lock
        await first.commit()
        overlapping = await late
        await second.commit()
    assert answered is not None and overlapping is not None
    assert (answered[1], overlapping[1]) == (True, False)
    assert overlapping[0].revoked_at == answered[0].revoked_at


async def test_reference_changes_are_recorded_and_a_refused_change_is_not(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    code = f"U-{uuid.uuid4().hex[:8]}"
    await put_unit(client, admin, code, "district")
    cycle = await client.put(
        f"/api/v1/units/{code}",
        json={"name": "x", "level": "x", "parent_code": code},
        headers=admin,
    )
    assert cycle.status_code == 422
    await client.put(
        f"/api/v1/procedures/{code}",
        json={"name": "Thủ tục", "level": "district", "online_service": "full"},
        headers=admin,
    )
    await client.put("/api/v1/calendar/2031-05-03", json={"working": True}, headers=admin)
    await client.delete("/api/v1/calendar/2031-05-03", headers=admin)
    units = [e for e in await entries(client, admin, action="unit.put") if e["target"] == code]
    assert len(units) == 1  # the refused PUT rolled back, its entry with it
    assert units[0]["details"]["level"] == "district"
    procedures = await entries(client, admin, action="procedure.put")
    assert any(e["target"] == code for e in procedures)
    calendar = [
        e["action"]
        for e in await entries(client, admin, action="calendar.*")
        if e["target"] == "2031-05-03"
    ]
    assert calendar[:2] == ["calendar.delete", "calendar.put"]


async def test_exports_and_report_downloads_are_recorded_with_the_key(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    reader = (
        await client.post(KEYS, json={"name": "exporter", "scopes": ["read"]}, headers=admin)
    ).json()
    headers = {"Authorization": f"Bearer {reader['key']}"}
    await push(client, ingest_headers, dossier("A"))
    params = {"from": "2024-03-01", "to": "2024-03-31"}
    assert (
        await client.get("/api/v1/exports/dossiers.csv", params=params, headers=headers)
    ).is_success
    report = await client.get(
        "/api/v1/reports/processing", params=params | {"format": "xlsx"}, headers=headers
    )
    assert report.is_success
    mine = await entries(client, admin, actor=reader["id"])
    assert [e["action"] for e in mine] == ["report.download", "export.dossiers"]
    assert mine[0]["actor"] == {"kind": "api_key", "id": reader["id"], "name": "exporter"}
    assert mine[1]["details"]["from"] == "2024-03-01"


@pytest.fixture
async def stranger(app: FastAPI, db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client calling from an address of its own (its refusals are counted on their own)."""
    audit.forget()
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    transport = httpx.ASGITransport(app=app, client=(ip, 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c, ip


async def test_refusals_are_recorded_without_the_token(
    stranger: tuple[httpx.AsyncClient, str],
    client: httpx.AsyncClient,
    admin: dict[str, str],
    make_key: Any,
) -> None:
    other, ip = stranger
    token = "osk_definitely-not-a-key-" + uuid.uuid4().hex
    await other.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    ingest_only = await make_key("ingest", name="pusher")
    forbidden = await other.get("/api/v1/units", headers={"Authorization": f"Bearer {ingest_only}"})
    assert forbidden.status_code == 403
    mine = [e for e in await entries(client, admin, action="auth.denied") if e["client_ip"] == ip]
    assert [(e["details"]["status"], e["details"]["reason"]) for e in mine] == [
        (403, "scope"),
        (401, "unknown"),
    ]
    assert mine[0]["actor"]["name"] == "pusher" and mine[1]["actor"]["kind"] == "anonymous"
    assert mine[1]["target"] == "/api/v1/units"
    text_ = (await client.get(AUDIT, headers=admin)).text
    assert token not in text_ and ingest_only not in text_


async def test_a_flood_of_refusals_is_aggregated(
    stranger: tuple[httpx.AsyncClient, str],
    client: httpx.AsyncClient,
    admin: dict[str, str],
    db: Database,
) -> None:
    other, ip = stranger
    for i in range(40):
        await other.get(f"/api/v1/dossiers/x{i}", headers={"Authorization": "Bearer osk_bad"})
    await audit.flush(db, now=time.time() + 2 * audit.WINDOW_SECONDS)  # the minute is over
    mine = [e for e in await entries(client, admin, action="auth.denied") if e["client_ip"] == ip]
    detailed = [e for e in mine if not e["details"].get("aggregated")]
    summaries = [e for e in mine if e["details"].get("aggregated")]
    # per wall-clock minute: 5 written one by one, the rest summed up (the 40 requests may
    # straddle a minute's end: then two windows)
    windows = len(summaries)
    assert 1 <= windows <= 2
    assert len(detailed) == audit.DETAILED_PER_WINDOW * windows
    assert len(detailed) + sum(s["details"]["count"] for s in summaries) == 40


async def test_filters_and_cursor_page_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    for i in range(5):
        await put_unit(client, admin, f"{prefix}-{i}", "commune")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"action": "unit.put", "limit": "2", "from": "2020-01-01"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(AUDIT, params=params, headers=admin)).json()
        seen += [e["target"] for e in page["items"] if e["target"].startswith(prefix)]
        cursor = page["next_cursor"]
        if cursor is None or len(seen) == 5:
            break
    assert seen == [f"{prefix}-{i}" for i in reversed(range(5))]
    none = await entries(client, admin, action="unit.put", to="2020-01-01")
    assert none == []
    bad = await client.get(AUDIT, params={"from": "yesterday"}, headers=admin)
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["query", "from"])


async def test_the_log_refuses_update_and_delete(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    await put_unit(client, admin, f"U-{uuid.uuid4().hex[:8]}", "district")
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))
    assert await entries(client, admin, action="unit.put")
