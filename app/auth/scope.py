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

Units that change (lineage, validity dates) extend this module, and only this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Principal, require_scope
from app.auth.keys import Scope
from app.db import Database
from app.errors import Forbidden, NotFound
from app.reference.models import Unit
from app.reference.service import subtree


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


async def _children(session: AsyncSession) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for code, parent in (await session.execute(select(Unit.code, Unit.parent_code))).all():
        if parent is not None:
            children.setdefault(parent, []).append(code)
    return children


def _union(roots: Sequence[str], children: dict[str, list[str]]) -> list[str]:
    out: dict[str, None] = {}
    for root in roots:
        out.update(dict.fromkeys(subtree(root, children)))
    return list(out)


async def allowed_units(session: AsyncSession, access: Access) -> list[str] | None:
    """Every unit code the caller may see (its subtrees), or None for every unit."""
    if access.roots is None:
        return None
    return _union(access.roots, await _children(session))


async def units_for(session: AsyncSession, access: Access, unit: str | None) -> list[str] | None:
    """The unit codes a read query counts: ``unit``'s subtree (default: everything the
    caller may see); None means every unit, unrestricted. 404 / 403 as the module says."""
    children = await _children(session)
    if access.roots is None:
        if unit is None:
            return None
        if await session.get(Unit, unit) is None:
            raise NotFound(f"no unit with code '{unit}'")
        return subtree(unit, children)
    allowed = _union(access.roots, children)
    if unit is None:
        return allowed
    if unit not in allowed or await session.get(Unit, unit) is None:
        raise Forbidden(f"unit '{unit}' is outside this token's units", reason="unit_scope")
    return subtree(unit, children)


async def ingest_units(db: Database, principal: Principal) -> frozenset[str] | None:
    """The unit codes an ingest caller may push events for; None: any code."""
    access = access_of(principal)
    if access.roots is None:
        return None
    async with db.sessionmaker() as session:
        return frozenset(_union(access.roots, await _children(session)))


async def read_access(principal: Principal = Depends(require_scope(Scope.read))) -> Access:
    """The ``read`` scope dependency, answering what the caller may see."""
    return access_of(principal)


ReadAccess = Depends(read_access)
