"""Each real national-sync client, as its code pushes, with only the base URL changed.

The clients' bodies and their answer checks are in tests/dvcqg_clients.py (cited there). Each
test plays a realistic sequence (records, then their steps, resends, updates), reads every
answer the way that client's code reads it, and checks the figures against ones computed by
hand from what really happened: the steps and statuses the clients invent change nothing.
Both backends (the ``client`` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.dossiers.models import DossierEvent
from app.main import create_app
from tests import dvcqg_clients as vendor
from tests.conftest import make_settings
from tests.dvcqg_clients import HaGiangDossier, OpenCpsDossier, TdDossier, TdStep

LOCAL = "+07:00"
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute)


def local(value: datetime) -> datetime:
    return datetime.fromisoformat(value.isoformat() + LOCAL)


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def create_key(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> str:
    body = {"name": name, "scopes": ["ingest"], "source": name}
    r = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
async def trusted(
    database_url: str, db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The service with 127.0.0.0/8 (the test client's address) trusted as one ingest key."""
    key_id = await create_key(client, admin, "province-lan")
    settings = make_settings(database_url, dvcqg_trusted_networks=[f"127.0.0.0/8={key_id}"])
    configured = create_app(settings)
    async with configured.router.lifespan_context(configured):
        transport = httpx.ASGITransport(app=configured)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def summary(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/api/v1/metrics/summary", params=MARCH, headers=headers)
    assert r.status_code == 200, r.text
    row: dict[str, Any] = r.json()["rows"][0]
    return row


async def state(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/dossiers/{code}", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["state"]
    return body


def picked(row: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in names}


# ------------------------------------------------------------------------------------------
# Thanh Hóa (TD.DichVuCongApi): no credential; Base + URLThemMoi / URLCapNhat /
# URLDongBoTienTrinh set to this service's provincial sync paths (docs/dvcqg.md).
# ------------------------------------------------------------------------------------------

TD_THEM_MOI = "/api/SynsTTHCC/DongBoHoSoMC?isUpdating=False"
TD_CAP_NHAT = "/api/SynsTTHCC/DongBoHoSoMC?isUpdating=True"
TD_TIEN_TRINH = "/api/SynsTTHCC/CapNhatTienDoHoSoMC"


async def td_push(client: httpx.AsyncClient, hs: TdDossier) -> dict[str, Any]:
    """PushData for one dossier: the record, then (once acknowledged) its steps in chunks."""
    record = [vendor.td_record(hs)]
    first = (await client.post(TD_THEM_MOI, json=record)).json()
    reading = vendor.td_reads_record_answer(first)
    answers: dict[str, Any] = {"record": first, "reading": reading, "steps": []}
    if reading == "update":
        update = (await client.post(TD_CAP_NHAT, json=record)).json()
        answers["update"] = update
        reading = "synced" if vendor.td_reads_update_answer(update) else "failed"
    answers["synced"] = reading == "synced"
    if answers["synced"]:
        for chunk in vendor.td_steps(hs):
            r = await client.post(TD_TIEN_TRINH, json=chunk)
            answers["steps"].append(r.json())
            answers["steps_synced"] = vendor.td_reads_steps_synced(r.text)
            if not answers["steps_synced"]:
                break
    return answers


def td_dossiers() -> dict[str, TdDossier]:
    return {
        # processing, online; the procedure has a main result but no result file yet
        "A": TdDossier(
            code="000.00.01.H56-240301-0001",
            procedure="1.009994",
            status="4",
            received=at(1, 8),
            due=at(8, 17),
            channel="2",
            files=["hs/a1.pdf", "hs/a2.pdf"],
            result_code="KQ01",
            steps=[TdStep(at(2, 9), "4", "Thẩm định hồ sơ")],
        ),
        # received, no due date: PushData adds "Hồ sơ không có ngày hẹn trả", 9 at receipt
        "B": TdDossier(
            code="000.00.01.H56-240301-0002",
            procedure="1.009994",
            status="2",
            received=at(1, 9),
            files=["hs/b1.pdf"],
        ),
        # waiting on a supplement (5): GetData sends 9, PushData adds 9 at receipt
        "C": TdDossier(
            code="000.00.01.H56-240304-0003",
            procedure="1.009994",
            status="5",
            received=at(4, 8),
            due=at(11, 17),
            channel="2",
            steps=[TdStep(at(5, 14), "5", "Yêu cầu bổ sung hồ sơ")],
        ),
        # returned, one paid fee; no result file: the first submitted file is sent as result
        "D": TdDossier(
            code="000.00.01.H56-240304-0004",
            procedure="1.010011",
            status="10",
            received=at(4, 10),
            due=at(5, 17),
            ended=at(5, 16),
            returned=at(6, 8),
            files=["hs/d1.pdf"],
            result_code="KQ02",
            paid=["50000.00"],
            steps=[TdStep(at(5, 16), "9", "Hoàn thành xử lý")],
        ),
    }


async def test_thanh_hoa_client_syncs_everything_and_its_invented_steps_change_no_figure(
    trusted: httpx.AsyncClient, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    dossiers = td_dossiers()
    first = {name: await td_push(trusted, hs) for name, hs in dossiers.items()}
    # A resolved and returned a week later: its sync flag is reset, only new steps are unsynced
    resolved = dossiers["A"]
    resolved.status, resolved.ended, resolved.returned = "10", at(6, 10), at(7, 9)
    resolved.result_files = "kq/a-giay-phep.pdf"
    resolved.steps = [TdStep(at(6, 10), "9", "Kết thúc xử lý")]
    second = await td_push(trusted, resolved)
    resend = await td_push(trusted, resolved)  # CapNhatChuaDongBoMaHoSoLois: same body again

    # every push is read as done, records and steps alike: nothing is pushed forever
    pushes = [*first.values(), second, resend]
    assert [(p["synced"], p["steps_synced"]) for p in pushes] == [(True, True)] * 6
    assert (resend["reading"], resend["update"]["error_code"]) == ("update", "0")

    # the invented steps 9 at receipt (B: no due date; C: a 5 sent as 9) are reported, not stored
    def invented(answer: dict[str, Any]) -> list[str]:
        return [
            e["type"] for r in answer["results"] for e in r["errors"] if r["result"] == "partial"
        ]

    assert invented(first["B"]["steps"][0]) == ["invented_step"]
    assert invented(first["C"]["steps"][0]) == ["invented_step"]
    assert [e["type"] for e in first["C"]["record"]["results"][0]["errors"]] == ["ambiguous_status"]
    d_errors = [e["type"] for e in first["D"]["record"]["results"][0]["errors"]]
    assert d_errors == ["submitted_file_as_result"]

    b = await state(client, read_headers, dossiers["B"].code)
    c = await state(client, read_headers, dossiers["C"].code)
    assert (b["status"], b["resolved_at"]) == ("received", None)
    assert (c["status"], c["resolved_at"], c["supplement_count"]) == (
        "supplement_requested",
        None,
        1,
    )
    # figures by hand: A early (10:00 on the 6th, due the 8th), D on time (16:00, due 17:00 the
    # same day); B and C open, C past its due date of the 11th; D's only fee is paid (TD sends
    # paid fees only); A has a result file, D's "result" is its submitted file
    expected = {
        "received": 4,
        "received_online": 2,
        "resolved": 2,
        "resolved_early": 1,
        "resolved_on_time": 1,
        "resolved_late": 0,
        "in_progress": 2,
        "in_progress_overdue": 1,
        "fee_required": 1,
        "paid_online": 1,
        "with_digitized_component": 3,
        "result_digitized": 1,
    }
    assert picked(await summary(client, read_headers), expected) == expected


# ------------------------------------------------------------------------------------------
# OpenCPS v2: logs in, then the envelope with its session to one integration endpoint
# (adapter_url + integration_endpoint = this service's /api/v1/dvcqg; auth_endpoint its login).
# ------------------------------------------------------------------------------------------

OPENCPS_LOGIN = "/api/v1/dvcqg/login"
OPENCPS_INTEGRATION = "/api/v1/dvcqg"
DSTCODE = {"dstcode": "000.00.15.H29"}


async def opencps_publish(client: httpx.AsyncClient, session: str, d: OpenCpsDossier) -> bool:
    """syncDossierAndDossierStatus, then PublishEventScheduler's check of its last answer."""
    lookup = (
        await client.post(
            OPENCPS_INTEGRATION, json=vendor.opencps_lookup(session, d.dossier_no), headers=DSTCODE
        )
    ).json()
    updating = "True" if vendor.opencps_reads_has_sync(lookup) else "False"
    body = vendor.opencps_envelope(
        session, "DongBoHoSoMC", [vendor.opencps_record(d)], isUpdating=updating
    )
    result = (await client.post(OPENCPS_INTEGRATION, json=body, headers=DSTCODE)).json()
    if vendor.opencps_reads_records_ok(result):
        body = vendor.opencps_envelope(session, "CapNhatTienDoHoSoMC", [vendor.opencps_step(d)])
        result = (await client.post(OPENCPS_INTEGRATION, json=body, headers=DSTCODE)).json()
    return vendor.opencps_reads_published(result)


async def test_opencps_logs_in_publishes_each_action_and_counts_a_supplement_once(
    client: httpx.AsyncClient, admin: dict[str, str], read_headers: dict[str, str]
) -> None:
    body = {"name": "opencps", "scopes": ["ingest"]}
    r = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
    assert r.status_code == 201, r.text
    key = r.json()
    answer = await client.post(
        OPENCPS_LOGIN, json=vendor.opencps_login_body(key["id"], key["key"]), headers=DSTCODE
    )
    session = vendor.opencps_reads_login(answer.json())
    assert session != ""

    e = OpenCpsDossier(
        "000.00.15.H29-240301-0001",
        "1.004227",
        "2",
        receive=at(1, 8),
        due=at(8, 17),
        action_at=at(1, 8),
        action_note="Tiếp nhận hồ sơ",
        files=["https://motcua.example.vn/documents/1/2/to-khai.pdf"],
    )
    f = OpenCpsDossier(
        "000.00.15.H29-240302-0002",
        "1.004227",
        "2",
        receive=at(2, 9),
        due=at(9, 17),
        action_at=at(2, 9),
    )
    published = [
        await opencps_publish(client, session, e),
        await opencps_publish(client, session, f),
    ]
    for status, when, note in (
        ("5", at(4, 10), "Yêu cầu bổ sung giấy tờ"),
        ("4", at(6, 9), "Công dân đã bổ sung"),
        ("9", at(8, 15), "Hoàn thành"),
        ("10", at(9, 8), "Trả kết quả"),
    ):
        e.status, e.action_at, e.action_note = status, when, note
        if status == "9":
            e.release = when
            e.results = ["https://motcua.example.vn/documents/1/2/giay-phep.pdf"]
        if status == "10":
            e.finish = when
        published.append(await opencps_publish(client, session, e))
    f.status, f.action_at, f.action_note = "3", at(3, 11), "Từ chối tiếp nhận"
    published.append(await opencps_publish(client, session, f))
    assert published == [True] * 7

    got_e = await state(client, read_headers, e.dossier_no)
    got_f = await state(client, read_headers, f.dossier_no)
    # the 5 on the record (an empty DanhSachHoSoBoSung) and its step are one request
    assert (got_e["status"], got_e["supplement_count"], got_e["channel"]) == (
        "returned",
        1,
        None,
    )
    assert instant(got_e["resolved_at"]) == local(at(8, 15))
    # the record's 3 has no date; the step's time is the refusal
    assert (got_f["status"], instant(got_f["refused_at"])) == ("refused", local(at(3, 11)))
    expected = {
        "resolved": 1,
        "resolved_on_time": 1,  # 15:00 on its due day
        "received_online": 0,  # OpenCPS sends no KenhThucHien
        "fee_required": 0,  # nor any fee: DanhSachLePhi is always []
        "result_digitized": 1,
    }
    assert picked(await summary(client, read_headers), expected) == expected


# ------------------------------------------------------------------------------------------
# Hà Giang admissions: no credential, the provincial sync path with its query string.
# ------------------------------------------------------------------------------------------


async def test_ha_giang_client_is_admitted_by_network_and_its_undated_statuses_are_not_applied(
    trusted: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: Database,
    read_headers: dict[str, str],
) -> None:
    g = HaGiangDossier("TS10.2024.000123", at(10, 7, 45, month=6), files=["hoc ba.pdf"])
    h = HaGiangDossier("TS10.2024.000124", at(10, 8, 5, month=6), files=["giay khai sinh.pdf"])
    calls = [*vendor.ha_giang_accept(g), *vendor.ha_giang_accept(h)]
    calls += [*vendor.ha_giang_return(g), *vendor.ha_giang_deny(h)]
    answers = []
    for path, body in calls:
        r = await trusted.post(path, json=body)  # DongBoTrangThaiHoSo only logs res.Content
        assert r.status_code == 200, r.text
        answers.append(r.json()["results"][0])
    # 1 (the record's only date is NgayTiepNhan, not a status-1 time) stores nothing; 2 is the
    # receipt; 10 and 3 carry no date of their own: reported, not applied
    assert [(a["result"], [e["type"] for e in a["errors"]][-1:]) for a in answers] == [
        ("invalid", ["missing"]),
        ("accepted", []),
        ("invalid", ["missing"]),
        ("accepted", []),
        ("partial", ["missing_date"]),
        ("partial", ["missing_date"]),
    ]
    for dossier in (g, h):
        got = await state(client, read_headers, dossier.fcode)
        assert dossier.created is not None
        assert (got["unit_code"], got["status"], got["resolved_at"], got["closed_at"]) == (
            "Trường THPT Chuyên Hà Giang",
            "received",
            None,
            None,
        )
        assert instant(got["received_at"]) == local(dossier.created)
    async with db.sessionmaker() as session:
        sources = set((await session.execute(select(DossierEvent.source))).scalars())
    assert sources == {"province-lan"}
    # by hand: two applications received in June, neither resolved nor closed (no date for
    # either was ever sent), no channel sent, no due date: in progress, never overdue
    r = await client.get(
        "/api/v1/metrics/summary",
        params={"from": "2024-06-01", "to": "2024-06-30"},
        headers=read_headers,
    )
    expected = {"received": 2, "received_online": 0, "resolved": 0, "in_progress": 2,
                "in_progress_overdue": 0}  # fmt: skip
    assert picked(r.json()["rows"][0], expected) == expected
