"""``GET /api/v1/metrics/coverage``: which days hold received dossiers, for a default period.

The dashboard opens on the latest period that has data when the URL names none (the demo
province is 2024; a fresh install's first month may be last month): it asks this route for the
first and last receipt day in the unit's subtree, then shows that year up to that month.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import RequireRead
from app.db import ReadSessionDep
from app.dossiers.models import Dossier
from app.errors import AUTH_RESPONSES, NotFound, responses
from app.metrics import service

router = APIRouter(prefix="/api/v1", tags=["metrics"])


class Coverage(BaseModel):
    """The receipt days present in a subtree (local dates, ONESTOP_TIMEZONE)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "unit": "000.00.31.H40",
                "received": 7350,
                "first_received": "2024-01-02",
                "last_received": "2024-05-03",
                "suggested_from": "2024-01-01",
                "suggested_to": "2024-05-31",
            }
        }
    )

    unit: str | None = Field(description="The subtree asked for; null: all units.")
    received: int = Field(description="Dossiers with a receipt date in the subtree.")
    first_received: date | None = Field(description="Earliest receipt day; null: no dossier.")
    last_received: date | None = Field(description="Latest receipt day; null: no dossier.")
    suggested_from: date | None = Field(
        description="1 January of the latest receipt's year: the dashboard's default `from`."
    )
    suggested_to: date | None = Field(
        description="Last day of the latest receipt's month: the dashboard's default `to`."
    )


@router.get(
    "/metrics/coverage",
    response_model=Coverage,
    dependencies=[RequireRead],
    summary="First and last receipt day of a subtree",
    description="The earliest and latest local receipt day (`received_at`) of the dossiers of "
    "`unit`'s subtree (default: all units), their count, and the period a dashboard should "
    "open on when none is chosen: from 1 January of the latest receipt's year to the end of "
    "its month. All null (and `received` 0) when the subtree has no received dossier.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def get_coverage(
    unit: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Root of the subtree (the unit and its descendants). Unknown: 404.",
        ),
    ] = None,
    session: AsyncSession = ReadSessionDep,
) -> Coverage:
    scope = await service.scope_of(session, unit=unit, level=None)
    statement = select(
        func.count(Dossier.received_date),
        func.min(Dossier.received_date),
        func.max(Dossier.received_date),
    ).where(Dossier.received_date.is_not(None), *scope.where(Dossier.unit_code))
    count, first, last = (await session.execute(statement)).one()
    first, last = _as_date(first), _as_date(last)
    return Coverage(
        unit=unit,
        received=int(count or 0),
        first_received=first,
        last_received=last,
        suggested_from=date(last.year, 1, 1) if last else None,
        suggested_to=(
            date(last.year, last.month, calendar.monthrange(last.year, last.month)[1])
            if last
            else None
        ),
    )


def _as_date(value: date | str | None) -> date | None:
    """SQLite hands back ``min``/``max`` of a DATE column as text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)
