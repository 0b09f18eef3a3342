"""The working-day calendar: what a working day is, and the one working-day count.

A day is a working day unless it is a Saturday, a Sunday or a Vietnamese public holiday (the
``holidays`` package: New Year, Tết and the other lunar holidays, the days off it substitutes),
and an admin can override any date either way (``calendar_overrides``), for the days off and
working Saturdays the government moves each year.

So that SQL can count working days over many dossiers at once, the calendar is materialised in
``work_days``: one row per day from ``FIRST_DAY`` to ``LAST_DAY`` with ``working`` (after
overrides) and ``ordinal`` = the number of working days from ``FIRST_DAY`` up to and including
the day. The number of working days ``d`` with ``after < d <= through`` is then
``ordinal(through) - ordinal(after)``: :func:`working_days_from_ordinals` is the one
definition of a working-day count; everything that counts working days uses it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, overload

import holidays
from sqlalchemy import Boolean, Date, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from app.errors import Unprocessable
from app.tables import Base

FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2100, 12, 31)


class WorkDay(Base):
    """One calendar day: working or not (after overrides), and its working-day ordinal."""

    __tablename__ = "work_days"
    __table_args__ = ({"info": {"filled_by_migrations": True}},)  # the tests keep it

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    default_working: Mapped[bool] = mapped_column(Boolean)
    holiday: Mapped[str | None] = mapped_column(String(128))
    ordinal: Mapped[int] = mapped_column(Integer)


@functools.cache
def public_holidays() -> Mapping[date, str]:
    """Vietnamese public holidays (with substituted days off), FIRST_DAY … LAST_DAY."""
    years = range(FIRST_DAY.year, LAST_DAY.year + 1)
    return dict(holidays.country_holidays("VN", years=years, language="en_US"))


def default_working(day: date) -> bool:
    """A working day by default: Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and day not in public_holidays()


def default_days_off() -> set[date]:
    """Weekends and public holidays, FIRST_DAY … LAST_DAY, by the installed packages."""
    days = {d for d in public_holidays() if FIRST_DAY <= d <= LAST_DAY}
    day = FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() >= 5:
            days.add(day)
        day += timedelta(days=1)
    return days


def calendar_rows(overrides: Mapping[date, bool]) -> list[dict[str, Any]]:
    """Every ``work_days`` row, FIRST_DAY … LAST_DAY, with overrides applied."""
    rows: list[dict[str, Any]] = []
    ordinal = 0
    names = public_holidays()
    day = FIRST_DAY
    while day <= LAST_DAY:
        default = default_working(day)
        working = overrides.get(day, default)
        ordinal += 1 if working else 0
        rows.append(
            {
                "day": day,
                "working": working,
                "default_working": default,
                "holiday": names.get(day),
                "ordinal": ordinal,
            }
        )
        day += timedelta(days=1)
    return rows


@overload
def working_days_from_ordinals(after_ordinal: int, through_ordinal: int) -> int: ...
@overload
def working_days_from_ordinals(after_ordinal: Any, through_ordinal: Any) -> ColumnElement[int]: ...
def working_days_from_ordinals(after_ordinal: Any, through_ordinal: Any) -> Any:
    """THE working-day count: the working days d with ``after < d <= through``.

    ``ordinal(through) - ordinal(after)``, from the ``work_days`` ordinals of the two dates
    (0 when through <= after; NULL when either date is NULL or outside the calendar). A
    dossier received and resolved on the same day took 0 working days; resolved on the next
    working day, 1. Every working-day count goes through this function, by one of the two
    ways to fetch the ordinals below (or, given two ordinals as ints, in Python: the waits of
    ``app/dossiers/derive.py``).
    """
    return through_ordinal - after_ordinal


def working_days_sql(after: Any, through: Any) -> ColumnElement[int]:
    """The working-day count between two SQL date expressions, by scalar subqueries.

    For a few rows (one date, a page of a list); aggregates over many dossiers use
    :func:`working_days_join`, which the planner turns into joins.
    """
    start = aliased(WorkDay)
    end = aliased(WorkDay)
    ordinal_through = select(end.ordinal).where(end.day == through).scalar_subquery()
    ordinal_after = select(start.ordinal).where(start.day == after).scalar_subquery()
    return working_days_from_ordinals(ordinal_after, ordinal_through)


def working_days_join(source: Any, after: Any, through: Any) -> tuple[Any, ColumnElement[int]]:
    """``source`` left-joined to the ordinals of two date columns, and the working-day count."""
    start = aliased(WorkDay)
    end = aliased(WorkDay)
    joined = source.outerjoin(start, start.day == after).outerjoin(end, end.day == through)
    return joined, working_days_from_ordinals(start.ordinal, end.ordinal)


async def working_days(*, session: AsyncSession, after: date, through: date) -> int:
    """The working-day count between two dates, through :func:`working_days_sql`."""
    check_in_range(after, ["after"])
    check_in_range(through, ["through"])
    value = (await session.execute(select(working_days_sql(after, through)))).scalar_one()
    return int(value)


def add_default_working_days(start: date, count: int) -> date:
    """The ``count``-th default working day after ``start`` (no overrides; for generators)."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        if default_working(day):
            count -= 1
    return day


def check_in_range(day: date, loc: list[str | int]) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Unprocessable(f"the calendar covers {FIRST_DAY} … {LAST_DAY}", loc)
