"""Walk every route of the app: each one outside the public list demands a token and a scope."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.conftest import KeyFactory

PUBLIC = {"/healthz", "/readyz", "/", "/metrics", "/api/v1/dvcqg/login"}
# scope each route needs; a new route must be added here, or this test fails
SCOPES = {
    ("POST", "/api/v1/admin/api-keys"): "admin",
    ("GET", "/api/v1/admin/api-keys"): "admin",
    ("DELETE", "/api/v1/admin/api-keys/{key_id}"): "admin",
    ("POST", "/api/v1/events"): "ingest",
    ("POST", "/api/v1/events/batch"): "ingest",
    ("PUT", "/api/v1/units/{code}"): "admin",
    ("PUT", "/api/v1/units"): "admin",
    ("PUT", "/api/v1/procedures"): "admin",
    ("GET", "/api/v1/units"): "read",
    ("PUT", "/api/v1/procedures/{code}"): "admin",
    ("GET", "/api/v1/procedures"): "read",
    ("GET", "/api/v1/dossiers/{code}"): "read",
    ("GET", "/api/v1/status/sources"): "read",
    ("POST", "/api/v1/dvcqg/dossiers"): "ingest",
    ("POST", "/api/v1/dvcqg/progress"): "ingest",
    ("POST", "/api/v1/dvcqg/DongBoHoSoMC"): "ingest",
    ("POST", "/api/v1/dvcqg/CapNhatTienDoHoSoMC"): "ingest",
    ("POST", "/api/v1/dvcqg"): "ingest",
    ("POST", "/api/SynsTTHCC/DongBoHoSoMC"): "ingest",
    ("POST", "/api/SynsTTHCC/CapNhatTienDoHoSoMC"): "ingest",
    ("GET", "/api/v1/calendar"): "read",
    ("PUT", "/api/v1/calendar/{day}"): "admin",
    ("DELETE", "/api/v1/calendar/{day}"): "admin",
    ("GET", "/api/v1/metrics/procedures"): "read",
    ("GET", "/api/v1/metrics/coverage"): "read",
    ("PUT", "/api/v1/sectors/{code}"): "admin",
    ("PUT", "/api/v1/sectors"): "admin",
    ("GET", "/api/v1/sectors"): "read",
    ("GET", "/api/v1/metrics/{family}"): "read",
    ("GET", "/api/v1/rankings"): "read",
    ("GET", "/api/v1/dossiers"): "read",
    ("GET", "/api/v1/reports/processing"): "read",
    ("GET", "/api/v1/metrics/scorecard"): "read",
    ("GET", "/api/v1/exports/dossiers.csv"): "read",
    ("POST", "/api/v1/subscriptions"): "admin",
    ("GET", "/api/v1/subscriptions"): "admin",
    ("GET", "/api/v1/subscriptions/{subscription_id}"): "admin",
    ("DELETE", "/api/v1/subscriptions/{subscription_id}"): "admin",
    ("GET", "/api/v1/subscriptions/{subscription_id}/deliveries"): "admin",
}
OTHER_SCOPE = {"admin": "read", "read": "ingest", "ingest": "read"}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the app documents (the OpenAPI schema is built from all its routes)."""
    paths = app.openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in PUBLIC
        for method in operations
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "X1", path)


async def test_every_route_has_a_declared_scope(app: FastAPI) -> None:
    assert set(_routes(app)) == set(SCOPES)


async def test_every_route_refuses_a_missing_token_with_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    statuses = {r: (await client.request(r[0], _concrete(r[1]))).status_code for r in _routes(app)}
    assert statuses == {r: 401 for r in _routes(app)}


async def test_every_route_refuses_an_unknown_token_with_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": "Bearer osk_not-a-key"}
    statuses = {
        r: (await client.request(r[0], _concrete(r[1]), headers=headers)).status_code
        for r in _routes(app)
    }
    assert statuses == {r: 401 for r in _routes(app)}


async def test_every_route_refuses_the_wrong_scope_with_403(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    keys = {scope: await make_key(scope, name=scope) for scope in ("admin", "read", "ingest")}
    statuses = {}
    for method, path in _routes(app):
        wrong = keys[OTHER_SCOPE[SCOPES[(method, path)]]]
        response = await client.request(
            method, _concrete(path), headers={"Authorization": f"Bearer {wrong}"}
        )
        statuses[(method, path)] = response.status_code
    assert statuses == {r: 403 for r in _routes(app)}
