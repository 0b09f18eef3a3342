"""The national-format mapping as a pure function: record in, canonical events out."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.dvcqg.mapping import (
    DOSSIER_RULES,
    STEP_RULES,
    KnownDossier,
    MappedRecord,
    MappingOptions,
    map_dossier,
    map_step,
)
from app.reference.unit_map import UnitMapStep, mapped_unit

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
OPTIONS = MappingOptions(zone=ZONE)
DOCS = Path(__file__).parents[1] / "docs" / "dvcqg.md"


def base(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "MaHoSo": "000.00.31.H40-240108-0002",
        "MaTTHC": "2.000908",
        "KenhThucHien": "1",
        "NgayTiepNhan": "20240108091500",
        "NgayHenTra": "20240115170000",
        "TrangThaiHoSo": "2",
        "DonViXuLy": "UBND huyện Đô Lương",
    }
    record.update(fields)
    return record


def state(mapped: MappedRecord) -> dict[str, Any]:
    """The record's state (or attrs) event: the one with the attributes."""
    found = [e.body for e in mapped.events if ":event:" not in e.event_id]
    assert len(found) == 1
    return found[0]


def locs(mapped: MappedRecord) -> list[list[str | int]]:
    return [p.loc for p in mapped.problems]


def test_unit_is_the_code_prefix_by_default() -> None:
    assert state(map_dossier(base(), OPTIONS))["unit_code"] == "000.00.31.H40"


def test_unit_falls_back_to_donvixuly_when_the_code_has_no_prefix() -> None:
    mapped = map_dossier(base(MaHoSo="HS0002"), OPTIONS)
    assert state(mapped)["unit_code"] == "UBND huyện Đô Lương"


def test_unit_source_donvixuly_and_the_unit_map_are_applied() -> None:
    options = MappingOptions(
        zone=ZONE, unit_source="donvixuly", unit_map={"UBND huyện Đô Lương": "H40.31"}
    )
    assert state(map_dossier(base(), options))["unit_code"] == "H40.31"


def test_unit_map_renames_a_code_prefix() -> None:
    options = MappingOptions(zone=ZONE, unit_map={"000.00.31.H40": "H40.31"})
    assert state(map_dossier(base(), options))["unit_code"] == "H40.31"


def test_a_record_without_any_unit_is_refused_at_mahoso() -> None:
    mapped = map_dossier(base(MaHoSo="HS0002", DonViXuLy=""), OPTIONS)
    assert (mapped.events, locs(mapped)) == ([], [["MaHoSo"]])


def test_timestamps_are_local_time_of_the_configured_zone() -> None:
    body = state(map_dossier(base(), OPTIONS))
    assert (body["occurred_at"], body["due_at"]) == (
        "2024-01-08T09:15:00+07:00",
        "2024-01-15T17:00:00+07:00",
    )


def test_empty_dates_are_absent_and_malformed_ones_reported() -> None:
    mapped = map_dossier(base(NgayHenTra="", NgayTra="15/01/2024", NgayNopHoSo="20240230120000"),
                         OPTIONS)  # fmt: skip
    assert "due_at" not in state(mapped)
    assert locs(mapped) == [["NgayNopHoSo"], ["NgayTra"]]


def test_codes_and_timestamps_may_come_as_numbers() -> None:
    mapped = map_dossier(base(TrangThaiHoSo=4, KenhThucHien=2.0, NgayTiepNhan=20240108091500),
                         OPTIONS)  # fmt: skip
    body = state(mapped)
    assert (body["status"], body["channel"], mapped.problems) == ("processing", "online", [])


def test_unknown_channel_is_left_out_and_reported() -> None:
    mapped = map_dossier(base(KenhThucHien="9"), OPTIONS)
    assert "channel" not in state(mapped)
    assert locs(mapped) == [["KenhThucHien"]]


def test_components_ignore_deleted_ones_and_count_flags_or_links() -> None:
    items = [
        {"IsDeleted": "0", "DuocSoHoa": "1", "DuongDanTaiTepTin": ""},
        {"IsDeleted": "0", "DuocSoHoa": "0", "DuongDanTaiTepTin": "https://x/a.pdf"},
        {"IsDeleted": "0", "DuocSoHoa": "0", "DuongDanTaiTepTin": ""},
        {"IsDeleted": "True", "DuocSoHoa": "1", "DuongDanTaiTepTin": "https://x/b.pdf"},
        {"TenTepDinhKem": "no flags at all"},
    ]
    body = state(map_dossier(base(TaiLieuNop=items), OPTIONS))
    assert (body["components_total"], body["components_digitized"]) == (4, 2)


def test_components_accept_the_xml_style_wrapper() -> None:
    wrapped = {"TaiLieuNop": [{"DuocSoHoa": 1}, {"DuocSoHoa": 0}]}
    body = state(map_dossier(base(TaiLieuNop=wrapped), OPTIONS))
    assert (body["components_total"], body["components_digitized"]) == (2, 1)


def test_missing_lists_leave_attributes_unknown_and_empty_lists_mean_none() -> None:
    missing = state(map_dossier(base(), OPTIONS))
    empty = state(
        map_dossier(base(TaiLieuNop=[], DanhSachLePhi=[], DanhSachGiayToKetQua=[]), OPTIONS)
    )
    names = ("components_total", "fee_required", "result_digitized")
    assert [missing.get(n) for n in names] == [None, None, None]
    assert [empty.get(n) for n in names] == [0, False, False]


def test_fee_amounts_as_vietnamese_systems_write_them() -> None:
    def fee(*amounts: Any) -> Any:
        mapped = map_dossier(base(DanhSachLePhi=[{"Gia": a} for a in amounts]), OPTIONS)
        return state(mapped)["fee_required"], locs(mapped)

    assert fee("50.000") == (True, [])
    assert fee("0", "0.00", 0) == (False, [])
    assert fee("Miễn phí", "100,000") == (True, [["DanhSachLePhi", 0, "Gia"]])


def test_paid_online_from_codes_one_and_two() -> None:
    paid = [state(map_dossier(base(DuocThanhToanTrucTuyen=c), OPTIONS)).get("paid_online")
            for c in ("0", "1", "2", 3, "")]  # fmt: skip
    assert paid == [False, True, True, False, None]


def test_the_latest_supplement_moves_the_due_date() -> None:
    supplements = [
        {"NgayBoSung": "20240125153000", "NgayHenTraMoi": "20240202170000"},
        {"NgayBoSung": "20240118110000", "NgayHenTraMoi": "20240129170000"},
    ]
    mapped = map_dossier(base(TrangThaiHoSo="4", DanhSachHoSoBoSung=supplements), OPTIONS)
    requested = [e.body["occurred_at"] for e in mapped.events if "supplement" in e.event_id]
    assert state(mapped)["due_at"] == "2024-02-02T17:00:00+07:00"
    assert sorted(requested) == ["2024-01-18T11:00:00+07:00", "2024-01-25T15:30:00+07:00"]


def test_status_nine_without_an_end_date_is_not_applied() -> None:
    mapped = map_dossier(base(TrangThaiHoSo="9", NgayKetThucXuLy=""), OPTIONS)
    assert state(mapped)["status"] == "processing"
    assert [p.type for p in mapped.problems] == ["ambiguous_status"]


def test_end_date_of_an_open_dossier_is_ignored_and_reported() -> None:
    mapped = map_dossier(base(TrangThaiHoSo="4", NgayKetThucXuLy="20240110100000"), OPTIONS)
    assert [e.body["status"] for e in mapped.events] == ["received", "processing"]
    assert locs(mapped) == [["NgayKetThucXuLy"]]


def test_stopped_dossier_is_closed_at_its_end_date_not_resolved() -> None:
    mapped = map_dossier(base(TrangThaiHoSo="8", NgayKetThucXuLy="20240110100000"), OPTIONS)
    assert [(e.body["status"], e.body["occurred_at"]) for e in mapped.events] == [
        ("received", "2024-01-08T09:15:00+07:00"),
        ("stopped", "2024-01-10T10:00:00+07:00"),
    ]


def test_event_ids_follow_the_content() -> None:
    first = [e.event_id for e in map_dossier(base(), OPTIONS).events]
    same = [e.event_id for e in map_dossier(base(), OPTIONS).events]
    changed = [e.event_id for e in map_dossier(base(KenhThucHien="2"), OPTIONS).events]
    assert first == same
    assert (first[0] == changed[0], first[1] == changed[1]) == (True, False)
    assert all(re.fullmatch(r"dvcqg:[^:]+:(event|state|attrs):\w+:[0-9a-f]{16}", i) for i in first)


def test_names_and_step_texts_are_kept_in_vietnamese() -> None:
    record = state(map_dossier(base(TenTTHC="Chứng thực bản sao"), OPTIONS))
    step = map_step(
        {"MaHoSo": "000.00.31.H40-1", "TrangThai": "4", "ThoiDiemXuLy": "20240110090000",
         "NoiDungXuLy": "Thẩm định hồ sơ"}, OPTIONS, {},
    ).events[0].body  # fmt: skip
    assert record["dvcqg"]["TenTTHC"] == "Chứng thực bản sao"
    assert step["dvcqg"] == {"NoiDungXuLy": "Thẩm định hồ sơ"}


def test_the_docs_table_names_every_national_field_of_the_mapping() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [rule.national for rule in (*DOSSIER_RULES, *STEP_RULES) if rule.national not in text]
    assert missing == []


NATIONAL_KEYS = [
    "MaHoSo", "MaTTHC", "MaLinhVuc", "KenhThucHien", "TrangThaiHoSo", "NgayNopHoSo",
    "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi", "DonViXuLy",
    "DuocThanhToanTrucTuyen", "HoSoCoThanhPhanSoHoa", "TaiLieuNop", "DanhSachLePhi",
    "DanhSachHoSoBoSung", "DanhSachGiayToKetQua", "TrangThai", "ThoiDiemXuLy",
]  # fmt: skip
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["", "2", "20240108091500", "20241340000000", "000.00.31.H40-1", "1.0"]),
)  # fmt: skip
_CONTAINER_KEYS = [
    "IsDeleted", "DuocSoHoa", "Gia", "NgayBoSung", "NgayHenTraMoi", "DuongDanTepTinKetQua",
    "TaiLieuNop",
]  # fmt: skip


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists and objects of ``inner``: a named function, because Hypothesis checks that the
    extension uses its argument by reading its source, which a multi-line lambda can defeat
    (a deprecation warning, an error under ``filterwarnings = error``)."""
    return st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(_CONTAINER_KEYS), inner, max_size=3
    )


_values = st.recursive(_scalars, _containers, max_leaves=6)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.dictionaries(st.sampled_from(NATIONAL_KEYS), _values, max_size=12))
def test_no_record_shape_makes_the_mapping_raise(record: dict[str, Any]) -> None:
    for mapped in (map_dossier(record, OPTIONS), map_step(record, OPTIONS, {})):
        assert mapped.events or mapped.problems
        assert all(e.event_id.startswith("dvcqg:") for e in mapped.events)


def test_a_refusal_date_on_a_dossier_not_refused_is_ignored_and_reported() -> None:
    mapped = map_dossier(base(TrangThaiHoSo="2", NgayTuChoi="20240109100000"), OPTIONS)
    assert [e.body["status"] for e in mapped.events] == ["received", "received"]
    assert state(mapped)["occurred_at"] == "2024-01-08T09:15:00+07:00"
    assert locs(mapped) == [["NgayTuChoi"]]


def test_a_dated_unit_map_maps_a_prefix_to_the_new_unit_from_its_date() -> None:
    steps = [UnitMapStep(unit="X.DOLUONG", **{"from": "2025-07-01"})]
    options = MappingOptions(zone=ZONE, unit_map={"000.00.31.H40": steps})
    before = base(NgayTiepNhan="20250630080000", NgayHenTra="20250707170000")
    after = base(NgayTiepNhan="20250701080000", NgayHenTra="20250708170000")
    assert state(map_dossier(before, options))["unit_code"] == "000.00.31.H40"
    assert state(map_dossier(after, options))["unit_code"] == "X.DOLUONG"
    # without a receipt date, the day in MaHoSo decides
    filed = base(
        MaHoSo="000.00.31.H40-250702-0001",
        NgayTiepNhan=None,
        NgayHenTra=None,
        NgayNopHoSo="20250702080000",
        TrangThaiHoSo="1",
    )
    assert state(map_dossier(filed, options))["unit_code"] == "X.DOLUONG"


def test_the_dated_unit_map_is_read_from_settings_next_to_plain_entries() -> None:
    from app.config import Settings

    settings = Settings.model_validate(
        {"dvcqg_unit_map": {"A": "B", "C": [{"unit": "D", "from": "2025-07-01"}, {"unit": "E"}]}}
    )
    m = settings.dvcqg_unit_map
    assert mapped_unit(m, "A", None) == "B"
    assert mapped_unit(m, "C", date(2025, 6, 30)) == "E"
    assert mapped_unit(m, "C", date(2025, 7, 1)) == "D"
    assert mapped_unit(m, "Z", date(2025, 7, 1)) == "Z"


def _statuses(mapped: MappedRecord) -> list[str]:
    return [str(e.body["status"]) for e in mapped.events]


def _types(mapped: MappedRecord) -> list[str]:
    return [p.type for p in mapped.problems]


def test_a_closing_status_without_its_date_is_not_placed_at_the_receipt() -> None:
    returned = map_dossier(base(TrangThaiHoSo="10"), OPTIONS)
    refused = map_dossier(base(TrangThaiHoSo="3"), OPTIONS)
    for mapped in (returned, refused):
        assert (_statuses(mapped), _types(mapped)) == (["received", "processing"], ["missing_date"])
    dated = map_dossier(base(TrangThaiHoSo="10", NgayTra="20240112100000"), OPTIONS)
    assert _statuses(dated) == ["received", "returned", "returned"]


def test_a_status_5_without_a_dated_request_adds_no_supplement() -> None:
    undated = map_dossier(base(TrangThaiHoSo="5", DanhSachHoSoBoSung=[]), OPTIONS)
    dated = map_dossier(
        base(TrangThaiHoSo="5", DanhSachHoSoBoSung=[{"NgayBoSung": "20240110080000"}]), OPTIONS
    )
    assert (_statuses(undated), _types(undated)) == (["received", "processing"], ["missing_date"])
    assert _statuses(dated).count("supplement_requested") == 1


def test_a_step_9_at_the_receipt_of_an_unresolved_dossier_is_not_applied() -> None:
    code = "000.00.31.H40-240108-0002"
    receipt = datetime(2024, 1, 8, 9, 15, tzinfo=ZONE)
    step = {"MaHoSo": code, "TrangThai": "9", "ThoiDiemXuLy": "20240108091500"}
    later = {**step, "ThoiDiemXuLy": "20240110091500"}
    open_one = {code: KnownDossier("000.00.31.H40", receipt, None)}
    resolved = {code: KnownDossier("000.00.31.H40", receipt, receipt)}
    invented = map_step(step, OPTIONS, {}, open_one)
    assert (invented.events, _types(invented), invented.ignored) == ([], ["invented_step"], True)
    assert _statuses(map_step(later, OPTIONS, {}, open_one)) == ["resolved"]
    assert _statuses(map_step(step, OPTIONS, {}, resolved)) == ["resolved"]
    assert _statuses(map_step(step, OPTIONS, {}, {})) == ["resolved"]
