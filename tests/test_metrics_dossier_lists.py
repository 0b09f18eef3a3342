"""GET /api/v1/dossiers: lists to urge units with, most overdue first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.reference.workdays import add_default_working_days
from tests.metrics_helpers import dossier, push, put_unit

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


async def _list(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    query = {k.rstrip("_"): v for k, v in params.items()}
    response = await client.get("/api/v1/dossiers", params=query, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _seed_old(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received = "2024-03-01T08:00:00+07:00"
    await push(
        client,
        headers,
        dossier("A", received=received, due="2024-03-05T17:00:00+07:00")
        + dossier("B", received=received, due="2024-03-20T17:00:00+07:00")
        + dossier("C", received=received)
        + dossier(
            "D",
            received=received,
            due="2024-03-05T17:00:00+07:00",
            resolved="2024-03-07T08:00:00+07:00",
        )
        + dossier(
            "E",
            received=received,
            due="2024-03-05T17:00:00+07:00",
            resolved="2024-03-04T08:00:00+07:00",
        ),
    )


async def test_overdue_lists_the_most_overdue_first_with_working_days(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _seed_old(client, ingest_headers)
    body = await _list(client, read_headers, state="overdue")
    codes = [i["dossier_code"] for i in body["items"]]
    assert (codes, body["total"]) == (["A", "B"], 2)
    a, b = body["items"]
    # 6–8, 11–15, 18–20 March 2024 lie between the two due days: 11 working days
    assert a["working_days_overdue"] - b["working_days_overdue"] == 11


async def test_open_lists_received_unresolved_dossiers(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _seed_old(client, ingest_headers)
    body = await _list(client, read_headers, state="open")
    assert [i["dossier_code"] for i in body["items"]] == ["A", "B", "C"]
    assert body["items"][2]["working_days_overdue"] == 0


async def test_late_and_resolved_lists_count_days_past_due_to_resolution(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _seed_old(client, ingest_headers)
    late = await _list(client, read_headers, state="late", from_="2024-03-01", to="2024-03-31")
    assert [(i["dossier_code"], i["working_days_overdue"]) for i in late["items"]] == [("D", 2)]
    resolved = await _list(client, read_headers, state="resolved")
    assert [i["dossier_code"] for i in resolved["items"]] == ["D", "E"]
    april = await _list(client, read_headers, state="resolved", from_="2024-04-01", to="2024-04-30")
    assert april["total"] == 0


async def test_due_soon_lists_open_dossiers_due_within_n_working_days(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()

    def due_in(days: int) -> str:
        day = add_default_working_days(today, days)
        return datetime.combine(day, datetime.min.time(), ZONE).replace(hour=17).isoformat()

    received = (now - timedelta(hours=1)).isoformat()
    await push(
        client,
        ingest_headers,
        dossier("soon", received=received, due=due_in(2))
        + dossier("later", received=received, due=due_in(10)),
    )
    body = await _list(client, read_headers, state="due_soon", due_within=3)
    assert [(i["dossier_code"], i["working_days_left"]) for i in body["items"]] == [("soon", 2)]


async def test_paging_and_unit_subtree(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_unit(client, admin, "D1", "district")
    await put_unit(client, admin, "C1", "commune", "D1")
    await _seed_old(client, ingest_headers)
    await push(client, ingest_headers, dossier("X", unit="C1"))
    page = await _list(client, read_headers, state="open", page=2, page_size=2)
    assert (page["total"], [i["dossier_code"] for i in page["items"]]) == (4, ["C", "X"])
    subtree = await _list(client, read_headers, state="open", unit="D1")
    assert [i["dossier_code"] for i in subtree["items"]] == ["X"]


async def test_bad_state_is_422_and_unknown_unit_404(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    state = await client.get("/api/v1/dossiers", params={"state": "lost"}, headers=read_headers)
    assert state.status_code == 422
    assert state.json()["detail"][0]["loc"] == ["query", "state"]
    unit = await client.get("/api/v1/dossiers", params={"unit": "NOPE"}, headers=read_headers)
    assert unit.status_code == 404
