"""The SQL behind the metrics: GROUP BY in the database over indexed columns of ``dossiers``.

Each basis (intake, resolution, backlog) is one aggregate query that sums a CASE per count,
grouped by the grouping key and the period bucket; processing times come back as a histogram
(one row per group, bucket and number of working days) so means and nearest-rank percentiles
are exact without loading dossiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db import UTCDateTime
from app.dossiers.models import Dossier as D
from app.metrics.formulas import COUNTS, Basis, portal_due_at
from app.metrics.rollups import (
    DAY,
    MONTH,
    resolution_basis,
    rollup_days,
    rollup_net_days,
    rollups,
)
from app.reference.models import Unit
from app.reference.workdays import working_days_join


class Period(StrEnum):
    none = "none"
    month = "month"
    quarter = "quarter"
    year = "year"


class GroupBy(StrEnum):
    none = "none"
    unit = "unit"
    procedure = "procedure"
    sector = "sector"


GROUP_COLUMNS: dict[GroupBy, Any] = {
    GroupBy.unit: D.unit_code,
    GroupBy.procedure: D.procedure_code,
    GroupBy.sector: D.sector_code,
}


@dataclass(frozen=True)
class Bucket:
    """A period bucket, clipped to the query's dates; ``end`` is capped at now."""

    number: int
    key: str | None
    first: date
    last: date
    start: datetime
    end: datetime
    closed: bool = False  # ``end`` is the start of the day after ``last`` (not capped at now)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local calendar day begins."""
    return datetime.combine(day, time(0), tzinfo=zone)


def bucket_number(day: date, period: Period) -> int:
    if period is Period.month:
        return day.year * 100 + day.month
    if period is Period.quarter:
        return day.year * 10 + (day.month + 2) // 3
    if period is Period.year:
        return day.year
    return 0


def bucket_number_sql(column: Any, period: Period) -> ColumnElement[int]:
    """The same bucket number as :func:`bucket_number`, computed by the database."""
    if period is Period.none:
        return literal(0, Integer)
    year = cast(extract("year", column), Integer)
    month = cast(extract("month", column), Integer)
    if period is Period.month:
        return year * 100 + month
    if period is Period.quarter:
        return year * 10 + (month + 2) // 3  # integer division (``/`` is true division)
    return year


def _bucket_key(day: date, period: Period) -> str | None:
    if period is Period.month:
        return f"{day.year}-{day.month:02d}"
    if period is Period.quarter:
        return f"{day.year}-Q{(day.month + 2) // 3}"
    if period is Period.year:
        return str(day.year)
    return None


def make_buckets(
    first: date, last: date, period: Period, zone: ZoneInfo, now: datetime
) -> list[Bucket]:
    """The buckets covering ``first`` … ``last``, in order, each clipped to that range."""
    buckets: list[Bucket] = []
    day = first
    while day <= last:
        number = bucket_number(day, period)
        end_day = day
        while end_day < last and bucket_number(end_day + timedelta(days=1), period) == number:
            end_day += timedelta(days=1)
        end = min(day_start(end_day + timedelta(days=1), zone), now)
        buckets.append(
            Bucket(
                number,
                _bucket_key(day, period),
                day,
                end_day,
                day_start(day, zone),
                end,
                closed=end == day_start(end_day + timedelta(days=1), zone),
            )
        )
        day = end_day + timedelta(days=1)
    return buckets


@dataclass(frozen=True)
class Scope:
    """Which dossiers are counted at all: a set of unit codes, and a unit level label."""

    unit_codes: Sequence[str] | None = None
    level: str | None = None

    def where(self, unit_code: Any = D.unit_code) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.unit_codes is not None:
            clauses.append(unit_code.in_(list(self.unit_codes)))
        if self.level is not None:
            clauses.append(unit_code.in_(select(Unit.code).where(Unit.level == self.level)))
        return clauses


GroupKey = tuple[str | None, int]


@dataclass
class Aggregate:
    """Counts (and the histogram of processing days) per (group value, bucket number)."""

    counts: dict[GroupKey, dict[str, int]] = field(default_factory=dict)
    processing_days: dict[GroupKey, dict[int, int]] = field(default_factory=dict)
    processing_days_net: dict[GroupKey, dict[int, int]] = field(default_factory=dict)
    lateness_days_total: dict[GroupKey, int] = field(default_factory=dict)

    def add(self, key: GroupKey, name: str, value: int) -> None:
        self.counts.setdefault(key, {})[name] = int(value or 0)


def resolved_in(first: date, last: date) -> list[ColumnElement[bool]]:
    """The resolution basis: resolved in first … last, not closed before it was resolved."""
    return [D.resolved_date >= first, D.resolved_date <= last, *resolution_basis()]


def received_in(first: date, last: date) -> list[ColumnElement[bool]]:
    """The intake basis: received in first … last (not refused without a receipt)."""
    return [D.received_date >= first, D.received_date <= last]


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def aggregate(
    session: AsyncSession,
    *,
    scope: Scope,
    buckets: Sequence[Bucket],
    period: Period,
    group_by: GroupBy,
    counts: Iterable[str],
    processing_days: bool = False,
    lateness_days: bool = False,
    use_rollups: bool = True,
    processing_days_net: bool = False,
) -> Aggregate:
    """Every requested count per (group, bucket), in at most four GROUP BY queries.

    Grouped by nothing or by unit, the intake and resolution counts, the lateness and the
    processing-day histogram are read from the rollups (``rollups.py``; ``use_rollups=False``
    reads ``dossiers`` instead: the same figures, which the tests compare)."""
    out = Aggregate()
    if not buckets:
        return out
    first, last = buckets[0].first, buckets[-1].last
    by_basis: dict[Basis, list[str]] = {b: [] for b in Basis}
    for name in counts:
        by_basis[COUNTS[name].basis].append(name)
    group = GROUP_COLUMNS.get(group_by)
    keys: list[Any] = [group] if group is not None else []
    if use_rollups and group_by in (GroupBy.none, GroupBy.unit):
        await _from_rollups(
            session,
            out,
            scope,
            first,
            last,
            period,
            group_by is GroupBy.unit,
            by_basis[Basis.intake] + by_basis[Basis.resolution],
            processing_days=processing_days,
            lateness_days=lateness_days,
            processing_days_net=processing_days_net,
        )
        by_basis[Basis.intake], by_basis[Basis.resolution] = [], []
        processing_days = lateness_days = processing_days_net = False

    async def run(
        columns: list[Any],
        names: list[str],
        where: list[Any],
        bucket: Any,
    ) -> None:
        stmt = select(*keys, bucket.label("bucket"), *columns)
        # a literal bucket (period=none) cannot be grouped on in PostgreSQL, and needs not be
        grouping = [*keys, bucket] if period is not Period.none else keys
        stmt = stmt.where(*where, *scope.where())
        if grouping:
            stmt = stmt.group_by(*grouping)
        for row in await session.execute(stmt):
            values = tuple(row)
            if values[len(keys)] is None:  # an aggregate over no rows at all
                continue
            gkey: GroupKey = (values[0], int(values[1])) if keys else (None, int(values[0]))
            for name, value in zip(names, values[len(keys) + 1 :], strict=True):
                out.add(gkey, name, value)

    if names := by_basis[Basis.intake]:
        columns = [_sum(COUNTS[n].condition(None)) for n in names]
        await run(
            columns, names, received_in(first, last), bucket_number_sql(D.received_date, period)
        )
    names = by_basis[Basis.resolution]
    if names or lateness_days:
        if names:
            columns = [_sum(COUNTS[n].condition(None)) for n in names]
            await run(
                columns, names, resolved_in(first, last), bucket_number_sql(D.resolved_date, period)
            )
        if lateness_days:
            await _lateness(session, out, scope, first, last, period, group)
    if names := by_basis[Basis.backlog]:
        rest = list(buckets)
        if use_rollups and group_by in (GroupBy.none, GroupBy.unit):
            # up to the start of a day from the rollups; up to now (an unfinished bucket)
            # from the dossiers
            closed = [b for b in buckets if b.closed]
            rest = [b for b in buckets if not b.closed]
            await _backlog_from_rollups(session, out, scope, closed, group_by, names)
        if len(rest) > 1:
            await _backlog_by_bucket_index(session, out, scope, rest, group, names)
        elif rest:
            await _backlog_one_bucket(session, out, scope, rest[0], keys, names)
    if processing_days:
        await _histogram(session, out, scope, first, last, period, group)
    if processing_days_net:
        await _histogram(session, out, scope, first, last, period, group, net=True)
    return out


def backlog_branches(buckets: Sequence[Bucket]) -> list[list[ColumnElement[bool]]]:
    """The dossiers that can be open at some bucket end, as two disjoint sets of conditions.

    Open at instant t means received before t and ``ended_at IS NULL OR ended_at >= t``. The
    ``OR`` makes PostgreSQL combine two bitmap index scans, which must read the table, and scan
    all the history received before t. Split, each part is one index-only range scan: the
    dossiers still open (``ix_dossiers_open_cover``, partial on ``ended_at IS NULL``; small),
    and those ended at or after the first bucket end (``ix_dossiers_ended_cover``; only the
    dossiers that ended after the period, however long the history). The caller adds the
    counts of both parts. Nothing open at a bucket end is left out: it was received before
    the last end (``received_at < end`` implies ``received_date <= last``) and has not ended,
    or ended at or after that end, so at or after the first one.
    """
    first_end = min(b.end for b in buckets)
    last_end = max(b.end for b in buckets)
    received = [
        D.received_date.is_not(None),
        D.received_date <= buckets[-1].last,
        D.received_at < last_end,
    ]
    return [[*received, D.ended_at.is_(None)], [*received, D.ended_at >= first_end]]


async def _backlog_one_bucket(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    bucket: Bucket,
    keys: list[Any],
    names: Sequence[str],
) -> None:
    """The backlog at the end of a single bucket: both branches aggregated in one statement
    (``UNION ALL``), their counts added here."""
    end = literal(bucket.end, UTCDateTime())
    columns = [_sum(COUNTS[n].condition(end)) for n in names]
    parts = []
    for where in backlog_branches([bucket]):
        stmt = select(*keys, func.count().label("n"), *columns).where(*where, *scope.where())
        parts.append(stmt.group_by(*keys) if keys else stmt)
    totals: dict[GroupKey, dict[str, int]] = {}
    for row in await session.execute(union_all(*parts)):
        values = tuple(row)
        if not values[len(keys)]:  # a branch with no dossiers at all
            continue
        gkey: GroupKey = (values[0] if keys else None, bucket.number)
        counts = totals.setdefault(gkey, {})
        for name, value in zip(names, values[len(keys) + 1 :], strict=True):
            counts[name] = counts.get(name, 0) + int(value or 0)
    for key, counts in totals.items():
        for name, value in counts.items():
            out.add(key, name, value)


# The backlog conditions of ``formulas`` restated over bucket indexes (see
# ``_backlog_by_bucket_index``): the buckets k at whose end a dossier counts, from
# r = its receipt's index, e = its end's, d = its due_at's. Tests check both ways agree.
# p = the index of paused_at, q = that of ``formulas.portal_due_at``.
BACKLOG_BUCKETS: dict[str, Any] = {
    "in_progress": lambda r, e, d, p, q: (r, e),  # open: received before the end, not ended
    "in_progress_overdue": lambda r, e, d, p, q: (max(r, d), e),  # and due_at before the end
    "in_progress_within_deadline": lambda r, e, d, p, q: (r, min(e, d)),  # and due_at not before
    "in_progress_paused": lambda r, e, d, p, q: (max(r, p), e),  # and waiting since before it
    "progress_in_progress_on_time": lambda r, e, d, p, q: (r, min(e, q)),  # portal due not before
}


async def _backlog_by_bucket_index(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    buckets: Sequence[Bucket],
    group: Any,
    names: Sequence[str],
) -> None:
    """The backlog at every bucket end in one pass over the dossiers.

    For an instant t, ``index(t)`` is the first bucket whose end is after t (the number of
    bucket ends at or before it; ends never decrease). A dossier is open at the end of bucket
    k when index(received_at) <= k < index(ended_at) (no end: never), and overdue there when
    also k >= index(due_at). The database groups dossiers by (group, the three indexes); the
    counts per bucket follow from those ranges.
    """
    ends = [b.end for b in buckets]

    def index(column: Any) -> ColumnElement[int]:
        whens = [(column < literal(end, UTCDateTime()), k) for k, end in enumerate(ends)]
        return case(*whens, else_=len(ends))

    columns = [group.label("g")] if group is not None else []
    inner = union_all(
        *(
            select(
                *columns,
                index(D.received_at).label("r"),
                index(D.ended_at).label("e"),
                index(D.due_at).label("d"),
                index(D.paused_at).label("p"),
                index(portal_due_at()).label("q"),
            ).where(*where, *scope.where())
            for where in backlog_branches(buckets)
        )
    ).subquery("backlog")
    keys = [inner.c.g] if group is not None else []
    indexes = [inner.c.r, inner.c.e, inner.c.d, inner.c.p, inner.c.q]
    stmt = select(*keys, *indexes, func.count()).group_by(*keys, *indexes)
    totals: dict[GroupKey, dict[str, int]] = {}
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if group is not None else None
        r, e, d, p, q, count = (int(v) for v in values[-6:])
        for name in names:
            first, stop = BACKLOG_BUCKETS[name](r, e, d, p, q)
            for k in range(first, min(stop, len(buckets))):
                counts = totals.setdefault((g, buckets[k].number), {})
                counts[name] = counts.get(name, 0) + count
    for key, counts in totals.items():
        for name, value in counts.items():
            out.add(key, name, value)


def _by_date_pair(
    scope: Scope,
    where: list[ColumnElement[bool]],
    group: Any,
    after: Any,
    through: Any,
    period: Period,
    collapse: bool,
) -> tuple[Any, Any, ColumnElement[int], Any]:
    """Dossiers joined to the calendar's ordinals of two of their dates, for working days.

    With ``collapse`` they are first counted per (group, ``after``, ``through``), so the
    calendar is looked up once per distinct pair of dates (a few thousand over all units)
    instead of once per dossier; per unit the pairs are nearly as many as the dossiers, and
    counting them first only costs more. Returns the keys, the joined source, the working-day
    column, and (bucket, count) columns over it."""
    columns = [group.label("g")] if group is not None else []
    dates = [after.label("after"), through.label("through")]
    if collapse:
        rows = select(*columns, *dates, func.count().label("n")).group_by(*columns, after, through)
    else:
        rows = select(*columns, *dates, literal(1).label("n"))
    pairs = rows.where(*where, *scope.where()).subquery("pairs")
    joined, days = working_days_join(pairs, pairs.c.after, pairs.c.through)
    keys = [pairs.c.g] if group is not None else []
    return keys, joined, days, (bucket_number_sql(pairs.c.through, period), pairs.c.n)


async def _lateness(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    group: Any,
) -> None:
    """Working days from due date to resolution, summed over the dossiers resolved late."""
    late = COUNTS["resolved_late"].condition(None)
    keys, joined, days, (bucket, n) = _by_date_pair(
        scope, [*resolved_in(first, last), late], group, D.due_date, D.resolved_date, period, True
    )
    inner = (
        select(*keys, bucket.label("b"), (days * n).label("days"))
        .select_from(joined)
        .subquery("lateness")
    )
    outer_keys = [inner.c.g] if group is not None else []
    stmt = select(*outer_keys, inner.c.b, func.sum(inner.c.days)).group_by(*outer_keys, inner.c.b)
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if group is not None else None
        b, total = values[-2:]
        out.lateness_days_total[(g, int(b))] = int(total or 0)


async def _histogram(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    group: Any,
    *,
    net: bool = False,
) -> None:
    """Resolved dossiers per (group, bucket, working days from receipt to resolution); with
    ``net``, less the working days waited on the citizen (``wait_days``)."""
    if net:
        await _net_histogram(session, out, scope, first, last, period, group)
        return
    keys, joined, days, (bucket, n) = _by_date_pair(
        scope,
        [*resolved_in(first, last), D.received_date.is_not(None)],
        group,
        D.received_date,
        D.resolved_date,
        period,
        collapse=group is None,
    )
    inner = (
        select(*keys, bucket.label("b"), days.label("days"), n.label("n"))
        .select_from(joined)
        .subquery("processing")
    )
    outer_keys = [inner.c.g] if group is not None else []
    stmt = (
        select(*outer_keys, inner.c.b, inner.c.days, func.sum(inner.c.n))
        .where(inner.c.days.is_not(None))
        .group_by(*outer_keys, inner.c.b, inner.c.days)
    )
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if group is not None else None
        b, days, count = values[-3:]
        out.processing_days.setdefault((g, int(b)), {})[int(days)] = int(count)


async def _net_histogram(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    group: Any,
) -> None:
    """Resolved dossiers per (group, bucket, net working days): the gross count of
    :func:`_histogram` less each dossier's ``wait_days`` (so no pair collapsing)."""
    columns = [group.label("g")] if group is not None else []
    rows = select(
        *columns,
        D.received_date.label("after"),
        D.resolved_date.label("through"),
        func.coalesce(D.wait_days, 0).label("waited"),
    ).where(*resolved_in(first, last), D.received_date.is_not(None), *scope.where())
    pairs = rows.subquery("pairs")
    joined, days = working_days_join(pairs, pairs.c.after, pairs.c.through)
    keys = [pairs.c.g] if group is not None else []
    inner = (
        select(
            *keys,
            bucket_number_sql(pairs.c.through, period).label("b"),
            (days - pairs.c.waited).label("days"),
        )
        .select_from(joined)
        .subquery("processing_net")
    )
    outer_keys = [inner.c.g] if group is not None else []
    stmt = (
        select(*outer_keys, inner.c.b, inner.c.days, func.count())
        .where(inner.c.days.is_not(None))
        .group_by(*outer_keys, inner.c.b, inner.c.days)
    )
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if group is not None else None
        b, days_, count = values[-3:]
        out.processing_days_net.setdefault((g, int(b)), {})[int(days_)] = int(count)


def rollup_ranges(first: date, last: date) -> list[tuple[str, date, date]]:
    """``first`` … ``last`` as rollup rows: the whole months in it from the month rows
    (``day`` = the month's first day), the days before and after them from the day rows."""
    start = first if first.day == 1 else _next_month(first)
    end_month = _next_month(last)  # the first month not wholly in the range …
    if last + timedelta(days=1) != end_month:
        end_month = last.replace(day=1)
    if start >= end_month:
        return [(DAY, first, last)]
    ranges = [(MONTH, start, end_month - timedelta(days=1))]
    if first < start:
        ranges.append((DAY, first, start - timedelta(days=1)))
    if end_month <= last:
        ranges.append((DAY, end_month, last))
    return ranges


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


async def _from_rollups(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    by_unit: bool,
    names: Sequence[str],
    *,
    processing_days: bool,
    lateness_days: bool,
    processing_days_net: bool = False,
) -> None:
    """The intake and resolution counts (and lateness, histograms) from the rollups."""
    targets = (
        (rollups, names or lateness_days),
        (rollup_days, processing_days),
        (rollup_net_days, processing_days_net),
    )
    for target, wanted in targets:
        if not wanted:
            continue
        where = [
            *scope.where(target.c.unit_code),
            or_(
                *(
                    and_(target.c.span == span, target.c.day >= a, target.c.day <= b)
                    for span, a, b in rollup_ranges(first, last)
                )
            ),
        ]
        keys = [target.c.unit_code] if by_unit else []
        bucket = bucket_number_sql(target.c.day, period)
        grouping = [*keys, bucket] if period is not Period.none else keys
        if target is rollups:
            sums = [*names, *(["lateness_days_total"] if lateness_days else [])]
            stmt = select(*keys, bucket, *(func.sum(target.c[n]) for n in sums))
        else:
            stmt = select(*keys, bucket, target.c.days, func.sum(target.c.n))
            grouping = [*grouping, target.c.days]
        stmt = stmt.where(*where)
        if grouping:
            stmt = stmt.group_by(*grouping)
        result = await session.execute(stmt)
        if target is not rollups:  # many rows (group, bucket, days): the plainest loop
            histograms = out.processing_days if target is rollup_days else out.processing_days_net
            cells: Iterable[Any] = result if by_unit else ((None, *row) for row in result)
            for g, b, days, n in cells:
                if n:
                    histograms.setdefault((g, int(b)), {})[int(days)] = int(n)
            continue
        for row in result:
            values = tuple(row)
            g = values[0] if by_unit else None
            rest = values[1:] if by_unit else values
            if rest[1] is None:  # an aggregate over no rows at all
                continue
            gkey: GroupKey = (g, int(rest[0]))
            counts = out.counts.setdefault(gkey, {})
            for name, value in zip(names, rest[1:], strict=False):  # sums = names + lateness
                counts[name] = int(value or 0)
            if lateness_days:
                out.lateness_days_total[gkey] = int(rest[-1] or 0)


async def _backlog_from_rollups(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    buckets: Sequence[Bucket],
    group_by: GroupBy,
    names: Sequence[str],
) -> None:
    """The backlog at the end of each closed bucket, as running totals of the rollups'
    backlog entries and exits over every day before it (``rollups.BACKLOG_SUMS``): whole
    months from the month rows, the last bucket's unfinished month from the day rows. Each
    row is summed into the first bucket it precedes; the totals then run over the buckets."""
    if not buckets:
        return
    last = buckets[-1].last
    month = last.replace(day=1)
    if _next_month(last) == last + timedelta(days=1):  # ``last`` ends its month
        where = and_(rollups.c.span == MONTH, rollups.c.day <= month)
    else:
        where = or_(
            and_(rollups.c.span == MONTH, rollups.c.day < month),
            and_(rollups.c.span == DAY, rollups.c.day >= month, rollups.c.day <= last),
        )
    index = case(*((rollups.c.day <= b.last, k) for k, b in enumerate(buckets)), else_=len(buckets))
    keys = [rollups.c.unit_code] if group_by is GroupBy.unit else []
    c = rollups.c
    stmt = (
        select(
            *keys,
            index,
            func.sum(c.received - c.backlog_out),  # receipts enter the backlog
            func.sum(c.overdue_in - c.overdue_out),
            func.sum(c.paused_in - c.paused_out),
            func.sum(c.progress_overdue_in - c.progress_overdue_out),
        )
        .where(where, *scope.where(rollups.c.unit_code))
        .group_by(*keys, index)
    )
    steps: dict[str | None, list[list[int]]] = {}
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if keys else None
        k, *moves = (int(v or 0) for v in values[-5:])
        deltas = steps.setdefault(g, [[0, 0, 0, 0] for _ in range(len(buckets) + 1)])
        deltas[k] = [a + b for a, b in zip(deltas[k], moves, strict=True)]
    for g, deltas in steps.items():
        totals = [0, 0, 0, 0]  # open, overdue, paused, overdue by the portal's rules
        for bucket, moves in zip(buckets, deltas, strict=False):
            totals = [a + b for a, b in zip(totals, moves, strict=True)]
            open_total, overdue_total, paused_total, portal_overdue = totals
            figures = {
                "in_progress": open_total,
                "in_progress_overdue": overdue_total,
                "in_progress_within_deadline": open_total - overdue_total,
                "in_progress_paused": paused_total,
                "progress_in_progress_on_time": open_total - portal_overdue,
            }
            for name in names:
                out.add((g, bucket.number), name, figures[name])
