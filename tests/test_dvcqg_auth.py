"""Credentials of the national routes: bearer, the envelope's session, trusted networks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.auth.keys import hash_secret
from app.db import Database, utcnow
from app.dossiers.models import DossierEvent
from app.dvcqg.models import DvcqgSession
from app.main import create_app
from tests.conftest import make_settings

LOGIN = "/api/v1/dvcqg/login"
RECORD = {
    "MaHoSo": "000.00.31.H40-240105-0001",
    "TrangThaiHoSo": "2",
    "NgayTiepNhan": "20240105083000",
}


def envelope(session: str | None, service: str = "DongBoHoSoMC") -> dict[str, Any]:
    body: dict[str, Any] = {"madonvi": "000.00.31.H40", "isUpdating": "False", "service": service}
    if session is not None:
        body["session"] = session
    body["data"] = [RECORD]
    return body


async def new_key(
    client: httpx.AsyncClient, admin: dict[str, str], scopes: list[str], name: str = "igate"
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/admin/api-keys", json={"name": name, "scopes": scopes}, headers=admin
    )
    assert r.status_code == 201, r.text
    key: dict[str, Any] = r.json()
    return key


async def stored_events(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(
            (await session.execute(select(func.count()).select_from(DossierEvent))).scalar_one()
        )


async def login(client: httpx.AsyncClient, key: dict[str, Any]) -> str:
    r = await client.post(LOGIN, json={"username": key["id"], "password": key["key"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["error_code"] == 0
    session: str = body["session"]
    return session


async def test_a_session_from_login_pushes_as_its_key_and_is_stored_only_hashed(
    app: Any, client: httpx.AsyncClient, db: Database, admin: dict[str, str]
) -> None:
    key = await new_key(client, admin, ["ingest"])
    session = await login(client, key)
    r = await client.post("/api/v1/dvcqg", json=envelope(session))
    assert (r.status_code, r.json()["error_code"]) == (200, "0")
    async with db.sessionmaker() as s:
        hashes = list((await s.execute(select(DvcqgSession.session_hash))).scalars())
        sources = set((await s.execute(select(DossierEvent.source))).scalars())
    assert hashes == [hash_secret(session, app.state.hashing_secret)]
    assert sources == {"igate"}


async def test_the_envelope_may_carry_a_key_secret_instead_of_a_session(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = await new_key(client, admin, ["ingest"])
    r = await client.post("/api/v1/dvcqg/dossiers", json=envelope(key["key"]))
    assert (r.status_code, r.json()["accepted"]) == (200, 1)


async def test_login_refuses_a_wrong_secret_or_another_key_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = await new_key(client, admin, ["ingest"])
    other = await new_key(client, admin, ["ingest"], name="other")
    answers = [
        await client.post(LOGIN, json={"username": key["id"], "password": key["key"] + "x"}),
        await client.post(LOGIN, json={"username": other["id"], "password": key["key"]}),
        await client.post(LOGIN, json={"username": key["id"]}),
    ]
    assert [(a.status_code, a.json()["error_code"]) for a in answers] == [
        (401, 1),
        (401, 1),
        (422, "1"),
    ]
    assert all("session" not in a.json() for a in answers)


async def test_a_session_ends_when_it_expires_or_its_key_is_revoked(
    app: Any, client: httpx.AsyncClient, db: Database, admin: dict[str, str]
) -> None:
    key = await new_key(client, admin, ["ingest"])
    expiring, revoked = await login(client, key), await login(client, key)
    async with db.sessionmaker() as s, s.begin():
        digest = hash_secret(expiring, app.state.hashing_secret)
        await s.execute(
            update(DvcqgSession)
            .where(DvcqgSession.session_hash == digest)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await client.post("/api/v1/dvcqg", json=envelope(expiring))
    still = await client.post("/api/v1/dvcqg", json=envelope(revoked))
    await client.delete(f"/api/v1/admin/api-keys/{key['id']}", headers=admin)
    gone = await client.post("/api/v1/dvcqg", json=envelope(revoked))
    assert [expired.status_code, still.status_code, gone.status_code] == [401, 200, 401]


async def test_a_session_has_its_key_scopes(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str]
) -> None:
    key = await new_key(client, admin, ["read"])
    session = await login(client, key)
    r = await client.post("/api/SynsTTHCC/DongBoHoSoMC", json=envelope(session))
    assert r.status_code == 403
    assert await stored_events(db) == 0


async def test_without_any_credential_nothing_is_written_by_default(
    client: httpx.AsyncClient, db: Database
) -> None:
    paths = [
        "/api/v1/dvcqg/dossiers",
        "/api/v1/dvcqg/DongBoHoSoMC",
        "/api/SynsTTHCC/DongBoHoSoMC?MaDinhDanhDV=000.00.01.H22&isUpdating=True",
        "/api/v1/dvcqg",
    ]
    answers = [await client.post(p, json=envelope(None)) for p in paths]
    answers.append(await client.post("/api/v1/dvcqg/dossiers", json=[RECORD]))
    assert [a.status_code for a in answers] == [401] * 5
    assert await stored_events(db) == 0


@pytest.fixture
async def lan_app(
    database_url: str, db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
    key = await new_key(client, admin, ["ingest"], name="lan")
    settings = make_settings(
        database_url, dvcqg_trusted_networks=[f"10.0.80.0/24={key['id']}", "127.0.0.0/8=nokey"]
    )
    configured = create_app(settings)
    async with configured.router.lifespan_context(configured):
        yield configured, key


async def test_a_trusted_network_pushes_as_its_key_and_only_from_its_range(
    lan_app: tuple[Any, dict[str, Any]], db: Database
) -> None:
    app, _ = lan_app
    outside = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    inside = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.0.80.189", 51000)), base_url="http://t"
    )
    path = "/api/SynsTTHCC/DongBoHoSoMC?MaDinhDanhDV=000.00.01.H22&isUpdating=False"
    from_lan = await inside.post(path, json=[RECORD])
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.7", 51000)), base_url="http://t"
    )
    from_elsewhere = await elsewhere.post(path, json=[RECORD])
    unknown_key = await outside.post(path, json=[RECORD])  # 127.0.0.1 names no real key
    assert [from_lan.status_code, from_elsewhere.status_code, unknown_key.status_code] == [
        200,
        401,
        401,
    ]
    async with db.sessionmaker() as s:
        sources = set((await s.execute(select(DossierEvent.source))).scalars())
    assert sources == {"lan"}
    for c in (inside, elsewhere, outside):
        await c.aclose()


def test_a_malformed_trusted_network_is_refused_at_startup(database_url: str) -> None:
    with pytest.raises(ValueError, match="cidr"):
        make_settings(database_url, dvcqg_trusted_networks=["10.0.80.0/24"])
    with pytest.raises(ValueError):
        make_settings(database_url, dvcqg_trusted_networks=["10.0.300.0/24=abc"])


async def test_a_route_refuses_an_envelope_for_the_other_service(
    client: httpx.AsyncClient, db: Database, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/dvcqg/dossiers", json=envelope(None, "CapNhatTienDoHoSoMC"), headers=ingest_headers
    )
    assert (r.status_code, r.json()["error_code"], r.json()["detail"][0]["loc"]) == (
        422,
        "1",
        ["service"],
    )
    assert await stored_events(db) == 0


@pytest.mark.parametrize("path", ["/api/v1/dvcqg", "/api/v1/dvcqg/dossiers"])
async def test_a_huge_service_name_is_refused_without_being_echoed(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], path: str
) -> None:
    """Its answer quotes 40 characters of it, not 200,000 twice (message and detail)."""
    body = {"service": "X" * 200_000, "data": []}
    r = await client.post(path, json=body, headers=ingest_headers)
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["service"])
    assert len(r.content) < 1_000
    assert "'XXXXXXXXXX" in r.json()["message"]
