"""The bad-input catalogue for the read routes: periods that make no sense get a 422 naming the
parameter, on both backends, before any counting starts."""

from __future__ import annotations

import httpx
import pytest

FAMILIES = ["delay", "digitization", "online", "summary"]


def locs(response: httpx.Response) -> list[list[str]]:
    return [e["loc"] for e in response.json()["detail"]]


@pytest.mark.parametrize("path", [*(f"/api/v1/metrics/{f}" for f in FAMILIES), "/api/v1/rankings"])
async def test_from_after_to_is_422(
    client: httpx.AsyncClient, read_headers: dict[str, str], path: str
) -> None:
    params = {"from": "2024-03-01", "to": "2024-02-01", "indicator": "on_time_rate"}
    r = await client.get(path, params=params, headers=read_headers)
    assert (r.status_code, locs(r)) == (422, [["query", "from"]])


@pytest.mark.parametrize("path", [*(f"/api/v1/metrics/{f}" for f in FAMILIES), "/api/v1/rankings"])
async def test_a_period_of_twenty_years_is_422(
    client: httpx.AsyncClient, read_headers: dict[str, str], path: str
) -> None:
    params = {"from": "2004-01-01", "to": "2023-12-31", "indicator": "on_time_rate"}
    r = await client.get(path, params=params, headers=read_headers)
    assert (r.status_code, locs(r)) == (422, [["query", "to"]])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2024-02-30", "to": "2024-03-01"}, "from"),
        ({"from": "yesterday", "to": "2024-03-01"}, "from"),
        ({"from": "2024-01-01", "to": "2024-13-01"}, "to"),
        ({"from": "0001-01-01", "to": "2024-01-01"}, "from"),
        ({"from": "2024-01-01", "to": "2024-01-31", "period": "week"}, "period"),
        ({"from": "2024-01-01", "to": "2024-01-31", "group_by": "x' OR 1=1"}, "group_by"),
        ({"to": "2024-01-31"}, "from"),
    ],
)
async def test_malformed_metric_parameters_are_422(
    client: httpx.AsyncClient, read_headers: dict[str, str], params: dict[str, str], field: str
) -> None:
    r = await client.get("/api/v1/metrics/summary", params=params, headers=read_headers)
    assert r.status_code == 422
    assert ["query", field] in locs(r)


async def test_sql_looking_unit_is_just_an_unknown_unit(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    params = {"from": "2024-01-01", "to": "2024-01-31", "unit": "x'; DROP TABLE units; --"}
    r = await client.get("/api/v1/metrics/summary", params=params, headers=read_headers)
    units = await client.get("/api/v1/units", headers=read_headers)
    assert (r.status_code, units.status_code) == (404, 200)
