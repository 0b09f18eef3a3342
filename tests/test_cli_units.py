"""``onestop units import|export`` and ``onestop procedures import``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

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


AUDIT = "/api/v1/admin/audit"
CLI = {"kind": "cli", "id": None, "name": "cli:ops-thanh"}


async def audited(
    client: httpx.AsyncClient, admin: dict[str, str], action: str = "*", after: int = 0
) -> Any:
    """The ``action`` audit entries after the entry ``after`` (the log outlives a test's
    tables: it refuses DELETE), oldest first."""
    params: dict[str, Any] = {"limit": 1000} | ({} if action == "*" else {"action": action})
    response = await client.get(AUDIT, params=params, headers=admin)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"][::-1] if e["id"] > after]


async def last_entry(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    """The id of the newest audit entry (0: none)."""
    return max((e["id"] for e in await audited(client, admin)), default=0)


async def test_units_import_records_a_unit_put_per_unit_with_the_cli_as_actor(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    mark = await last_entry(client, admin)
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    result = await run_cli(database_url, ["units", "import", str(path)], LOGNAME="ops-thanh")
    assert result.exit_code == 0, result.output
    items = await audited(client, admin, "unit.put", mark)
    assert sorted(e["target"] for e in items) == ["C1", "C2", "D", "N1", "P"]
    assert all((e["actor"], e["request_id"]) == (CLI, None) for e in items)
    c1 = next(e["details"] for e in items if e["target"] == "C1")
    assert c1 == {
        "name": "Xã Bồi Sơn",
        "level": "commune",
        "parent_code": "D",
        "valid_from": None,
        "valid_to": "2025-06-30",
        "successor_code": "N1",
        "created": True,
    }


async def test_an_unchanged_units_import_records_what_the_bulk_route_records(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    mark = await last_entry(client, admin)
    # the route records every item of a PUT, changed or not (created: false); so does the CLI
    rows = list(csv.DictReader(io.StringIO(UNITS_CSV.lstrip("\ufeff"))))
    body = [{k: v or None for k, v in r.items()} for r in rows]
    for r in body:
        r["parent_code"], r["successor_code"] = r.pop("parent"), r.pop("successor")
    assert (await client.put("/api/v1/units", json=body, headers=admin)).status_code == 200
    assert (await client.put("/api/v1/units", json=body, headers=admin)).status_code == 200
    path = tmp_path / "units.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    result = await run_cli(database_url, ["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    items = await audited(client, admin, "unit.put", mark)
    over_http = {e["target"]: e["details"] for e in items[5:10]}
    from_cli = {e["target"]: e["details"] for e in items[10:]}
    assert len(items) == 15 and from_cli == over_http
    assert {d["created"] for d in from_cli.values()} == {False}
    assert [e["actor"]["kind"] for e in items[9:11]] == ["admin_token", "cli"]


async def test_procedures_import_records_what_the_bulk_route_records_with_the_cli_as_actor(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    mark = await last_entry(client, admin)
    new = {"code": "1.1", "name": "Đăng ký khai sinh", "level": "commune", "online_service": "full"}
    twin = {**new, "code": "1.2", "sector_code": "HT"}
    assert (await client.put("/api/v1/procedures", json=[twin], headers=admin)).status_code == 200
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps([{**new, "sector_code": "HT"}], ensure_ascii=False))
    result = await run_cli(database_url, ["procedures", "import", str(path)], LOGNAME="ops-thanh")
    assert result.exit_code == 0, result.output
    over_http, from_cli = await audited(client, admin, "procedure.put", mark)
    assert (from_cli["target"], from_cli["actor"]) == ("1.1", CLI)
    assert from_cli["details"] == over_http["details"]
    assert from_cli["details"]["created"] is True


async def test_a_refused_import_records_nothing(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    mark = await last_entry(client, admin)
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV.replace(",N1\nC2", ",N9\nC2"))  # an unknown successor
    result = await run_cli(database_url, ["units", "import", str(path)])
    assert result.exit_code == 1
    assert await audited(client, admin, "unit.put", mark) == []
