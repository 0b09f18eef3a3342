"""Which units' dossiers a question counts: the subtree, the units' lives, their lineage.

Every scope (metrics, rankings, lists, II.06a, the scorecard, exports, the dashboard) is
resolved here, by :func:`resolve`, from one snapshot of the unit table (:class:`UnitGraph`;
a province has a few thousand units). Dossiers keep the unit code they carry and the rollups
are kept per unit code; lineage only maps codes when counting:

- without lineage, a unit's figures are the dossiers of its subtree;
- with lineage, they also include the dossiers of every unit whose successor chain leads into
  its subtree (a new commune counts the communes merged into it);
- rows per unit (``group_by=unit``, rankings) list only the units valid at some day of the
  period; with lineage each row adds its predecessors' own dossiers to its own, so a dossier
  may count in several rows (a predecessor still valid in the period ranks with its own).

A unit asked for a period before it existed has no dossiers of its own: zeros, or with
lineage its predecessors' figures. Validity never drops a dossier from a subtree's figures: a
dossier received by a unit before it ended stays in its subtree's backlog afterwards.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.reference.models import ReferenceVersion, Unit


@dataclass(frozen=True)
class UnitLife:
    """What the resolution needs of a unit."""

    code: str
    name: str | None
    level: str | None
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None
    successor_code: str | None

    def valid_during(self, first: date, last: date) -> bool:
        """Valid at some day of ``first`` … ``last`` (null bounds: unbounded)."""
        return (self.valid_from is None or self.valid_from <= last) and (
            self.valid_to is None or self.valid_to >= first
        )

    def valid_on(self, day: date) -> bool:
        return self.valid_during(day, day)


@dataclass(frozen=True)
class UnitGraph:
    """The unit tree with its successor links, for resolving scopes in memory."""

    units: dict[str, UnitLife]
    children: dict[str, list[str]] = field(default_factory=dict)
    predecessors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, units: Iterable[UnitLife]) -> UnitGraph:
        graph = cls({u.code: u for u in units})
        for unit in graph.units.values():
            if unit.parent_code is not None:
                graph.children.setdefault(unit.parent_code, []).append(unit.code)
            if unit.successor_code is not None:
                graph.predecessors.setdefault(unit.successor_code, []).append(unit.code)
        return graph

    def subtree(self, root: str) -> list[str]:
        """``root`` and every unit below it (cycle-safe)."""
        return _walk([root], self.children)

    def lineage(self, code: str) -> list[str]:
        """``code`` and every unit whose successor chain leads to it (cycle-safe)."""
        return _walk([code], self.predecessors)

    def lineage_subtree(self, root: str) -> list[str]:
        """The subtree and every unit whose successor chain leads into it."""
        return _walk(self.subtree(root), self.predecessors)


def _walk(starts: Sequence[str], links: Mapping[str, list[str]]) -> list[str]:
    out, stack, seen = [], list(starts), set(starts)
    while stack:
        code = stack.pop()
        out.append(code)
        for nxt in links.get(code, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return out


# per engine (a worker's database): the token read before the unit table, and the graph read
_GRAPHS: weakref.WeakKeyDictionary[Any, tuple[int, UnitGraph]] = weakref.WeakKeyDictionary()


async def load_graph(session: AsyncSession) -> UnitGraph:
    """The unit table as a graph: the one this worker read last, while the table's version
    token (``ReferenceVersion``, moved by the table's triggers in every transaction that
    changes a unit) is the one read before it; otherwise one read of the table.

    The token is read first, so a graph is never kept under a token older than the table it
    was read from (a change committed between the two reads moves the token: the next request
    reads the table again). A session that changed units itself reads its own new token, not
    yet committed: random, it is never the token of another state, so a rollback leaves the
    kept graph unused. The graph is shared by the requests of a worker: read it, never change
    it (``resolve`` does not)."""
    token = (
        await session.execute(
            select(ReferenceVersion.token).where(ReferenceVersion.name == UNITS_VERSION)
        )
    ).scalar_one_or_none()
    bind: Any = session.bind
    engine = getattr(bind, "engine", bind)  # an AsyncConnection's engine, or the AsyncEngine
    kept = _GRAPHS.get(engine)
    if token is not None and kept is not None and kept[0] == token:
        return kept[1]
    rows = await session.execute(
        select(
            Unit.code,
            Unit.name,
            Unit.level,
            Unit.parent_code,
            Unit.valid_from,
            Unit.valid_to,
            Unit.successor_code,
        )
    )
    graph = UnitGraph.of(UnitLife(*row) for row in rows.all())
    if token is not None:  # no token row (it was deleted): read the table every time
        _GRAPHS[engine] = (token, graph)
    return graph


UNITS_VERSION = "units"  # the ReferenceVersion row of the unit table


RowsOf = Literal["unit", "subtree"]


@dataclass(frozen=True)
class Resolved:
    """A resolved scope.

    ``codes``: the unit codes whose dossiers count (None: every unit). ``level``: a level
    filter left to the database (only when ``codes`` is None and lineage is off, so a plain
    query over all units stays one without a code list). ``rows``: for rows per unit, each
    listed unit (valid in the period) and the codes counted under it; None when not asked.
    """

    codes: frozenset[str] | None
    level: str | None = None
    rows: dict[str, tuple[str, ...]] | None = None


def resolve(
    graph: UnitGraph,
    *,
    unit: str | None,
    level: str | None,
    first: date | None = None,
    last: date | None = None,
    lineage: bool = False,
    rows: RowsOf | None = None,
    within: Sequence[str] | None = None,
) -> Resolved:
    """The one scope function: which codes count, and (``rows``) under which listed units.

    ``unit``: root of the subtree (None: every unit, or the roots of ``within``); ``level``:
    the level of the unit the dossiers are counted under; ``first``/``last``: the period
    (None: any time), which decides the listed rows; ``rows``: ``"unit"`` for a row per unit
    of the scope counting its own dossiers (``group_by=unit``), ``"subtree"`` for a row per
    unit of ``level`` (or the unit's children, or the roots) counting its subtree
    (rankings); ``within``: subtree roots a scoped key may see (None: all). The caller checks
    that ``unit`` exists and lies within ``within``.
    """
    roots: list[str] | None = [unit] if unit is not None else (list(within) if within else None)
    in_scope: list[str] | None = None
    if roots is not None:
        in_scope = _union(graph.subtree(r) for r in roots)

    def listed(code: str) -> bool:
        u = graph.units.get(code)
        if u is None:
            return False
        return first is None or last is None or u.valid_during(first, last)

    def members(code: str, subtree: bool) -> tuple[str, ...]:
        if subtree:
            return tuple(graph.lineage_subtree(code) if lineage else graph.subtree(code))
        return tuple(graph.lineage(code) if lineage else [code])

    table: dict[str, tuple[str, ...]] | None = None
    if rows == "unit":
        candidates = in_scope if in_scope is not None else list(graph.units)
        table = {
            c: members(c, False)
            for c in candidates
            if listed(c) and (level is None or graph.units[c].level == level)
        }
    elif rows == "subtree":
        if level is not None:
            candidates = in_scope if in_scope is not None else list(graph.units)
            ranked = [c for c in candidates if graph.units[c].level == level]
        elif unit is not None:
            ranked = list(graph.children.get(unit, ()))
        elif roots is not None:
            ranked = list(roots)
        else:
            ranked = [c for c, u in graph.units.items() if u.parent_code is None]
        table = {c: members(c, True) for c in sorted(ranked) if listed(c)}

    if table is not None:
        if in_scope is None and not lineage:  # every unit's own dossiers: no code list
            return Resolved(None, level if rows == "unit" else None, table)
        return Resolved(frozenset(_union(table.values())), None, table)
    if not lineage:
        return Resolved(None if in_scope is None else frozenset(in_scope), level, None)
    # lineage, one row: the units of the scope (of ``level``) and their predecessors
    candidates = in_scope if in_scope is not None else list(graph.units)
    heads = [c for c in candidates if level is None or graph.units[c].level == level]
    if in_scope is None and level is None:
        return Resolved(None, None, None)
    return Resolved(frozenset(_walk(heads, graph.predecessors)), None, None)


def _union(groups: Iterable[Iterable[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for code in group:
            seen.setdefault(code, None)
    return list(seen)
