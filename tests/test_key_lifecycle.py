"""Key lifecycle: expiry, last use written cheaply, rotation with a grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from app.auth import usage
from app.db import Database

KEYS = "/api/v1/admin/api-keys"


async def create(client: httpx.AsyncClient, admin: dict[str, str], **extra: Any) -> Any:
    body = {"name": "k", "scopes": ["read"], **extra}
    response = await client.post(KEYS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def set_column(db: Database, key_id: str, column: str, value: datetime) -> None:
    async with db.engine.begin() as conn:
        stored: Any = value if db.dialect == "postgresql" else value.replace(tzinfo=None)
        await conn.execute(
            text(f"UPDATE api_keys SET {column} = :v WHERE id = :id"), {"v": stored, "id": key_id}
        )


async def listed(client: httpx.AsyncClient, admin: dict[str, str], key_id: str) -> Any:
    keys = (await client.get(KEYS, headers=admin)).json()["keys"]
    return next(k for k in keys if k["id"] == key_id)


async def test_an_expired_key_is_401(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    key = await create(client, admin, expires_at="2099-01-01T00:00:00")  # local time
    read_as = datetime.fromisoformat(key["expires_at"])  # read in Asia/Ho_Chi_Minh
    assert read_as == datetime(2098, 12, 31, 17, tzinfo=UTC)
    assert (await client.get("/api/v1/units", headers=bearer(key["key"]))).status_code == 200
    await set_column(db, key["id"], "expires_at", datetime.now(UTC) - timedelta(seconds=1))
    expired = await client.get("/api/v1/units", headers=bearer(key["key"]))
    assert (expired.status_code, expired.json()["reason"]) == (401, "expired")


async def test_listing_shows_full_id_units_expiry_and_last_use(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = await create(client, admin, expires_at="2099-01-01T00:00:00+00:00")
    usage.forget()
    await client.get("/api/v1/units", headers=bearer(key["key"]))
    row = await listed(client, admin, key["id"])
    assert len(row["id"]) == 32 and row["id"] == key["id"]
    assert row["units"] is None
    assert datetime.fromisoformat(row["expires_at"]) == datetime(2099, 1, 1, tzinfo=UTC)
    assert row["last_used_at"] is not None


async def test_last_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    key = await create(client, admin)
    usage.forget()
    await client.get("/api/v1/units", headers=bearer(key["key"]))
    first = (await listed(client, admin, key["id"]))["last_used_at"]
    for _ in range(5):
        await client.get("/api/v1/units", headers=bearer(key["key"]))
    assert (await listed(client, admin, key["id"]))["last_used_at"] == first  # no write
    # a minute later (on any worker: this one forgets, the stored time is old) it is written
    usage.forget()
    await set_column(db, key["id"], "last_used_at", datetime.now(UTC) - timedelta(minutes=2))
    await client.get("/api/v1/units", headers=bearer(key["key"]))
    later = (await listed(client, admin, key["id"]))["last_used_at"]
    assert datetime.fromisoformat(later) > datetime.now(UTC) - timedelta(seconds=30)


async def test_rotation_stops_the_old_secret_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = await create(client, admin, units=None, source="igate")
    rotated = await client.post(f"{KEYS}/{key['id']}/rotate", json={}, headers=admin)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert (body["id"], body["source"], body["scopes"]) == (key["id"], "igate", ["read"])
    assert body["key"] != key["key"]
    old = await client.get("/api/v1/units", headers=bearer(key["key"]))
    new = await client.get("/api/v1/units", headers=bearer(body["key"]))
    assert (old.status_code, new.status_code) == (401, 200)


async def test_rotation_with_grace_keeps_the_old_secret_until_it_ends(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    key = await create(client, admin)
    rotated = await client.post(
        f"{KEYS}/{key['id']}/rotate", json={"grace_seconds": 3600}, headers=admin
    )
    new = rotated.json()["key"]
    assert rotated.json()["previous_expires_at"] is not None
    both = [
        (await client.get("/api/v1/units", headers=bearer(s))).status_code
        for s in (key["key"], new)
    ]
    assert both == [200, 200]
    await set_column(db, key["id"], "previous_expires_at", datetime.now(UTC))
    after = await client.get("/api/v1/units", headers=bearer(key["key"]))
    assert (after.status_code, after.json()["reason"]) == (401, "rotated")
    assert (await client.get("/api/v1/units", headers=bearer(new))).status_code == 200


async def test_rotating_a_revoked_or_unknown_key_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = await create(client, admin)
    await client.delete(f"{KEYS}/{key['id']}", headers=admin)
    revoked = await client.post(f"{KEYS}/{key['id']}/rotate", json={}, headers=admin)
    unknown = await client.post(f"{KEYS}/nope/rotate", headers=admin)
    assert (revoked.status_code, unknown.status_code) == (404, 404)


async def test_a_bad_grace_period_is_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    key = await create(client, admin)
    response = await client.post(
        f"{KEYS}/{key['id']}/rotate", json={"grace_seconds": -1}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "grace_seconds"]
