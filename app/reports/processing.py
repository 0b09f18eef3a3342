"""Biểu II.06a: the situation and results of handling dossiers, one row per sector or procedure.

- received: carried over from the last period (open at the start of ``from``) + received in the
  period (online, direct or postal); ``received_total`` = carried_over + received_in_period;
- resolved in the period: early, on time, late (the delay metrics' definitions, against the
  effective due date: the sender's, moved by supplements, else the procedure's statutory
  duration plus the working days waited on the citizen);
- in progress at the end of the period (or now, if sooner): within deadline, overdue. As the
  form and the national portal count them (DOMAIN.md, "Decision 766 as the portal computes
  it"), a dossier waiting on the citizen whose request came before its due date is within
  deadline, and one with more than one supplement request is overdue: the portal's
  ``progress_in_progress_on_time``, not the contract's ``in_progress_within_deadline``.

The form's column 9 ("on time") is ``resolved_on_time``, its column 12 ("within deadline")
``in_progress_within_deadline`` (the form's numbering: 1 STT, 2 sector or procedure, 3-6
received, 7-10 resolved, 11-13 in progress).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.queries import Bucket, GroupBy, Period, Scope, aggregate, day_start, make_buckets
from app.reference.models import Procedure
from app.reference.sectors import sector_names


class ReportGroup(StrEnum):
    sector = "sector"
    procedure = "procedure"


FIELDS: tuple[str, ...] = (
    "received_total",
    "received_online",
    "received_direct_or_postal",
    "carried_over",
    "received_in_period",
    "resolved_total",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "in_progress_total",
    "in_progress_within_deadline",
    "in_progress_overdue",
)

# Vietnamese column headers of the form: (group header, column header) per field
HEADERS_VI: dict[str, tuple[str, str]] = {
    "received_total": ("Số hồ sơ nhận giải quyết", "Tổng số"),
    "received_online": ("Số hồ sơ nhận giải quyết", "Trong kỳ: trực tuyến"),
    "received_direct_or_postal": ("Số hồ sơ nhận giải quyết", "Trong kỳ: trực tiếp, bưu chính"),
    "carried_over": ("Số hồ sơ nhận giải quyết", "Từ kỳ trước chuyển sang"),
    "received_in_period": ("Số hồ sơ nhận giải quyết", "Mới tiếp nhận trong kỳ"),
    "resolved_total": ("Số hồ sơ đã giải quyết", "Tổng số"),
    "resolved_early": ("Số hồ sơ đã giải quyết", "Trước hạn"),
    "resolved_on_time": ("Số hồ sơ đã giải quyết", "Đúng hạn"),
    "resolved_late": ("Số hồ sơ đã giải quyết", "Quá hạn"),
    "in_progress_total": ("Số hồ sơ đang giải quyết", "Tổng số"),
    "in_progress_within_deadline": ("Số hồ sơ đang giải quyết", "Trong hạn"),
    "in_progress_overdue": ("Số hồ sơ đang giải quyết", "Quá hạn"),
}

DESCRIPTIONS: dict[str, str] = {
    "received_total": "carried_over + received_in_period.",
    "received_online": "Received in the period online.",
    "received_direct_or_postal": "Received in the period at the desk or by post.",
    "carried_over": "Open at the start of the period (received before it, not yet resolved, "
    "withdrawn, stopped or refused).",
    "received_in_period": "Received in the period, over all channels (also unknown ones).",
    "resolved_total": "Resolved in the period (the metrics' `resolved`).",
    "resolved_early": "Resolved in the period on a calendar day before the due day.",
    "resolved_on_time": "Column 9. Resolved in the period neither early nor late, against the "
    "effective due_at (a supplement's new due date counts, so the time the citizen spent "
    "supplementing is not the unit's; without a due_at from the sender, the procedure's "
    "duration_working_days plus the working days waited); or with no due date at all.",
    "resolved_late": "Resolved in the period after due_at.",
    "in_progress_total": "Open at the end of the period (or now, if sooner).",
    "in_progress_within_deadline": "Column 12. Open at the end of the period and within "
    "deadline as the form and the national portal count it: due_at not before the end, or "
    "waiting on the citizen on a request made no later than due_at, or no due date; never "
    "with more than one supplement request (the metrics' progress_in_progress_on_time).",
    "in_progress_overdue": "Column 13. Open at the end of the period and not within deadline "
    "(in_progress_total − in_progress_within_deadline).",
}

_COUNTS = (
    "received",
    "received_online",
    "received_direct",
    "received_postal",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "in_progress",
    "progress_in_progress_on_time",
)


@dataclass
class ProcessingReport:
    first: date
    last: date
    group_by: ReportGroup
    rows: list[dict[str, Any]]
    total: dict[str, Any]


def _figures(counts: dict[str, int], carried_over: int) -> dict[str, int]:
    c = {name: counts.get(name, 0) for name in _COUNTS}
    return {
        "received_total": carried_over + c["received"],
        "received_online": c["received_online"],
        "received_direct_or_postal": c["received_direct"] + c["received_postal"],
        "carried_over": carried_over,
        "received_in_period": c["received"],
        "resolved_total": c["resolved"],
        "resolved_early": c["resolved_early"],
        "resolved_on_time": c["resolved_on_time"],
        "resolved_late": c["resolved_late"],
        "in_progress_total": c["in_progress"],
        "in_progress_within_deadline": c["progress_in_progress_on_time"],
        "in_progress_overdue": c["in_progress"] - c["progress_in_progress_on_time"],
    }


async def processing_report(
    session: AsyncSession,
    *,
    scope: Scope,
    first: date,
    last: date,
    group_by: ReportGroup,
    zone: ZoneInfo,
    now: datetime,
) -> ProcessingReport:
    """The form's rows (sorted by code, no code last) and its total row."""
    group = GroupBy(group_by.value)
    buckets = make_buckets(first, last, Period.none, zone, now)
    period = await aggregate(
        session, scope=scope, buckets=buckets, period=Period.none, group_by=group, counts=_COUNTS
    )
    start = min(day_start(first, zone), now)
    before = Bucket(0, None, first, first - timedelta(days=1), start, start)
    carried = await aggregate(
        session,
        scope=scope,
        buckets=[before],
        period=Period.none,
        group_by=group,
        counts=("in_progress",),
    )
    keys = {g for g, _ in period.counts} | {g for g, _ in carried.counts}
    names: dict[str | None, str | None] = {}
    if group_by is ReportGroup.sector and keys - {None}:
        names.update(await sector_names(session, keys))  # the form's "Lĩnh vực" column
    if group_by is ReportGroup.procedure and keys - {None}:
        stmt = select(Procedure.code, Procedure.name).where(
            Procedure.code.in_([k for k in keys if k is not None])
        )
        names = {code: name for code, name in (await session.execute(stmt)).all()}
    rows: list[dict[str, Any]] = []
    for key in sorted(keys, key=lambda k: (k is None, k or "")):
        carried_over = carried.counts.get((key, 0), {}).get("in_progress", 0)
        figures = _figures(period.counts.get((key, 0), {}), carried_over)
        label: dict[str, Any] = {"code": key, "name": names.get(key)}
        rows.append({**label, **figures})
    total = {name: sum(r[name] for r in rows) for name in FIELDS}
    return ProcessingReport(first, last, group_by, rows, {"code": None, "name": None, **total})


def xlsx_bytes(report: ProcessingReport, unit_label: str) -> bytes:
    """The form as a workbook: title, period, two header rows in Vietnamese, rows, total."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "II.06a"
    width = 3 + len(FIELDS)
    ws.append(["Biểu II.06a: Tình hình, kết quả giải quyết thủ tục hành chính"])
    ws.append([f"Đơn vị: {unit_label}"])
    ws.append([f"Kỳ báo cáo: từ ngày {report.first:%d/%m/%Y} đến ngày {report.last:%d/%m/%Y}"])
    for r in (1, 2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
    ws["A1"].font = Font(bold=True, size=13)
    what = "Lĩnh vực" if report.group_by is ReportGroup.sector else "Thủ tục hành chính"
    top = ["STT", f"Mã {what.lower()}", what] + [HEADERS_VI[f][0] for f in FIELDS]
    sub = ["", "", ""] + [HEADERS_VI[f][1] for f in FIELDS]
    ws.append(top)
    ws.append(sub)
    header_rows = (4, 5)
    for column in (1, 2, 3):
        ws.merge_cells(start_row=4, start_column=column, end_row=5, end_column=column)
    start = 4
    while start <= width:
        end = start
        while end + 1 <= width and top[end] == top[start - 1]:
            end += 1
        if end > start:
            ws.merge_cells(start_row=4, start_column=start, end_row=4, end_column=end)
        start = end + 1
    for r in header_rows:
        for cell in ws[r]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, row in enumerate(report.rows, start=1):
        ws.append([i, row["code"] or "", row["name"] or ""] + [row[f] for f in FIELDS])
    ws.append(["", "", "Tổng cộng"] + [report.total[f] for f in FIELDS])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for column in range(1, width + 1):
        ws.column_dimensions[get_column_letter(column)].width = 14 if column > 3 else 18
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
