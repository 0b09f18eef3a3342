"""Metrics: delay, digitization, online rate, their summary; procedures; rankings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Union

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import RequireRead
from app.auth.scope import Access, ReadAccess
from app.config import Settings
from app.db import ReadSessionDep
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.metrics import formulas as f
from app.metrics import service
from app.metrics.export import CSV_MEDIA_TYPE, csv_response
from app.metrics.leaders_csv import Lang, leader_table
from app.metrics.queries import GroupBy, Period
from app.metrics.schemas import RESPONSE_MODELS, Format, ProcedureCounts, Ranking
from app.metrics.service import MetricQuery

router = APIRouter(prefix="/api/v1", tags=["metrics"])

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}},
}
UnitQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Root of the subtree counted (the unit and all its descendants); "
        "default: all units (a key scoped to units: its units). Unknown: 404; outside a "
        "scoped key's units (or unknown to it): 403.",
    ),
]
LineageQuery = Annotated[
    bool,
    Query(
        description="`true`: a unit's figures also include the dossiers of every unit whose "
        "successor chain leads into its subtree (a new commune counts the communes merged "
        "into it); with `group_by=unit` each row adds its predecessors' own dossiers. Rows "
        "per unit list only the units valid at some day of the period.",
    ),
]
LevelQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Count only dossiers of units of this level.",
    ),
]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def metric_query(
    from_: date = Query(
        alias="from", description="First day counted, inclusive, in ONESTOP_TIMEZONE."
    ),
    to: date = Query(description="Last day counted, inclusive, in ONESTOP_TIMEZONE."),
    unit: UnitQuery = None,
    level: LevelQuery = None,
    group_by: GroupBy = Query(
        GroupBy.none,
        description="`none` (one row), `unit` (a row per unit, each its own dossiers), "
        "`procedure`, `sector`.",
    ),
    period: Period = Query(
        Period.none, description="One row per bucket (`month`, `quarter`, `year`); empty as zeros."
    ),
    lineage: LineageQuery = False,
) -> MetricQuery:
    """The shared parameters, validated: from <= to, at most about ten years (``async``: a
    plain ``def`` dependency runs in a worker thread, a hop per request)."""
    service.check_dates(from_, to)
    return MetricQuery(from_, to, unit, level, group_by, period, lineage)


MetricQueryDep = Depends(metric_query)


def columns(query: MetricQuery, fields: tuple[str, ...]) -> list[str]:
    """The CSV columns: the grouping keys in use, then the fields (rates with their parts)."""
    keys = {
        GroupBy.none: [],
        GroupBy.unit: ["unit_code", "unit_name"],
        GroupBy.procedure: ["procedure_code", "procedure_name"],
        GroupBy.sector: ["sector_code"],
    }[query.group_by]
    if query.period is not Period.none:
        keys += ["period", "period_from", "period_to"]
    out = list(keys)
    for name in fields:
        out.append(name)
        if name in f.RATES:
            out += [f"{name}_numerator", f"{name}_denominator"]
    return out


@router.get(
    "/metrics/procedures",
    response_model=ProcedureCounts,
    dependencies=[RequireRead],
    summary="Procedures offered per level, by online service",
    description="Rows per level of the registered procedures: `total`, `full_online` "
    "(full-process online), `partial_online`, `offline` (neither).",
    responses=AUTH_RESPONSES,
)
async def get_procedure_counts(
    level: LevelQuery = None, session: AsyncSession = ReadSessionDep
) -> ProcedureCounts:
    rows = await service.procedure_counts(session, level=level)
    return ProcedureCounts.model_validate({"rows": rows})


# the answer of one of the four families (their rows differ in fields)
ANY_FAMILY: Any = Union[tuple(RESPONSE_MODELS[family] for family in f.Family)]  # noqa: UP007

FAMILY_DESCRIPTION = """
`delay`, `digitization`, `online`, or `summary` (all of them in one row set).

Which dossiers count: intake figures count dossiers whose receipt (`received_at`, local date)
falls in the period, a refused dossier never; resolution figures count dossiers resolved in the
period (the first `resolved` event, else the first `returned`), whatever happened later, unless
withdrawn, stopped or refused before they were resolved; backlog figures (`in_progress…`)
count received dossiers still open at the end of the period (or now, if sooner).

Every rate comes flat with `<rate>_numerator` and `<rate>_denominator` (counts); a rate over
zero is null. `format=csv`: a header row, then the rows (UTF-8 with a byte-order mark).
"""


@router.get(
    "/metrics/{family}",
    response_model=ANY_FAMILY,
    summary="Delay, digitization and online metrics",
    description=FAMILY_DESCRIPTION,
    responses={
        **CSV_RESPONSE,
        **AUTH_RESPONSES,
        **responses(NotFound, Unprocessable),
    },
)
async def get_metrics(
    family: Annotated[f.Family, Path(description="The metric family.")],
    request: Request,
    query: MetricQuery = MetricQueryDep,
    format: Format = Query(Format.json, description="`json` or `csv`."),
    access: Access = ReadAccess,
    lang: Lang | None = Query(
        None,
        description="With `format=csv`: the leaders' CSV, headers in Vietnamese (`vi`) or "
        "English (`en`), rates as percentages as the dashboard shows them (`99,76%`), days "
        "as dd/mm/yyyy. Without it: the machine CSV (snake_case headers, fractions).",
    ),
    session: AsyncSession = ReadSessionDep,
) -> Response:
    settings = settings_of(request)
    fields = f.FAMILY_FIELDS[family]
    rows = await service.metric_rows(
        session,
        query=query,
        access=access,
        fields=fields,
        zone=settings.zone,
        now=datetime.now(UTC),
    )
    if format is Format.csv:
        filename = f"{family.value}_{query.first}_{query.last}.csv"
        if lang is not None:
            headers, leader_rows = leader_table(columns(query, fields), rows, lang)
            return csv_response(headers, leader_rows, filename.replace(".csv", f"_{lang}.csv"))
        return csv_response(columns(query, fields), rows, filename)
    # orjson: ~1 ms for 500 rows of a family where the stdlib took ~10 ms (same JSON values;
    # exponents are written e-6, not e-06)
    body = {"from": query.first.isoformat(), "to": query.last.isoformat(), "rows": rows}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/rankings",
    response_model=Ranking,
    summary="Units ranked on a rate",
    description="The units of `level` under `unit` (without `level`: the unit's direct "
    "children, or the root units) valid at some day of the period, each counted over its "
    "own subtree (a district with its communes; with `lineage=true` also the units whose "
    "successor chain leads into it), best first; equal rates share a rank (1, 1, 3). For "
    "`overdue_rate` lower is better. Units with nothing to count (a null rate) come last "
    "with `rank` null.",
    responses={**AUTH_RESPONSES, **responses(NotFound, Unprocessable)},
)
async def get_rankings(
    request: Request,
    indicator: Annotated[
        str,
        Query(
            description="A rate: " + ", ".join(f"`{r}`" for r in f.RATES),
            json_schema_extra={"enum": list(f.RATES)},
        ),
    ],
    from_: date = Query(alias="from", description="First day counted, inclusive."),
    to: date = Query(description="Last day counted, inclusive."),
    unit: UnitQuery = None,
    level: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="The level label of the units ranked.",
        ),
    ] = None,
    lineage: LineageQuery = False,
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> Ranking:
    if indicator not in f.RATES:
        raise Unprocessable(
            f"unknown indicator; one of {', '.join(f.RATES)}", ["query", "indicator"]
        )
    service.check_dates(from_, to)
    settings = settings_of(request)
    rows = await service.ranking(
        session,
        indicator=indicator,
        first=from_,
        last=to,
        unit=unit,
        level=level,
        access=access,
        zone=settings.zone,
        now=datetime.now(UTC),
        lineage=lineage,
    )
    return Ranking.model_validate(
        {
            "indicator": indicator,
            "lower_is_better": f.RATES[indicator].lower_is_better,
            "from": from_,
            "to": to,
            "rows": rows,
        }
    )
