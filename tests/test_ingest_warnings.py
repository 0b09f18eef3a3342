"""Nothing sent is dropped without a word: unknown fields and unregistered codes are named in
every answer's `warnings`; ONESTOP_STRICT_FIELDS=true makes an unknown field `invalid`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.factories import event

UNIT = {"name": "Huyện Đô Lương", "level": "district", "parent_code": None}
PROCEDURE = {"name": "Đăng ký khai sinh", "level": "commune", "online_service": "full"}


def _locs(warnings: list[dict[str, Any]]) -> list[list[Any]]:
    return [w["loc"] for w in warnings]


async def _register(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.put("/api/v1/units/H40.31", json=UNIT, headers=admin)).is_success
    answer = await client.put("/api/v1/procedures/1.001193", json=PROCEDURE, headers=admin)
    assert answer.is_success


async def test_a_misspelled_field_is_named_in_the_single_answer(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    await _register(client, admin)
    body = event(unit="H40.31", procedure_code="1.001193", chanel="online", due_date="x")
    answer = await client.post("/api/v1/events", json=body, headers=ingest_headers)
    assert (answer.status_code, _locs(answer.json()["warnings"])) == (
        201,
        [["chanel"], ["due_date"]],
    )


async def test_a_clean_event_has_no_warnings(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    await _register(client, admin)
    body = event(unit="H40.31", procedure_code="1.001193", channel="online")
    answer = await client.post("/api/v1/events", json=body, headers=ingest_headers)
    assert answer.json()["warnings"] == []


async def test_every_batch_item_names_its_unregistered_codes_and_unknown_fields(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    await _register(client, admin)
    events = [
        event("D1", unit="H40.31", procedure_code="1.001193"),
        event("D2", unit="H40.99", procedure_code="9.999"),  # neither is registered
        event("D3", unit="H40.31", chanel="online"),
        {"event_id": "bad", "status": "received"},  # invalid: warnings of its own fields only
    ]
    answer = await client.post(
        "/api/v1/events/batch", json={"events": events}, headers=ingest_headers
    )
    results = answer.json()["results"]
    assert [_locs(r["warnings"]) for r in results] == [
        [],
        [["unit_code"], ["procedure_code"]],
        [["chanel"]],
        [],
    ]
    assert "H40.99" in results[1]["warnings"][0]["msg"]


async def test_a_unit_registered_later_is_no_longer_warned_about(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    first = await client.post(
        "/api/v1/events", json=event("D1", unit="H40.31"), headers=ingest_headers
    )
    await _register(client, admin)
    second = await client.post(
        "/api/v1/events", json=event("D2", unit="H40.31"), headers=ingest_headers
    )
    assert (_locs(first.json()["warnings"]), second.json()["warnings"]) == ([["unit_code"]], [])


async def test_a_repeat_in_the_batch_under_another_unit_names_that_unit(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    await _register(client, admin)
    first = event("D1", unit="H40.31", event_id="same")
    repeat = event("D1", unit="H40.77", event_id="same")  # a conflict, under a code never seen
    answer = await client.post(
        "/api/v1/events/batch", json={"events": [first, repeat]}, headers=ingest_headers
    )
    results = answer.json()["results"]
    assert [(r["result"], _locs(r["warnings"])) for r in results] == [
        ("accepted", []),
        ("conflict", [["unit_code"]]),
    ]


@pytest.fixture
async def strict_client(database_url: str, db: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(make_settings(database_url, strict_fields=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_strict_fields_make_an_unknown_field_invalid(
    strict_client: httpx.AsyncClient,
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    made = await strict_client.post(
        "/api/v1/admin/api-keys", json={"name": "s", "scopes": ["ingest"]}, headers=admin
    )
    headers = {"Authorization": f"Bearer {made.json()['key']}"}
    events = [event("D1", chanel="online"), event("D2")]
    batch = await strict_client.post(
        "/api/v1/events/batch", json={"events": events}, headers=headers
    )
    single = await strict_client.post(
        "/api/v1/events", json=event("D3", due_date="x"), headers=headers
    )
    results = batch.json()["results"]
    assert [(r["result"], [e["loc"] for e in r["errors"]]) for r in results] == [
        ("invalid", [["chanel"]]),
        ("accepted", []),
    ]
    assert single.status_code == 422 and "due_date" in single.text
