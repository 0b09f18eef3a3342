"""``onestop report``: form II.06a to a file, by the same code as GET /api/v1/reports/processing."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.db import Database
from app.metrics import service
from app.metrics.export import csv_text
from app.reference.models import Unit
from app.reports import processing

ALL_UNITS = "Tất cả đơn vị"


async def write_report(
    db: Database,
    *,
    first: date,
    last: date,
    unit: str | None,
    group_by: processing.ReportGroup,
    fmt: str,
) -> tuple[bytes, int]:
    """The report file (CSV: UTF-8 with BOM, the API's columns; XLSX: the Vietnamese form).

    Returns its bytes and its number of rows, the total row not counted. Raises ``AppError``
    (NotFound, Unprocessable) for an unknown unit or dates out of range, like the API.
    """
    service.check_dates(first, last)
    async with db.read_sessionmaker() as session:
        scope = await service.scope_of(session, unit=unit, level=None, first=first, last=last)
        report = await processing.processing_report(
            session,
            scope=scope,
            first=first,
            last=last,
            group_by=group_by,
            zone=db.settings.zone,
            now=datetime.now(UTC),
        )
        unit_row = await session.get(Unit, unit) if unit else None
    if fmt == "xlsx":
        label = (unit_row.name or unit_row.code) if unit_row else ALL_UNITS
        return processing.xlsx_bytes(report, label), len(report.rows)
    total = {**report.total, "code": "TOTAL"}
    text = csv_text(["code", "name", *processing.FIELDS], [*report.rows, total])
    return ("\ufeff" + text).encode("utf-8"), len(report.rows)
