"""GET /api/v1/metrics/coverage: the first and last receipt day, and the period to open on."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import event

ADMIN_UNIT = {"name": "Huyện A", "level": "district", "parent_code": None}


async def _send(
    client: httpx.AsyncClient, headers: dict[str, str], *events: dict[str, Any]
) -> None:
    answer = await client.post(
        "/api/v1/events/batch", json={"events": list(events)}, headers=headers
    )
    assert answer.json()["accepted"] == len(events), answer.text


async def test_coverage_names_the_latest_receipt_and_its_year(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    for code, parent in (("H", None), ("H.1", "H"), ("K", None)):
        body = {**ADMIN_UNIT, "parent_code": parent}
        assert (await client.put(f"/api/v1/units/{code}", json=body, headers=admin)).is_success
    await _send(
        client,
        ingest_headers,
        event("D1", at="2023-11-20T08:00:00+07:00", unit="H.1"),
        event("D2", at="2024-05-03T23:30:00+07:00", unit="H"),  # local day 3 May
        event("D3", at="2025-02-01T08:00:00+07:00", unit="K"),  # another subtree
    )
    answer = await client.get("/api/v1/metrics/coverage?unit=H", headers=read_headers)
    assert answer.json() == {
        "unit": "H",
        "received": 2,
        "first_received": "2023-11-20",
        "last_received": "2024-05-03",
        "suggested_from": "2024-01-01",
        "suggested_to": "2024-05-31",
    }


async def test_coverage_of_no_data_is_null(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    answer = await client.get("/api/v1/metrics/coverage", headers=read_headers)
    assert (answer.status_code, answer.json()["last_received"], answer.json()["received"]) == (
        200,
        None,
        0,
    )


async def test_coverage_of_an_unknown_unit_is_404(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    answer = await client.get("/api/v1/metrics/coverage?unit=NOPE", headers=read_headers)
    assert answer.status_code == 404
