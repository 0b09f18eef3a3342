"""Lists of dossiers to urge units with: open, overdue, due soon, resolved, late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.dossiers.models import Dossier as D
from app.metrics import formulas as f
from app.metrics.queries import Scope, resolved_in
from app.reference.models import Unit
from app.reference.workdays import WorkDay, working_days_from_ordinals, working_days_join


class ListState(StrEnum):
    open = "open"
    overdue = "overdue"
    due_soon = "due_soon"
    resolved = "resolved"
    late = "late"


@dataclass(frozen=True)
class ListQuery:
    state: ListState
    first: date | None
    last: date | None
    due_within: int
    page: int
    page_size: int


@dataclass(frozen=True)
class _Days:
    """The working-day figures of a listed dossier, over joins of ``work_days``."""

    source: Any
    overdue: ColumnElement[int]
    left: ColumnElement[int]


def _days(query: ListQuery, now: datetime, today: date) -> _Days:
    """Working days past the due day (to today for open dossiers, to resolution for others)
    and working days left before it."""
    today_ordinal = select(WorkDay.ordinal).where(WorkDay.day == today).scalar_subquery()
    due = aliased(WorkDay)
    source = D.__table__.outerjoin(due, due.day == D.due_date)
    left = working_days_from_ordinals(today_ordinal, due.ordinal)
    if query.state in (ListState.resolved, ListState.late):
        source, past_due = working_days_join(source, D.due_date, D.resolved_date)
        return _Days(source, case((f.late(), past_due), else_=0), left)
    overdue = f.in_progress_overdue(now)
    past_due = working_days_from_ordinals(due.ordinal, today_ordinal)
    return _Days(source, case((overdue, past_due), else_=0), left)


def _filters(query: ListQuery, now: datetime, days: _Days) -> list[ColumnElement[bool]]:
    state = query.state
    if state in (ListState.resolved, ListState.late):
        clauses = resolved_in(query.first or date.min, query.last or date.max)
        if query.first is None:
            clauses[0] = D.resolved_date.is_not(None)
        if query.last is None:
            clauses[1] = D.resolved_date.is_not(None)
        if state is ListState.late:
            clauses.append(f.late())
        return clauses
    # open, overdue, due soon: the backlog at ``now``, as the metrics count it
    if state is ListState.overdue:
        clauses = f.OVERDUE.at(now)
    elif state is ListState.due_soon:
        clauses = [*f.WITHIN_DEADLINE.at(now), D.due_at.is_not(None)]
        clauses.append(days.left <= query.due_within)
    else:
        clauses = f.OPEN.at(now)
    if query.first is not None:
        clauses.append(D.received_date >= query.first)
    if query.last is not None:
        clauses.append(D.received_date <= query.last)
    return clauses


async def list_dossiers(
    session: AsyncSession, *, scope: Scope, query: ListQuery, now: datetime, today: date
) -> tuple[int, list[dict[str, Any]]]:
    """The page of dossiers, most overdue first (then earliest due), and the total count."""
    days = _days(query, now, today)
    where = [*_filters(query, now, days), *scope.where()]
    total = (
        await session.execute(select(func.count()).select_from(days.source).where(*where))
    ).scalar_one()
    overdue_days = days.overdue.label("working_days_overdue")
    still_due = and_(*f.WITHIN_DEADLINE.at(now), D.due_at.is_not(None))
    left = case((still_due, days.left), else_=None).label("working_days_left")
    stmt = (
        select(D, Unit.name.label("unit_name"), overdue_days, left)
        .select_from(days.source)
        .outerjoin(Unit, Unit.code == D.unit_code)
        .where(*where)
        .order_by(overdue_days.desc(), D.due_at.is_(None), D.due_at, D.code)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    items = []
    for dossier, unit_name, days_overdue, days_left in (await session.execute(stmt)).all():
        items.append(
            {
                "dossier_code": dossier.code,
                "unit_code": dossier.unit_code,
                "unit_name": unit_name,
                "procedure_code": dossier.procedure_code,
                "sector_code": dossier.sector_code,
                "channel": dossier.channel,
                "status": dossier.status,
                "received_at": dossier.received_at,
                "due_at": dossier.due_at,
                "resolved_at": dossier.resolved_at,
                "supplement_count": dossier.supplement_count,
                "working_days_overdue": int(days_overdue or 0),
                "working_days_left": None if days_left is None else int(days_left),
            }
        )
    return int(total), items


class DossierListItem(BaseModel):
    dossier_code: str
    unit_code: str
    unit_name: str | None
    procedure_code: str | None
    sector_code: str | None
    channel: str | None
    status: str
    received_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime | None
    supplement_count: int
    working_days_overdue: int = Field(
        description="Working days past the due day: the working days d with due day < d <= "
        "today (open dossiers past due_at) or <= resolution day (resolved late); else 0."
    )
    working_days_left: int | None = Field(
        description="Open dossiers not yet due: working days d with today < d <= due day."
    )


class DossierList(BaseModel):
    total: int = Field(description="Dossiers matching, over all pages.")
    page: int
    page_size: int
    items: list[DossierListItem] = Field(description="Most overdue first, then earliest due.")
