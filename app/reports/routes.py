"""Reports: the periodic form II.06a and the Decision 766 scorecard."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import RequireRead
from app.db import ReadSessionDep
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.metrics import service
from app.metrics.export import CSV_MEDIA_TYPE, csv_response
from app.metrics.queries import GroupBy
from app.metrics.routes import LineageQuery
from app.metrics.service import MetricQuery
from app.reference.models import Unit
from app.reports import processing, scorecard

router = APIRouter(prefix="/api/v1", tags=["reports"])

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


_figures: dict[str, Any] = {
    name: (int, Field(description=processing.DESCRIPTIONS[name])) for name in processing.FIELDS
}
ProcessingRow = create_model(
    "ProcessingRow",
    code=(str | None, Field(description="The sector or procedure code; null: none given.")),
    name=(str | None, Field(description="The procedure's name (group_by=procedure).")),
    **_figures,
)


class ProcessingReportOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    unit: str | None
    group_by: processing.ReportGroup
    rows: list[ProcessingRow]
    total: ProcessingRow


UnitQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Root of the subtree; default: all units.",
    ),
]


@router.get(
    "/reports/processing",
    response_model=ProcessingReportOut,
    dependencies=[RequireRead],
    summary="Form II.06a: situation and results of handling dossiers",
    description="One row per sector (or procedure) and a total: received (total = carried "
    "over + received in the period; online; direct or postal; carried over from the last "
    "period), resolved in the period (early, on time, late), in progress at the end of the "
    "period (within deadline, overdue). `format=xlsx`: the form with Vietnamese headers; "
    "`csv`: the JSON field names as header, the total as a last row with code `TOTAL`.",
    responses={
        200: {
            "content": {
                CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        },
        **AUTH_RESPONSES,
        **responses(NotFound, Unprocessable),
    },
)
async def get_processing_report(
    request: Request,
    from_: date = Query(alias="from", description="First day, inclusive."),
    to: date = Query(description="Last day, inclusive."),
    unit: UnitQuery = None,
    group_by: processing.ReportGroup = Query(
        processing.ReportGroup.sector, description="`sector` or `procedure`."
    ),
    format: ReportFormat = Query(ReportFormat.json, description="`json`, `csv` or `xlsx`."),
    session: AsyncSession = ReadSessionDep,
) -> Any:
    service.check_dates(from_, to)
    scope = await service.scope_of(session, unit=unit, level=None, first=from_, last=to)
    settings = request.app.state.settings
    report = await processing.processing_report(
        session,
        scope=scope,
        first=from_,
        last=to,
        group_by=group_by,
        zone=settings.zone,
        now=datetime.now(UTC),
    )
    stem = f"II06a_{from_}_{to}"
    if format is ReportFormat.xlsx:
        unit_row = await session.get(Unit, unit) if unit else None
        label = (unit_row.name or unit_row.code) if unit_row else "Tất cả đơn vị"
        return Response(
            processing.xlsx_bytes(report, label),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    if format is ReportFormat.csv:
        total = {**report.total, "code": "TOTAL"}
        return csv_response(
            ["code", "name", *processing.FIELDS], [*report.rows, total], f"{stem}.csv"
        )
    return ProcessingReportOut.model_validate(
        {
            "from": from_,
            "to": to,
            "unit": unit,
            "group_by": group_by,
            "rows": report.rows,
            "total": report.total,
        }
    )


class ScorecardIndicator(BaseModel):
    key: str = Field(description="processing_progress, online_submission, online_payment, …")
    group: str = Field(description="The Decision 766 group and its maximum.")
    name: str
    indicator: str = Field(description="The rate scored (a metrics field).")
    rate: float | None
    numerator: int
    denominator: int
    threshold: float = Field(description="Full marks at a rate at or above it.")
    max_points: float
    points: float | None = Field(
        description="max_points at rate >= threshold, else rate × max_points / threshold; "
        "null when the rate is null."
    )


class ScorecardRow(BaseModel):
    unit_code: str | None = None
    unit_name: str | None = None
    indicators: list[ScorecardIndicator]
    points: float = Field(description="Sum of the indicators' points (null ones count 0).")
    max_points: float = Field(description="Sum of the indicators' maxima.")


class Scorecard(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    rows: list[ScorecardRow]


class ScorecardGroup(StrEnum):
    none = "none"
    unit = "unit"


@router.get(
    "/metrics/scorecard",
    response_model=Scorecard,
    dependencies=[RequireRead],
    summary="Decision 766 scorecard (the groups this data supports)",
    description="Processing progress (on_time_rate, max 20), online submission (online_rate, "
    "12), online payment (online_payment_rate, 10), digitization: electronic result "
    "(result_digitized_rate, 6) and dossiers digitized (fully_digitized_rate, 4, threshold "
    "80%). Full marks at a rate at or above the threshold, else rate × max / threshold. "
    "`group_by=unit`: a row per unit, each over its own dossiers.",
    responses={**AUTH_RESPONSES, **responses(NotFound, Unprocessable)},
)
async def get_scorecard(
    request: Request,
    from_: date = Query(alias="from", description="First day, inclusive."),
    to: date = Query(description="Last day, inclusive."),
    unit: UnitQuery = None,
    level: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Only units of this level.",
        ),
    ] = None,
    group_by: ScorecardGroup = Query(ScorecardGroup.none, description="`none` or `unit`."),
    lineage: LineageQuery = False,
    session: AsyncSession = ReadSessionDep,
) -> Scorecard:
    service.check_dates(from_, to)
    query = MetricQuery(from_, to, unit, level, GroupBy(group_by.value), lineage=lineage)
    settings = request.app.state.settings
    rows = await service.metric_rows(
        session,
        query=query,
        fields=scorecard.SCORECARD_FIELDS,
        zone=settings.zone,
        now=datetime.now(UTC),
    )
    return Scorecard.model_validate(
        {"from": from_, "to": to, "rows": [scorecard.score(r) for r in rows]}
    )
