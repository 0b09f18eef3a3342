"""Metric rows: run the aggregates, zero-fill the buckets, apply the formulas."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Access, admit_unit
from app.errors import Unprocessable
from app.metrics import formulas as f
from app.metrics.queries import Aggregate, Bucket, GroupBy, GroupKey, Period, Scope, aggregate
from app.metrics.queries import make_buckets as _make_buckets
from app.reference.lineage import RowsOf, load_graph, resolve
from app.reference.models import Procedure, Unit
from app.reference.workdays import FIRST_DAY, LAST_DAY

MAX_PERIOD_DAYS = 3660  # about ten years


@dataclass(frozen=True)
class MetricQuery:
    """What a metrics request asks for (validated)."""

    first: date
    last: date
    unit: str | None = None
    level: str | None = None
    group_by: GroupBy = GroupBy.none
    period: Period = Period.none
    lineage: bool = False  # include the dossiers of the units whose successors are counted


def check_dates(first: date, last: date) -> None:
    """``from`` <= ``to``, within the calendar, at most about ten years apart."""
    if first > last:
        raise Unprocessable("'from' is after 'to'", ["query", "from"])
    for day, name in ((first, "from"), (last, "to")):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise Unprocessable(f"dates must lie in {FIRST_DAY} … {LAST_DAY}", ["query", name])
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise Unprocessable(
            f"the period is longer than {MAX_PERIOD_DAYS} days (about ten years)", ["query", "to"]
        )


async def scope_of(
    session: AsyncSession,
    *,
    unit: str | None,
    level: str | None,
    access: Access,
    first: date | None = None,
    last: date | None = None,
    lineage: bool = False,
    rows: RowsOf | None = None,
) -> Scope:
    """The dossiers counted: the unit's subtree (404 if unknown), of units of ``level``; with
    ``lineage`` also their predecessors'; ``rows``: the units listed (valid in first … last)
    and the codes counted under each (``app.reference.lineage.resolve``, the one scope path).
    ``access``: what the caller may see (``app.auth.scope``: a scoped key's subtrees, 403
    outside them); its roots go to ``resolve`` as ``within``."""
    if unit is None and not lineage and rows is None and access.roots is None:
        return Scope(None, level)  # every unit: no code list, no read of the unit table
    graph = await load_graph(session)
    admit_unit(graph, access, unit)
    resolved = resolve(
        graph,
        unit=unit,
        level=level,
        first=first,
        last=last,
        lineage=lineage,
        rows=rows,
        within=access.roots,
    )
    codes = None if resolved.codes is None else tuple(sorted(resolved.codes))
    names = None
    if resolved.rows is not None:
        names = {code: graph.units[code].name for code in resolved.rows}
    return Scope(codes, resolved.level, resolved.rows, names)


COUNT, RATE, LATENESS_MEAN, STATISTIC = range(4)


@functools.lru_cache(maxsize=64)
def _row_shape(fields: tuple[str, ...]) -> tuple[tuple[int, str, Any], ...]:
    """What each field of a row is (a count, a rate, a statistic), found once per field list
    rather than once per row and field."""
    shape: list[tuple[int, str, Any]] = []
    for name in fields:
        if name in f.COUNTS:
            shape.append((COUNT, name, None))
        elif name in f.RATES:
            shape.append((RATE, name, (f.RATES[name], f"{name}_numerator", f"{name}_denominator")))
        elif name == "lateness_days_mean":
            shape.append((LATENESS_MEAN, name, None))
        else:
            shape.append((STATISTIC, name, f.STATISTICS[name]))
    return tuple(shape)


def field_values(
    fields: Sequence[str],
    counts: Mapping[str, int],
    histogram: Mapping[int, int],
    lateness_days_total: int,
    net_histogram: Mapping[int, int] | None = None,
) -> dict[str, Any]:
    """A row's fields from its counts; a rate adds ``<rate>_numerator`` and ``_denominator``."""
    out: dict[str, Any] = {}
    for kind, name, extra in _row_shape(tuple(fields)):
        if kind == COUNT:
            out[name] = counts.get(name, 0)
        elif kind == RATE:
            rate, numerator_key, denominator_key = extra
            out[name], out[numerator_key], out[denominator_key] = rate.value(counts)
        elif kind == LATENESS_MEAN:
            out[name] = f.lateness_days_mean(lateness_days_total, counts.get("resolved_late", 0))
        elif name in f.NET_STATISTICS:
            out[name] = f.NET_STATISTICS[name](net_histogram or {})
        else:
            out[name] = extra(histogram)
    return out


async def _group_labels(
    session: AsyncSession,
    group_by: GroupBy,
    values: set[str | None],
    known: Mapping[str, str | None] | None = None,
) -> dict[str | None, dict[str, Any]]:
    """Each group's label columns; ``known``: the units' names already read (the scope's)."""
    codes = [v for v in values if v is not None]
    if group_by is GroupBy.unit:
        if known is not None and all(code in known for code in codes):
            names: Mapping[str, str | None] = known
        elif codes:
            names = dict((await session.execute(select(Unit.code, Unit.name))).all())
        else:
            names = {}
        return {v: {"unit_code": v, "unit_name": names.get(v) if v else None} for v in values}
    if group_by is GroupBy.procedure:
        stmt = select(Procedure.code, Procedure.name).where(Procedure.code.in_(codes))
        names = dict((await session.execute(stmt)).all()) if codes else {}
        return {
            v: {"procedure_code": v, "procedure_name": names.get(v) if v else None} for v in values
        }
    if group_by is GroupBy.sector:
        return {v: {"sector_code": v} for v in values}
    return {None: {}}


def _sort_key(value: str | None) -> tuple[bool, str]:
    return (value is None, value or "")


def period_labels(bucket: Bucket, period: Period) -> dict[str, Any]:
    if period is Period.none:
        return {}
    return {
        "period": bucket.key,
        "period_from": bucket.first.isoformat(),
        "period_to": bucket.last.isoformat(),
    }


def make_buckets(query: MetricQuery, zone: ZoneInfo, now: datetime) -> list[Bucket]:
    return _make_buckets(query.first, query.last, query.period, zone, now)


async def metric_rows(
    session: AsyncSession,
    *,
    query: MetricQuery,
    access: Access,
    fields: Sequence[str],
    zone: ZoneInfo,
    now: datetime,
) -> list[dict[str, Any]]:
    """One row per (group, bucket), empty buckets as zeros, groups sorted, buckets in order."""
    scope = await scope_of(
        session,
        unit=query.unit,
        level=query.level,
        access=access,
        first=query.first,
        last=query.last,
        lineage=query.lineage,
        rows="unit" if query.group_by is GroupBy.unit else None,
    )
    buckets = make_buckets(query, zone, now)
    needs_histogram = any(n.startswith("processing_days") for n in fields)
    result = await aggregate(
        session,
        scope=scope,
        buckets=buckets,
        period=query.period,
        group_by=query.group_by,
        counts=f.counts_needed(fields),
        processing_days=needs_histogram,
        processing_days_net=any(n in f.NET_STATISTICS for n in fields),
        lateness_days="lateness_days_mean" in fields,
    )
    return await _rows(session, query, scope, buckets, fields, result)


async def _rows(
    session: AsyncSession,
    query: MetricQuery,
    scope: Scope,
    buckets: Sequence[Bucket],
    fields: Sequence[str],
    result: Aggregate,
) -> list[dict[str, Any]]:
    groups: set[str | None] = {g for g, _ in result.counts} | {g for g, _ in result.processing_days}
    if query.group_by is GroupBy.none:
        groups = {None}
    elif query.group_by is GroupBy.unit and scope.rows is not None:
        groups = set(scope.rows)  # the units valid in the period (their rows hold lineage)
    labels = await _group_labels(session, query.group_by, groups, scope.names)
    shape = tuple(fields)
    counts, histograms, lateness = (
        result.counts,
        result.processing_days,
        result.lateness_days_total,
    )
    periods = [(bucket.number, period_labels(bucket, query.period)) for bucket in buckets]
    # a (group, bucket) without dossiers: the same fields every time, computed once
    empty = field_values(shape, {}, {}, 0)
    rows: list[dict[str, Any]] = []
    nets = result.processing_days_net
    for group in sorted(labels, key=_sort_key):
        label = labels[group]
        for number, period in periods:
            key: GroupKey = (group, number)
            found, histogram, net = counts.get(key), histograms.get(key), nets.get(key)
            if found is None and histogram is None and net is None:
                rows.append({**label, **period, **empty})
                continue
            row = {**label, **period}
            row.update(
                field_values(shape, found or {}, histogram or {}, lateness.get(key, 0), net or {})
            )
            rows.append(row)
    return rows


# --- rankings -----------------------------------------------------------------------------


async def ranking(
    session: AsyncSession,
    *,
    indicator: str,
    first: date,
    last: date,
    unit: str | None,
    level: str | None,
    access: Access,
    zone: ZoneInfo,
    now: datetime,
    lineage: bool = False,
) -> list[dict[str, Any]]:
    """The units of ``level`` under ``unit`` (default: the unit's children, or the roots)
    valid at some day of the period, each counted over its own subtree (with ``lineage``:
    and its predecessors'), best first; equal rates share a rank (1, 1, 3); units whose rate
    is null (nothing to count) come last with rank null.

    A scoped caller without ``unit`` ranks as if ``unit`` were its scope's root; with several
    roots, the roots themselves (or, with ``level``, the units of that level in the scope)."""
    rate = f.RATES[indicator]
    if unit is None and access.roots is not None and len(access.roots) == 1:
        unit = access.roots[0]
    scope = await scope_of(
        session,
        unit=unit,
        level=level,
        access=access,
        first=first,
        last=last,
        lineage=lineage,
        rows="subtree",
    )
    buckets = _make_buckets(first, last, Period.none, zone, now)
    per_unit = await aggregate(
        session,
        scope=scope,
        buckets=buckets,
        period=Period.none,
        group_by=GroupBy.unit,
        counts=rate.numerator + rate.denominator,
    )
    names = await _group_labels(session, GroupBy.unit, set(scope.rows or ()), scope.names)
    scored: list[dict[str, Any]] = []
    for code in sorted(scope.rows or ()):
        totals = dict.fromkeys(rate.numerator + rate.denominator, 0)
        totals.update(per_unit.counts.get((code, 0), {}))
        value, numerator, denominator = rate.value(totals)
        scored.append(
            {
                "rank": None,
                "unit_code": code,
                "unit_name": names[code]["unit_name"],
                "value": value,
                "numerator": numerator,
                "denominator": denominator,
            }
        )
    return _rank(scored, lower_is_better=rate.lower_is_better)


def _rank(rows: list[dict[str, Any]], *, lower_is_better: bool) -> list[dict[str, Any]]:
    """Competition ranking on the exact fractions: best first, ties share the better rank."""
    valued = [r for r in rows if r["value"] is not None]
    unvalued = [r for r in rows if r["value"] is None]

    def exact(row: dict[str, Any]) -> Fraction:
        value = Fraction(row["numerator"], row["denominator"])
        return value if lower_is_better else -value

    valued.sort(key=lambda r: (exact(r), r["unit_code"]))
    previous: Fraction | None = None
    for position, row in enumerate(valued, start=1):
        current = exact(row)
        row["rank"] = position if current != previous else valued[position - 2]["rank"]
        previous = current
    return valued + unvalued


# --- procedures ---------------------------------------------------------------------------


async def procedure_counts(session: AsyncSession, *, level: str | None) -> list[dict[str, Any]]:
    """Procedures per level: total, full_online, partial_online, offline (registered only)."""

    def count_of(service: str) -> Any:
        return func.sum(case((Procedure.online_service == service, 1), else_=0))

    stmt = (
        select(
            Procedure.level,
            func.count(),
            count_of("full"),
            count_of("partial"),
        )
        .where(Procedure.registered.is_(True))
        .group_by(Procedure.level)
        .order_by(Procedure.level)
    )
    if level is not None:
        stmt = stmt.where(Procedure.level == level)
    rows = []
    for lvl, total, full, partial in (await session.execute(stmt)).all():
        full, partial = int(full or 0), int(partial or 0)
        rows.append(
            {
                "level": lvl,
                "total": int(total),
                "full_online": full,
                "partial_online": partial,
                "offline": int(total) - full - partial,
            }
        )
    if level is not None and not rows:
        rows.append(
            {"level": level, "total": 0, "full_online": 0, "partial_online": 0, "offline": 0}
        )
    return rows
