"""Changes to the working-day calendar: admin overrides, and rebuilding ``work_days``.

What a working day is, and the one working-day count, are in ``workdays.py``; a change here
moves the working-day figures of the dossiers it spans, so the metric rollups are recounted
with it (``app.metrics.rollups``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db import chunks, utcnow
from app.dossiers import derive
from app.errors import NotFound
from app.metrics import rollups
from app.reference.models import CalendarOverride
from app.reference.workdays import (
    FIRST_DAY,
    LAST_DAY,
    WorkDay,
    calendar_rows,
    check_in_range,
    default_days_off,
    default_working,
    public_holidays,
)


async def fill_work_days(*, session: AsyncSession) -> int:
    """Rebuild ``work_days`` from the defaults and the stored overrides; returns rows written."""
    stored = await session.execute(select(CalendarOverride.day, CalendarOverride.working))
    overrides = {day: working for day, working in stored}
    rows = calendar_rows(overrides)
    await session.execute(delete(WorkDay))
    for part in chunks(rows, 5000):
        await session.execute(insert(WorkDay), part)
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
        if stored_days_off != default_days_off():
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
    check_in_range(day, ["path", "day"])
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
