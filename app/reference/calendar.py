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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, overload

import holidays
from sqlalchemy import Boolean, Date, Integer, String, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from app.db import Base, chunks, dialect_insert, dialect_of, utcnow
from app.errors import NotFound, Unprocessable
from app.reference.models import CalendarOverride

FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2100, 12, 31)


class WorkDay(Base):
    """One calendar day: working or not (after overrides), and its working-day ordinal."""

    __tablename__ = "work_days"

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


def _default_days_off() -> set[date]:
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
    _check_in_range(after, ["after"])
    _check_in_range(through, ["through"])
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


def _check_in_range(day: date, loc: list[str | int]) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Unprocessable(f"the calendar covers {FIRST_DAY} … {LAST_DAY}", loc)


async def fill_work_days(*, session: AsyncSession) -> int:
    """Rebuild ``work_days`` from the defaults and the stored overrides; returns rows written."""
    stored = await session.execute(select(CalendarOverride.day, CalendarOverride.working))
    overrides = {day: working for day, working in stored}
    rows = calendar_rows(overrides)
    await session.execute(delete(WorkDay))
    for part in chunks(rows, 5000):
        await session.execute(dialect_insert(dialect_of(session))(WorkDay), part)
    from app.metrics import rollups  # imports this module: working days are counted here

    await rollups.rebuild(session)  # their working-day figures follow the new calendar
    return len(rows)


async def ensure_work_days(*, session: AsyncSession) -> bool:
    """Rebuild ``work_days`` if it is empty, disagrees with the overrides, or was built from
    other public holidays (an upgraded ``holidays`` package); True if rebuilt."""
    count = (await session.execute(select(func.count()).select_from(WorkDay))).scalar_one()
    if count == LAST_DAY.toordinal() - FIRST_DAY.toordinal() + 1:
        stored_days_off = set(
            (await session.execute(select(WorkDay.day).where(WorkDay.default_working.is_(False))))
            .scalars()
            .all()
        )
        if stored_days_off != _default_days_off():
            await fill_work_days(session=session)
            return True
        expected = func.coalesce(CalendarOverride.working, WorkDay.default_working)
        stale = (
            await session.execute(
                select(func.count())
                .select_from(WorkDay)
                .outerjoin(CalendarOverride, CalendarOverride.day == WorkDay.day)
                .where(WorkDay.working != expected)
            )
        ).scalar_one()
        if stale == 0:
            return False
    await fill_work_days(session=session)
    return True


async def _set_working(session: AsyncSession, day: date, working: bool) -> None:
    """Make ``day`` working or not, shifting the ordinals of it and every later day."""
    row = (
        await session.execute(select(WorkDay).where(WorkDay.day == day).with_for_update())
    ).scalar_one_or_none()
    if row is None:  # table not built yet (fresh database): build it with this override
        await fill_work_days(session=session)
        return
    if row.working == working:
        return
    from app.config import get_settings
    from app.dossiers import derive  # imports this module: it counts waits with the calendar
    from app.metrics import rollups  # imports this module: working days are counted here

    async def change() -> None:
        delta = 1 if working else -1
        await session.execute(update(WorkDay).where(WorkDay.day == day).values(working=working))
        await session.execute(
            update(WorkDay).where(WorkDay.day >= day).values(ordinal=WorkDay.ordinal + delta)
        )
        # waits and due dates derived from statutory durations move with the calendar
        await derive.rederive(session, derive.spanning(day), get_settings().zone)

    # the dossiers whose working-day figures span the day are counted anew in the rollups
    spans = or_(and_(*rollups.spanning(day)), and_(*derive.spanning(day)))
    await rollups.recount(session, [spans], change)


async def put_override(
    *, session: AsyncSession, day: date, working: bool, note: str | None
) -> tuple[CalendarOverride, bool]:
    """Create or replace an admin override of ``day``; returns it and whether it was created."""
    _check_in_range(day, ["path", "day"])
    override = await session.get(CalendarOverride, day)
    created = override is None
    if override is None:
        override = CalendarOverride(day=day)
        session.add(override)
    override.working, override.note, override.updated_at = working, note, utcnow()
    await session.flush()
    await _set_working(session, day, working)
    return override, created


async def delete_override(*, session: AsyncSession, day: date) -> None:
    """Remove an override: the day is working or not by default again."""
    override = await session.get(CalendarOverride, day)
    if override is None:
        raise NotFound(f"no calendar override on {day.isoformat()}")
    await session.delete(override)
    await session.flush()
    await _set_working(session, day, default_working(day))


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    default_working: bool
    holiday: str | None
    override: bool
    note: str | None


async def non_default_days(*, session: AsyncSession, year: int) -> list[CalendarDay]:
    """The year's public holidays and overridden days (weekends are left out), by date."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    overrides = {
        o.day: o
        for o in (
            await session.execute(
                select(CalendarOverride).where(
                    CalendarOverride.day >= first, CalendarOverride.day <= last
                )
            )
        ).scalars()
    }
    names = {d: n for d, n in public_holidays().items() if first <= d <= last}
    days: Iterable[date] = sorted(set(overrides) | set(names))
    out = []
    for day in days:
        override = overrides.get(day)
        default = default_working(day)
        out.append(
            CalendarDay(
                day=day,
                working=override.working if override is not None else default,
                default_working=default,
                holiday=names.get(day),
                override=override is not None,
                note=override.note if override is not None else None,
            )
        )
    return out
