"""``onestop report``: form II.06a to CSV and XLSX, by the same code as the reports API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests.cli_helpers import run_cli
from tests.factories import event
from tests.test_cli_import import write_lines


@pytest.fixture
async def three_dossiers(database_url: str, tmp_path: Path, client: httpx.AsyncClient) -> None:
    """In March 2026: one online dossier resolved on time, one direct still open and overdue,
    one direct in another sector still open within its deadline."""
    path = write_lines(
        tmp_path / "march.jsonl",
        [
            event(
                event_id="a-1",
                dossier="A",
                at="2026-03-02T08:00:00+07:00",
                channel="online",
                sector_code="Tư pháp",
                due_at="2026-03-06T17:00:00+07:00",
            ),
            event(
                event_id="a-2",
                dossier="A",
                status="resolved",
                at="2026-03-06T09:00:00+07:00",
                sector_code="Tư pháp",
            ),
            event(
                event_id="b-1",
                dossier="B",
                at="2026-03-03T08:00:00+07:00",
                channel="direct",
                sector_code="Tư pháp",
                due_at="2026-03-10T17:00:00+07:00",
            ),
            event(
                event_id="c-1",
                dossier="C",
                at="2026-03-30T08:00:00+07:00",
                channel="direct",
                sector_code="Đất đai",
                due_at="2026-04-20T17:00:00+07:00",
            ),
        ],
    )
    result = await run_cli(database_url, ["import", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.usefixtures("three_dossiers")
async def test_csv_report_has_a_row_per_sector_and_a_total(
    database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "II06a.csv"
    result = await run_cli(
        database_url, ["report", "--from", "2026-03-01", "--to", "2026-03-31", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")  # so Excel reads the Vietnamese right
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert set(rows) == {"Tư pháp", "Đất đai", "TOTAL"}
    total = rows["TOTAL"]
    figures = ("received_in_period", "received_online", "resolved_on_time", "in_progress_overdue")
    assert {k: int(total[k]) for k in figures} == {
        "received_in_period": 3,
        "received_online": 1,
        "resolved_on_time": 1,
        "in_progress_overdue": 1,
    }


@pytest.mark.usefixtures("three_dossiers")
async def test_xlsx_report_is_the_vietnamese_form(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "II06a.xlsx"
    result = await run_cli(
        database_url, ["report", "--from", "2026-03-01", "--to", "2026-03-31", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    assert sheet is not None
    assert "II.06a" in str(sheet["A1"].value)
    assert "01/03/2026" in str(sheet["A3"].value)
    labels = [row[2] for row in sheet.iter_rows(values_only=True)]
    assert "Tổng cộng" in labels


async def test_an_unknown_unit_is_a_clear_error(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    result = await run_cli(
        database_url,
        [
            "report",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--unit",
            "H99",
            "-o",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 1
    assert "no unit with code 'H99'" in result.output
    assert not (tmp_path / "x.csv").exists()


async def test_dates_in_the_wrong_order_are_refused(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    result = await run_cli(
        database_url,
        ["report", "--from", "2026-03-31", "--to", "2026-03-01", "-o", str(tmp_path / "x.csv")],
    )
    assert result.exit_code == 1
    assert "--to is before --from" in result.output


async def test_an_unknown_extension_needs_a_format(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    result = await run_cli(
        database_url,
        ["report", "--from", "2026-03-01", "--to", "2026-03-31", "-o", str(tmp_path / "x.pdf")],
    )
    assert result.exit_code == 1
    assert "--format csv|xlsx" in result.output
