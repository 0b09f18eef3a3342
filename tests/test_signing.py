"""Optional request signing (Standard Webhooks style) for keys created with ``signing: true``."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from app.auth.models import SignedRequest
from app.auth.signing import TOLERANCE_SECONDS, signed_headers
from app.db import Database, utcnow
from tests.factories import event

KEYS = "/api/v1/admin/api-keys"
SINGLE = "/api/v1/events"
BATCH = "/api/v1/events/batch"


async def signing_key(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str]:
    """A new signing ingest key: (bearer secret, signing secret)."""
    body = {"name": "igate-signed", "scopes": ["ingest"], "source": "igate", "signing": True}
    created = (await client.post(KEYS, json=body, headers=admin)).json()
    return created["key"], created["signing_secret"]


async def post_signed(
    client: httpx.AsyncClient,
    path: str,
    payload: object,
    key: str,
    secret: str,
    msg_id: str,
    timestamp: int | None = None,
) -> httpx.Response:
    body = orjson.dumps(payload)
    headers = {
        "Authorization": f"Bearer {key}",
        "content-type": "application/json",
        **signed_headers(secret, body, msg_id, timestamp),
    }
    return await client.post(path, content=body, headers=headers)


async def test_signing_key_gets_its_secret_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, secret = await signing_key(client, admin)
    listed = (await client.get(KEYS, headers=admin)).json()["keys"]
    assert secret.startswith("whsec_")
    assert [k["signing"] for k in listed] == [True]
    assert secret not in str(listed)


async def test_plain_key_has_no_signing_secret(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post(KEYS, json={"name": "plain", "scopes": ["ingest"]}, headers=admin)
    assert (r.json()["signing"], r.json()["signing_secret"]) == (False, None)


@pytest.mark.parametrize("path", [SINGLE, BATCH])
async def test_signed_request_is_accepted(
    client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> None:
    key, secret = await signing_key(client, admin)
    payload = event() if path == SINGLE else {"events": [event()]}
    r = await post_signed(client, path, payload, key, secret, "msg-1")
    assert r.status_code in (200, 201)


@pytest.mark.parametrize("path", [SINGLE, BATCH])
async def test_unsigned_request_is_401_with_reason(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database, path: str
) -> None:
    key, _ = await signing_key(client, admin)
    payload = event() if path == SINGLE else {"events": [event()]}
    r = await client.post(path, json=payload, headers={"Authorization": f"Bearer {key}"})
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert "webhook-signature" in r.json()["detail"]


async def test_tampered_body_is_401(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    key, secret = await signing_key(client, admin)
    signed = orjson.dumps(event(event_id="a"))
    headers = {"Authorization": f"Bearer {key}", **signed_headers(secret, signed, "m-1")}
    r = await client.post(SINGLE, json=event(event_id="b"), headers=headers)
    assert (r.status_code, r.json()["detail"]) == (401, "webhook-signature does not match the body")


async def test_signature_with_another_secret_is_401(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key, _ = await signing_key(client, admin)
    _, other = await signing_key(client, admin)
    r = await post_signed(client, SINGLE, event(), key, other, "m-1")
    assert r.status_code == 401


@pytest.mark.parametrize("skew", [-(TOLERANCE_SECONDS + 5), TOLERANCE_SECONDS + 5])
async def test_timestamp_outside_five_minutes_is_401(
    client: httpx.AsyncClient, admin: dict[str, str], skew: int
) -> None:
    key, secret = await signing_key(client, admin)
    r = await post_signed(client, SINGLE, event(), key, secret, "m-1", int(time.time()) + skew)
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert "server clock" in r.json()["detail"]


async def test_replayed_id_is_401_and_stores_nothing_more(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    key, secret = await signing_key(client, admin)
    first = await post_signed(client, SINGLE, event(event_id="a"), key, secret, "m-1")
    replay = await post_signed(client, SINGLE, event(event_id="b"), key, secret, "m-1")
    assert (first.status_code, replay.status_code) == (201, 401)
    assert "replay" in replay.json()["detail"]


async def test_another_id_for_the_same_event_is_a_duplicate(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key, secret = await signing_key(client, admin)
    await post_signed(client, SINGLE, event(event_id="a"), key, secret, "m-1")
    again = await post_signed(client, SINGLE, event(event_id="a"), key, secret, "m-2")
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")


async def test_id_of_a_refused_batch_is_not_burnt(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    """A batch refused as a whole (413) stores nothing, so its id may be used again."""
    key, secret = await signing_key(client, admin)
    too_many = {"events": [event() for _ in range(db.settings.max_batch + 1)]}
    refused = await post_signed(client, BATCH, too_many, key, secret, "m-1")
    retried = await post_signed(client, BATCH, {"events": [event()]}, key, secret, "m-1")
    assert (refused.status_code, retried.status_code) == (413, 200)


async def test_any_of_several_signatures_may_match(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key, secret = await signing_key(client, admin)
    body = orjson.dumps(event())
    headers = signed_headers(secret, body, "m-1")
    headers["webhook-signature"] = "v1,bm90LXRoaXMtb25l " + headers["webhook-signature"]
    r = await client.post(
        SINGLE,
        content=body,
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json", **headers},
    )
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("header", "value"),
    [("webhook-id", "has space"), ("webhook-timestamp", "12e3"), ("webhook-timestamp", "-5")],
)
async def test_malformed_signing_header_is_401(
    client: httpx.AsyncClient, admin: dict[str, str], header: str, value: str
) -> None:
    key, secret = await signing_key(client, admin)
    body = orjson.dumps(event())
    headers = {**signed_headers(secret, body, "m-1"), header: value}
    r = await client.post(
        SINGLE,
        content=body,
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json", **headers},
    )
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")


async def test_plain_key_needs_no_signature(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(SINGLE, json=event(), headers=ingest_headers)
    assert r.status_code == 201


async def test_old_seen_ids_are_pruned(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    key, secret = await signing_key(client, admin)
    async with db.sessionmaker() as session, session.begin():
        old = utcnow() - timedelta(seconds=3 * TOLERANCE_SECONDS)
        session.add(SignedRequest(source="igate", msg_id="ancient", seen_at=old))
    await post_signed(client, SINGLE, event(), key, secret, "fresh")
    async with db.sessionmaker() as session:
        ids = (await session.execute(select(SignedRequest.msg_id))).scalars().all()
        count = (await session.execute(select(func.count()).select_from(SignedRequest))).scalar()
    assert (ids, count) == (["fresh"], 1)


async def test_national_format_routes_require_the_signature_too(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database
) -> None:
    key, _ = await signing_key(client, admin)
    r = await client.post(
        "/api/v1/dvcqg/progress", json=[], headers={"Authorization": f"Bearer {key}"}
    )
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")


async def test_signed_national_format_request_is_accepted_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key, secret = await signing_key(client, admin)
    step = [
        {"MaHoSo": "000.00.31.H40-240105-0001", "TrangThai": "2", "ThoiDiemXuLy": "20240105083000"}
    ]
    first = await post_signed(client, "/api/v1/dvcqg/progress", step, key, secret, "n-1")
    replay = await post_signed(client, "/api/v1/dvcqg/progress", step, key, secret, "n-1")
    assert (first.status_code, replay.status_code) == (200, 401)
