"""Bodies of the national-format routes: what a DVCQG client sends and what it reads back.

The request models document the national shape for OpenAPI; the routes read records one by
one (a bad record never spoils its neighbours), so every field is optional here and typed as
loosely as real senders write it (codes and flags as text or numbers).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.errors import FieldError

Code = str | int
Flag = str | int | bool

RECORD_EXAMPLE: dict[str, Any] = {
    "MaHoSo": "000.00.31.H40-240105-0001",
    "MaTTHC": "1.001234",
    "TenTTHC": "Đăng ký khai sinh",
    "MaLinhVuc": "G09-TP01",
    "TenLinhVuc": "Hộ tịch",
    "KenhThucHien": "2",
    "ChuHoSo": "Nguyễn Thị Hồng Nhung",
    "NgayNopHoSo": "20240105081000",
    "NgayTiepNhan": "20240105083000",
    "NgayHenTra": "20240112170000",
    "TrangThaiHoSo": "10",
    "NgayKetThucXuLy": "20240110150000",
    "NgayTra": "20240111090000",
    "DonViXuLy": "UBND xã Bồi Sơn",
    "DuocThanhToanTrucTuyen": "1",
    "TaiLieuNop": [
        {
            "TepDinhKemId": "1",
            "TenTepDinhKem": "Tờ khai đăng ký khai sinh.pdf",
            "IsDeleted": "0",
            "MaThanhPhanHoSo": "TP1",
            "DuongDanTaiTepTin": "https://dichvucong.nghean.gov.vn/files/tk-ks-0001.pdf",
            "DuocSoHoa": "1",
        },
        {
            "TepDinhKemId": "2",
            "TenTepDinhKem": "Giấy chứng sinh.pdf",
            "IsDeleted": "0",
            "MaThanhPhanHoSo": "TP2",
            "DuongDanTaiTepTin": "",
            "DuocSoHoa": "0",
        },
    ],
    "DanhSachLePhi": [
        {"TenPhiLePhi": "Lệ phí đăng ký khai sinh", "MaPhiLePhi": "LP01", "Gia": "8000"}
    ],
    "DanhSachHoSoBoSung": [],
    "DanhSachGiayToKetQua": [
        {
            "TenGiayTo": "Giấy khai sinh (bản chính)",
            "GiayToId": "KQ1",
            "DuongDanTepTinKetQua": "https://dichvucong.nghean.gov.vn/kq/ks-0001.pdf",
        }
    ],
}

STEP_EXAMPLE: dict[str, Any] = {
    "MaHoSo": "000.00.31.H40-240105-0001",
    "NguoiXuLy": "Trần Văn Đức",
    "ChucDanh": "Công chức Tư pháp - Hộ tịch",
    "ThoiDiemXuLy": "20240108100000",
    "PhongBanXuLy": "Bộ phận Tư pháp - Hộ tịch",
    "NoiDungXuLy": "Thẩm định hồ sơ, trình lãnh đạo ký duyệt",
    "TrangThai": "4",
}


class _National(BaseModel):
    model_config = ConfigDict(extra="allow")


class TaiLieu(_National):
    """A submitted component (an item of TaiLieuNop).

    Not named ``TaiLieuNop``: in ``DossierRecord``'s body that name is the field, whose default
    (None) the postponed annotation would resolve to, documenting an array of nulls."""

    TepDinhKemId: Code | None = None
    TenTepDinhKem: str | None = None
    IsDeleted: Flag | None = Field(default=None, description="1/True: deleted, ignored.")
    MaThanhPhanHoSo: Code | None = None
    DuongDanTaiTepTin: str | None = Field(default=None, description="A link: digitized.")
    DuocSoHoa: Flag | None = Field(default=None, description="1: digitized.")


class LePhi(_National):
    TenPhiLePhi: str | None = None
    MaPhiLePhi: Code | None = None
    Gia: Code | float | None = Field(default=None, description="Amount; > 0: a fee is due.")


class HoSoBoSung(_National):
    """A supplement request."""

    HoSoBoSungId: Code | None = None
    NoiDungBoSung: str | None = None
    NgayBoSung: Code | None = Field(default=None, description="When it was requested.")
    NgayTiepNhanBoSung: Code | None = None
    NgayHenTraTruoc: Code | None = None
    NgayHenTraMoi: Code | None = Field(default=None, description="The new due date.")


class GiayToKetQua(_National):
    TenGiayTo: str | None = None
    GiayToId: Code | None = None
    DuongDanTepTinKetQua: str | None = Field(default=None, description="A link: electronic.")


class DossierRecord(_National):
    """One dossier as synced to the National Public Service Portal (DongBoHoSoMC)."""

    model_config = ConfigDict(json_schema_extra={"examples": [RECORD_EXAMPLE]})

    MaHoSo: Code = Field(description="The dossier code; its prefix names the unit.")
    MaTTHC: Code | None = None
    TenTTHC: str | None = None
    MaLinhVuc: Code | None = None
    KenhThucHien: Code | None = Field(default=None, description="1 direct, 2 online, 3 postal.")
    NgayNopHoSo: Code | None = Field(default=None, description="yyyyMMddHHmmss, local time.")
    NgayTiepNhan: Code | None = Field(default=None, description="yyyyMMddHHmmss, local time.")
    NgayHenTra: Code | None = None
    TrangThaiHoSo: Code | None = Field(default=None, description="1–10.")
    NgayKetThucXuLy: Code | None = None
    NgayTra: Code | None = None
    NgayTuChoi: Code | None = None
    DonViXuLy: str | None = None
    HoSoCoThanhPhanSoHoa: Flag | None = None
    DuocThanhToanTrucTuyen: Code | None = Field(default=None, description="1 or 2: paid online.")
    TaiLieuNop: list[TaiLieu] | None = None
    DanhSachLePhi: list[LePhi] | None = None
    DanhSachHoSoBoSung: list[HoSoBoSung] | None = None
    DanhSachGiayToKetQua: list[GiayToKetQua] | None = None


class ProcessingStep(_National):
    """One processing step (QuaTrinhXuLy, CapNhatTienDoHoSoMC)."""

    model_config = ConfigDict(json_schema_extra={"examples": [STEP_EXAMPLE]})

    MaHoSo: Code
    TrangThai: Code = Field(description="1–10, as TrangThaiHoSo.")
    ThoiDiemXuLy: Code = Field(description="yyyyMMddHHmmss, local time.")
    PhongBanXuLy: str | None = None
    NoiDungXuLy: str | None = None
    NguoiXuLy: str | None = None
    ChucDanh: str | None = None


RecordResultKind = Literal["accepted", "duplicate", "partial", "invalid"]


class EventResult(BaseModel):
    event_id: str
    status: str
    occurred_at: str = Field(description="As stored: RFC 3339 with the local offset.")
    result: Literal["accepted", "duplicate", "conflict", "invalid"]


class RecordResult(BaseModel):
    index: int = Field(description="Position of the record in the array, from 0.")
    MaHoSo: str | None = Field(description="The record's MaHoSo, when one could be read.")
    result: RecordResultKind = Field(
        description="`accepted`: new events stored; `duplicate`: everything already stored; "
        "`partial`: stored, but something in the record could not be used (see `errors`); "
        "`invalid`: nothing stored."
    )
    events: list[EventResult] = Field(description="The canonical events the record became.")
    errors: list[FieldError] = Field(
        default_factory=list, description="What could not be used, by national field path."
    )


class SyncOut(BaseModel):
    """The answer national clients check: `error_code` "0" when every record was stored."""

    error_code: str = Field(
        description='"0" (ONESTOP_DVCQG_SUCCESS_CODE): every record stored (possibly '
        'partially); "2": some records invalid; "3": no record could be stored.'
    )
    message: str
    accepted: int = Field(description="Records with new events.")
    duplicates: int = Field(description="Records already stored as they are.")
    partial: int = Field(description="Records stored with something left out.")
    invalid: int = Field(description="Records of which nothing was stored.")
    events_accepted: int
    events_duplicate: int
    results: list[RecordResult]


class SyncErrorOut(BaseModel):
    """A body the service cannot read at all: nothing was stored."""

    error_code: str = Field(description='"1": not a JSON array of records.')
    message: str
    detail: list[FieldError]


class SyncTooLargeOut(BaseModel):
    error_code: str = Field(description='"4": more records than ONESTOP_MAX_BATCH.')
    message: str
    detail: str
    code: str


class Envelope(BaseModel):
    """The national portal's envelope, accepted as well as a bare array."""

    session: str | None = Field(
        default=None,
        description="The credential, when there is no Authorization header: an API key's "
        "secret, or a session from POST /api/v1/dvcqg/login.",
    )
    madonvi: str | None = Field(default=None, description="The sender's unit id: ignored.")
    service: str | None = Field(
        default=None,
        examples=["DongBoHoSoMC"],
        description="DongBoHoSoMC (records) or CapNhatTienDoHoSoMC (steps); a route refuses "
        "the other one; POST /api/v1/dvcqg picks the route by it.",
    )
    isUpdating: str | bool | None = Field(default=None, description="Ignored: no add/update dance.")
    data: list[Any]


class LoginIn(BaseModel):
    """The portal's login body, with an API key's id and secret."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "3f1c0c9e5b7a4d2e9a8b6c4d2e0f1a3b", "password": "osk_…"}]
        }
    )

    username: str = Field(description="The API key's id.")
    password: str = Field(description="The API key's secret.")


class LoginOut(BaseModel):
    error_code: int = Field(description="0: logged in.")
    message: str
    session: str = Field(description="Put it in the envelope's `session`; shown only here.")
    expires_in: int = Field(description="Seconds the session lasts (unless its key ends first).")


class LoginFailedOut(BaseModel):
    error_code: int = Field(description="1: unknown key id or wrong secret.")
    message: str
    detail: list[FieldError]


class LookupOut(BaseModel):
    """The answer to the portal's lookups (TraCuuHoSo, LayThuTuc): always empty here."""

    error_code: str
    message: str
    result: list[Any]
