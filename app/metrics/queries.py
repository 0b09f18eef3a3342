"""The SQL behind the metrics: GROUP BY in the database, over the rollups or ``dossiers``.

A request's counts are answered by a :class:`Plan`: a few steps, each one statement that says
which :class:`Source` answers which fields (the rollups' day and month rows, their histogram,
the backlog's running totals, or ``dossiers`` itself), grouped by the grouping key and the
period bucket. Processing times come back as a histogram (one row per group, bucket and number
of working days), so means and nearest-rank percentiles are exact without loading dossiers.
The conditions themselves are ``formulas.py``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import partial
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

from app.db import Job, UTCDateTime, run_in_lanes
from app.dossiers.models import Dossier as D
from app.metrics.formulas import (
    COUNTS,
    OPEN,
    Basis,
    Span,
    backlog_basis,
    intake_basis,
    resolution_basis,
    resolved_later_basis,
)
from app.metrics.rollups import (
    BACKLOG_ROLLUPS,
    DAY,
    MONTH,
    YEAR,
    rollup_days,
    rollup_net_days,
    rollups,
)
from app.reference.models import Unit
from app.reference.workdays import working_days_join
from app.storage.sql import int_list


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
    """Which dossiers are counted at all: a set of unit codes, and a unit level label.

    ``rows`` (from ``app.reference.lineage.resolve``): for rows per unit, each listed unit
    and the unit codes counted under it; ``aggregate`` maps its per-code figures onto them.
    """

    unit_codes: Collection[str] | None = None
    level: str | None = None
    rows: Mapping[str, Sequence[str]] | None = None
    names: Mapping[str, str | None] | None = None  # the listed units' names, for their rows

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

    def _only(self, groups: Collection[str]) -> Aggregate:
        """The figures of these groups, as they are (no sums to make)."""
        return Aggregate(
            {k: v for k, v in self.counts.items() if k[0] in groups},
            {k: v for k, v in self.processing_days.items() if k[0] in groups},
            {k: v for k, v in self.processing_days_net.items() if k[0] in groups},
            {k: v for k, v in self.lateness_days_total.items() if k[0] in groups},
        )

    def regroup(self, rows: Mapping[str, Sequence[str]]) -> Aggregate:
        """Per listed unit, the sums of the figures of the codes counted under it (lineage,
        subtrees; a code may count under several units). Every figure is a count, a sum or
        a histogram, so the sums are exact."""
        if all(members == (target,) for target, members in rows.items()):
            return self._only(rows.keys())  # each listed unit counts its own dossiers
        out = Aggregate()
        by_code: dict[str | None, list[int]] = {}
        every = (self.counts, self.processing_days, self.processing_days_net)
        for g, b in {*(k for part in every for k in part), *self.lateness_days_total}:
            by_code.setdefault(g, []).append(b)
        for target, members in rows.items():
            for member in members:
                for b in by_code.get(member, ()):
                    key, into = (member, b), (target, b)
                    if (counts := self.counts.get(key)) is not None:
                        mine = out.counts.setdefault(into, {})
                        for name, value in counts.items():
                            mine[name] = mine.get(name, 0) + value
                    for mine_h, theirs in (
                        (out.processing_days, self.processing_days),
                        (out.processing_days_net, self.processing_days_net),
                    ):
                        if (histogram := theirs.get(key)) is not None:
                            hist = mine_h.setdefault(into, {})
                            for days, n in histogram.items():
                                hist[days] = hist.get(days, 0) + n
                    if (late := self.lateness_days_total.get(key)) is not None:
                        out.lateness_days_total[into] = out.lateness_days_total.get(into, 0) + late
        return out


def resolved_in(first: date, last: date) -> list[ColumnElement[bool]]:
    """The resolution basis: resolved in first … last, not closed before it was resolved."""
    return [D.resolved_date >= first, D.resolved_date <= last, *resolution_basis()]


def received_in(first: date, last: date) -> list[ColumnElement[bool]]:
    """The intake basis: received in first … last (not refused without a receipt)."""
    return [D.received_date >= first, D.received_date <= last, *intake_basis()]


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


# --- the plan: which source answers which field ------------------------------------------------


class Source(StrEnum):
    """Where a figure is read from."""

    rollups = "rollups"
    """``metric_rollups``: whole years from the year rows (when the buckets hold whole years),
    whole months from the month rows, the edge days from the day rows (intake and resolution
    counts, the lateness total), per unit."""
    rollup_histogram = "rollup_histogram"
    """``metric_rollup_days`` (``metric_rollup_net_days`` for the net one): the processing-day
    histogram per unit, day and working days."""
    backlog_totals = "backlog_totals"
    """Running totals of the rollups' backlog entries and exits over every day before a bucket
    end: the backlog at the start of a day (a bucket that ended before now)."""
    dossiers = "dossiers"
    """A GROUP BY over ``dossiers``, a ``SUM(CASE …)`` per count (grouped by procedure or
    sector, which the rollups do not keep)."""
    dossier_working_days = "dossier_working_days"
    """``dossiers`` joined to the calendar's ordinals: the lateness total and the processing-day
    histogram (grouped by procedure or sector)."""
    open_dossiers = "open_dossiers"
    """The dossiers open at a bucket end, counted from ``dossiers`` (two index-only ranges,
    ``backlog_branches``): for a bucket that ends now, or without rollups."""
    resolved_later = "resolved_later"
    """The dossiers received in a bucket that has ended and resolved after its last day, from
    ``dossiers`` (``Basis.resolved_later``: what an intake figure judged at the end of the
    bucket, indicator 4.2, needs beside the rollups, which judge now); with or without rollups,
    and none for a bucket that ends now."""


HISTOGRAM = "processing_days"  # the histogram of working days from receipt to resolution
NET_HISTOGRAM = "processing_days_net"  # the same less the working days waited on the citizen
LATENESS = "lateness_days_total"  # working days past due, summed over the late ones


@dataclass(frozen=True)
class Step:
    """One statement of a plan: ``source`` answers ``fields`` (counts, ``HISTOGRAM``,
    ``LATENESS``) of ``basis`` (None: of several, columns of the same rows), for every
    bucket, or for the backlog at the ends of ``buckets``."""

    source: Source
    basis: Basis | None
    fields: tuple[str, ...]
    buckets: tuple[Bucket, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The statements that answer a metrics request, in order."""

    steps: tuple[Step, ...]

    def sources(self) -> dict[str, set[Source]]:
        """Each field and the sources that answer it (the backlog may take two: the buckets
        that ended from the rollups, the one ending now from the dossiers)."""
        out: dict[str, set[Source]] = {}
        for step in self.steps:
            for name in step.fields:
                out.setdefault(name, set()).add(step.source)
        return out


def plan(
    *,
    buckets: Sequence[Bucket],
    group_by: GroupBy,
    counts: Iterable[str],
    processing_days: bool = False,
    lateness_days: bool = False,
    use_rollups: bool = True,
    processing_days_net: bool = False,
) -> Plan:
    """The plan for the counts (and histogram, lateness) per (group, bucket).

    Grouped by nothing or by unit, everything but the backlog at a bucket that ends now is
    read from the rollups (``rollups.py``); ``use_rollups=False`` reads ``dossiers`` instead:
    the same figures, which the tests compare."""
    if not buckets:
        return Plan(())
    by_basis: dict[Basis, tuple[str, ...]] = {b: () for b in Basis}
    for name in sorted(counts, key=list(COUNTS).index):
        by_basis[COUNTS[name].basis] += (name,)
    intake, resolution, backlog = (
        by_basis[b] for b in (Basis.intake, Basis.resolution, Basis.backlog)
    )
    later = by_basis[Basis.resolved_later]
    ended = tuple(b for b in buckets if b.closed)
    extra = (LATENESS,) if lateness_days else ()
    histograms = (
        *((HISTOGRAM,) if processing_days else ()),
        *((NET_HISTOGRAM,) if processing_days_net else ()),
    )
    steps: list[Step] = []
    if use_rollups and group_by in (GroupBy.none, GroupBy.unit):
        if intake or resolution or extra:
            # the intake and resolution sums are columns of the same rollup rows: one statement
            steps.append(Step(Source.rollups, None, intake + resolution + extra))
        if histograms:
            steps.append(Step(Source.rollup_histogram, Basis.resolution, histograms))
        if backlog:
            # up to the start of a day from the rollups; up to now from the dossiers
            closed = tuple(b for b in buckets if b.closed)
            rest = tuple(b for b in buckets if not b.closed)
            if closed:
                steps.append(Step(Source.backlog_totals, Basis.backlog, backlog, closed))
            if rest:
                steps.append(Step(Source.open_dossiers, Basis.backlog, backlog, rest))
        if later and ended:
            steps.append(Step(Source.resolved_later, Basis.resolved_later, later, ended))
        return Plan(tuple(steps))
    if intake:
        steps.append(Step(Source.dossiers, Basis.intake, intake))
    if resolution:
        steps.append(Step(Source.dossiers, Basis.resolution, resolution))
    if extra:
        steps.append(Step(Source.dossier_working_days, Basis.resolution, extra))
    if backlog:
        steps.append(Step(Source.open_dossiers, Basis.backlog, backlog, tuple(buckets)))
    if histograms:
        steps.append(Step(Source.dossier_working_days, Basis.resolution, histograms))
    if later and ended:
        steps.append(Step(Source.resolved_later, Basis.resolved_later, later, ended))
    return Plan(tuple(steps))


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
    """Every requested count per (group, bucket): the :func:`plan`, run."""
    the_plan = plan(
        buckets=buckets,
        group_by=group_by,
        counts=counts,
        processing_days=processing_days,
        lateness_days=lateness_days,
        use_rollups=use_rollups,
        processing_days_net=processing_days_net,
    )
    return await run_plan(
        session, the_plan, scope=scope, buckets=buckets, period=period, group_by=group_by
    )


async def run_plan(
    session: AsyncSession,
    the_plan: Plan,
    *,
    scope: Scope,
    buckets: Sequence[Bucket],
    period: Period,
    group_by: GroupBy,
) -> Aggregate:
    """Run each step of ``the_plan`` (a statement or two each), into one ``Aggregate``: on a
    request's read session, on two connections at once (``app.db.run_in_lanes``), the
    histograms first (the longest)."""
    out = Aggregate()
    if not buckets:
        return out
    first, last = buckets[0].first, buckets[-1].last
    group = GROUP_COLUMNS.get(group_by)
    by_unit = group is not None
    span: dict[str, Any] = {"first": first, "last": last, "period": period}
    first_jobs: list[Job] = []  # the histograms
    jobs: list[Job] = []

    def job(read: Any, **args: Any) -> Job:
        return partial(read, out=out, scope=scope, **args)

    for step in the_plan.steps:
        counts = [n for n in step.fields if n in COUNTS]
        if step.source is Source.rollups:
            lateness = LATENESS in step.fields
            jobs.append(
                job(_rollup_sums, **span, by_unit=by_unit, names=counts, lateness_days=lateness)
            )
        elif step.source is Source.rollup_histogram:
            for net in (False, True):
                if (NET_HISTOGRAM if net else HISTOGRAM) in step.fields:
                    first_jobs.append(job(_rollup_histogram, **span, by_unit=by_unit, net=net))
        elif step.source is Source.backlog_totals:
            jobs.append(
                job(_backlog_from_rollups, buckets=step.buckets, group_by=group_by, names=counts)
            )
        elif step.source is Source.dossiers:
            jobs.append(job(_dossier_counts, **span, group=group, step=step))
        elif step.source is Source.resolved_later:
            jobs.append(job(_resolved_later_counts, period=period, group=group, step=step))
        elif step.source is Source.dossier_working_days:
            for name, read in (
                (LATENESS, _lateness),
                (HISTOGRAM, _histogram),
                (NET_HISTOGRAM, _net_histogram),
            ):
                if name in step.fields:
                    first_jobs.append(job(read, **span, group=group))
        elif len(step.buckets) > 1:
            jobs.append(
                job(_backlog_by_bucket_index, buckets=step.buckets, group=group, names=counts)
            )
        else:
            keys = [group] if group is not None else []
            jobs.append(job(_backlog_one_bucket, bucket=step.buckets[0], keys=keys, names=counts))
    await run_in_lanes(session, [*first_jobs, *jobs])
    if group_by is GroupBy.unit and scope.rows is not None:
        return out.regroup(scope.rows)  # lineage, validity, subtrees: the listed units' rows
    return out


async def _dossier_counts(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    group: Any,
    step: Step,
) -> None:
    """The intake or resolution counts of ``step`` from ``dossiers``, per group and bucket."""
    keys: list[Any] = [group] if group is not None else []
    if step.basis is Basis.intake:
        where, day = received_in(first, last), D.received_date
    else:
        where, day = resolved_in(first, last), D.resolved_date
    bucket = bucket_number_sql(day, period)
    columns = [_sum(COUNTS[n].condition(None)) for n in step.fields]
    stmt = select(*keys, bucket.label("bucket"), *columns).where(*where, *scope.where())
    # a literal bucket (period=none) cannot be grouped on in PostgreSQL, and needs not be
    grouping = [*keys, bucket] if period is not Period.none else keys
    if grouping:
        stmt = stmt.group_by(*grouping)
    for row in await session.execute(stmt):
        values = tuple(row)
        if values[len(keys)] is None:  # an aggregate over no rows at all
            continue
        gkey: GroupKey = (values[0], int(values[1])) if keys else (None, int(values[0]))
        for name, value in zip(step.fields, values[len(keys) + 1 :], strict=True):
            out.add(gkey, name, value)


async def _resolved_later_counts(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    period: Period,
    group: Any,
    step: Step,
) -> None:
    """The ``resolved_later`` counts of ``step`` per group and bucket, for the buckets of the
    step (they have ended): dossiers received in a bucket and resolved after its last day.
    Both dates are indexed; for a recent bucket few dossiers were resolved after it."""
    keys: list[Any] = [group] if group is not None else []
    within = or_(
        *(
            and_(D.received_date >= b.first, D.received_date <= b.last, D.resolved_date > b.last)
            for b in step.buckets
        )
    )
    bucket = bucket_number_sql(D.received_date, period)
    conditions = [COUNTS[n].condition(None) for n in step.fields]
    columns = [_sum(condition) for condition in conditions]
    # a dossier no field counts adds nothing: left out, so the one field there is
    # (digitized_resolved_later) reads its partial index, ix_dossiers_resolved_later
    stmt = select(*keys, bucket.label("bucket"), *columns).where(
        *resolved_later_basis(), within, or_(*conditions), *scope.where()
    )
    grouping = [*keys, bucket] if period is not Period.none else keys
    if grouping:
        stmt = stmt.group_by(*grouping)
    for row in await session.execute(stmt):
        values = tuple(row)
        if values[len(keys) + 1] is None:  # an aggregate over no rows at all
            continue
        gkey: GroupKey = (values[0], int(values[1])) if keys else (None, int(values[0]))
        for name, value in zip(step.fields, values[len(keys) + 1 :], strict=True):
            out.add(gkey, name, value)


def backlog_branches(buckets: Sequence[Bucket]) -> list[list[ColumnElement[bool]]]:
    """The dossiers that can be open at some bucket end, as two disjoint sets of conditions.

    Open at instant t (``formulas.OPEN``) means received before t and ``ended_at IS NULL OR
    ended_at >= t``. The ``OR`` makes PostgreSQL combine two bitmap index scans, which must
    read the table, and scan all the history received before t. Split, each part is one
    index-only range scan: the dossiers still open (``ix_dossiers_open_cover``, partial on
    ``ended_at IS NULL``; small), and those ended at or after the first bucket end
    (``ix_dossiers_ended_cover``; only the dossiers that ended after the period, however long
    the history). The caller counts each backlog figure by its own span over both parts and
    adds them. Nothing open at a bucket end is left out: it was received before the last end
    (``received_at < end`` implies ``received_date <= last``) and has not ended, or ended at or
    after that end, so at or after the first one.
    """
    first_end = min(b.end for b in buckets)
    last_end = max(b.end for b in buckets)
    c = D.__table__.c
    (ends,) = OPEN.through  # every backlog span lies inside OPEN
    received = [
        *backlog_basis(),
        D.received_date <= buckets[-1].last,
        *(c[name] < last_end for name in OPEN.after),
    ]
    return [[*received, c[ends].is_(None)], [*received, c[ends] >= first_end]]


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
    bucket ends at or before it; ends never decrease; no instant: never). The database groups
    dossiers by (group, the indexes of the instants the spans name); each figure's
    ``Span.bucket_range`` turns those into the buckets it counts at.
    """
    ends = [b.end for b in buckets]
    spans = [span_of(n) for n in names]
    instants = sorted({i for span in spans for i in span.instants})

    def index(column: Any) -> ColumnElement[int]:
        whens = [(column < literal(end, UTCDateTime()), k) for k, end in enumerate(ends)]
        return case(*whens, else_=len(ends))

    columns = [group.label("g")] if group is not None else []
    c = D.__table__.c
    inner = union_all(
        *(
            select(*columns, *(index(c[i]).label(i) for i in instants)).where(
                *where, *scope.where()
            )
            for where in backlog_branches(buckets)
        )
    ).subquery("backlog")
    keys = [inner.c.g] if group is not None else []
    indexes = [inner.c[i] for i in instants]
    stmt = select(*keys, *indexes, func.count()).group_by(*keys, *indexes)
    totals: dict[GroupKey, dict[str, int]] = {}
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if group is not None else None
        at = dict(zip(instants, (int(v) for v in values[len(keys) : -1]), strict=True))
        count = int(values[-1])
        for name, span in zip(names, spans, strict=True):
            for k in span.bucket_range(at, len(buckets)):
                counts = totals.setdefault((g, buckets[k].number), {})
                counts[name] = counts.get(name, 0) + count
    for key, counts in totals.items():
        for name, value in counts.items():
            out.add(key, name, value)


def span_of(name: str) -> Span:
    span = COUNTS[name].span
    assert span is not None, f"{name} is not a backlog figure"
    return span


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
) -> None:
    """Resolved dossiers per (group, bucket, working days from receipt to resolution)."""
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


def rollup_ranges(first: date, last: date, *, years: bool = False) -> list[tuple[str, date, date]]:
    """``first`` … ``last`` as rollup rows: the whole months in it from the month rows
    (``day`` = the month's first day), the days before and after them from the day rows.

    With ``years``, the whole calendar years in it first from the year rows (``day`` = 1
    January), the rest as above: only for buckets that do not split a year (``Period.year``,
    ``Period.none``; a year row would fall in January's bucket of a month or a quarter)."""
    if years:
        start = first if (first.month, first.day) == (1, 1) else date(first.year + 1, 1, 1)
        end_year = date(last.year + 1, 1, 1)  # the first year not wholly in the range …
        if last + timedelta(days=1) != end_year:
            end_year = date(last.year, 1, 1)
        if start < end_year:
            ranges = [(YEAR, start, end_year - timedelta(days=1))]
            if first < start:
                ranges += rollup_ranges(first, start - timedelta(days=1))
            if end_year <= last:
                ranges += rollup_ranges(end_year, last)
            return ranges
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


def _rollup_where(target: Any, scope: Scope, first: date, last: date, period: Period) -> list[Any]:
    """The rollup rows of ``first`` … ``last`` in scope; year rows only where ``period``'s
    buckets hold whole years (bucket numbers are computed from a row's ``day``)."""
    years = period in (Period.year, Period.none)
    return [
        *scope.where(target.c.unit_code),
        or_(
            *(
                and_(target.c.span == span, target.c.day >= a, target.c.day <= b)
                for span, a, b in rollup_ranges(first, last, years=years)
            )
        ),
    ]


async def _rollup_sums(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    by_unit: bool,
    names: Sequence[str],
    lateness_days: bool,
) -> None:
    """Intake or resolution counts (and the lateness total) from the rollups."""
    keys = [rollups.c.unit_code] if by_unit else []
    bucket = bucket_number_sql(rollups.c.day, period)
    grouping = [*keys, bucket] if period is not Period.none else keys
    sums = [*names, *([LATENESS] if lateness_days else [])]
    stmt = select(*keys, bucket, *(func.sum(rollups.c[n]) for n in sums))
    stmt = stmt.where(*_rollup_where(rollups, scope, first, last, period))
    if grouping:
        stmt = stmt.group_by(*grouping)
    for row in await session.execute(stmt):
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


async def _rollup_histogram(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    first: date,
    last: date,
    period: Period,
    by_unit: bool,
    *,
    net: bool = False,
) -> None:
    """The processing-day histogram per (group, bucket) from ``metric_rollup_days`` (with
    ``net``: the net one, from ``metric_rollup_net_days``).

    Each (group, bucket) comes back as one row with two lists, the working days and the
    counts of its rollup rows, summed here: a quarter by unit is ~17,000 rollup rows in
    ~7,000 cells, and reading them as rows, or summing them in the database first, cost more
    than the lists (docs/performance.md, finding 12). One statement per histogram: the two
    in one ``UNION ALL`` were planned in parallel, and gathering the workers' lists cost
    more than the second round trip."""
    target = rollup_net_days if net else rollup_days
    keys = [target.c.unit_code] if by_unit else []
    bucket = bucket_number_sql(target.c.day, period)
    grouping = [*keys, bucket] if period is not Period.none else keys
    stmt = select(*keys, bucket, int_list(target.c.days), int_list(target.c.n)).where(
        *_rollup_where(target, scope, first, last, period)
    )
    if grouping:
        stmt = stmt.group_by(*grouping)
    histograms = out.processing_days_net if net else out.processing_days
    for row in (await session.execute(stmt)).all():
        g = row[0] if by_unit else None
        b, days, counts = row[-3:]
        if days is None:  # an aggregate over no rows at all
            continue
        histogram: dict[int, int] = {}
        for d, n in zip(days, counts, strict=True):
            histogram[d] = histogram.get(d, 0) + n
        cells = {d: n for d, n in histogram.items() if n}  # a cell moved in and out again
        if cells:
            histograms[(g, int(b))] = cells


async def _backlog_from_rollups(
    session: AsyncSession,
    out: Aggregate,
    scope: Scope,
    buckets: Sequence[Bucket],
    group_by: GroupBy,
    names: Sequence[str],
) -> None:
    """The backlog at the end of each closed bucket, as running totals of the rollups'
    backlog entries and exits over every day before it (``rollups.BACKLOG_SUMS``): the years
    before the first bucket's from the year rows, the months since from the month rows, the
    last bucket's unfinished month from the day rows (so a longer history adds a row per
    unit and year, not twelve). Each row is summed into the first bucket it precedes (a
    year row: bucket 0, which its whole year precedes); the totals then run over the
    buckets."""
    if not buckets:
        return
    last = buckets[-1].last
    month = last.replace(day=1)
    years_end = date(buckets[0].first.year, 1, 1)
    day = rollups.c.day
    earlier = [
        and_(rollups.c.span == YEAR, day < years_end),
        and_(rollups.c.span == MONTH, day >= years_end),
    ]
    if _next_month(last) == last + timedelta(days=1):  # ``last`` ends its month
        where = or_(earlier[0], and_(earlier[1], day <= month))
    else:
        where = or_(
            earlier[0],
            and_(earlier[1], day < month),
            and_(rollups.c.span == DAY, day >= month, day <= last),
        )
    index = case(*((rollups.c.day <= b.last, k) for k, b in enumerate(buckets)), else_=len(buckets))
    keys = [rollups.c.unit_code] if group_by is GroupBy.unit else []
    c = rollups.c
    moving = list(BACKLOG_ROLLUPS.items())  # (figure, (entries, exits))
    stmt = (
        select(*keys, index, *(func.sum(c[entries] - c[exits]) for _, (entries, exits) in moving))
        .where(where, *scope.where(rollups.c.unit_code))
        .group_by(*keys, index)
    )
    steps: dict[str | None, list[list[int]]] = {}
    for row in await session.execute(stmt):
        values = tuple(row)
        g = values[0] if keys else None
        k = int(values[len(keys)])
        deltas = steps.setdefault(g, [[0] * len(moving) for _ in buckets])
        for i, value in enumerate(values[len(keys) + 1 :]):
            deltas[k][i] += int(value or 0)
    for g, deltas in steps.items():
        totals = [0] * len(moving)
        for bucket, delta in zip(buckets, deltas, strict=True):
            totals = [t + d for t, d in zip(totals, delta, strict=True)]
            figures = dict(zip((name for name, _ in moving), totals, strict=True))
            # WITHIN_DEADLINE is OPEN and not OVERDUE (formulas): the difference
            figures["in_progress_within_deadline"] = (
                figures["in_progress"] - figures["in_progress_overdue"]
            )
            # PORTAL_ON_TIME is OPEN and not PORTAL_OVERDUE (formulas): the same
            figures["progress_in_progress_on_time"] = (
                figures["in_progress"] - figures["progress_in_progress_overdue"]
            )
            for name in names:
                out.add((g, bucket.number), name, figures[name])
