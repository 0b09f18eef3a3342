"""Per-unit rollups of the metric counts, kept in step with ``dossiers``.

A metric over a quarter or a year otherwise reads every dossier received or resolved in it
(500k index entries for a year at 1M dossiers). The intake and resolution counts are additive
over days, so they are also kept summed per (unit, local day), per (unit, month) and per
(unit, year) in ``metric_rollups``, and the processing-time histogram per (unit, day, working
days) in ``metric_rollup_days``; a query reads whole months from the month rows and the edges
from the day rows, and whole calendar years from the year rows when its buckets do not split a
year (``queries.rollup_ranges``). The backlog at the start of a day is a running total of the
dossiers entering it (their receipts) and leaving it (their ends), kept as the same kind of
day and month sums; a backlog at an instant inside a day (now) is counted from ``dossiers``.

The rollups hold no formula of their own: each column is the sum of a ``formulas.COUNTS``
condition over the dossiers of its basis, evaluated by the database from those conditions.
They are maintained as a *delta* whenever dossier rows are written: the contribution of the
rows before the write is subtracted and that of the rows after it added, in the same
transaction (on PostgreSQL in the same statement as the dossier upsert, see
``app/storage/postgres.py``). A change of the working-day calendar changes the working-day
figures of the dossiers it spans; ``calendar.py`` re-counts those the same way. ``rebuild``
recounts everything (after a bulk load that bypassed the app, or from the CLI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Integer,
    String,
    Table,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.dossiers.models import Dossier as D
from app.metrics.formulas import COUNTS, Basis, Span, intake_basis, resolution_basis
from app.reference.workdays import working_days_sql
from app.storage.sql import latest, month_start, sql_of, year_start
from app.tables import Base

INTAKE_COUNTS = tuple(n for n, c in COUNTS.items() if c.basis is Basis.intake)
RESOLUTION_COUNTS = tuple(n for n, c in COUNTS.items() if c.basis is Basis.resolution)
ROLLUP_COUNTS = INTAKE_COUNTS + RESOLUTION_COUNTS
# The backlog at the start of day D is a running total: the sum over the days before D of
# dossiers entering a backlog state minus those leaving it. From the state's span
# (``formulas.Span``): in it at the start of D when the local days of its ``after`` instants
# are before D and the day of its ``through`` instant is not; so it enters on the latest of
# its ``after`` days and leaves on the latest of those and its ``through`` day. Open dossiers
# enter on their receipt day: that is the intake ``received`` count.
BACKLOG_ROLLUPS: dict[str, tuple[str, str]] = {  # count: (entries column, exits column)
    "in_progress": ("received", "backlog_out"),
    "in_progress_overdue": ("overdue_in", "overdue_out"),
    "in_progress_paused": ("paused_in", "paused_out"),
    "progress_in_progress_overdue": ("progress_overdue_in", "progress_overdue_out"),
}
BACKLOG_SUMS = (
    "backlog_out",
    "overdue_in",
    "overdue_out",
    "paused_in",
    "paused_out",
    "progress_overdue_in",
    "progress_overdue_out",
)
DATE_OF = {
    "received_at": "received_date",
    "due_at": "due_date",
    "ended_at": "ended_date",
    "paused_at": "paused_date",
    "portal_due_at": "portal_due_date",
}
SUMS = (*ROLLUP_COUNTS, "lateness_days_total", *BACKLOG_SUMS)

DAY = "d"  # a row per (unit, local day)
MONTH = "m"  # a row per (unit, month); ``day`` is the month's first day
YEAR = "y"  # a row per (unit, year); ``day`` is 1 January

rollups = Table(
    "metric_rollups",
    Base.metadata,
    Column("span", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in SUMS),
)

rollup_days = Table(
    "metric_rollup_days",
    Base.metadata,
    Column("span", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    Column("days", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
)

# The histogram of net processing days (receipt to resolution less the working days waited
# on the citizen, ``wait_days``), like ``metric_rollup_days``.
rollup_net_days = Table(
    "metric_rollup_net_days",
    Base.metadata,
    Column("span", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    Column("days", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
)


def _flag(condition: ColumnElement[bool], sign: Any) -> ColumnElement[int]:
    return case((condition, sign), else_=0)


def per_dossier(source: Any, sign: Any) -> tuple[Any, Any, Any]:
    """Each dossier's signed contribution to the sums (a row per day it moves a sum on), and
    to the processing-day histograms (gross, and net of the working days waited on the
    citizen); ``source`` has the ``dossiers`` columns, and the conditions of ``formulas.py``
    are built over them (``formulas.columns``)."""
    zero = literal(0, Integer)

    def part(day: Any, where: list[Any], sums: dict[str, Any]) -> Any:
        values = [sums.get(n, zero).label(n) for n in SUMS]
        return select(source.c.unit_code, day.label("day"), *values).where(*where)

    def counts(names: Sequence[str]) -> dict[str, Any]:
        return {n: _flag(COUNTS[n].condition(None, source), sign) for n in names}

    late = COUNTS["resolved_late"].condition(None, source)
    # by index look-ups: a batch's dossiers are few next to the calendar's 40k days
    lateness = working_days_sql(source.c.due_date, source.c.resolved_date)
    parts = [
        part(
            source.c.received_date,
            intake_basis(source),
            counts(INTAKE_COUNTS),
        ),
        part(
            source.c.resolved_date,
            resolution_basis(source),
            {
                **counts(RESOLUTION_COUNTS),
                "lateness_days_total": case((late, func.coalesce(lateness, 0) * sign), else_=0),
            },
        ),
        *(
            part(day, where, {column: sign})
            for name, (entries, exits) in BACKLOG_ROLLUPS.items()
            for day, where, column in _backlog_moves(source, COUNTS[name].span, entries, exits)
        ),
    ]
    days = working_days_sql(source.c.received_date, source.c.resolved_date)
    per_dossier = select(
        source.c.unit_code,
        source.c.resolved_date.label("day"),
        days.label("days"),
        sign.label("n"),
    ).where(
        *resolution_basis(source),
        source.c.received_date.is_not(None),
    )
    inner = per_dossier.subquery("processing")
    histogram = select(inner).where(inner.c.days.is_not(None))
    net = per_dossier.with_only_columns(
        source.c.unit_code,
        source.c.resolved_date.label("day"),
        (days - func.coalesce(source.c.wait_days, 0)).label("days"),
        sign.label("n"),
    ).subquery("processing_net")
    net_histogram = select(net).where(net.c.days.is_not(None))
    return union_all(*parts), histogram, net_histogram


def _backlog_moves(source: Any, span: Span | None, entries: str, exits: str) -> list[Any]:
    """The (day, condition, column) of a dossier's entry into a backlog state and of its exit
    (the entry on the receipt day is the intake part's ``received``)."""
    assert span is not None and len(span.through) == 1, "a rollup needs one ending instant"
    after = [source.c[DATE_OF[name]] for name in span.after]
    through = source.c[DATE_OF[span.through[0]]]
    moves = []
    if entries != "received":
        moves.append((latest(*after), [a.is_not(None) for a in after], entries))
    ends = [*after, through]
    moves.append((latest(*ends), [e.is_not(None) for e in ends], exits))
    return moves


def _spans(inner: Any, keys: Sequence[str], sums: Sequence[str]) -> Any:
    """The rows of ``inner`` summed per (day, unit, keys), per (month, unit, keys) and per
    (year, unit, keys), zero sums left out."""
    parts = []
    starts = (
        (DAY, inner.c.day),
        (MONTH, month_start(inner.c.day)),
        (YEAR, year_start(inner.c.day)),
    )
    for span, day in starts:
        key_columns = [day, inner.c.unit_code, *(inner.c[k] for k in keys)]
        totals = [func.sum(inner.c[s]) for s in sums]
        parts.append(
            select(
                literal(span, String(1)).label("span"),
                day.label("day"),
                inner.c.unit_code,
                *(inner.c[k] for k in keys),
                *(t.label(s) for t, s in zip(totals, sums, strict=True)),
            )
            .group_by(*key_columns)
            .having(or_(*(t != 0 for t in totals)))
        )
    return union_all(*parts).subquery("spans")


def _add(target: Table, keys: Sequence[str], sums: Sequence[str], spans: Any, insert: Any) -> Any:
    """INSERT the summed spans into ``target``, adding them to rows that exist (in key order,
    so concurrent writers lock rollup rows in the same order)."""
    names = ["span", "day", "unit_code", *keys, *sums]
    # SQLite needs a WHERE in an upsert's SELECT (else its ON CONFLICT parses as a join's ON)
    source = select(*(spans.c[n] for n in names)).where(true())
    source = source.order_by(*(spans.c[n] for n in ["span", "day", "unit_code", *keys]))
    stmt = insert(target).from_select(names, source)
    return stmt.on_conflict_do_update(
        index_elements=["span", "day", "unit_code", *keys],
        set_={s: target.c[s] + stmt.excluded[s] for s in sums},
    )


def delta_statements(source: Any, sign: Any, insert: Any) -> list[Any]:
    """The statements adding ``sign`` × the contributions of the dossiers in ``source``;
    ``insert``: the database's INSERT construct (``DialectSql.insert``)."""
    sums_rows, histogram_rows, net_rows = per_dossier(source, sign)
    return inserts(
        sums_rows.cte("contributions"),
        histogram_rows.cte("processing"),
        insert,
        net_rows.cte("processing_net"),
    )


def inserts(contributions: Any, processing: Any, insert: Any, processing_net: Any) -> list[Any]:
    """The rollup INSERTs of per-dossier contributions and processing-day rows (gross, and
    net of the waits on the citizen)."""
    return [
        _add(rollups, [], SUMS, _spans(contributions, [], SUMS), insert),
        _add(rollup_days, ["days"], ["n"], _spans(processing, ["days"], ["n"]), insert),
        _add(rollup_net_days, ["days"], ["n"], _spans(processing_net, ["days"], ["n"]), insert),
    ]


def dossiers_where(*where: ColumnElement[bool]) -> Any:
    """The ``dossiers`` rows meeting ``where``, as a source for ``delta_statements``."""
    return select(D.__table__).where(*where).subquery("dossier_rows")


async def add_contributions(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], sign: int
) -> None:
    """Add ``sign`` × the contributions of the dossiers meeting ``where`` to the rollups.

    Called with -1 before those dossiers change and +1 after (SQLite's ingest, calendar
    changes): the rollups then move by exactly the change."""
    insert = sql_of(session).insert
    for stmt in delta_statements(dossiers_where(*where), literal(sign, Integer), insert):
        await session.execute(stmt)


def spanning(day: date) -> list[ColumnElement[bool]]:
    """The dossiers whose working-day figures count ``day``: resolved on or after it, and
    received (processing time) or due (lateness) before it."""
    return [
        D.resolved_date >= day,
        or_(D.received_date < day, D.due_date < day),
    ]


async def hold_dossier_writers(session: AsyncSession) -> None:
    """Make writers of ``dossiers`` wait until this transaction ends (those in flight finish
    first), so none computes its rollup delta from a calendar or a rollup that is being
    recounted."""
    await sql_of(session).hold_dossier_writers(session)


async def recount(
    session: AsyncSession,
    where: Sequence[ColumnElement[bool]],
    change: Callable[[], Awaitable[None]],
) -> None:
    """Run ``change``, a write that moves the figures of the dossiers meeting ``where`` but
    not the dossiers themselves (a calendar change), with their contributions taken out of
    the rollups before it and put back after it."""
    await hold_dossier_writers(session)
    await add_contributions(session, where, -1)
    await change()
    await add_contributions(session, where, 1)


async def rebuild(session: AsyncSession) -> None:
    """Recount the rollups from every dossier."""
    await hold_dossier_writers(session)
    for stmt in rebuild_statements(sql_of(session).insert):
        await session.execute(stmt)


def rebuild_statements(insert: Any) -> list[Any]:
    """Empty the rollups, then count every dossier into them."""
    every = delta_statements(dossiers_where(true()), literal(1, Integer), insert)
    return [delete(rollups), delete(rollup_days), delete(rollup_net_days), *every]


async def missing(session: AsyncSession) -> bool:
    """True when dossiers exist but no rollup does (a database from before the rollups, or
    dossiers bulk-loaded around the app)."""
    has_rollups = await session.scalar(select(literal(1)).select_from(rollups).limit(1))
    if has_rollups is not None:
        return False
    return await session.scalar(select(literal(1)).select_from(D).limit(1)) is not None
