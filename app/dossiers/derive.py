"""The parts of a dossier row that need reference data: the calendar and statutory durations.

The fold (``fold.py``) is pure: it records *when* a dossier waited on the citizen. Turning that
into working days, and a statutory duration into a due date, needs the working-day calendar
(``work_days``) and the procedure's ``duration_working_days``; this module does it for a set of
folded states, with two look-ups per batch (none when no state needs them):

- ``wait_days`` (W): the working days the dossier waited on the citizen, each ended wait
  counted like processing days (the working days d with start day < d <= end day, by
  ``calendar.working_days_from_ordinals``), within receipt … resolution (receipt … for an open
  dossier; a wait still outstanding counts once it ends);
- ``due_at``: the last ``due_at`` the events gave; without one, when the procedure has a
  ``duration_working_days`` N, 17:00 local time on the (N + W)-th working day after the day of
  receipt (``due_derived`` true); else none;
- ``due_date``: the local date of ``due_at``;
- ``portal_due_at`` (and its local date): the instant after which an open dossier is overdue
  by the national portal's rules (Decision 766, indicator 2.1; ``formulas.PORTAL_OVERDUE``):
  its receipt when it had more than one supplement request; none while a request to the
  citizen made no later than ``due_at`` is outstanding; else ``due_at``.

When the calendar or a procedure's duration changes, :func:`rederive` recomputes the rows
that depend on it (and the rollups follow, see ``rollups.recount``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db import chunks
from app.dossiers.fold import STATE_NAMES, DossierState
from app.dossiers.models import Dossier
from app.reference.models import Procedure
from app.reference.workdays import WorkDay, working_days_from_ordinals

DUE_HOUR = time(17, 0)  # a derived due date is due at 17:00 local time
DERIVED_COLUMNS = (
    "wait_days",
    "due_at",
    "due_date",
    "due_derived",
    "portal_due_at",
    "portal_due_date",
)
_IN = 900  # bound parameters per IN list


def _local(value: datetime, zone: ZoneInfo) -> date:
    return value.astimezone(zone).date()


def _needs_duration(state: DossierState) -> bool:
    return (
        state.due_at_field is None and state.procedure_code is not None and state.counts_as_received
    )


def wait_day_pairs(state: DossierState, zone: ZoneInfo) -> list[tuple[date, date]]:
    """The (start day, end day) of each ended wait, within receipt … resolution."""
    return [(_local(a, zone), _local(b, zone)) for a, b in state.clipped_waits()]


def wait_days(pairs: Iterable[tuple[date, date]], ordinals: Mapping[date, int]) -> int:
    """W: the working days of the waits (a day outside the calendar counts none)."""
    total = 0
    for start, end in pairs:
        if start in ordinals and end in ordinals:
            total += max(0, working_days_from_ordinals(ordinals[start], ordinals[end]))
    return total


class Reader(Protocol):
    """Runs a SELECT of reference data: the write transaction (``storage.base.WriteTx.fetch``)
    or a session (:class:`SessionReader`)."""

    async def fetch(self, stmt: Any) -> list[tuple[Any, ...]]: ...


class SessionReader:
    """A :class:`Reader` over an ``AsyncSession`` (admin changes: calendar, procedures)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fetch(self, stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.session.execute(stmt)]


async def _durations(db: Reader, codes: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in chunks(sorted(codes), _IN):
        stmt = select(Procedure.code, Procedure.duration_working_days).where(
            Procedure.code.in_(part), Procedure.duration_working_days.is_not(None)
        )
        out.update({code: int(n) for code, n in await db.fetch(stmt) if n is not None})
    return out


async def _ordinals(db: Reader, days: set[date]) -> dict[date, int]:
    out: dict[date, int] = {}
    for part in chunks(sorted(days), _IN):
        stmt = select(WorkDay.day, WorkDay.ordinal).where(WorkDay.day.in_(part))
        out.update({day: int(n) for day, n in await db.fetch(stmt)})
    return out


async def _working_days_at(db: Reader, ordinals: set[int]) -> dict[int, date]:
    """The working day with each ordinal (the ordinal counts working days up to the day)."""
    out: dict[int, date] = {}
    for part in chunks(sorted(ordinals), _IN):
        stmt = select(WorkDay.ordinal, WorkDay.day).where(
            WorkDay.working.is_(True), WorkDay.ordinal.in_(part)
        )
        out.update({int(n): day for n, day in await db.fetch(stmt)})
    return out


async def derived_values(
    db: Reader, states: Sequence[DossierState], zone: ZoneInfo
) -> list[dict[str, Any]]:
    """For each state, the ``DERIVED_COLUMNS`` of its row (see the module docstring)."""
    durations: dict[str, int] = {}
    wanted = {s.procedure_code for s in states if _needs_duration(s) and s.procedure_code}
    if wanted:
        durations = await _durations(db, wanted)
    pairs = [wait_day_pairs(s, zone) for s in states]
    receipt_days: list[date | None] = []
    days: set[date] = set()
    for state, waits in zip(states, pairs, strict=True):
        for start, end in waits:
            days.update((start, end))
        receipt = None
        if _needs_duration(state) and state.procedure_code in durations:
            assert state.received_at is not None  # counts_as_received
            receipt = _local(state.received_at, zone)
            days.add(receipt)
        receipt_days.append(receipt)
    ordinals = await _ordinals(db, days) if days else {}
    waited = [wait_days(w, ordinals) for w in pairs]
    targets: dict[int, int] = {}
    for i, (state, receipt) in enumerate(zip(states, receipt_days, strict=True)):
        if receipt is not None and receipt in ordinals and state.procedure_code is not None:
            targets[i] = ordinals[receipt] + durations[state.procedure_code] + waited[i]
    due_days = await _working_days_at(db, set(targets.values())) if targets else {}
    out = []
    for i, state in enumerate(states):
        due_at, derived = state.due_at_field, False
        receipt = receipt_days[i]
        if due_at is None and i in targets and receipt is not None:
            if targets[i] == ordinals[receipt]:  # N + W = 0: the day of receipt itself
                day: date | None = receipt
            else:
                day = due_days.get(targets[i])
            if day is not None:
                due_at, derived = datetime.combine(day, DUE_HOUR, tzinfo=zone), True
        portal = portal_due_at(state, due_at)
        out.append(
            {
                "wait_days": waited[i],
                "due_at": due_at,
                "due_date": _local(due_at, zone) if due_at is not None else None,
                "due_derived": derived,
                "portal_due_at": portal,
                "portal_due_date": _local(portal, zone) if portal is not None else None,
            }
        )
    return out


def portal_due_at(state: DossierState, due_at: datetime | None) -> datetime | None:
    """After which instant the open dossier is overdue by the portal's rules (module
    docstring), given its effective ``due_at``."""
    if not state.counts_as_received:
        return None
    if state.supplement_count > 1:
        return state.received_at
    if state.paused_at is not None and due_at is not None and state.paused_at <= due_at:
        return None
    return due_at


async def rows_of(
    db: Reader, states: Sequence[DossierState], zone: ZoneInfo
) -> list[dict[str, Any]]:
    """The ``dossiers`` rows of folded states, derived columns included."""
    rows = []
    for state, values in zip(states, await derived_values(db, states, zone), strict=True):
        row = state.to_row(zone)
        row.update(values)
        rows.append(row)
    return rows


def spanning(day: date) -> list[ColumnElement[bool]]:
    """The dossiers whose derived columns may change when ``day`` changes in the calendar:
    received before it, with waits or a derived due date."""
    d = Dossier.__table__.c
    return [
        d.received_date < day,
        or_(d.due_derived.is_(True), and_(d.waits.is_not(None), d.waits != "")),
    ]


async def rederive(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], zone: ZoneInfo
) -> int:
    """Recompute the derived columns of the dossiers meeting ``where`` (after a calendar or a
    duration change); returns the rows that changed. The caller keeps the rollups in step
    (``rollups.recount``)."""
    table = cast(Table, Dossier.__table__)
    columns = [table.c[n] for n in (*STATE_NAMES, *DERIVED_COLUMNS)]
    stored = (await session.execute(select(*columns).where(*where))).mappings().all()
    states = [DossierState.from_row(row) for row in stored]
    changed = []
    reader = SessionReader(session)
    for row, values in zip(stored, await derived_values(reader, states, zone), strict=True):
        if any(row[n] != values[n] for n in DERIVED_COLUMNS):
            changed.append({"code_": row["code"], **values})
    stmt = (
        update(table)
        .where(table.c.code == bindparam("code_"))
        .values({n: bindparam(n) for n in DERIVED_COLUMNS})
    )
    for part in chunks(changed, 500):
        await session.execute(stmt, part)
    return len(changed)
