"""Access by unit: which units a caller may see or write for. THE one place it is decided.

A key (or a single sign-on token) with ``units`` is scoped to those subtrees. Every read route
takes an ``Access`` (``ReadAccess``) and asks :func:`units_for` for the unit codes its query
counts; the answer goes into the SQL (``unit_code IN (...)``, see ``metrics.queries.Scope``),
never as a filter applied to rows afterwards. For an ingest key, :func:`ingest_units` gives the
codes an event may carry (other codes are an ``invalid`` item at ``["unit_code"]``).

Rules (CONTRACT.md, "Access by unit"):
- not scoped (an admin, or a key without ``units``): ``unit`` absent counts every unit; a
  ``unit`` that does not exist is 404;
- scoped: ``unit`` absent counts the scope (the union of its subtrees); a ``unit`` outside
  the scope, or one that does not exist, is 403 (no probing for codes outside it).

The codes themselves come from ``app.reference.lineage.resolve`` (``within`` = the key's
roots), the one function that knows validity dates and lineage; this module decides only who
may ask for what.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Principal, require_scope
from app.auth.keys import Scope
from app.db import Database
from app.errors import Forbidden, NotFound
from app.reference.lineage import UnitGraph, load_graph, resolve


@dataclass(frozen=True)
class Access:
    """The unit subtrees a caller may see: ``roots`` None means every unit."""

    roots: tuple[str, ...] | None = None

    @property
    def scoped(self) -> bool:
        return self.roots is not None


EVERYTHING = Access()


def access_of(principal: Principal) -> Access:
    if Scope.admin in principal.scopes or principal.units is None:
        return EVERYTHING
    return Access(tuple(principal.units))


def allowed_in(graph: UnitGraph, access: Access) -> list[str] | None:
    """Every unit code the caller may see (the union of its subtrees); None: every unit."""
    if access.roots is None:
        return None
    seen: dict[str, None] = {}
    for root in access.roots:
        seen.update(dict.fromkeys(graph.subtree(root) if root in graph.units else [root]))
    return list(seen)


def admit_unit(graph: UnitGraph, access: Access, unit: str | None) -> None:
    """404 for an unknown ``unit`` (unscoped caller); 403 for one outside a scoped caller's
    subtrees or unknown to it."""
    if unit is None:
        return
    if access.roots is None:
        if unit not in graph.units:
            raise NotFound(f"no unit with code '{unit}'")
        return
    allowed = allowed_in(graph, access) or []
    if unit not in allowed or unit not in graph.units:
        raise Forbidden(f"unit '{unit}' is outside this token's units", reason="unit_scope")


async def allowed_units(session: AsyncSession, access: Access) -> list[str] | None:
    """Every unit code the caller may see (its subtrees), or None for every unit."""
    if access.roots is None:
        return None
    return allowed_in(await load_graph(session), access)


async def units_for(session: AsyncSession, access: Access, unit: str | None) -> list[str] | None:
    """The unit codes a read query counts: ``unit``'s subtree (default: everything the
    caller may see); None means every unit, unrestricted. 404 / 403 as the module says.
    The codes come from ``app.reference.lineage.resolve`` (validity and lineage: its module)."""
    if access.roots is None and unit is None:
        return None
    graph = await load_graph(session)
    admit_unit(graph, access, unit)
    resolved = resolve(graph, unit=unit, level=None, within=access.roots)
    return None if resolved.codes is None else sorted(resolved.codes)


async def ingest_units(db: Database, principal: Principal) -> frozenset[str] | None:
    """The unit codes an ingest caller may push events for; None: any code."""
    access = access_of(principal)
    if access.roots is None:
        return None
    async with db.sessionmaker() as session:
        return frozenset(allowed_in(await load_graph(session), access) or ())


async def read_access(principal: Principal = Depends(require_scope(Scope.read))) -> Access:
    """The ``read`` scope dependency, answering what the caller may see."""
    return access_of(principal)


ReadAccess = Depends(read_access)
