"""A NUL character (which PostgreSQL cannot store in text) in any input is a 422 with its
location, never a 500: one check (``app.middleware.RefuseNul``) for every route."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import event

NUL_TYPE = "string_nul"


def detail(r: httpx.Response) -> list[tuple[list[str | int], str]]:
    return [(e["loc"], e["type"]) for e in r.json()["detail"]]


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/api/v1/procedures?level=%00", ["query", "level"]),
        ("/api/v1/units?unregistered=true&x%00y=1", ["query", "xy"]),
        ("/api/v1/metrics/summary?from=2024-01-01&to=2024-01-31&unit=U%001", ["query", "unit"]),
        ("/api/v1/dossiers/abc%00def", ["path", "code"]),
    ],
)
async def test_a_nul_in_a_parameter_is_422_with_its_location(
    client: httpx.AsyncClient, read_headers: dict[str, str], path: str, loc: list[str]
) -> None:
    r = await client.get(path, headers=read_headers)
    assert (r.status_code, detail(r)) == (422, [(loc, NUL_TYPE)])


async def test_a_nul_inside_a_national_record_is_422_with_its_location(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    steps = [
        {"MaHoSo": "000.00.31.H40-240105-0001", "TrangThai": 4, "ThoiDiemXuLy": "20240105090000"},
        {
            "MaHoSo": "000.00.31.H40-240105\u00000002",
            "TrangThai": 4,
            "ThoiDiemXuLy": "20240105090000",
        },
    ]
    r = await client.post("/api/v1/dvcqg/progress", json=steps, headers=ingest_headers)
    assert (r.status_code, detail(r)) == (422, [(["body", 1, "MaHoSo"], NUL_TYPE)])
    assert r.json()["error_code"] == "1"  # the national format's "nothing stored" answer


async def test_a_national_route_refuses_a_nul_in_the_portal_shape(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/dvcqg/dossiers", json=[{"MaHoSo\u0000": "x"}], headers=ingest_headers
    )
    assert (r.status_code, r.json()["error_code"], detail(r)) == (
        422,
        "1",
        [(["body", 0, "MaHoSo\u0000"], NUL_TYPE)],
    )


async def test_a_nul_in_a_json_body_is_422_with_its_location(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.put(
        "/api/v1/units/U1", json={"name": "X\u0000", "level": "district"}, headers=admin
    )
    assert (r.status_code, detail(r)) == (422, [(["body", "name"], NUL_TYPE)])


async def test_an_escaped_backslash_before_u0000_is_no_nul(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # the JSON text \\u0000 is a backslash and "u0000", not a NUL: it is stored as sent
    r = await client.put(
        "/api/v1/units/U1", json={"name": "a\\u0000", "level": "district"}, headers=admin
    )
    assert (r.status_code, r.json()["name"]) == (201, "a\\u0000"), r.text


async def test_an_event_keeps_a_nul_of_an_unknown_field_and_refuses_one_in_a_code(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    # events are judged one by one, and fields they do not define are kept verbatim as JSON
    # (where a NUL is storable): the check is the event's own (EventIn), item by item
    batch = {"events": [event(event_id="e1", note="a\u0000b"), event(event_id="e\u00002")]}
    r = await client.post("/api/v1/events/batch", json=batch, headers=ingest_headers)
    results = r.json()["results"]
    assert [x["result"] for x in results] == ["accepted", "invalid"]
    assert results[1]["errors"][0]["loc"] == ["event_id"]
