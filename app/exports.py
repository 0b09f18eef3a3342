"""Bulk export: the folded dossiers of a period as CSV, streamed (scope ``read``).

Rows go out as the database cursor yields them, a few thousand at a time, so a million-row
export holds no more than one chunk in memory (docs/performance.md, measurement (f)).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from app.auth.deps import RequireRead
from app.db import Database, get_database
from app.dossiers.models import Dossier
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.metrics.service import check_dates, scope_of

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CHUNK_ROWS = 2000
EXPORT_COLUMNS = (
    "code",
    "unit_code",
    "procedure_code",
    "sector_code",
    "channel",
    "status",
    "received_at",
    "received_date",
    "due_at",
    "resolved_at",
    "resolved_date",
    "closed_at",
    "components_total",
    "components_digitized",
    "result_digitized",
    "result_signed",
    "fee_required",
    "paid_online",
    "supplement_count",
)


def _cell(value: Any, zone: ZoneInfo) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _csv_chunks(
    db: Database, first: date, last: date, units: list[str] | None, limit: int | None
) -> AsyncIterator[bytes]:
    zone = db.settings.zone
    table = Dossier.__table__
    stmt = (
        select(*(table.c[name] for name in EXPORT_COLUMNS))
        .where(table.c.received_date >= first, table.c.received_date <= last)
        .order_by(table.c.received_date, table.c.code)
    )
    if units is not None:
        stmt = stmt.where(table.c.unit_code.in_(units))
    if limit is not None:
        stmt = stmt.limit(limit)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(EXPORT_COLUMNS)
    # The session lives as long as the stream (not the request handler): a server-side cursor.
    async with db.read_sessionmaker() as session:
        result = await session.stream(stmt.execution_options(yield_per=CHUNK_ROWS))
        async for part in result.partitions():
            for row in part:
                writer.writerow([_cell(v, zone) for v in row])
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


@router.get(
    "/dossiers.csv",
    dependencies=[RequireRead],
    summary="Export the dossiers received in a period (CSV, streamed)",
    description="One row per dossier whose receipt (local `received_date`) falls in "
    "`from` … `to` (inclusive), optionally only the `unit` subtree, ordered by receipt date "
    "then code: its folded state (the columns of `GET /api/v1/dossiers/{code}`), instants in "
    "ONESTOP_TIMEZONE with their offset, empty cells for nulls. UTF-8 with a byte-order mark. "
    "Streamed: any size, constant server memory. `limit` caps the rows.",
    response_class=StreamingResponse,
    responses={
        200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}},
        **AUTH_RESPONSES,
        **responses(NotFound, Unprocessable),
    },
)
async def export_dossiers(
    from_: date = Query(alias="from", description="First receipt day, inclusive."),
    to: date = Query(description="Last receipt day, inclusive."),
    unit: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Only this unit and its descendants."),
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000_000, description="Most rows.")] = None,
    db: Database = Depends(get_database),
) -> StreamingResponse:
    check_dates(from_, to)
    units: list[str] | None = None
    if unit is not None:
        async with db.read_sessionmaker() as session:
            scope = await scope_of(session, unit=unit, level=None, first=from_, last=to)
            units = list(scope.unit_codes or ())
    return StreamingResponse(
        _csv_chunks(db, from_, to, units, limit),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="dossiers_{from_}_{to}.csv"'},
    )
