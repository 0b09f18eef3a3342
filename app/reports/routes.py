"""Reports: the periodic form II.06a and the Decision 766 scorecard."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import audit
from app.auth.scope import Access, ReadAccess
from app.db import ReadSessionDep
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.metrics import formulas as f
from app.metrics import service
from app.metrics.export import CSV_MEDIA_TYPE, csv_response
from app.metrics.queries import GroupBy, Period
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
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> Any:
    service.check_dates(from_, to)
    scope = await service.scope_of(
        session, unit=unit, level=None, access=access, first=from_, last=to
    )
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
    if format is not ReportFormat.json:  # a file taken away: recorded in the audit log
        details = {"form": "II.06a", "format": format.value, "from": str(from_), "to": str(to)}
        await audit.record_now(
            request.app.state.db, request, "report.download", target=unit, details=details
        )
    if format is ReportFormat.xlsx:
        label = await _unit_label(session, unit, access)
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


async def _unit_label(session: AsyncSession, unit: str | None, access: Access) -> str:
    """The form's title unit: the one asked for, else the caller's units, else all units."""
    codes = [unit] if unit else list(access.roots or [])
    if not codes:
        return "Tất cả đơn vị"
    names = []
    for code in codes:
        row = await session.get(Unit, code)
        names.append((row.name or row.code) if row else code)
    return ", ".join(names)


class ScorecardIndicator(BaseModel):
    key: str = Field(
        description="progress (2.1), online_submission (3.3), online_payment (3.6), "
        "electronic_result (4.1), dossiers_digitized (4.2)."
    )
    number: str = Field(description="The indicator's number in Decision 766/QĐ-TTg.")
    group: str = Field(description="The Decision 766 group and its maximum.")
    name: str
    indicator: str = Field(description="The rate scored (a metrics field).")
    rate: float | None
    numerator: int
    denominator: int
    threshold: float | None = Field(
        description="Full marks at a rate at or above it; null: linear (rate × max_points)."
    )
    max_points: float
    points: float | None = Field(
        description="max_points at rate >= threshold, else rate × max_points / threshold "
        "(linear: rate × max_points); null when the rate is null."
    )


class UnsupportedIndicator(BaseModel):
    key: str
    number: str
    max_points: float | None
    reason: str = Field(description="Why the events cannot support it.")


def _indicator_fields() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in scorecard.SCORECARD:
        threshold = (
            f"threshold {i.threshold:.0%}: full marks at or above it, else rate × {i.max_points:g}"
            f" / {i.threshold:g}"
            if i.threshold is not None
            else f"linear: rate × {i.max_points:g}"
        )
        words = f.description(i.rate)
        rate = f.RATES[i.rate]
        out[f"{i.key}_rate"] = (
            float | None,
            Field(description=f"Indicator {i.number} ({i.rate}): {words} Null over 0."),
        )
        out[f"{i.key}_numerator"] = (
            int,
            Field(description=f"The numerator of {i.key}_rate: {' + '.join(rate.numerator)}."),
        )
        out[f"{i.key}_denominator"] = (
            int,
            Field(description=f"The denominator of {i.key}_rate: {' + '.join(rate.denominator)}."),
        )
        out[f"{i.key}_points"] = (
            float | None,
            Field(description=f"Points of indicator {i.number}, {threshold}; null: rate null."),
        )
        out[f"{i.key}_max_points"] = (
            float,
            Field(description=f"The maximum of indicator {i.number}: {i.max_points:g}."),
        )
    for name in scorecard.CONTRACT_RATES:
        words = f.description(name)
        out[name] = (
            float | None,
            Field(
                description=f"The CONTRACT's {name}, not the portal's: {words} Shown beside "
                "progress_rate, the portal's on-time figure, which differs (see docs/metrics.md)."
            ),
        )
        out[f"{name}_numerator"] = (int, Field(description=f"The numerator of {name}."))
        out[f"{name}_denominator"] = (int, Field(description=f"The denominator of {name}."))
    return out


_KEY_FIELDS: dict[str, Any] = {
    name: (str | None, Field(default=None, description=words))
    for name, words in (
        ("unit_code", "group_by=unit: the unit (each over its own dossiers)."),
        ("unit_name", "group_by=unit: the unit's name."),
        ("procedure_code", "group_by=procedure: the procedure."),
        ("procedure_name", "group_by=procedure: its name."),
        ("sector_code", "group_by=sector: the sector."),
        ("period", "period≠none: the bucket (2024-03, 2024-Q1, 2024)."),
        ("period_from", "period≠none: the bucket's first day."),
        ("period_to", "period≠none: the bucket's last day."),
    )
}

ScorecardRow = create_model(
    "ScorecardRow",
    **_KEY_FIELDS,
    **_indicator_fields(),
    points=(
        float,
        Field(description="Sum of the indicators' non-null points (not rounded)."),
    ),
    max_points=(
        float,
        Field(description="Sum of the maxima of the indicators whose points are not null."),
    ),
    indicators=(list[ScorecardIndicator], Field(description="The same figures as a list.")),
)


class Scorecard(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    rows: list[ScorecardRow]
    unsupported: list[UnsupportedIndicator] = Field(
        description="The Decision 766 indicators the events cannot support, with the reason."
    )


@router.get(
    "/metrics/scorecard",
    response_model=Scorecard,
    summary="Decision 766 scorecard, as the national portal computes it",
    description="Indicators 2.1 progress (progress_rate, the PORTAL's on time: dossiers "
    "resolved in the period or open at its end, on time by the portal's rules — a dossier "
    "waiting on the citizen is judged at the time of the request, more than one supplement "
    "request is never on time, a dossier without due_at is judged against its procedure's "
    "duration_working_days plus the working days waited; linear, max 20), 3.3 online "
    "submission (online_rate, threshold 50%, max 12), 3.6 online payment (online_payment_rate, "
    "linear, 10), 4.1 electronic result (result_digitized_rate, linear, 6), 4.2 dossiers "
    "digitized (a digitized component and, if resolved by the end of the period, an "
    "electronic result, over received; threshold 80%, 4). Threshold T: full marks at rate >= "
    "T, else rate × max / T. Each row: `<key>_rate`, `_numerator`, `_denominator`, `_points`, "
    "`_max_points`, the row's `points` and `max_points` (non-null indicators only), and the "
    "CONTRACT's on_time_rate and overdue_rate beside them (their 'on time' and 'overdue' are "
    "not the portal's). `unsupported` lists the indicators the events cannot support.",
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
    group_by: GroupBy = Query(
        GroupBy.none, description="`none`, `unit`, `procedure` or `sector`, as for the metrics."
    ),
    period: Period = Query(Period.none, description="`none`, `month`, `quarter`, `year`."),
    lineage: LineageQuery = False,
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> Any:
    service.check_dates(from_, to)
    query = MetricQuery(from_, to, unit, level, group_by, period, lineage=lineage)
    settings = request.app.state.settings
    now = datetime.now(UTC)
    rows = await service.metric_rows(
        session,
        query=query,
        access=access,
        fields=scorecard.SCORECARD_FIELDS,
        zone=settings.zone,
        now=now,
    )
    scored = [scorecard.score(row) for row in rows]
    return Scorecard.model_validate(
        {"from": from_, "to": to, "rows": scored, "unsupported": scorecard.UNSUPPORTED}
    )
