"""The national sync format (DVCQG) read as canonical events: the whole mapping lives here.

A provincial one-stop system syncs each dossier to the National Public Service Portal as a
record with Vietnamese field names (``MaHoSo``, ``TrangThaiHoSo``, ``NgayTiepNhan``…) and
timestamps written ``yyyyMMddHHmmss`` in local time, and sends processing steps
(``QuaTrinhXuLy``) separately. This module is pure (no I/O, no clock): it turns one record or
one step into the canonical event dicts of ``app.ingest.schemas.EventIn`` plus the problems
found, each with the national field path.

``DOSSIER_RULES`` and ``STEP_RULES`` are the one table: each row names the national field, the
canonical field it feeds, the rule in words (rendered in docs/dvcqg.md) and the reader that
applies it. ``map_dossier`` and ``map_step`` only compose the facts those readers return.

Which events a record becomes (a record is a snapshot; the events are its history):
- a *dated event* per date the record holds: ``submitted`` at ``NgayNopHoSo``, ``received`` at
  ``NgayTiepNhan``, ``supplement_requested`` at each ``DanhSachHoSoBoSung[].NgayBoSung``,
  ``resolved`` at ``NgayKetThucXuLy`` and ``returned`` at ``NgayTra`` (status 9/10),
  ``refused`` at ``NgayTuChoi`` (status 3). They carry nothing but the unit, so later syncs of
  the same dossier reproduce them exactly (duplicates, never a second occurrence);
- one *state event* with the current ``TrangThaiHoSo`` and every attribute of the record,
  dated by the status's own date when the record holds it, else by the latest date it holds
  (never by the arrival time, never by a due date).
Event ids are ``dvcqg:{MaHoSo}:{kind}:{status}:{hash}`` with ``hash`` over the mapped event's
content, so an unchanged record maps to the same ids and a changed one to new ids. At the same
instant the fold orders events by id; the kinds are named so that ``attrs`` < ``event`` <
``state``: the record's current status comes after the dated events it summarises.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson

from app.dossiers.fold import Channel, Status
from app.reference.unit_map import UnitMapStep, mapped_unit

UnitSource = Literal["prefix", "donvixuly"]
Loc = list[str | int]
Path = Sequence[str | int]

_TIMESTAMP = re.compile(r"^\d{14}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
# Amounts as Vietnamese systems write them: "50000", "50.000", "50,000", "50 000", "0.00".
_AMOUNT = re.compile(r"^\d[\d., ]*$")
CHANNEL_CODES: dict[int, Channel] = {1: Channel.direct, 2: Channel.online, 3: Channel.postal}
# Codes some vendors rewrite as 9 before syncing (DOMAIN.md).
REWRITTEN_AS_RESOLVED = (5, 6, 8)
_TRUE_FLAGS = {"1", "true", "True", "TRUE"}
_FALSE_FLAGS = {"0", "false", "False", "FALSE"}


@dataclass(frozen=True)
class MappingOptions:
    """Where the configuration enters the mapping (settings ``ONESTOP_DVCQG_*``)."""

    zone: ZoneInfo
    unit_source: UnitSource = "prefix"
    unit_map: Mapping[str, str | Sequence[UnitMapStep]] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Something in a record that could not be used, with its national field path."""

    loc: Loc
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


@dataclass
class MappedEvent:
    """One canonical event made from a record or step, and where its fields came from."""

    body: dict[str, Any]
    locs: dict[str, Loc]

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])


@dataclass
class MappedRecord:
    dossier_code: str | None
    events: list[MappedEvent]
    problems: list[Problem]
    # Read, and deliberately not applied (an invented step): reported `partial`, not `invalid`.
    ignored: bool = False


@dataclass(frozen=True)
class KnownDossier:
    """What the store already holds of a dossier a step names."""

    unit_code: str
    received_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class Dated:
    """An instant read from the record, with the field it came from."""

    at: datetime
    loc: Loc


@dataclass(frozen=True)
class Supplement:
    index: int
    requested: Dated | None
    resubmitted: Dated | None
    new_due: Dated | None


@dataclass(frozen=True)
class Unit:
    code: str
    loc: Loc


# --------------------------------------------------------------------------------------------
# Reading national values: lenient about types (numbers as text, text as numbers), strict about
# meaning. Every value that cannot be read becomes a Problem and is left out.
# --------------------------------------------------------------------------------------------


class RecordReader:
    """Reads fields of one national record (or step), collecting problems by field path."""

    def __init__(self, record: Mapping[str, Any], options: MappingOptions) -> None:
        self.record = record
        self.options = options
        self.problems: list[Problem] = []

    def problem(self, loc: Loc, msg: str, kind: str = "value_error") -> None:
        self.problems.append(Problem(list(loc), msg, kind))

    def text(
        self, name: str, source: Mapping[str, Any] | None = None, loc: Path = ()
    ) -> str | None:
        """A code or name: text or a number, trimmed; empty means absent."""
        value = (self.record if source is None else source).get(name)
        return _text(value, [*loc, name], self)

    def integer(
        self, name: str, source: Mapping[str, Any] | None = None, loc: Path = ()
    ) -> int | None:
        value = (self.record if source is None else source).get(name)
        return _integer(value, [*loc, name], self)

    def instant(
        self, name: str, source: Mapping[str, Any] | None = None, loc: Path = ()
    ) -> Dated | None:
        value = (self.record if source is None else source).get(name)
        path: Loc = [*loc, name]
        at = _instant(value, path, self.options.zone, self)
        return Dated(at, path) if at is not None else None

    def items(self, name: str, wrapper: str) -> list[tuple[int, Mapping[str, Any]]] | None:
        """A list of objects; ``None`` when absent. Accepts the XML-style wrapper object
        ``{"<wrapper>": [...]}`` some vendors send. Items that are not objects are skipped."""
        value = self.record.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, Mapping):
            # {"<wrapper>": [...]} (XML-style), {"<wrapper>": {...}} or a lone item object
            value = value.get(wrapper, []) if set(value) <= {wrapper} else [value]
            if isinstance(value, Mapping):
                value = [value]
        if not isinstance(value, list):
            self.problem([name], "expected a list of objects", "list_type")
            return None
        out = []
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                out.append((i, item))
            else:
                self.problem([name, i], "expected an object; item ignored", "dict_type")
        return out


def _text(value: Any, loc: Loc, reader: RecordReader) -> str | None:
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            reader.problem(loc, "expected text, got a boolean", "string_type")
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if not isinstance(value, str):
        reader.problem(loc, "expected text", "string_type")
        return None
    value = value.strip()
    return value or None


def _integer(value: Any, loc: Loc, reader: RecordReader) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        reader.problem(loc, "expected a number code, got a boolean", "int_type")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    reader.problem(loc, f"expected a number code, got {show(value)}", "int_parsing")
    return None


def _instant(value: Any, loc: Loc, zone: ZoneInfo, reader: RecordReader) -> datetime | None:
    """``yyyyMMddHHmmss`` in the configured zone; empty means absent."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        reader.problem(loc, "expected a yyyyMMddHHmmss timestamp text", "datetime_type")
        return None
    text = value.strip()
    if not text:
        return None
    if not _TIMESTAMP.match(text):
        reader.problem(
            loc,
            f"expected yyyyMMddHHmmss (14 digits, local time), got {show(text)}",
            "datetime_parsing",
        )
        return None
    try:  # slicing: ~10x faster than strptime, same meaning for 14 digits
        local = datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]),
            int(text[8:10]), int(text[10:12]), int(text[12:14]),
        )  # fmt: skip
    except ValueError:
        reader.problem(loc, f"not a calendar date and time: {show(text)}", "datetime_parsing")
        return None
    if local.year < 1990:
        reader.problem(loc, f"timestamp before 1990: {show(text)}", "datetime_parsing")
        return None
    return local.replace(tzinfo=zone)


def _flag(value: Any) -> bool | None:
    """A national 0/1 flag (also "True"/"False", true/false; absent = 0); ``None`` when
    unreadable."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip()
        if text in _TRUE_FLAGS:
            return True
        if text in _FALSE_FLAGS or text == "":
            return False
    return None


def _amount_positive(value: Any) -> bool | None:
    """Whether a fee amount (``Gia``) is above zero; ``None`` when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return False
        if _AMOUNT.match(text):
            return any(ch in "123456789" for ch in text)
    return None


def show(value: Any) -> str:
    """A sent value as an answer quotes it: its repr, cut at 40 characters (a value may be huge)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------------
# The readers of the table, one per canonical fact.
# --------------------------------------------------------------------------------------------


def read_unit(r: RecordReader) -> Unit | None:
    """The unit code: the ``MaHoSo`` prefix or ``DonViXuLy`` (configurable), then the map."""
    code = r.text("MaHoSo")
    prefix = code.split("-", 1)[0].strip() if code and "-" in code else None
    by_field: dict[str, str | None] = {"MaHoSo": prefix or None, "DonViXuLy": r.text("DonViXuLy")}
    order = (
        ("MaHoSo", "DonViXuLy") if r.options.unit_source == "prefix" else ("DonViXuLy", "MaHoSo")
    )
    for name in order:
        raw = by_field[name]
        if raw:
            return Unit(mapped_unit(r.options.unit_map, raw, _receipt_day(r, code)), [name])
    r.problem(
        ["MaHoSo"],
        "no unit: MaHoSo has no unit prefix before '-' and DonViXuLy is empty",
        "missing",
    )
    return None


def _receipt_day(r: RecordReader, code: str | None) -> date | None:
    """For a dated unit map: NgayTiepNhan's day, else the day in MaHoSo (``…-yyMMdd-…``)."""
    parts = code.split("-") if code else []
    received = r.record.get("NgayTiepNhan")
    candidates = (
        (received[:8] if isinstance(received, str) else "", "%Y%m%d"),
        (parts[1][:6] if len(parts) > 2 else "", "%y%m%d"),
    )
    for text, pattern in candidates:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def read_channel(r: RecordReader) -> Channel | None:
    code = r.integer("KenhThucHien")
    if code is None:
        return None
    if code not in CHANNEL_CODES:
        r.problem(["KenhThucHien"], f"unknown channel code {code}; expected 1, 2 or 3; left out")
        return None
    return CHANNEL_CODES[code]


def read_status(r: RecordReader, name: str = "TrangThaiHoSo") -> Status | None:
    code = r.integer(name)
    if code is None:
        if name not in r.record or r.record.get(name) in (None, ""):
            r.problem([name], "no status code", "missing")
        return None
    if not 1 <= code <= 10:
        r.problem([name], f"unknown status code {code}; expected 1–10", "enum")
        return None
    return Status.from_code(code)


def read_supplements(r: RecordReader) -> list[Supplement] | None:
    items = r.items("DanhSachHoSoBoSung", "HoSoBoSung")
    if items is None:
        return None
    out = []
    for i, item in items:
        loc: Loc = ["DanhSachHoSoBoSung", i]
        out.append(
            Supplement(
                index=i,
                requested=r.instant("NgayBoSung", item, loc),
                resubmitted=r.instant("NgayTiepNhanBoSung", item, loc),
                new_due=r.instant("NgayHenTraMoi", item, loc),
            )
        )
    return out


def read_components(r: RecordReader) -> tuple[int, int] | None:
    """(non-deleted components, those with ``DuocSoHoa`` 1 or a file link)."""
    items = r.items("TaiLieuNop", "TaiLieuNop")
    if items is None:
        return None
    total = digitized = 0
    for i, item in items:
        deleted = _flag(item.get("IsDeleted"))
        if deleted is None:
            r.problem(["TaiLieuNop", i, "IsDeleted"], "unreadable flag; read as not deleted")
        if deleted:
            continue
        total += 1
        flag = _flag(item.get("DuocSoHoa"))
        if flag is None:
            r.problem(["TaiLieuNop", i, "DuocSoHoa"], "unreadable flag; read as 0")
        link = r.text("DuongDanTaiTepTin", item, ["TaiLieuNop", i])
        if flag or link:
            digitized += 1
    return total, digitized


def read_has_digitized_component(r: RecordReader) -> bool | None:
    value = r.record.get("HoSoCoThanhPhanSoHoa")
    if value is None or value == "":
        return None
    flag = _flag(value)
    if flag is None:
        r.problem(["HoSoCoThanhPhanSoHoa"], f"unreadable flag {show(value)}; left out")
    return flag


def read_result_digitized(r: RecordReader) -> bool | None:
    """Any result document with a file link, not counting a link that is one of the
    submitted components' files (TaiLieuNop[].DuongDanTaiTepTin): some clients send the first
    submitted file as the result when the dossier has none (see docs/dvcqg.md, Thanh Hóa)."""
    items = r.items("DanhSachGiayToKetQua", "GiayToKetQua")
    if items is None:
        return None
    submitted = _submitted_links(r.record.get("TaiLieuNop"))
    electronic = False
    for i, item in items:
        loc: Loc = ["DanhSachGiayToKetQua", i]
        link = r.text("DuongDanTepTinKetQua", item, loc)
        if link and link in submitted:
            r.problem(
                [*loc, "DuongDanTepTinKetQua"],
                "the same file as a submitted component (TaiLieuNop[].DuongDanTaiTepTin): "
                "not counted as an electronic result",
                "submitted_file_as_result",
            )
        elif link:
            electronic = True
    return electronic


def _submitted_links(value: Any) -> set[str]:
    """The file links of the submitted components, read without reporting (their reader
    reports what is wrong with them)."""
    if isinstance(value, Mapping):
        value = value.get("TaiLieuNop", [value])
    if not isinstance(value, list):
        return set()
    links = set()
    for item in value:
        link = item.get("DuongDanTaiTepTin") if isinstance(item, Mapping) else None
        if isinstance(link, str) and link.strip():
            links.add(link.strip())
    return links


def read_fee_required(r: RecordReader) -> bool | None:
    items = r.items("DanhSachLePhi", "LePhi")
    if items is None:
        return None
    required = False
    for i, item in items:
        positive = _amount_positive(item.get("Gia"))
        if positive is None:
            r.problem(["DanhSachLePhi", i, "Gia"], f"not an amount: {show(item.get('Gia'))}")
        required = required or bool(positive)
    return required


def read_paid_online(r: RecordReader) -> bool | None:
    code = r.integer("DuocThanhToanTrucTuyen")
    if code is None:
        return None
    if code not in (0, 1, 2, 3):
        r.problem(["DuocThanhToanTrucTuyen"], f"unknown payment code {code}; left out")
        return None
    return code in (1, 2)


Reader = Callable[[RecordReader], Any]


@dataclass(frozen=True)
class Rule:
    """One row of the mapping table."""

    national: str
    canonical: str
    rule: str
    key: str
    read: Reader


DOSSIER_RULES: tuple[Rule, ...] = (
    Rule(
        "MaHoSo",
        "dossier_code",
        "as sent (a number becomes text); required",
        "code",
        lambda r: r.text("MaHoSo"),
    ),
    Rule(
        "MaHoSo prefix, DonViXuLy",
        "unit_code",
        "ONESTOP_DVCQG_UNIT_SOURCE=prefix (default): the part of MaHoSo before the first '-' "
        "(`000.00.31.H40-240105-0001` → `000.00.31.H40`), else DonViXuLy; =donvixuly: the "
        "other way round. Then ONESTOP_DVCQG_UNIT_MAP (JSON, value → unit code) if it names "
        "the value. Required",
        "unit",
        read_unit,
    ),
    Rule("MaTTHC", "procedure_code", "as sent", "procedure", lambda r: r.text("MaTTHC")),
    Rule("MaLinhVuc", "sector_code", "as sent", "sector", lambda r: r.text("MaLinhVuc")),
    Rule(
        "KenhThucHien",
        "channel",
        "1 direct, 2 online, 3 postal; other codes left out",
        "channel",
        read_channel,
    ),
    Rule(
        "TrangThaiHoSo",
        "status (state event)",
        "1–10 → submitted … returned (Status.from_code); a status whose time the record does "
        "not give is not applied (reported; the state event says processing): 9 without "
        "NgayKetThucXuLy (vendors rewrite 5/6/8 as 9), 10 without NgayKetThucXuLy or NgayTra, "
        "3 without NgayTuChoi or NgayKetThucXuLy, 5 without a dated DanhSachHoSoBoSung request; "
        "unknown codes are not applied",
        "status",
        read_status,
    ),
    Rule(
        "NgayNopHoSo",
        "submitted event",
        "its occurred_at",
        "submitted_at",
        lambda r: r.instant("NgayNopHoSo"),
    ),
    Rule(
        "NgayTiepNhan",
        "received event; received_at",
        "its occurred_at, and received_at on the state event (not for status 1)",
        "received_at",
        lambda r: r.instant("NgayTiepNhan"),
    ),
    Rule(
        "NgayHenTra",
        "due_at",
        "on the state event, unless a supplement moved it",
        "due_at",
        lambda r: r.instant("NgayHenTra"),
    ),
    Rule(
        "DanhSachHoSoBoSung[].NgayBoSung, .NgayHenTraMoi, .NgayTiepNhanBoSung",
        "supplement_requested events; due_at",
        "each dated request → a supplement_requested event at NgayBoSung; due_at = NgayHenTraMoi "
        "of the latest request that has one (by NgayBoSung, then list order); "
        "NgayTiepNhanBoSung (after NgayBoSung) → a processing event: the wait on the citizen "
        "ends there",
        "supplements",
        read_supplements,
    ),
    Rule(
        "NgayKetThucXuLy",
        "resolved event; closing time",
        "status 9/10: a resolved event at it; status 3/7/8: the time of that status; "
        "ignored (reported) for open statuses",
        "ended_at",
        lambda r: r.instant("NgayKetThucXuLy"),
    ),
    Rule(
        "NgayTra",
        "returned event",
        "status 10: a returned event at it; ignored otherwise",
        "returned_at",
        lambda r: r.instant("NgayTra"),
    ),
    Rule(
        "NgayTuChoi",
        "refused event",
        "status 3: the refusal time (else NgayKetThucXuLy); ignored otherwise",
        "refused_at",
        lambda r: r.instant("NgayTuChoi"),
    ),
    Rule(
        "TaiLieuNop[] (IsDeleted, DuocSoHoa, DuongDanTaiTepTin)",
        "components_total, components_digitized",
        "total = items not deleted (IsDeleted 1/True); digitized = those with DuocSoHoa 1 "
        "or a DuongDanTaiTepTin link; [] = none; absent = unknown",
        "components",
        read_components,
    ),
    Rule(
        "HoSoCoThanhPhanSoHoa",
        "components_digitized",
        "only when TaiLieuNop is absent: 1 → at least one digitized component (1)",
        "has_digitized_component",
        read_has_digitized_component,
    ),
    Rule(
        "DanhSachGiayToKetQua[].DuongDanTepTinKetQua",
        "result_digitized",
        "true when any result document has a link, not counting a link that is one of the "
        "submitted components' files (reported); [] = false; absent = unknown",
        "result_digitized",
        read_result_digitized,
    ),
    Rule(
        "DanhSachLePhi[].Gia",
        "fee_required",
        'true when any fee has Gia > 0 ("50.000" and "50000" alike); [] = false; absent = unknown',
        "fee_required",
        read_fee_required,
    ),
    Rule(
        "DuocThanhToanTrucTuyen",
        "paid_online",
        "1 or 2 → true, 0 or 3 → false",
        "paid_online",
        read_paid_online,
    ),
)

STEP_RULES: tuple[Rule, ...] = (
    Rule("MaHoSo", "dossier_code", "as sent; required", "code", lambda r: r.text("MaHoSo")),
    Rule(
        "TrangThai",
        "status",
        "1–10, as TrangThaiHoSo; required. A 9 dated exactly at the receipt of a stored "
        "dossier its records do not say is resolved is not applied (`invented_step`)",
        "status",
        lambda r: read_status(r, "TrangThai"),
    ),
    Rule(
        "ThoiDiemXuLy",
        "occurred_at",
        "required: a step without its time is refused",
        "occurred_at",
        lambda r: r.instant("ThoiDiemXuLy"),
    ),
    Rule(
        "MaHoSo prefix, DonViXuLy",
        "unit_code",
        "the unit the dossier already has here; for a dossier never seen, as for records "
        "(the MaHoSo prefix by default)",
        "unit",
        read_unit,
    ),
    Rule(
        "PhongBanXuLy, NoiDungXuLy, NguoiXuLy, ChucDanh",
        "(kept in the stored payload)",
        "Vietnamese text kept as sent under `dvcqg`; not part of the event's identity",
        "notes",
        lambda r: _notes(r, ("PhongBanXuLy", "NoiDungXuLy", "NguoiXuLy", "ChucDanh")),
    ),
)

# The status whose own date a record holds (besides the dated events it implies).
OWN_DATE = {
    Status.submitted: ("submitted_at",),
    Status.received: ("received_at",),
    Status.refused: ("refused_at", "ended_at"),
    Status.withdrawn: ("ended_at",),
    Status.stopped: ("ended_at",),
    Status.resolved: ("ended_at",),
    Status.returned: ("returned_at",),
}


def _notes(r: RecordReader, names: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in names:
        value = r.record.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = value.replace("\x00", "")
    return out


def read_facts(r: RecordReader, rules: Sequence[Rule]) -> dict[str, Any]:
    return {rule.key: rule.read(r) for rule in rules}


# --------------------------------------------------------------------------------------------
# Composing events.
# --------------------------------------------------------------------------------------------


def event_id(dossier_code: str, kind: str, body: Mapping[str, Any]) -> str:
    """``dvcqg:{MaHoSo}:{kind}:{status}:{hash}``; the hash covers every canonical field."""
    content = {k: _hashable(v) for k, v in body.items() if k not in ("event_id", "dvcqg")}
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"dvcqg:{dossier_code}:{kind}:{body['status']}:{digest[:16]}"


def _hashable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _event(
    code: str, kind: str, status: Status, at: Dated, unit: Unit, **attributes: Any
) -> MappedEvent:
    body: dict[str, Any] = {
        "dossier_code": code,
        "status": status.value,
        "occurred_at": at.at,
        "unit_code": unit.code,
    }
    locs: dict[str, Loc] = {
        "dossier_code": ["MaHoSo"],
        "occurred_at": at.loc,
        "unit_code": unit.loc,
    }
    extras = attributes.pop("dvcqg", None)
    for name, (value, loc) in attributes.items():
        if value is not None:
            body[name] = value
            locs[name] = loc
    body["event_id"] = event_id(code, kind, body)
    for name, value in list(body.items()):
        if isinstance(value, datetime):
            body[name] = value.isoformat()
    if extras:
        body["dvcqg"] = extras
    return MappedEvent(body, locs)


def map_dossier(record: Any, options: MappingOptions) -> MappedRecord:
    """One national dossier record → its dated events and its state event."""
    if not isinstance(record, Mapping):
        return MappedRecord(None, [], [Problem([], "a record must be a JSON object", "dict_type")])
    r = RecordReader(record, options)
    facts = read_facts(r, DOSSIER_RULES)
    code: str | None = facts["code"]
    if code is None:
        r.problems.insert(0, Problem(["MaHoSo"], "MaHoSo is required", "missing"))
        return MappedRecord(None, [], r.problems)
    unit: Unit | None = facts["unit"]
    status: Status | None = facts["status"]
    if unit is None:
        return MappedRecord(code, [], r.problems)

    supplements: list[Supplement] = facts["supplements"] or []
    ended: Dated | None = facts["ended_at"]
    returned: Dated | None = facts["returned_at"]
    received: Dated | None = facts["received_at"]

    if status is Status.resolved and ended is None:
        r.problem(
            ["TrangThaiHoSo"],
            "status 9 (resolved) without NgayKetThucXuLy: some vendors send 5, 6 or 8 as 9, so "
            "it is not applied; the dossier is recorded as processing",
            "ambiguous_status",
        )
        status = None
    # A closing status the record gives no time for is not applied: placing it at the
    # record's latest date (often the receipt) would invent a resolution or refusal time.
    if status is Status.returned and ended is None and returned is None:
        r.problem(
            ["TrangThaiHoSo"],
            "status 10 (returned) without NgayKetThucXuLy or NgayTra: the time of the "
            "resolution is unknown, so it is not applied; the dossier is recorded as processing "
            "until a dated record or step (TrangThai 9/10 with ThoiDiemXuLy) arrives",
            "missing_date",
        )
        status = None
    if status is Status.refused and ended is None and facts["refused_at"] is None:
        r.problem(
            ["TrangThaiHoSo"],
            "status 3 (refused) without NgayTuChoi or NgayKetThucXuLy: the time of the refusal "
            "is unknown, so it is not applied; the dossier is recorded as processing until a "
            "dated record or step (TrangThai 3 with ThoiDiemXuLy) arrives",
            "missing_date",
        )
        status = None
    if status is Status.supplement_requested and not any(s.requested for s in supplements):
        r.problem(
            ["TrangThaiHoSo"],
            "status 5 (supplement requested) without a dated request "
            "(DanhSachHoSoBoSung[].NgayBoSung): the time of the request is unknown, so it is not "
            "applied (the request counts once, when a step TrangThai 5 or a dated request "
            "arrives); the dossier is recorded as processing",
            "missing_date",
        )
        status = None
    if status is Status.submitted and received is not None:
        r.problem(["NgayTiepNhan"], "ignored: the status is 1 (submitted, not yet received)")
        received = None
    if ended is not None and status not in (
        Status.resolved,
        Status.returned,
        Status.refused,
        Status.withdrawn,
        Status.stopped,
    ):
        r.problem(["NgayKetThucXuLy"], "ignored: the dossier's status is not a closing one")
        ended = None
    if returned is not None and status is not Status.returned:
        r.problem(["NgayTra"], "ignored: the status is not 10 (returned)")
        returned = None
    refusal: Dated | None = facts["refused_at"]
    if refusal is not None and status is not Status.refused:
        r.problem(["NgayTuChoi"], "ignored: the status is not 3 (refused)")
        refusal = None

    # Dated events: one per occurrence the record's dates imply; minimal, so stable.
    dated: list[tuple[Status, Dated]] = []
    if facts["submitted_at"] is not None:
        dated.append((Status.submitted, facts["submitted_at"]))
    if received is not None:
        dated.append((Status.received, received))
    requested = [s for s in supplements if s.requested is not None]
    for supplement in requested:
        assert supplement.requested is not None
        dated.append((Status.supplement_requested, supplement.requested))
        done = supplement.resubmitted
        if done is not None and done.at > supplement.requested.at:
            # the citizen supplemented: the wait ends (a later request is a new one)
            dated.append((Status.processing, done))
    if ended is not None and status in (Status.resolved, Status.returned):
        dated.append((Status.resolved, ended))
    if returned is not None:
        dated.append((Status.returned, returned))
    refused_at = refusal or ended
    if status is Status.refused and refused_at is not None:
        dated.append((Status.refused, refused_at))
    events = [_event(code, "event", s, at, unit) for s, at in dated]

    # The state event: the current status with every attribute of the record, dated by the
    # status's own date, else by the latest date the record holds; never before a dated event.
    own_dates: dict[str, Dated | None] = {
        "submitted_at": facts["submitted_at"],
        "received_at": received,
        "ended_at": ended,
        "returned_at": returned,
        "refused_at": refusal,
    }
    candidates = [at for _, at in dated]
    candidates += [s.resubmitted for s in supplements if s.resubmitted is not None]
    candidates += [d for d in own_dates.values() if d is not None]
    if not candidates:
        r.problem(
            ["NgayTiepNhan"],
            "the record holds no date to place its status at (NgayTiepNhan, NgayNopHoSo, "
            "NgayKetThucXuLy, NgayTra … all empty); nothing stored",
            "missing",
        )
        return MappedRecord(code, [], r.problems)
    latest = max(candidates, key=lambda d: d.at)
    last_dated = max((at for _, at in dated), key=lambda d: d.at, default=None)

    kind, state_status = "state", status or Status.processing
    last_request = max(
        ((s.requested, s.index) for s in supplements if s.requested is not None),
        key=lambda pair: (pair[0].at, pair[1]),
        default=None,
    )
    if (
        status is Status.supplement_requested
        and last_request is not None
        and last_dated is not None
        and last_dated.at <= last_request[0].at
    ):
        # The latest request already is the status-5 occurrence: count it once. The record's
        # attributes ride on an `attrs` event at the same instant, sorted just before it
        # (`attrs` < `event`), with the neutral status processing.
        kind, state_status, at = "attrs", Status.processing, last_request[0]
    else:
        own = [d for key in OWN_DATE.get(state_status, ()) if (d := own_dates[key])]
        at = own[0] if own and status is not None else latest
        if last_dated is not None and last_dated.at > at.at:
            at = last_dated

    due, due_loc = _due(facts["due_at"], supplements)
    components = facts["components"]
    total = digitized = None
    components_loc: Loc = ["TaiLieuNop"]
    if components is not None:
        total, digitized = components
    elif facts["has_digitized_component"]:
        digitized, components_loc = 1, ["HoSoCoThanhPhanSoHoa"]
    extras = _record_notes(record)
    state = _event(
        code,
        kind,
        state_status,
        at,
        unit,
        procedure_code=(facts["procedure"], ["MaTTHC"]),
        sector_code=(facts["sector"], ["MaLinhVuc"]),
        channel=(facts["channel"].value if facts["channel"] else None, ["KenhThucHien"]),
        received_at=(received.at if received else None, received.loc if received else []),
        due_at=(due, due_loc),
        components_total=(total, components_loc),
        components_digitized=(digitized, components_loc),
        result_digitized=(facts["result_digitized"], ["DanhSachGiayToKetQua"]),
        fee_required=(facts["fee_required"], ["DanhSachLePhi"]),
        paid_online=(facts["paid_online"], ["DuocThanhToanTrucTuyen"]),
        dvcqg=extras,
    )
    events.append(state)
    return MappedRecord(code, events, r.problems)


def _record_notes(record: Mapping[str, Any]) -> dict[str, str]:
    """Names and raw codes kept in the stored payload, Vietnamese text as sent."""
    out = {}
    for name in ("TenTTHC", "DonViXuLy", "TrangThaiHoSo"):
        value = record.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            out[name] = value.replace("\x00", "")
    return out


def _due(due: Dated | None, supplements: Sequence[Supplement]) -> tuple[datetime | None, Loc]:
    """NgayHenTra, moved by the NgayHenTraMoi of the latest supplement request that has one."""
    moved = [s for s in supplements if s.new_due is not None]
    if moved:
        floor = datetime.min.replace(tzinfo=UTC)
        latest = max(moved, key=lambda s: (s.requested.at if s.requested else floor, s.index))
        assert latest.new_due is not None
        return latest.new_due.at, latest.new_due.loc
    if due is not None:
        return due.at, due.loc
    return None, ["NgayHenTra"]


def map_step(
    step: Any,
    options: MappingOptions,
    known_units: Mapping[str, str],
    known: Mapping[str, KnownDossier] | None = None,
) -> MappedRecord:
    """One processing step (QuaTrinhXuLy) → one status event at ThoiDiemXuLy.

    A step of a dossier already stored keeps that dossier's unit (``known_units``); for a
    dossier never seen the unit is derived as for records (the MaHoSo prefix by default).
    A step is a dated occurrence: its event is the same one a record with that date implies,
    so a step and a record that tell the same thing count once.

    A step 9 (resolved) dated exactly at the receipt of a stored dossier that its records do
    not say is resolved (``known``) is not applied: clients add such steps themselves when the
    end date or the due date is empty (docs/dvcqg.md, Thanh Hóa). It is reported, `partial`.
    """
    if not isinstance(step, Mapping):
        return MappedRecord(None, [], [Problem([], "a step must be a JSON object", "dict_type")])
    r = RecordReader(step, options)
    code = r.text("MaHoSo")
    if code is None:
        return MappedRecord(
            None, [], [Problem(["MaHoSo"], "MaHoSo is required", "missing"), *r.problems]
        )
    facts = read_facts(r, [rule for rule in STEP_RULES if rule.key != "unit"])
    unit = Unit(known_units[code], ["MaHoSo"]) if code in known_units else read_unit(r)
    status: Status | None = facts["status"]
    at: Dated | None = facts["occurred_at"]
    if at is None and not any(p.loc == ["ThoiDiemXuLy"] for p in r.problems):
        r.problem(["ThoiDiemXuLy"], "ThoiDiemXuLy is required: a step is dated by it", "missing")
    if unit is None or status is None or at is None:
        return MappedRecord(code, [], r.problems)
    stored = (known or {}).get(code)
    if (
        status is Status.resolved
        and stored is not None
        and stored.resolved_at is None
        and stored.received_at is not None
        and stored.received_at == at.at
    ):
        r.problem(
            ["TrangThai"],
            "step 9 (resolved) dated exactly at the dossier's receipt (NgayTiepNhan) while its "
            "records do not say it is resolved: a step some clients add themselves when "
            "NgayKetThucXuLy or NgayHenTra is empty; not applied",
            "invented_step",
        )
        return MappedRecord(code, [], r.problems, ignored=True)
    event = _event(code, "event", status, at, unit, dvcqg=facts["notes"])
    return MappedRecord(code, [event], r.problems)
