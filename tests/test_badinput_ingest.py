"""The bad-input catalogue for ingestion: each sloppy or hostile body gets a clear 4xx.

Every case runs on SQLite and PostgreSQL. None may answer 5xx; 422 answers carry field paths;
nothing of a refused request is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.dossiers.models import Dossier, DossierEvent
from tests.factories import event

BATCH = "/api/v1/events/batch"
SINGLE = "/api/v1/events"


async def stored_events(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(DossierEvent))).scalar())


def locs(response: httpx.Response) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["detail"]]


def item_locs(response: httpx.Response, index: int = 0) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["results"][index]["errors"]]


async def post_raw(
    client: httpx.AsyncClient, path: str, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        path, content=content, headers={**headers, "content-type": "application/json"}
    )


# --- malformed bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [SINGLE, BATCH])
async def test_malformed_json_is_422_at_body(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], path: str
) -> None:
    r = await post_raw(client, path, b'{"events": [ {"event_id": "a",, }', ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body"]])


@pytest.mark.parametrize("path", [SINGLE, BATCH])
async def test_invalid_utf8_is_422_at_body(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], path: str
) -> None:
    body = b'{"events": [{"event_id": "\xff\xfe", "dossier_code": "\xc3\x28"}]}'
    r = await post_raw(client, path, body, ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body"]])


async def test_invalid_utf8_on_a_declared_body_is_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await post_raw(client, "/api/v1/admin/api-keys", b'{"name": "\xff"}', admin)
    reason = "'utf-8' codec can't decode byte 0xff in position 10: invalid start byte"
    assert (r.status_code, r.json()["detail"]) == (
        422,
        [
            {
                "loc": ["body"],
                "msg": f"body is not valid UTF-8 JSON: {reason}",
                "type": "json_invalid",
            }
        ],
    )


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/v1/admin/api-keys"), ("PUT", "/api/v1/units")]
)
async def test_malformed_json_on_a_declared_body_is_422_at_body_with_the_reason(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, path: str
) -> None:
    """FastAPI's own answer put the parser's offset in the path (["body", 14]: read as item 14
    of an array body) and said only "JSON decode error"."""
    r = await client.request(
        method,
        path,
        content=b'[{"code": "A",, }]',
        headers={**admin, "content-type": "application/json"},
    )
    reason = "Expecting property name enclosed in double quotes at character 14"
    assert (r.status_code, r.json()["detail"]) == (
        422,
        [
            {
                "loc": ["body"],
                "msg": f"body is not valid UTF-8 JSON: {reason}",
                "type": "json_invalid",
            }
        ],
    )


async def test_lone_surrogate_escape_is_refused(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    body = orjson.dumps(event(event_id="x")).replace(b'"x"', b'"\\ud800"')
    r = await post_raw(client, SINGLE, body, ingest_headers)
    assert r.status_code == 422
    assert await stored_events(db) == 0


async def test_empty_body_is_422(client: httpx.AsyncClient, ingest_headers: dict[str, str]) -> None:
    r = await post_raw(client, BATCH, b"", ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body"]])


@pytest.mark.parametrize("body", [b"[]", b"null", b'"events"', b'{"events": {"a": 1}}'])
async def test_batch_body_of_the_wrong_shape_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], body: bytes
) -> None:
    r = await post_raw(client, BATCH, body, ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", "events"]])


async def test_non_object_items_are_invalid_items(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        BATCH, json={"events": [None, 5, "x", [], event()]}, headers=ingest_headers
    )
    results = [x["result"] for x in r.json()["results"]]
    assert (r.status_code, results) == (200, ["invalid"] * 4 + ["accepted"])


# --- wrong types and values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", 5),
        ("occurred_at", 1704416400),
        ("occurred_at", "yesterday"),
        ("components_total", "three"),
        ("components_total", 2.5),
        ("fee_required", "yes"),
        ("paid_online", 1),
        ("event_id", 12345),
        ("dossier_code", ["a"]),
        ("unit_code", {"code": "H40"}),
        ("channel", "fax"),
    ],
)
async def test_wrong_type_is_422_with_the_field_path(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], field: str, value: Any
) -> None:
    r = await client.post(SINGLE, json=event(**{field: value}), headers=ingest_headers)
    assert r.status_code == 422
    assert ["body", field] in locs(r)


async def test_missing_required_fields_are_each_reported(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(SINGLE, json={"event_id": "lonely"}, headers=ingest_headers)
    reported = {tuple(loc) for loc in locs(r)}
    assert reported == {
        ("body", "dossier_code"),
        ("body", "status"),
        ("body", "occurred_at"),
        ("body", "unit_code"),
    }


async def test_unknown_status_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(SINGLE, json=event(status="approved"), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", "status"]])


@pytest.mark.parametrize("field", ["components_total", "components_digitized"])
async def test_negative_count_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], field: str
) -> None:
    r = await client.post(SINGLE, json=event(**{field: -1}), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", field]])


async def test_digitized_over_total_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    body = event(components_total=2, components_digitized=3)
    r = await client.post(SINGLE, json=body, headers=ingest_headers)
    error = {
        "loc": ["body", "components_digitized"],
        "msg": "components_digitized (3) must not exceed components_total (2)",
        "type": "value_error",
    }
    assert (r.status_code, r.json()["detail"]) == (422, [error])
    assert await stored_events(db) == 0


async def test_digitized_over_total_in_a_batch_names_the_field_and_keeps_the_neighbour(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    bad = event(event_id="bad", components_total=2, components_digitized=3)
    r = await client.post(
        BATCH, json={"events": [bad, event(event_id="good")]}, headers=ingest_headers
    )
    assert [item["result"] for item in r.json()["results"]] == ["invalid", "accepted"]
    assert item_locs(r) == [["components_digitized"]]
    assert await stored_events(db) == 1


@pytest.mark.parametrize(
    "at", ["1899-12-31T23:00:00+07:00", "0001-01-01T00:00:00Z", "2300-01-01T00:00:00Z"]
)
async def test_timestamp_out_of_range_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], at: str
) -> None:
    r = await client.post(SINGLE, json=event(at=at), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", "occurred_at"]])


async def test_timestamp_beyond_year_9999_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(SINGLE, json=event(at="99999-01-01T00:00:00Z"), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", "occurred_at"]])


@pytest.mark.parametrize("field", ["occurred_at", "received_at"])
async def test_timestamp_far_in_the_future_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], field: str
) -> None:
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = await client.post(SINGLE, json=event(**{field: later}), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", field]])


async def test_due_at_in_the_future_is_accepted(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    due = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = await client.post(SINGLE, json=event(due_at=due), headers=ingest_headers)
    assert r.status_code == 201


# --- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["event_id", "dossier_code", "unit_code", "procedure_code"])
async def test_huge_string_is_422_and_not_echoed(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], field: str
) -> None:
    r = await client.post(SINGLE, json=event(**{field: "A" * 100_000}), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", field]])
    assert len(r.content) < 2_000


async def test_body_over_the_size_limit_is_413(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    limit = db.settings.max_body_bytes
    big = orjson.dumps({"events": [event(padding="x" * (limit + 1))]})
    r = await post_raw(client, BATCH, big, ingest_headers)
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")
    assert await stored_events(db) == 0


async def test_streamed_body_over_the_size_limit_is_413(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    chunk = b" " * 1024 * 1024
    chunks = db.settings.max_body_bytes // len(chunk) + 2

    async def body() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"events": ['
        for _ in range(chunks):
            yield chunk
        yield b"]}"

    r = await client.post(
        BATCH, content=body(), headers={**ingest_headers, "content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_batch_of_max_plus_one_is_413_and_stores_nothing(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    n = db.settings.max_batch + 1
    events = [event(event_id=f"m-{i}", dossier=f"D-{i % 50}") for i in range(n)]
    r = await client.post(BATCH, json={"events": events}, headers=ingest_headers)
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")
    assert await stored_events(db) == 0


async def test_deeply_nested_body_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    deep = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = await post_raw(client, BATCH, deep, ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body"]])


async def test_deeply_nested_declared_body_is_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    deep = b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = await post_raw(client, "/api/v1/admin/api-keys", deep, admin)
    assert r.status_code == 422


async def test_nested_unknown_field_is_kept_without_harm(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    nested: Any = "leaf"
    for _ in range(200):
        nested = {"n": nested}
    r = await client.post(SINGLE, json=event(extra=nested), headers=ingest_headers)
    assert r.status_code == 201
    assert await stored_events(db) == 1


# --- hostile text -----------------------------------------------------------------------------

HOSTILE_CODES = [
    "x'; DROP TABLE dossiers; --",
    "1 OR 1=1",
    '" OR ""="',
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f",
    "<script>alert(1)</script>",
    "Sở Tư pháp – Hồ sơ số 1",
]


@pytest.mark.parametrize("code", HOSTILE_CODES)
async def test_hostile_looking_code_is_stored_verbatim(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database, code: str
) -> None:
    body = event(event_id=code, dossier=code, unit=code, procedure_code=code)
    r = await client.post(SINGLE, json=body, headers=ingest_headers)
    assert r.status_code == 201
    async with db.sessionmaker() as session:
        dossiers = (await session.execute(select(Dossier.code, Dossier.unit_code))).all()
        event_ids = (await session.execute(select(DossierEvent.event_id))).scalars().all()
    assert (dossiers, event_ids) == ([(code, code)], [code])


async def test_sql_looking_code_reads_back_through_the_api(
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    code = "x'; DROP TABLE dossiers; --"
    await client.post(SINGLE, json=event(dossier=code), headers=ingest_headers)
    r = await client.get(f"/api/v1/dossiers/{code}", headers=read_headers)
    assert (r.status_code, r.json()["dossier_code"]) == (200, code)


@pytest.mark.parametrize("field", ["event_id", "dossier_code", "unit_code"])
async def test_control_characters_in_codes_are_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], field: str
) -> None:
    r = await client.post(SINGLE, json=event(**{field: "a\x00b"}), headers=ingest_headers)
    assert (r.status_code, locs(r)) == (422, [["body", field]])


async def test_path_traversal_in_a_route_parameter_finds_nothing(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1/dossiers/..%2F..%2Fetc%2Fpasswd", headers=read_headers)
    assert r.status_code == 404
