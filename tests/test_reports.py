"""Form II.06a (JSON, CSV, XLSX parsed back) and the Decision 766 scorecard."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.metrics_helpers import dossier, push, put_unit, status_event

MARCH = {"from": "2024-03-01", "to": "2024-03-31"}
DUE = "2024-03-08T17:00:00+07:00"


async def _seed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    s1 = {"sector_code": "S1"}
    # carried over from February: one resolved late in March, one still open (overdue)
    events = dossier("old-1", received="2024-02-20T08:00:00+07:00", due=DUE, **s1)
    events.append(status_event("old-1", "resolved", "2024-03-11T08:00:00+07:00"))
    events += (
        dossier("old-2", received="2024-02-21T08:00:00+07:00", due=DUE, **s1)
        # received in March: online resolved early, direct on time, postal open within deadline
        + dossier("m-1", due=DUE, resolved="2024-03-06T08:00:00+07:00", **s1)
        + dossier("m-2", due=DUE, channel="direct", resolved="2024-03-08T10:00:00+07:00", **s1)
        + dossier("m-3", due="2024-04-20T17:00:00+07:00", channel="postal", **s1)
        + dossier("m-4", channel="direct", sector_code="S2")
        # withdrawn in March: received, but neither resolved nor in progress
        + dossier("m-5", sector_code="S2")
        + [status_event("m-5", "withdrawn", "2024-03-05T08:00:00+07:00")]
        # resolved in February: not carried over
        + dossier(
            "gone", received="2024-02-01T08:00:00+07:00", resolved="2024-02-02T08:00:00+07:00"
        )
    )
    await push(client, headers, events)


async def test_processing_report_rows_per_sector_and_total(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _seed(client, ingest_headers)
    response = await client.get("/api/v1/reports/processing", params=MARCH, headers=read_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    s1, s2 = body["rows"]
    assert s1 == {
        "code": "S1",
        "name": None,
        "received_total": 5,
        "received_online": 1,
        "received_direct_or_postal": 2,
        "carried_over": 2,
        "received_in_period": 3,
        "resolved_total": 3,
        "resolved_early": 1,
        "resolved_on_time": 1,
        "resolved_late": 1,
        "in_progress_total": 2,
        "in_progress_within_deadline": 1,
        "in_progress_overdue": 1,
    }
    assert (s2["code"], s2["received_total"], s2["in_progress_total"]) == ("S2", 2, 1)
    assert body["total"]["received_total"] == 7
    assert body["total"]["resolved_total"] == 3


async def test_processing_report_by_procedure_names_the_procedures(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    body = {"name": "Đăng ký khai sinh", "level": "commune", "online_service": "full"}
    await client.put("/api/v1/procedures/1.001193", json=body, headers=admin)
    await push(client, ingest_headers, dossier("a", procedure_code="1.001193"))
    response = await client.get(
        "/api/v1/reports/processing", params=MARCH | {"group_by": "procedure"}, headers=read_headers
    )
    (row,) = response.json()["rows"]
    assert (row["code"], row["name"], row["received_total"]) == ("1.001193", "Đăng ký khai sinh", 1)


async def test_processing_report_csv_parses_back(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await _seed(client, ingest_headers)
    response = await client.get(
        "/api/v1/reports/processing", params=MARCH | {"format": "csv"}, headers=read_headers
    )
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["code"] for r in rows] == ["S1", "S2", "TOTAL"]
    assert (rows[0]["carried_over"], rows[2]["received_total"]) == ("2", "7")


async def test_processing_report_xlsx_has_vietnamese_headers_and_the_figures(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_unit(client, admin, "U1", "district", name="Huyện Đô Lương")
    await _seed(client, ingest_headers)
    response = await client.get(
        "/api/v1/reports/processing",
        params=MARCH | {"format": "xlsx", "unit": "U1"},
        headers=read_headers,
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values: list[tuple[Any, ...]] = list(sheet.iter_rows(values_only=True))
    assert "Huyện Đô Lương" in str(values[1][0])
    assert values[3][3] == "Số hồ sơ nhận giải quyết"
    assert values[4][3:7] == (
        "Tổng số",
        "Trong kỳ: trực tuyến",
        "Trong kỳ: trực tiếp, bưu chính",
        "Từ kỳ trước chuyển sang",
    )
    assert values[5][:7] == (1, "S1", None, 5, 1, 2, 2)
    assert values[-1][2] == "Tổng cộng" and values[-1][3] == 7


async def _scorecard(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/metrics/scorecard", params=MARCH | params, headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


async def test_scorecard_points_use_the_thresholds(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    digitized = {"components_total": 2, "components_digitized": 2}
    events = (
        dossier(
            "a", due=DUE, resolved="2024-03-07T08:00:00+07:00", result_digitized=True, **digitized
        )
        + dossier("b", due=DUE, resolved="2024-03-11T08:00:00+07:00", **digitized)
        + dossier("c", channel="direct", fee_required=True, paid_online=False, **digitized)
        + dossier("d", channel="direct", components_total=2, components_digitized=1)
    )
    await push(client, ingest_headers, events)
    (row,) = await _scorecard(client, read_headers)
    by_key = {i["key"]: i for i in row["indicators"]}
    # 2.1, the portal's progress: a (on time), c and d (open, no due date) of a, b, c, d
    progress = by_key["progress"]
    assert (progress["rate"], progress["points"], progress["max_points"]) == (0.75, 15.0, 20)
    assert (row["progress_numerator"], row["progress_denominator"]) == (3, 4)
    assert by_key["online_submission"]["points"] == 12  # 2/4 = 50 %: the threshold
    assert by_key["online_payment"]["points"] == 0.0
    assert by_key["electronic_result"]["points"] == pytest.approx(3.0)  # 1/2 × 6
    digitized_row = by_key["dossiers_digitized"]  # a, c, d (b resolved without e-result)
    assert (digitized_row["rate"], digitized_row["threshold"]) == (0.75, 0.8)
    assert digitized_row["points"] == pytest.approx(0.75 * 4 / 0.8)
    assert row["points"] == pytest.approx(15 + 12 + 0 + 3 + 3.75)
    assert row["max_points"] == 52
    assert row["on_time_rate"] == 0.5  # the contract's: a of the resolved a, b


async def test_scorecard_full_marks_at_the_threshold_and_null_without_data(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_unit(client, admin, "D", "district")
    await put_unit(client, admin, "C", "commune", "D")
    events = []
    for i in range(5):
        total = {"components_total": 1, "components_digitized": 1 if i < 4 else 0}
        events += dossier(f"x{i}", unit="C", **total)
    await push(client, ingest_headers, events)
    rows = await _scorecard(client, read_headers, unit="D", group_by="unit")
    by_unit = {r["unit_code"]: {i["key"]: i for i in r["indicators"]} for r in rows}
    assert by_unit["C"]["dossiers_digitized"]["points"] == 4  # 80 % meets the threshold
    assert by_unit["D"]["dossiers_digitized"]["points"] is None
    assert by_unit["C"]["progress"]["points"] == 20  # open, no due date: on time
    assert by_unit["C"]["electronic_result"]["points"] is None  # nothing resolved
    row_c = next(r for r in rows if r["unit_code"] == "C")
    assert (row_c["points"], row_c["max_points"]) == (20 + 12 + 4, 20 + 12 + 4)
