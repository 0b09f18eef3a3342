"""``onestop units import|export`` and ``onestop procedures import``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx

from tests.cli_helpers import run_cli

# a province's list with its 2025 changes: successors and parents named before their rows
UNITS_CSV = """\ufeffcode,name,level,parent,valid_from,valid_to,successor
C1,Xã Bồi Sơn,commune,D,,2025-06-30,N1
C2,Xã Tràng Sơn,commune,D,,2025-06-30,N1
D,Huyện Đô Lương,district,P,,2025-06-30,
N1,Xã Đô Lương,commune,P,2025-07-01,,
P,Tỉnh Nghệ An,province,,,,
"""


async def all_units(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, dict[str, str]]:
    r = await client.get("/api/v1/units?at=all&flat=true", headers=admin)
    return {u["code"]: u for u in r.json()["units"]}


async def test_units_import_a_csv_with_the_2025_changes(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    result = await run_cli(database_url, ["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "5" in result.output
    units = await all_units(client, admin)
    assert sorted(units) == ["C1", "C2", "D", "N1", "P"]
    c1 = units["C1"]
    assert (c1["name"], c1["parent_code"], c1["valid_to"], c1["successor_code"]) == (
        "Xã Bồi Sơn",
        "D",
        "2025-06-30",
        "N1",
    )
    assert units["P"]["valid_from"] is None and units["P"]["parent_code"] is None
    today = (await client.get("/api/v1/units?flat=true", headers=admin)).json()["units"]
    assert [u["code"] for u in today] == ["N1", "P"]


async def test_a_bad_row_imports_nothing_and_names_the_row(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV.replace("C2,Xã Tràng Sơn,commune,D,,2025-06-30,N1", "C2,,x,,,,"))
    result = await run_cli(database_url, ["units", "import", str(path)])
    assert result.exit_code == 1
    assert "row 2" in result.output and "name" in result.output
    assert await all_units(client, admin) == {}
    path.write_text(UNITS_CSV.replace(",N1\nC2", ",N9\nC2"))
    result = await run_cli(database_url, ["units", "import", str(path)])
    assert result.exit_code == 1
    assert "row 1, successor_code" in result.output
    assert await all_units(client, admin) == {}


async def test_units_export_writes_what_import_reads(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    assert (await run_cli(database_url, ["units", "import", str(path)])).exit_code == 0
    exported = await run_cli(database_url, ["units", "export"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    expected = list(csv.DictReader(io.StringIO(UNITS_CSV.lstrip("\ufeff"))))
    assert sorted(rows, key=lambda r: r["code"]) == sorted(expected, key=lambda r: r["code"])
    out = tmp_path / "units.json"
    result = await run_cli(database_url, ["units", "export", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0
    again = await run_cli(database_url, ["units", "import", str(out)])
    assert again.exit_code == 0, again.output
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 5


async def test_procedures_import_a_json_file(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    path = tmp_path / "procedures.json"
    items = [
        {"code": "1.1", "name": "Đăng ký khai sinh", "level": "commune", "online_service": "full"},
        {
            "code": "1.2",
            "name": "Đăng ký kết hôn",
            "level": "commune",
            "online_service": "partial",
            "sector": "HT",
        },
    ]
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    result = await run_cli(database_url, ["procedures", "import", str(path)])
    assert result.exit_code == 0, result.output
    listed = (await client.get("/api/v1/procedures", headers=admin)).json()["procedures"]
    assert [(p["code"], p["name"], p["sector_code"]) for p in listed] == [
        ("1.1", "Đăng ký khai sinh", None),
        ("1.2", "Đăng ký kết hôn", "HT"),
    ]
