"""Keys scoped to unit subtrees: what a district's key sees, and what it is refused."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.metrics_helpers import dossier, push, put_unit
from tests.test_route_security import SCOPES

KEYS = "/api/v1/admin/api-keys"
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}


@pytest.fixture
async def province(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    """P > D1 (> C1, C2), XOUT (> XOUTC). Dossiers: 2 in D1, 2 in C1, 1 in C2, 3 outside.

    Everything outside D1 is named ``XOUT…``, so a response leaking it is easy to spot."""
    await put_unit(client, admin, "P", "province", name="Tỉnh")
    await put_unit(client, admin, "D1", "district", "P", name="Huyện Đô Lương")
    await put_unit(client, admin, "C1", "commune", "D1", name="Xã Bồi Sơn")
    await put_unit(client, admin, "C2", "commune", "D1")
    await put_unit(client, admin, "XOUT", "district", "P", name="XOUT district")
    await put_unit(client, admin, "XOUTC", "commune", "XOUT", name="XOUT commune")
    events: list[dict[str, Any]] = []
    due = "2024-03-05T17:00:00+07:00"
    for unit, count in (("D1", 2), ("C1", 2), ("C2", 1), ("XOUT", 1), ("XOUTC", 2)):
        for i in range(count):
            code = f"{unit}-{i}" if not unit.startswith("XOUT") else f"XOUT-dossier-{unit}-{i}"
            resolved = "2024-03-06T08:00:00+07:00" if i == 0 else None
            channel = "online" if i % 2 == 0 else "direct"
            events += dossier(code, unit=unit, due=due, resolved=resolved, channel=channel)
    await push(client, ingest_headers, events)


async def scoped_key(
    client: httpx.AsyncClient, admin: dict[str, str], units: list[str], scopes: list[str]
) -> dict[str, str]:
    body = {"name": f"key-{'-'.join(units)}", "scopes": scopes, "units": units}
    response = await client.post(KEYS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["units"] == units
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.fixture
async def district(
    province: None, client: httpx.AsyncClient, admin: dict[str, str]
) -> dict[str, str]:
    return await scoped_key(client, admin, ["D1"], ["read"])


async def received(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> Any:
    response = await client.get("/api/v1/metrics/online", params=MARCH | params, headers=headers)
    return response.status_code, (
        response.json()["rows"][0]["received"] if response.is_success else None
    )


async def test_a_district_key_counts_its_district_and_its_communes(
    district: dict[str, str], client: httpx.AsyncClient
) -> None:
    assert await received(client, district) == (200, 5)
    assert await received(client, district, unit="D1") == (200, 5)
    assert await received(client, district, unit="C1") == (200, 2)


async def test_a_unit_outside_the_scope_or_unknown_is_403(
    district: dict[str, str], client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    assert (await received(client, district, unit="XOUT"))[0] == 403
    assert (await received(client, district, unit="P"))[0] == 403  # the parent is outside
    assert (await received(client, district, unit="NOPE"))[0] == 403
    assert (await received(client, read_headers, unit="NOPE"))[0] == 404  # unscoped: 404


async def test_group_by_unit_lists_only_the_scope(
    district: dict[str, str], client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/v1/metrics/online", params=MARCH | {"group_by": "unit"}, headers=district
    )
    assert {r["unit_code"]: r["received"] for r in response.json()["rows"]} == {
        "C1": 2,
        "C2": 1,
        "D1": 2,
    }


async def test_rankings_without_unit_rank_under_the_scope_root(
    district: dict[str, str], client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    params = MARCH | {"indicator": "online_rate"}
    children = await client.get("/api/v1/rankings", params=params, headers=district)
    assert sorted(r["unit_code"] for r in children.json()["rows"]) == ["C1", "C2"]
    communes = await client.get(
        "/api/v1/rankings", params=params | {"level": "commune"}, headers=district
    )
    assert sorted(r["unit_code"] for r in communes.json()["rows"]) == ["C1", "C2"]
    two_roots = await scoped_key(client, admin, ["C1", "XOUT"], ["read"])
    roots = await client.get("/api/v1/rankings", params=params, headers=two_roots)
    assert sorted((r["unit_code"], r["denominator"]) for r in roots.json()["rows"]) == [
        ("C1", 2),
        ("XOUT", 3),
    ]


async def test_units_lists_only_the_subtree(
    district: dict[str, str], client: httpx.AsyncClient
) -> None:
    tree = (await client.get("/api/v1/units", headers=district)).json()["units"]
    assert [u["code"] for u in tree] == ["D1"]
    assert sorted(c["code"] for c in tree[0]["children"]) == ["C1", "C2"]
    flat = (await client.get("/api/v1/units", params={"flat": "true"}, headers=district)).json()
    assert sorted(u["code"] for u in flat["units"]) == ["C1", "C2", "D1"]


async def test_a_dossier_outside_the_scope_is_404(
    district: dict[str, str], client: httpx.AsyncClient
) -> None:
    inside = await client.get("/api/v1/dossiers/C1-0", headers=district)
    outside = await client.get("/api/v1/dossiers/XOUT-dossier-XOUT-0", headers=district)
    assert (inside.status_code, outside.status_code) == (200, 404)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"scopes": ["read"], "units": ["NOPE"]}, ["body", "units", 0]),
        ({"scopes": ["admin"], "units": ["D1"]}, ["body", "units"]),
        ({"scopes": ["read"], "expires_at": "2020-01-01T00:00:00+07:00"}, ["body", "expires_at"]),
    ],
)
async def test_bad_scoped_keys_are_422(
    province: None,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    body: dict[str, Any],
    loc: list[Any],
) -> None:
    response = await client.post(KEYS, json={"name": "k", **body}, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_a_scoped_ingest_key_refuses_events_outside_its_units(
    province: None, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = await scoped_key(client, admin, ["D1"], ["ingest"])
    events = [
        *dossier("new-inside", unit="C2"),
        *dossier("new-outside", unit="XOUTC"),
        *dossier("new-unknown", unit="ZZ-NEW"),
    ]
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=headers)
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["accepted", "invalid", "invalid"]
    assert results[1]["errors"][0]["loc"] == ["unit_code"]
    unregistered = await client.get("/api/v1/units", params={"unregistered": "true"}, headers=admin)
    assert "ZZ-NEW" not in unregistered.text  # nothing stored, nothing registered
    single = await client.post(
        "/api/v1/events", json=dossier("one-outside", unit="XOUT")[0], headers=headers
    )
    assert single.status_code == 422
    assert single.json()["detail"][0]["loc"] == ["body", "unit_code"]
    gone = await client.get("/api/v1/dossiers/new-outside", headers=admin)
    assert gone.status_code == 404


# --- the route walk: no read route leaks what is outside the scope -----------------------

# parameters that make each read route answer 200 (a new read route must be added here)
READ_PARAMS: dict[str, list[dict[str, str]]] = {
    "/api/v1/units": [{}, {"flat": "true"}, {"unregistered": "true"}],
    "/api/v1/procedures": [{}],
    "/api/v1/sectors": [{}],
    "/api/v1/dossiers/{code}": [{}],
    "/api/v1/status/sources": [{}],
    "/api/v1/calendar": [{"year": "2024"}],
    "/api/v1/metrics/procedures": [{}],
    "/api/v1/metrics/{family}": [
        MARCH | {"group_by": g, "period": p}
        for g in ("none", "unit", "procedure", "sector")
        for p in ("none", "month")
    ],
    "/api/v1/rankings": [
        MARCH | {"indicator": "online_rate"},
        MARCH | {"indicator": "overdue_rate", "level": "commune"},
        MARCH | {"indicator": "on_time_rate", "level": "district"},
    ],
    "/api/v1/dossiers": [{"state": s} for s in ("open", "overdue", "due_soon", "resolved", "late")],
    "/api/v1/reports/processing": [MARCH, MARCH | {"format": "csv"}],
    "/api/v1/metrics/scorecard": [MARCH, MARCH | {"group_by": "unit"}],
    "/api/v1/exports/dossiers.csv": [MARCH],
    "/api/v1/metrics/coverage": [{}],
}
# routes that take ``unit``: without it a scoped key gets what an admin gets with unit=D1
UNIT_ROUTES = {
    "/api/v1/metrics/{family}",
    "/api/v1/rankings",
    "/api/v1/dossiers",
    "/api/v1/reports/processing",
    "/api/v1/metrics/scorecard",
    "/api/v1/exports/dossiers.csv",
    "/api/v1/metrics/coverage",
}


def _read_routes() -> set[str]:
    """Every GET route of the read scope (``SCOPES`` lists every route of the app)."""
    return {path for (method, path), scope in SCOPES.items() if method == "GET" and scope == "read"}


def _concrete(path: str, family: str = "summary") -> str:
    return path.replace("{family}", family).replace("{code}", "XOUT-dossier-XOUTC-0")


def _comparable(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict):
            body.pop("unit", None)  # the report echoes the unit asked for
            body.pop("checked_at", None)
        return body
    return response.content


async def test_the_route_walk_covers_every_read_route() -> None:
    assert _read_routes() == set(READ_PARAMS)


async def test_no_read_route_leaks_outside_the_scope(
    app: FastAPI,
    district: dict[str, str],
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    leaks, refused, unequal = [], [], []
    for path, variants in READ_PARAMS.items():
        families = ("delay", "digitization", "online", "summary") if "{family}" in path else ("",)
        for family, params in ((f, p) for f in families for p in variants):
            url = _concrete(path, family or "summary")
            response = await client.get(url, params=params, headers=district)
            if path == "/api/v1/dossiers/{code}":
                if response.status_code != 404:
                    leaks.append((url, response.status_code))
                continue
            assert response.status_code == 200, (url, params, response.text)
            if re.search("XOUT", response.text):
                leaks.append((url, params))
            if path in UNIT_ROUTES:
                for unit in ("XOUT", "XOUTC", "P", "NOPE"):
                    outside = await client.get(
                        url, params=params | {"unit": unit}, headers=district
                    )
                    if outside.status_code != 403:
                        refused.append((url, params, unit, outside.status_code))
                as_admin = await client.get(url, params=params | {"unit": "D1"}, headers=admin)
                if _comparable(as_admin) != _comparable(response):
                    unequal.append((url, params))
    assert (leaks, refused, unequal) == ([], [], [])
