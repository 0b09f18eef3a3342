"""Helpers for the metrics tests: push events, describe units, read metric rows."""

from __future__ import annotations

from typing import Any

import httpx


async def push(
    client: httpx.AsyncClient, headers: dict[str, str], events: list[dict[str, Any]]
) -> None:
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rejected"] == 0, body


async def put_unit(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    code: str,
    level: str,
    parent: str | None = None,
    name: str | None = None,
) -> None:
    body = {"name": name or f"Đơn vị {code}", "level": level, "parent_code": parent}
    response = await client.put(f"/api/v1/units/{code}", json=body, headers=admin)
    assert response.status_code in (200, 201), response.text


async def metrics(
    client: httpx.AsyncClient, headers: dict[str, str], family: str, **params: Any
) -> list[dict[str, Any]]:
    query = {k.rstrip("_"): v for k, v in params.items()}
    response = await client.get(f"/api/v1/metrics/{family}", params=query, headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


async def one_row(
    client: httpx.AsyncClient, headers: dict[str, str], family: str, **params: Any
) -> dict[str, Any]:
    rows = await metrics(client, headers, family, **params)
    assert len(rows) == 1, rows
    return rows[0]


def dossier(
    code: str,
    *,
    unit: str = "U1",
    received: str = "2024-03-04T08:00:00+07:00",
    resolved: str | None = None,
    due: str | None = None,
    channel: str = "online",
    **fields: Any,
) -> list[dict[str, Any]]:
    """The events of a simple dossier: received (with attributes), then maybe resolved."""
    events = [
        {
            "event_id": f"{code}-received",
            "dossier_code": code,
            "status": "received",
            "occurred_at": received,
            "unit_code": unit,
            "channel": channel,
            **({"due_at": due} if due else {}),
            **fields,
        }
    ]
    if resolved is not None:
        events.append(
            {
                "event_id": f"{code}-resolved",
                "dossier_code": code,
                "status": "resolved",
                "occurred_at": resolved,
                "unit_code": unit,
            }
        )
    return events


def status_event(
    code: str, status: str, at: str, unit: str = "U1", **fields: Any
) -> dict[str, Any]:
    return {
        "event_id": f"{code}-{status}-{at}",
        "dossier_code": code,
        "status": status,
        "occurred_at": at,
        "unit_code": unit,
        **fields,
    }
