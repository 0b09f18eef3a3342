"""The national sync format (DVCQG) through the API, on both backends."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

from app.db import Database
from app.dossiers.models import DossierEvent
from app.main import create_app
from tests.conftest import make_settings

FIXTURES = Path(__file__).parent / "fixtures" / "dvcqg"
DOSSIERS = "/api/v1/dvcqg/dossiers"
PROGRESS = "/api/v1/dvcqg/progress"
LOCAL = "+07:00"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def record(code_suffix: str) -> dict[str, Any]:
    """A fixture record by the end of its MaHoSo, as a fresh copy."""
    found = [r for r in load("records.json") if r["MaHoSo"].endswith(code_suffix)]
    assert len(found) == 1
    return copy.deepcopy(found[0])


def code(suffix: str) -> str:
    return str(record(suffix)["MaHoSo"])


async def state_of(
    client: httpx.AsyncClient, headers: dict[str, str], dossier: str
) -> dict[str, Any]:
    r = await client.get(f"/api/v1/dossiers/{dossier}", headers=headers)
    assert r.status_code == 200, r.text
    state: dict[str, Any] = r.json()["state"]
    return state


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


TIME_FIELDS = {"received_at", "due_at", "resolved_at", "closed_at", "refused_at", "last_event_at"}

# The dossier states the fixture records must fold to (times in local time).
EXPECTED: dict[str, dict[str, Any]] = {
    "0001": {"status": "submitted", "channel": "online", "received_at": None,
             "unit_code": "000.00.31.H40", "procedure_code": "1.001193",
             "sector_code": "G09-TP01", "components_total": 2, "components_digitized": 2,
             "fee_required": False, "paid_online": None, "result_digitized": False},
    "0002": {"status": "received", "channel": "direct", "received_at": "2024-01-08T09:15:00",
             "due_at": "2024-01-15T17:00:00", "components_total": 2,
             "components_digitized": 2, "fee_required": False, "paid_online": False},
    "0003": {"status": "refused", "received_at": None, "refused_at": "2024-01-08T14:00:00",
             "closed_at": "2024-01-08T14:00:00", "resolved_at": None},
    "0004": {"status": "processing", "channel": "postal", "unit_code": "000.20.31.H40",
             "received_at": "2024-01-09T08:00:00", "components_total": 1,
             "components_digitized": 0},
    "0005": {"status": "supplement_requested", "supplement_count": 1,
             "due_at": "2024-01-24T17:00:00", "fee_required": True, "paid_online": True},
    "0006": {"status": "payment_requested", "fee_required": True, "paid_online": False,
             "last_event_at": "2024-01-11T09:00:00"},
    "0007": {"status": "withdrawn", "closed_at": "2024-01-15T10:00:00", "resolved_at": None,
             "components_total": 0},
    "0008": {"status": "stopped", "closed_at": "2024-01-18T16:00:00", "resolved_at": None,
             "components_total": 2, "components_digitized": 1},
    "0009": {"status": "resolved", "resolved_at": "2024-02-05T10:00:00",
             "due_at": "2024-02-02T17:00:00", "supplement_count": 2, "result_digitized": True,
             "fee_required": True, "paid_online": True},
    "0010": {"status": "returned", "resolved_at": "2024-01-22T16:00:00",
             "result_digitized": True, "fee_required": True, "paid_online": True},
    "0011": {"status": "processing", "resolved_at": None, "received_at": "2024-01-18T09:00:00"},
    "0012": {"status": "processing", "received_at": "2024-01-18T10:00:00"},
    "0014": {"status": "processing", "due_at": None, "received_at": "2024-01-19T08:30:00"},
    "0015": {"status": "received", "channel": "online", "components_total": None,
             "components_digitized": 1},
}  # fmt: skip


def mismatches(state: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, want in expected.items():
        got = state[name]
        if name in TIME_FIELDS:
            want_at = datetime.fromisoformat(want + LOCAL) if want else None
            if instant(got) != want_at:
                out[name] = (got, want)
        elif got != want:
            out[name] = (got, want)
    return out


async def test_fixture_records_fold_to_the_expected_dossier_states(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    r = await client.post(DOSSIERS, json=load("records.json"), headers=ingest_headers)
    assert r.status_code == 200, r.text
    wrong = {}
    for suffix, expected in EXPECTED.items():
        state = await state_of(client, read_headers, code(suffix))
        if problems := mismatches(state, expected):
            wrong[suffix] = problems
    assert wrong == {}


async def test_fixture_records_get_one_outcome_each_with_field_paths(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    body = (await client.post(DOSSIERS, json=load("records.json"), headers=ingest_headers)).json()
    outcomes = {
        r["MaHoSo"][-4:]: (r["result"], sorted({tuple(e["loc"])[:1] for e in r["errors"]}))
        for r in body["results"]
    }
    assert outcomes == {
        **{s: ("accepted", []) for s in ("0001", "0002", "0003", "0004", "0005")},
        **{s: ("accepted", []) for s in ("0006", "0007", "0008", "0009", "0010", "0015")},
        "0011": ("partial", [("TrangThaiHoSo",)]),
        "0012": ("partial", [("TrangThaiHoSo",)]),
        "0013": ("invalid", [("NgayTiepNhan",)]),
        "0014": ("partial", [("NgayHenTra",)]),
    }
    assert (body["error_code"], body["invalid"], body["partial"]) == ("2", 1, 3)


async def test_unknown_status_code_is_reported_and_not_applied(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    body = (await client.post(DOSSIERS, json=[record("0012")], headers=ingest_headers)).json()
    error = body["results"][0]["errors"][0]
    assert (error["loc"], error["type"]) == (["TrangThaiHoSo"], "enum")
    assert "12" in error["msg"]


async def test_all_valid_records_answer_error_code_zero(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(DOSSIERS, json=[record("0009"), record("0010")], headers=ingest_headers)
    body = r.json()
    assert (r.status_code, body["error_code"], body["accepted"]) == (200, "0", 2)
    assert "thành công" in body["message"].lower()


async def test_resending_unchanged_records_changes_nothing(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    records = load("records.json")
    await client.post(DOSSIERS, json=records, headers=ingest_headers)
    before = {s: await state_of(client, read_headers, code(s)) for s in EXPECTED}
    again = (await client.post(DOSSIERS, json=records, headers=ingest_headers)).json()
    after = {s: await state_of(client, read_headers, code(s)) for s in EXPECTED}
    assert again["events_accepted"] == 0
    assert {r["result"] for r in again["results"] if not r["errors"]} == {"duplicate"}
    assert after == before


async def test_a_changed_record_adds_events_and_moves_the_dossier(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    first = record("0004")
    await client.post(DOSSIERS, json=[first], headers=ingest_headers)
    later = copy.deepcopy(first)
    later.update(
        TrangThaiHoSo="10",
        NgayKetThucXuLy="20240122100000",
        NgayTra="20240123090000",
        DanhSachGiayToKetQua=[
            {"TenGiayTo": "Giấy chứng nhận QSDĐ", "DuongDanTepTinKetQua": "https://x/kq.pdf"}
        ],
    )
    body = (await client.post(DOSSIERS, json=[later], headers=ingest_headers)).json()
    results = [e["result"] for e in body["results"][0]["events"]]
    state = await state_of(client, read_headers, code("0004"))
    assert results == ["duplicate", "accepted", "accepted", "accepted"]
    assert (state["status"], state["result_digitized"]) == ("returned", True)
    assert instant(state["resolved_at"]) == datetime.fromisoformat("2024-01-22T10:00:00+07:00")


async def test_a_record_never_seen_before_is_accepted_as_it_is(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    body = (await client.post(DOSSIERS, json=[record("0010")], headers=ingest_headers)).json()
    state = await state_of(client, read_headers, code("0010"))
    assert (body["results"][0]["result"], state["status"]) == ("accepted", "returned")
    assert instant(state["received_at"]) == datetime.fromisoformat("2024-01-17T10:00:00+07:00")


async def test_a_status_without_its_own_date_takes_the_latest_date_of_the_record(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    body = (await client.post(DOSSIERS, json=[record("0006")], headers=ingest_headers)).json()
    events = body["results"][0]["events"]
    status_event = [e for e in events if e["status"] == "payment_requested"]
    assert [e["occurred_at"] for e in status_event] == ["2024-01-11T09:00:00+07:00"]


async def test_a_supplement_counts_once_across_syncs(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    waiting = record("0005")
    await client.post(DOSSIERS, json=[waiting], headers=ingest_headers)
    resumed = copy.deepcopy(waiting)
    resumed["TrangThaiHoSo"] = "4"
    resumed["DanhSachHoSoBoSung"][0]["NgayTiepNhanBoSung"] = "20240115090000"
    await client.post(DOSSIERS, json=[resumed], headers=ingest_headers)
    state = await state_of(client, read_headers, code("0005"))
    assert (state["status"], state["supplement_count"]) == ("processing", 1)
    assert instant(state["due_at"]) == datetime.fromisoformat("2024-01-24T17:00:00+07:00")


async def test_a_date_in_the_far_future_is_refused_at_its_national_field(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    future = record("0002")
    future["NgayTiepNhan"] = "20990108091500"
    body = (await client.post(DOSSIERS, json=[future], headers=ingest_headers)).json()
    result = body["results"][0]
    assert (result["result"], body["error_code"]) == ("invalid", "3")
    assert {tuple(e["loc"]) for e in result["errors"]} == {("NgayTiepNhan",)}


async def test_records_that_are_not_objects_are_invalid_without_spoiling_others(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    body = (
        await client.post(DOSSIERS, json=["abc", 7, record("0002")], headers=ingest_headers)
    ).json()
    assert [r["result"] for r in body["results"]] == ["invalid", "invalid", "accepted"]


def test_the_record_schema_documents_submitted_components_as_objects() -> None:
    """TaiLieuNop items are objects with DuocSoHoa (the class once shared the field's name,
    so the document said an array of nulls and Schemathesis generated only those)."""
    schemas = create_app(make_settings("sqlite+aiosqlite://")).openapi()["components"]["schemas"]
    field = schemas["DossierRecord"]["properties"]["TaiLieuNop"]
    items = next(branch["items"] for branch in field["anyOf"] if branch.get("type") == "array")
    component = schemas[items["$ref"].rsplit("/", 1)[1]]
    assert {"DuocSoHoa", "IsDeleted", "DuongDanTaiTepTin"} <= set(component["properties"])


async def test_a_body_that_is_not_an_array_gets_a_nonzero_code_and_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    answers = [
        await client.post(DOSSIERS, json={"MaHoSo": "x"}, headers=ingest_headers),
        await client.post(DOSSIERS, content=b"[{", headers=ingest_headers),
        await client.post(PROGRESS, json="20240110", headers=ingest_headers),
    ]
    assert [(a.status_code, a.json()["error_code"]) for a in answers] == [(422, "1")] * 3
    assert answers[0].json()["detail"][0]["loc"] == ["body"]


async def test_the_portal_envelope_is_accepted(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    envelope = {"service": "DongBoHoSoMC", "isUpdating": "False", "data": [record("0002")]}
    body = (await client.post(DOSSIERS, json=envelope, headers=ingest_headers)).json()
    assert (body["error_code"], body["accepted"]) == ("0", 1)


async def test_more_records_than_the_batch_limit_get_413_and_store_nothing(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    records = [record("0002")] * (db.settings.max_batch + 1)
    r = await client.post(DOSSIERS, json=records, headers=ingest_headers)
    assert (r.status_code, r.json()["error_code"]) == (413, "4")
    async with db.sessionmaker() as session:
        assert (await session.execute(text("SELECT count(*) FROM dossier_events"))).scalar() == 0


async def test_a_step_of_a_dossier_never_seen_takes_the_unit_from_the_code_prefix(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    step = {"MaHoSo": "000.23.31.H40-240201-0101", "TrangThai": "2",
            "ThoiDiemXuLy": "20240201080000", "NoiDungXuLy": "Tiếp nhận hồ sơ"}  # fmt: skip
    body = (await client.post(PROGRESS, json=[step], headers=ingest_headers)).json()
    state = await state_of(client, read_headers, "000.23.31.H40-240201-0101")
    assert body["results"][0]["result"] == "accepted"
    assert (state["unit_code"], state["status"]) == ("000.23.31.H40", "received")


async def test_a_step_keeps_the_unit_a_stored_dossier_has(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    event = {"event_id": "e1", "dossier_code": "000.23.31.H40-240201-0102", "status": "received",
             "occurred_at": "2024-02-01T08:00:00+07:00", "unit_code": "H40.31.23"}  # fmt: skip
    await client.post("/api/v1/events", json=event, headers=ingest_headers)
    step = {"MaHoSo": "000.23.31.H40-240201-0102", "TrangThai": 4, "ThoiDiemXuLy": "20240202080000"}
    await client.post(PROGRESS, json=[step], headers=ingest_headers)
    state = await state_of(client, read_headers, "000.23.31.H40-240201-0102")
    assert (state["unit_code"], state["status"]) == ("H40.31.23", "processing")


async def test_a_step_without_its_time_is_invalid(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    step = {"MaHoSo": "000.23.31.H40-240201-0103", "TrangThai": "4", "ThoiDiemXuLy": ""}
    body = (await client.post(PROGRESS, json=[step], headers=ingest_headers)).json()
    result = body["results"][0]
    assert (result["result"], result["errors"][0]["loc"]) == ("invalid", ["ThoiDiemXuLy"])


async def test_a_step_and_a_record_telling_the_same_supplement_count_once(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await client.post(DOSSIERS, json=[record("0005")], headers=ingest_headers)
    step = {"MaHoSo": code("0005"), "TrangThai": "5", "ThoiDiemXuLy": "20240112103000"}
    body = (await client.post(PROGRESS, json=[step], headers=ingest_headers)).json()
    state = await state_of(client, read_headers, code("0005"))
    assert (body["results"][0]["result"], state["supplement_count"]) == ("duplicate", 1)


async def test_vietnamese_step_texts_are_kept_as_sent(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    steps = load("steps.json")
    body = (await client.post(PROGRESS, json=steps, headers=ingest_headers)).json()
    event_id = body["results"][0]["events"][0]["event_id"]
    async with db.sessionmaker() as session:
        payload = (
            await session.execute(
                select(DossierEvent.payload).where(DossierEvent.event_id == event_id)
            )
        ).scalar_one()
    assert payload["dvcqg"]["NoiDungXuLy"] == steps[0]["NoiDungXuLy"]
    assert payload["dvcqg"]["PhongBanXuLy"] == "Bộ phận Địa chính - Xây dựng"


async def _empty_dossiers(db: Database) -> None:
    async with db.engine.begin() as conn:
        for table in ("dossier_events", "dossiers", "metric_rollups", "metric_rollup_days"):
            await conn.execute(text(f"DELETE FROM {table}"))


async def _push_both_ways(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    db: Database,
    read: Callable[[list[str]], Awaitable[Any]],
) -> tuple[Any, Any]:
    """What ``read`` sees after the fixture history pushed in the national format, then after
    the same history pushed as canonical events (the dossiers emptied in between)."""
    canonical = load("canonical_events.json")
    codes = sorted({e["dossier_code"] for e in canonical})
    national = [r for r in load("records.json") if r["MaHoSo"] in codes]
    await client.post(DOSSIERS, json=national, headers=headers)
    await client.post(PROGRESS, json=load("steps.json"), headers=headers)
    via_national = await read(codes)
    await _empty_dossiers(db)
    r = await client.post("/api/v1/events/batch", json={"events": canonical}, headers=headers)
    assert r.json()["accepted"] == len(canonical)
    return via_national, await read(codes)


async def test_national_and_canonical_routes_give_identical_dossier_states(
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
    db: Database,
) -> None:
    async def states(codes: list[str]) -> dict[str, Any]:
        out = {c: await state_of(client, read_headers, c) for c in codes}
        for state in out.values():
            del state["event_count"]  # the national route adds one event per record
            # a status-6 record without its own date starts its wait at the record's date
            # (docs/dvcqg.md, "Waits on the citizen": lossy); the canonical history has the step's
            del state["paused_at"]
        return out

    via_national, via_canonical = await _push_both_ways(client, ingest_headers, db, states)
    assert via_national == via_canonical


async def test_national_and_canonical_routes_give_identical_metrics(
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
    db: Database,
) -> None:
    queries = [
        {"group_by": "none", "period": "month"},
        {"group_by": "unit"},
        {"group_by": "procedure"},
        {"group_by": "sector", "period": "quarter"},
    ]

    async def metrics(_: list[str]) -> list[Any]:
        out = []
        for query in queries:
            params = {"from": "2024-01-01", "to": "2024-02-29", **query}
            r = await client.get("/api/v1/metrics/summary", params=params, headers=read_headers)
            assert r.status_code == 200, r.text
            out.append(r.json())
        return out

    via_national, via_canonical = await _push_both_ways(client, ingest_headers, db, metrics)
    assert via_national == via_canonical
    assert via_national[0]["rows"][0]["received"] > 0


async def test_settings_choose_the_unit_source_the_unit_map_and_the_success_code(
    database_url: str, db: Database, admin: dict[str, str]
) -> None:
    settings = make_settings(
        database_url,
        dvcqg_unit_source="donvixuly",
        dvcqg_unit_map={"UBND xã Bồi Sơn": "H40.31.07"},
        dvcqg_success_code="00",
    )
    configured = create_app(settings)
    async with configured.router.lifespan_context(configured):
        transport = httpx.ASGITransport(app=configured)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = (await client.post(DOSSIERS, json=[record("0004")], headers=admin)).json()
            state = await state_of(client, admin, code("0004"))
    assert (body["error_code"], state["unit_code"]) == ("00", "H40.31.07")
