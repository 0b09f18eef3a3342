from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, KeyFactory
from tests.factories import event


async def test_created_key_is_shown_once_and_listed_without_secret(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/admin/api-keys", json={"name": "igate", "scopes": ["ingest"]}, headers=admin
    )
    listed = await client.get("/api/v1/admin/api-keys", headers=admin)
    body = created.json()
    assert body["key"].startswith(body["prefix"])
    assert body["source"] == "igate"  # defaults to the name
    assert body["key"] not in listed.text
    assert [k["id"] for k in listed.json()["keys"]] == [body["id"]]


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/events", json=event())
    assert r.status_code == 401


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/events", json=event(), headers={"Authorization": "Bearer osk_nope"}
    )
    assert r.status_code == 401


async def test_key_without_scope_is_403(client: httpx.AsyncClient, make_key: KeyFactory) -> None:
    headers = {"Authorization": f"Bearer {await make_key('read')}"}
    r = await client.post("/api/v1/events", json=event(), headers=headers)
    assert r.status_code == 403


async def test_revocation_takes_effect_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (
        await client.post(
            "/api/v1/admin/api-keys", json={"name": "k", "scopes": ["ingest"]}, headers=admin
        )
    ).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await client.post("/api/v1/events", json=event(), headers=headers)).status_code == 201
    assert (
        await client.delete(f"/api/v1/admin/api-keys/{created['id']}", headers=admin)
    ).status_code == 204
    assert (await client.post("/api/v1/events", json=event(), headers=headers)).status_code == 401


async def test_revoking_an_unknown_key_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.delete("/api/v1/admin/api-keys/nope", headers=admin)).status_code == 404


async def test_unknown_scope_is_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.post(
        "/api/v1/admin/api-keys", json={"name": "k", "scopes": ["root"]}, headers=admin
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:2] == ["body", "scopes"]


async def test_admin_scope_implies_ingest(client: httpx.AsyncClient, make_key: KeyFactory) -> None:
    headers = {"Authorization": f"Bearer {await make_key('admin')}"}
    assert (await client.post("/api/v1/events", json=event(), headers=headers)).status_code == 201


async def test_only_the_hash_of_a_key_is_stored(
    client: httpx.AsyncClient, admin: dict[str, str], db: object
) -> None:
    from sqlalchemy import text

    key = (
        await client.post(
            "/api/v1/admin/api-keys", json={"name": "k", "scopes": ["read"]}, headers=admin
        )
    ).json()["key"]
    async with db.engine.connect() as conn:  # type: ignore[attr-defined]
        dump = str((await conn.execute(text("SELECT * FROM api_keys"))).all())
    assert key not in dump


async def test_secrets_never_reach_the_logs(
    client: httpx.AsyncClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = (
        await client.post(
            "/api/v1/admin/api-keys", json={"name": "k", "scopes": ["ingest"]}, headers=admin
        )
    ).json()["key"]
    await client.post("/api/v1/events", json=event(), headers={"Authorization": f"Bearer {key}"})
    await client.post("/api/v1/events", json=event(), headers={"Authorization": f"Bearer {key}x"})
    await client.get("/api/v1/units", headers={"Authorization": f"Bearer {key}"})
    assert key not in caplog.text
    assert ADMIN_TOKEN not in caplog.text
