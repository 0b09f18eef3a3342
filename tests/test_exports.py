"""The streamed CSV export of folded dossiers."""

from __future__ import annotations

import csv
import io

import httpx

from tests.factories import event

EXPORT = "/api/v1/exports/dossiers.csv"


async def _push(client: httpx.AsyncClient, headers: dict[str, str], events: list[object]) -> None:
    r = await client.post("/api/v1/events/batch", json={"events": events}, headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


async def test_export_lists_the_dossiers_received_in_the_period_in_receipt_order(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _push(
        client,
        ingest_headers,
        [
            event(dossier="HS-Đà-Nẵng-2", at="2025-03-02T09:00:00+07:00"),
            event(dossier="HS-Đà-Nẵng-1", at="2025-03-01T09:00:00+07:00"),
            event(dossier="HS-later", at="2025-04-01T09:00:00+07:00"),
        ],
    )
    r = await client.get(
        EXPORT, params={"from": "2025-03-01", "to": "2025-03-31"}, headers=read_headers
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = _rows(r)
    assert [row["code"] for row in rows] == ["HS-Đà-Nẵng-1", "HS-Đà-Nẵng-2"]
    assert rows[0]["received_date"] == "2025-03-01"
    assert rows[0]["received_at"] == "2025-03-01T09:00:00+07:00"


async def test_export_of_a_unit_holds_only_its_subtree(
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
    admin: dict[str, str],
) -> None:
    await client.put("/api/v1/units/H", json={"name": "Huyện", "level": "district"}, headers=admin)
    await client.put(
        "/api/v1/units/H.X1",
        json={"name": "Xã 1", "level": "commune", "parent_code": "H"},
        headers=admin,
    )
    await _push(
        client,
        ingest_headers,
        [
            event(dossier="in-commune", unit="H.X1", at="2025-03-01T09:00:00+07:00"),
            event(dossier="elsewhere", unit="K", at="2025-03-01T09:00:00+07:00"),
        ],
    )
    r = await client.get(
        EXPORT, params={"from": "2025-03-01", "to": "2025-03-31", "unit": "H"}, headers=read_headers
    )
    assert [row["code"] for row in _rows(r)] == ["in-commune"]


async def test_export_limit_caps_the_rows(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _push(
        client,
        ingest_headers,
        [event(dossier=f"D{i}", at="2025-03-01T09:00:00+07:00") for i in range(5)],
    )
    r = await client.get(
        EXPORT, params={"from": "2025-03-01", "to": "2025-03-31", "limit": 3}, headers=read_headers
    )
    assert len(_rows(r)) == 3


async def test_export_with_from_after_to_is_422_and_an_unknown_unit_404(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get(
        EXPORT, params={"from": "2025-03-31", "to": "2025-03-01"}, headers=read_headers
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "from"]
    r = await client.get(
        EXPORT,
        params={"from": "2025-03-01", "to": "2025-03-31", "unit": "nowhere"},
        headers=read_headers,
    )
    assert r.status_code == 404
