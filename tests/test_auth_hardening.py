"""Auth hardening: hashed keys, revocation everywhere, no secret in logs.

Timing: a key is found by ``key_hash = HMAC(server secret, token)``; what is compared (by the
database's index) is a digest no caller can steer byte by byte without the server secret, so
the time a comparison takes says nothing about any key. What guards that is tested here: keys
are bound to the server secret and only their HMAC is stored (test_auth.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from app.auth.signing import signed_headers
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.factories import event

KEYS = "/api/v1/admin/api-keys"


@asynccontextmanager
async def other_instance(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database, as a second worker would be."""
    second = create_app(make_settings(database_url, **overrides))
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://w2") as c,
    ):
        yield c


@asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn with its access log on (lifespan already running)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", access_log=True, log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn offers no event to await; poll until it listens
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def new_key(client: httpx.AsyncClient, admin: dict[str, str], **extra: Any) -> Any:
    body = {"name": "k", "scopes": ["ingest", "read"], **extra}
    return (await client.post(KEYS, json=body, headers=admin)).json()


async def test_revocation_on_one_instance_is_effective_on_another_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], database_url: str
) -> None:
    created = await new_key(client, admin)
    headers = {"Authorization": f"Bearer {created['key']}"}
    async with other_instance(database_url) as worker2:
        before = await worker2.get("/api/v1/units", headers=headers)
        await client.delete(f"{KEYS}/{created['id']}", headers=admin)
        after = await worker2.get("/api/v1/units", headers=headers)
    assert (before.status_code, after.status_code) == (200, 401)


async def test_keys_are_bound_to_the_server_secret(
    client: httpx.AsyncClient, admin: dict[str, str], database_url: str
) -> None:
    """The stored hash is keyed by the server secret: under another secret no key matches."""
    created = await new_key(client, admin)
    headers = {"Authorization": f"Bearer {created['key']}"}
    async with other_instance(database_url, secret_key="another-server-secret") as foreign:
        r = await foreign.get("/api/v1/units", headers=headers)
    assert r.status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer  ", "Token abc", "Bearer a b c"],
)
async def test_malformed_authorization_header_is_401(
    client: httpx.AsyncClient, header: str
) -> None:
    r = await client.get("/api/v1/units", headers={"Authorization": header})
    assert r.status_code == 401


async def test_a_key_differing_in_one_character_is_401(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key: str = (await new_key(client, admin))["key"]
    near = key[:-1] + ("A" if key[-1] != "A" else "B")
    r = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {near}"})
    assert r.status_code == 401


async def test_error_bodies_never_echo_the_token(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key: str = (await new_key(client, admin, scopes=["read"]))["key"]
    wrong_scope = await client.post(
        "/api/v1/events", json=event(), headers={"Authorization": f"Bearer {key}"}
    )
    unknown = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {key}zz"})
    assert (wrong_scope.status_code, unknown.status_code) == (403, 401)
    assert key not in wrong_scope.text + unknown.text


async def test_no_secret_in_any_log_including_uvicorn_access_and_sql(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    created = await new_key(client, admin, signing=True)
    plain = await new_key(client, admin, name="plain")
    secrets = [ADMIN_TOKEN, created["key"], created["signing_secret"], plain["key"]]
    async with live_server(app) as live:
        body = orjson.dumps(event())
        signed = signed_headers(created["signing_secret"], body, "m-1")
        ok = await live.post(
            "/api/v1/events",
            content=body,
            headers={
                "Authorization": f"Bearer {created['key']}",
                "content-type": "application/json",
                **signed,
            },
        )
        statuses = [ok.status_code]
        for token in (plain["key"], plain["key"] + "x", ADMIN_TOKEN, ADMIN_TOKEN[:-1], "osk_x"):
            r = await live.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
            statuses.append(r.status_code)
        forged = await live.post(
            "/api/v1/events",
            content=body,
            headers={"Authorization": f"Bearer {created['key']}", **signed},
        )
        statuses.append(forged.status_code)
        listed = await live.get(KEYS, headers=admin)
        statuses.append(listed.status_code)
    assert statuses == [201, 200, 401, 200, 401, 401, 401, 200]
    assert any(r.name == "uvicorn.access" for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    leaked = [s for s in secrets if s in caplog.text]
    assert leaked == []
