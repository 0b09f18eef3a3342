"""Sectors by name: PUT /api/v1/sectors(/{code}), GET /api/v1/sectors, and II.06a's "Lĩnh vực"
column filled from them."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook

from tests.factories import event

REPORT = "/api/v1/reports/processing?from=2024-01-01&to=2024-01-31&group_by=sector"


async def test_report_by_sector_names_each_sector(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    one = await client.put("/api/v1/sectors/HT", json={"name": "Hộ tịch"}, headers=admin)
    many = await client.put(
        "/api/v1/sectors",
        json=[{"code": "DD", "name": "Đất đai"}, {"code": "HT", "name": "Hộ tịch (tư pháp)"}],
        headers=admin,
    )
    events = [event("D1", sector_code="HT"), event("D2", sector_code="DD"), event("D3")]
    sent = await client.post(
        "/api/v1/events/batch", json={"events": events}, headers=ingest_headers
    )
    assert (one.status_code, many.json(), sent.json()["accepted"]) == (201, {"upserted": 2}, 3)
    rows = (await client.get(REPORT, headers=read_headers)).json()["rows"]
    assert [(r["code"], r["name"]) for r in rows] == [
        ("DD", "Đất đai"),
        ("HT", "Hộ tịch (tư pháp)"),
        (None, None),
    ]
    xlsx = await client.get(REPORT + "&format=xlsx", headers=read_headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    named = [(r[1], r[2]) for r in sheet.iter_rows(min_row=6, max_row=7, values_only=True)]
    assert named == [("DD", "Đất đai"), ("HT", "Hộ tịch (tư pháp)")]
    listed = (await client.get("/api/v1/sectors", headers=read_headers)).json()["sectors"]
    assert [s["code"] for s in listed] == ["DD", "HT"]


async def test_a_bad_sector_array_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], read_headers: dict[str, str]
) -> None:
    answer = await client.put(
        "/api/v1/sectors", json=[{"code": "HT", "name": "Hộ tịch"}, {"code": "DD"}], headers=admin
    )
    listed = (await client.get("/api/v1/sectors", headers=read_headers)).json()["sectors"]
    assert (answer.status_code, answer.json()["detail"][0]["loc"], listed) == (
        422,
        ["body", 1, "name"],
        [],
    )
