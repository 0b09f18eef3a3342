"""Three real national-sync clients, re-implemented from their public code, member by member.

Each builder makes the JSON its client's code makes (the members, their order, their types and
empty values), and each ``*_reads_*`` function is the client's own check of the answer. Every
block cites the file and function it follows; docs/dvcqg.md ("The clients") says the same in
words. The inputs are the client's own database rows (simplified to what the code reads).

- Thanh Hóa, TD.DichVuCongApi: HuanVu201/DichVuCong_KhoaLuan_PASETO,
  DichVuCongApi/src/Infrastructure/KetNoi/DVC/SyncLocalDataToDVCQG/SyncLocalDataToDVCQGService.cs
  (GetQuery, GetData, PushData) and
  DichVuCongApi/src/Core/Application/Common/KetNoi/DVC/SyncLocalDataToDVCQG/
  ISyncLocalDataToDVCQGService.cs (the DTOs: HoSoDongBoDVC, QuaTrinhXuLyDongBoDVC,
  ResultHoSoDongBoDVCQuocGia). Serialised by Newtonsoft.Json with its defaults: null members
  are written as ``null``.
- OpenCPS v2: VietOpenCPS/opencps-v2, modules/backend-dossiermgt/backend-dossiermgt-service/
  src/main/java/org/opencps/dossiermgt/action/impl/DVCQGIntegrationActionImpl.java
  (getAccessToken, createSyncDossierBodyRequest, createSyncDossierStatusBodyRequest, syncData,
  syncDossierAndDossierStatus, searchDossier) and scheduler/PublishEventScheduler.java (the
  check that marks a publish done). Liferay's JSONObject drops a member put as null.
- Hà Giang admissions, VSDCompany: minhnv0311/ServerWeb2, Controllers/OnegateController.cs
  (accept, deny, returnresult, DongBoTrangThaiHoSo, class HsDongBo). Serialised by RestSharp's
  JSON serialiser (public fields, nulls written as ``null``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Json = dict[str, Any]


def ymdhms(at: datetime | None) -> str | None:
    """``DateTime.Parse(x).ToString("yyyyMMddHHmmss")`` / ``convertDate2String``."""
    return at.strftime("%Y%m%d%H%M%S") if at is not None else None


# ------------------------------------------------------------------------------------------
# Thanh Hóa: TD.DichVuCongApi, SyncLocalDataToDVCQGService.cs
# ------------------------------------------------------------------------------------------

# FileConfig:KETNOIMOTCUAQUOCGIA_DOWNLOAD_URL, prefixed to every file link
TD_DOWNLOAD = "https://dichvucong.thanhhoa.gov.vn/api/files/download?path="


@dataclass
class TdStep:
    """A row of Business.QuaTrinhXuLyHoSos as GetQuery selects it (qtxl.*)."""

    at: datetime  # ThoiGian as ThoiDiemXuLy
    status: str | None  # TrangThai ("" or null: GetData writes "4")
    action: str  # ThaoTac as NoiDungXuLy
    sender: str | None = "Lê Thị Mai"  # TenNguoiGui as NguoiXuLy


@dataclass
class TdDossier:
    """A row of Business.HoSos (hs.*) with its joined rows, as GetQuery selects them."""

    code: str
    procedure: str
    status: str  # TrangThaiHoSoId as TrangThaiHoSo
    received: datetime  # NgayTiepNhan (GetQuery: "hs.NgayTiepNhan is not null")
    due: datetime | None = None  # NgayHenTra
    ended: datetime | None = None  # NgayKetThucXuLy
    returned: datetime | None = None  # NgayTra
    refused: datetime | None = None  # NgayTuChoi
    channel: str = "1"  # KenhThucHien
    unit_name: str = "UBND phường Hạc Thành"  # g.GroupName as DonViXuLy
    files: list[str] = field(default_factory=list)  # ThanhPhanHoSos.DinhKem (non-empty only)
    result_files: str | None = None  # hs.DinhKemKetQua, "##"-separated
    result_code: str | None = None  # tt.MaKetQuaChinh of the procedure
    paid: list[str] = field(default_factory=list)  # YeuCauThanhToans "Đã thanh toán", SoTien
    steps: list[TdStep] = field(default_factory=list)


def td_record(hs: TdDossier) -> Json:
    """The HoSoDongBoDVC that GetData + FormatData build (Mapster's Adapt of HoSoDto)."""
    tai_lieu = []
    for i, path in enumerate(hs.files):
        # GetData, `if (tphs != null)`: DuocSoHoa is the constant '1' of GetQuery, the link is
        # KETNOIMOTCUAQUOCGIA_DOWNLOAD_URL + DinhKem (first of "##"), IsDeleted a bool? that
        # Mapster writes as "False"; TepDinhKemId keeps its default "".
        tai_lieu.append(
            {
                "TepDinhKemId": "",
                "TenTepDinhKem": f"Thành phần {i + 1}.pdf",
                "IsDeleted": "False",
                "MaThanhPhanHoSo": f"TP{i + 1}",
                "DuongDanTaiTepTin": TD_DOWNLOAD + path.split("##")[0],
                "DuocSoHoa": "1",
                "DuocTaiSuDung": "0",
                "DuocLayTuKhoDMQG": "0",
                "MaKetQuaThayThe": None,
            }
        )
    # GetQuery joins only payments with TrangThai = N'Đã thanh toán' And SoTien > 0; GetData sets
    # DuocThanhToanTrucTuyen "1" for each (else the query's constant '0' stays).
    le_phi = [
        {
            "TenPhiLePhi": f"Phí thẩm định hồ sơ {hs.code}",
            "MaPhiLePhi": "1",
            "HinhThucThu": "1",
            "Gia": amount,
            "LoaiPhiLePhi": "1",
        }
        for amount in hs.paid
    ]
    ket_qua: list[Json] = []
    if hs.result_code and hs.result_files:
        for path in hs.result_files.split("##"):
            if path:
                ket_qua.append(
                    {
                        "TenGiayTo": path.rsplit("/", 1)[-1],
                        "MaThanhPhanHoSo": "",
                        "GiayToId": "",
                        "DuongDanTepTinKetQua": TD_DOWNLOAD + path,
                        "MaGiayToKetQua": hs.result_code,
                    }
                )
    elif hs.result_code and tai_lieu:
        # GetData, `else if (... && hoSo.TaiLieuNop.Count > 0)`: no result file, so the first
        # submitted file is sent as the result document.
        ket_qua.append(
            {
                "TenGiayTo": tai_lieu[0]["TenTepDinhKem"],
                "MaThanhPhanHoSo": "",
                "GiayToId": "",
                "DuongDanTepTinKetQua": tai_lieu[0]["DuongDanTaiTepTin"],
                "MaGiayToKetQua": hs.result_code,
            }
        )
    status = hs.status
    if status in ("5", "6", "8"):  # GetData: `hoSo.TrangThaiHoSo = "9"`
        status = "9"
    received = ymdhms(hs.received)
    return {
        "MaHoSo": hs.code,
        "MaTTHC": hs.procedure,
        "TenTTHC": "Cấp giấy phép xây dựng",
        "MaLinhVuc": "G05-XD01",
        "TenLinhVuc": "Hoạt động xây dựng",
        "KenhThucHien": hs.channel,
        "SoGiayToChuHoSo": "038090001234",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "TECH-0001" if hs.channel == "2" else None,  # null unless online
        "ThongTinKhac": "",
        "Email": "",
        "Fax": "",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Dinhkem",  # empty TrichYeuHoSo becomes "Dinhkem"
        "NgayTiepNhan": received,
        "NgayHenTra": ymdhms(hs.due),  # null when the dossier has none
        "TrangThaiHoSo": status,
        "NgayTra": ymdhms(hs.returned),
        "ThongTinTra": "",
        "HinhThuc": "0",
        "NgayKetThucXuLy": ymdhms(hs.ended),
        "DonViXuLy": hs.unit_name,
        "GhiChu": "",
        "TaiLieuNop": tai_lieu,
        "DanhSachLePhi": le_phi,
        "DanhSachTepDinhKemKhac": [],
        "DanhSachHoSoBoSung": [],  # never filled by GetData
        "DanhSachGiayToKetQua": ket_qua,
        "NoiNopHoSo": "2",
        "HoSoCoThanhPhanSoHoa": "1" if tai_lieu else "0",
        "TaiKhoanDuocXacThucVoiVNeID": "0",
        "DuocThanhToanTrucTuyen": "1" if le_phi else "0",
        "NgayTuChoi": ymdhms(hs.refused),
        "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "038090001234"}],
        "NgayNopHoSo": received,  # GetQuery: "hs.NgayTiepNhan as NgayNopHoSo"
        "DSKetNoiCSDL": [{"MaCSDL": "7"}],
    }


def _td_step(code: str, at: str | None, status: str, text: str, who: str) -> Json:
    """QuaTrinhXuLyDongBoDVC, in the member order of PushData's chunk projection."""
    return {
        "MaHoSo": code,
        "ChucDanh": "",
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "",
        "NguoiXuLy": who,
        "NoiDungXuLy": text,
        "PhongBanXuLy": "",
        "ThoiDiemXuLy": at,
        "TrangThai": status,
    }


def td_steps(hs: TdDossier) -> list[list[Json]]:
    """The chunks of 10 steps PushData sends after the record is acknowledged.

    PushData inserts a "Tiếp nhận hồ sơ" step 2 at NgayTiepNhan first, then the unsynced
    steps, then adds a step 9 of its own: for a record 9 or 10 (5, 6 and 8 were rewritten as 9
    by GetData, so the branch for them is never taken) at NgayKetThucXuLy, else NgayTiepNhan;
    for any other dossier without NgayHenTra, "Hồ sơ không có ngày hẹn trả" at NgayTiepNhan.
    """
    record_status = td_record(hs)["TrangThaiHoSo"]
    received = ymdhms(hs.received)
    out = [_td_step(hs.code, received, "2", "Tiếp nhận hồ sơ", "Cán bộ một cửa")]
    for step in hs.steps:
        who = step.sender or "Chuyên viên"
        out.append(_td_step(hs.code, ymdhms(step.at), step.status or "4", step.action, who))
    if record_status in ("9", "10"):
        at = ymdhms(hs.ended) or received
        out.append(_td_step(hs.code, at, "9", "Kết thúc xử lý hồ sơ", "Cán bộ một cửa"))
    elif hs.due is None:
        out.append(
            _td_step(hs.code, received, "9", "Hồ sơ không có ngày hẹn trả", "Cán bộ một cửa")
        )
    return [out[i : i + 10] for i in range(0, len(out), 10)]


def td_reads_record_answer(them_moi: Json) -> str:
    """PushData's reading of the answer to URLThemMoi: ``"synced"``, ``"update"`` (it then
    posts the same body to URLCapNhat and reads that with ``td_reads_update_answer``) or
    ``"failed"`` (the dossier stays unsynced and is pushed again next run)."""
    if them_moi["error_code"] in ("0", "3", "-3"):
        if "đã tồn tại" in them_moi["message"]:
            return "update"
        if them_moi["error_code"] == "0" and "thành công" in them_moi["message"].lower():
            return "synced"
    return "failed"


def td_reads_update_answer(cap_nhat: Json) -> bool:
    """PushData, after "đã tồn tại": ``error_code == "0"`` and the message has "thành công"."""
    return bool(cap_nhat["error_code"] == "0" and "thành công" in cap_nhat["message"].lower())


def td_reads_steps_synced(text: str) -> bool:
    """PushData, RequestHandlerReturnPlainText: ``responseTienTrinh.ToLower().Contains(...)``."""
    return "thành công" in text.lower()


# ------------------------------------------------------------------------------------------
# OpenCPS v2: DVCQGIntegrationActionImpl.java
# ------------------------------------------------------------------------------------------


@dataclass
class OpenCpsDossier:
    """The Dossier and its current DossierAction as the builders read them."""

    dossier_no: str
    service_code: str
    status: str  # getMappingStatus: the DVCQG code mapped for the dossier's status ("" if none)
    receive: datetime | None
    due: datetime | None
    release: datetime | None = None  # releaseDate as NgayKetThucXuLy
    finish: datetime | None = None  # finishDate as NgayTra
    action_at: datetime | None = None  # DossierAction.createDate as ThoiDiemXuLy
    action_note: str = "Chuyển xử lý"
    files: list[str] = field(default_factory=list)  # dossier part type 1
    results: list[str] = field(default_factory=list)  # dossier part type 2


def _d2s(at: datetime | None) -> str:
    """convertDate2String: "" for a null date."""
    return ymdhms(at) or ""


def opencps_record(d: OpenCpsDossier) -> Json:
    """createSyncDossierBodyRequest (the ServerConfig variant), member by member."""
    return {
        "MaHoSo": d.dossier_no,
        "MaTTHC": d.service_code,
        "TenTTHC": "",  # from LayThuTuc's result[0].TENTTHC: "" when it answers no result
        "MaLinhVuc": "",
        "TenLinhVuc": "",
        "ChuHoSo": "Trần Thị Bình",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "",
        "ThongTinKhac": "",
        "Email": "binh.tt@example.vn",
        "Fax": "0987654321",
        "SoDienThoai": "0987654321",
        "TrichYeuHoSo": "Đề nghị cấp phép",
        "NgayTiepNhan": _d2s(d.receive),
        "NgayHenTra": _d2s(d.due),
        "TrangThaiHoSo": d.status,
        "NgayTra": _d2s(d.finish),
        "ThongTinTra": "",
        "HinhThuc": "0",
        "NgayKetThucXuLy": _d2s(d.release),
        "DonViXuLy": "Sở Kế hoạch và Đầu tư",
        "GhiChu": "Đề nghị cấp phép",
        "DanhSachLePhi": [],
        "DanhSachTepDinhKemKhac": [],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [
            {
                "TenGiayTo": f"Kết quả {i + 1}",
                "MaThanhPhanHoSo": "KQ",
                "GiayToId": str(900 + i),
                "DuongDanTepTinKetQua": url,
            }
            for i, url in enumerate(d.results)
        ],
        "TaiLieuNop": [
            {
                "TenTepDinhKem": f"Tài liệu {i + 1}",
                "MaThanhPhanHoSo": f"TP{i + 1}",
                "TepDinhKemId": str(100 + i),
                "DuongDanTaiTepTin": url,
                "IsDeleted": "False",
            }
            for i, url in enumerate(d.files)
        ],
    }


def opencps_step(d: OpenCpsDossier) -> Json:
    """createSyncDossierStatusBodyRequest: one step, the dossier's current action."""
    return {
        "MaHoSo": d.dossier_no,
        "NguoiXuLy": "Phạm Văn Cường",
        "ChucDanh": "",
        "ThoiDiemXuLy": _d2s(d.action_at),
        "PhongBanXuLy": "",
        "NoiDungXuLy": d.action_note,
        "TrangThai": d.status,
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "",
    }


def opencps_login_body(username: str, password: str) -> Json:
    """getAccessToken: the body posted to adapter_url + auth_endpoint (with a dstcode header)."""
    return {"username": username, "password": password}


def opencps_reads_login(answer: Json) -> str:
    """getAccessToken: ``has("session") && has("error_code") && getInt("error_code") == 0``."""
    if "session" in answer and "error_code" in answer and _get_int(answer["error_code"]) == 0:
        return str(answer["session"])
    return ""


def opencps_envelope(session: str, service: str, data: list[Json], **extra: Any) -> Json:
    """syncData: session and madonvi first, then the members of the body it was given."""
    return {
        "session": session,
        "madonvi": "000.00.15.H29",
        **extra,
        "service": service,
        "data": data,
    }


def opencps_lookup(session: str, dossier_no: str) -> Json:
    """searchDossier (hasSyncDossier): ``{"service": "TraCuuHoSo", "mahoso": ...}``."""
    return {
        "session": session,
        "madonvi": "000.00.15.H29",
        "service": "TraCuuHoSo",
        "mahoso": dossier_no,
    }


def opencps_reads_has_sync(answer: Json) -> bool:
    """hasSyncDossier: a non-empty ``result`` means the portal has the dossier."""
    return bool(answer.get("result"))


def _get_int(value: Any) -> int:
    """Liferay GetterUtil.getInteger(String): the default 0 for what is not a number."""
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def opencps_reads_records_ok(answer: Json) -> bool:
    """syncDossierAndDossierStatus: sends the step only when this holds."""
    return "error_code" in answer and _get_int(answer["error_code"]) == 0


def opencps_reads_published(answer: Json) -> bool:
    """PublishEventScheduler: the publish is done when ``"0".equals(getString("error_code"))``."""
    return "error_code" in answer and str(answer["error_code"]) == "0"


# ------------------------------------------------------------------------------------------
# Hà Giang admissions (VSDCompany): OnegateController.cs
# ------------------------------------------------------------------------------------------

HA_GIANG_SYNC = "/api/SynsTTHCC/DongBoHoSoMC?MaDinhDanhDV=000.00.01.H22&isUpdating="
HA_GIANG_FILES = "http://10.0.80.189:8084/hgtest/dowload.aspx?dv=tuyensinh.hagiang.gov.vn&filename="


@dataclass
class HaGiangDossier:
    """A row of HO_SO_ONLINE with its attachments (DINH_KEM_ONLINE)."""

    fcode: str
    created: datetime | None  # FCreateTime: NgayTiepNhan (DateTime.Now when null)
    school: str = "Trường THPT Chuyên Hà Giang"  # Organizations.FName as DonViXuLy
    files: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)


def ha_giang_record(hs: HaGiangDossier, status: str) -> Json:
    """accept / deny / returnresult: an HsDongBo, public fields in declaration order."""
    return {
        "MaHoSo": hs.fcode,
        "MaTTHC": "3.000181.000.00.00.H22",
        "TenTTHC": "Tuyển sinh trung học phổ thông",
        "MaLinhVuc": "G03-GD10",
        "TenLinhVuc": "Giáo dục Trung học",
        "SoBienNhan": "",
        "ChuHoSo": "Hoàng Thị Lan",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "002208001234",
        "NgayTiepNhan": ymdhms(hs.created or datetime.now()),
        "NgayHenTra": "",
        "TrangThaiHoSo": status,
        "HinhThuc": "0",
        "DonViXuLy": hs.school,
        "TaiLieuNop": [
            {
                "TepDinhKemId": str(10 + i),
                "TenTepDinhKem": name,
                "IsDeleted": "False",
                "MaThanhPhanHoSo": "3.000181",
                "DuongDanTaiTepTin": HA_GIANG_FILES + name.replace(" ", "+"),
            }
            for i, name in enumerate(hs.files)
        ],
        "DanhSachGiayToKetQua": [
            {
                "TenGiayTo": name,
                "MaThanhPhanHoSo": "3.000181",
                "GiayToId": str(50 + i),
                "DuongDanTepTinKetQua": HA_GIANG_FILES + name.replace(" ", "+"),
            }
            for i, name in enumerate(hs.results)
        ],
    }


def ha_giang_accept(hs: HaGiangDossier) -> list[tuple[str, list[Json]]]:
    """accept: the record as 1 with isUpdating False, then the same object as 2 with True."""
    return [
        (HA_GIANG_SYNC + "False", [ha_giang_record(hs, "1")]),
        (HA_GIANG_SYNC + "True", [ha_giang_record(hs, "2")]),
    ]


def ha_giang_return(hs: HaGiangDossier) -> list[tuple[str, list[Json]]]:
    """returnresult: status 10, no end date, no return date."""
    return [(HA_GIANG_SYNC + "True", [ha_giang_record(hs, "10")])]


def ha_giang_deny(hs: HaGiangDossier) -> list[tuple[str, list[Json]]]:
    """deny: status 3, no refusal date."""
    return [(HA_GIANG_SYNC + "True", [ha_giang_record(hs, "3")])]
