"""Units (a generic tree) and procedures."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Unprocessable
from app.reference.models import Procedure, Unit
from app.reference.schemas import ProcedureIn, ProcedureItem, UnitIn, UnitItem, UnitNode, UnitOut

Loc = Callable[[int, str], list[str | int]]
Progress = Callable[[int, int], None]  # (items written, items in all)
FLUSH_EVERY = 500


def _single_loc(_: int, name: str) -> list[str | int]:
    return ["body", name]


def _bulk_loc(index: int, name: str) -> list[str | int]:
    return ["body", index, name]


async def put_unit(*, session: AsyncSession, code: str, data: UnitIn) -> tuple[Unit, bool]:
    """Create or replace a unit; returns it and whether it was created.

    An unknown parent is registered as an unregistered unit (admins may describe the tree in
    any order); a parent that is the unit itself or one of its descendants is refused, and so
    are an unknown successor, a successor chain that comes back to the unit, and a life that
    ends before it starts.
    """
    units, created = await _upsert_units(session, [(code, data)], _single_loc)
    return units[0], created[0]


async def put_units(
    *, session: AsyncSession, items: Sequence[UnitItem], on_progress: Progress | None = None
) -> list[bool]:
    """Bulk upsert, all-or-nothing: parents and successors may be named anywhere in the
    array; every bad item is reported at ``["body", index, field]`` and nothing changes."""
    seen: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if item.code in seen:
            errors.append(_error(_bulk_loc(index, "code"), f"code also at index {seen[item.code]}"))
        seen.setdefault(item.code, index)
    _raise(errors)
    _, created = await _upsert_units(session, [(i.code, i) for i in items], _bulk_loc, on_progress)
    return created  # per item: whether it was created


def put_details(item: UnitItem | ProcedureItem, created: bool) -> dict[str, Any]:
    """The ``details`` of a bulk item's ``unit.put`` / ``procedure.put`` audit entry (the bulk
    routes and ``onestop units|procedures import`` alike): the item without its code (the
    entry's target), and whether it was created."""
    return {**item.model_dump(mode="json", exclude={"code"}), "created": created}


def _error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": "value_error"}


def _raise(errors: list[dict[str, Any]]) -> None:
    if errors:
        exc = Unprocessable(errors[0]["msg"], errors[0]["loc"])
        exc.errors = errors
        raise exc


async def _upsert_units(
    session: AsyncSession,
    items: Sequence[tuple[str, UnitIn]],
    loc: Loc,
    on_progress: Progress | None = None,
) -> tuple[list[Unit], list[bool]]:
    """Check every item against the table as it will be (one read of it), then write."""
    existing = {u.code: u for u in (await session.execute(select(Unit))).scalars()}
    parents = {code: u.parent_code for code, u in existing.items()}
    successors = {code: u.successor_code for code, u in existing.items()}
    for code, data in items:
        parents[code], successors[code] = data.parent_code, data.successor_code
    errors: list[dict[str, Any]] = []
    for index, (code, data) in enumerate(items):
        if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
            errors.append(_error(loc(index, "valid_to"), "valid_to is before valid_from"))
        if data.parent_code is not None and _returns_to(code, data.parent_code, parents):
            errors.append(
                _error(
                    loc(index, "parent_code"), "parent_code would make the unit its own ancestor"
                )
            )
        if data.successor_code is not None:
            if data.successor_code not in successors:
                errors.append(
                    _error(
                        loc(index, "successor_code"), f"no unit with code '{data.successor_code}'"
                    )
                )
            elif _returns_to(code, data.successor_code, successors):
                errors.append(
                    _error(
                        loc(index, "successor_code"), "the successor chain comes back to the unit"
                    )
                )
    _raise(errors)
    out: list[Unit] = []
    created: list[bool] = []
    for code, data in items:
        unit = existing.get(code)
        created.append(unit is None)
        if unit is None:
            unit = existing[code] = Unit(code=code)
            session.add(unit)
        unit.name, unit.level, unit.registered = data.name, data.level, True
        unit.valid_from, unit.valid_to = data.valid_from, data.valid_to
        out.append(unit)
        if on_progress is not None and len(out) % FLUSH_EVERY == 0:
            await session.flush()
            on_progress(len(out), len(items))
    for _, data in items:
        if data.parent_code is not None and data.parent_code not in existing:
            existing[data.parent_code] = Unit(code=data.parent_code, registered=False)
            session.add(existing[data.parent_code])
    await session.flush()  # every code exists before any row points at it
    for unit, (_, data) in zip(out, items, strict=True):
        unit.parent_code, unit.successor_code = data.parent_code, data.successor_code
    await session.flush()
    if on_progress is not None:
        on_progress(len(out), len(items))
    return out, created


def _returns_to(code: str, start: str, links: Mapping[str, str | None]) -> bool:
    """Whether following ``links`` from ``start`` reaches ``code`` (cycle-safe)."""
    seen: set[str] = set()
    current: str | None = start
    while current is not None and current not in seen:
        if current == code:
            return True
        seen.add(current)
        current = links.get(current)
    return False


async def list_units(
    *,
    session: AsyncSession,
    unregistered: bool | None = None,
    at: date | None = None,
    codes: Sequence[str] | None = None,
) -> list[Unit]:
    """The units (``at``: only those valid that day; ignored with ``unregistered``;
    ``codes``: only those, a scoped caller's subtrees)."""
    stmt = select(Unit).order_by(Unit.code)
    if codes is not None:
        stmt = stmt.where(Unit.code.in_(list(codes)))
    if unregistered is not None:
        stmt = stmt.where(Unit.registered.is_(not unregistered))
    elif at is not None:
        stmt = stmt.where(
            or_(Unit.valid_from.is_(None), Unit.valid_from <= at),
            or_(Unit.valid_to.is_(None), Unit.valid_to >= at),
        )
    return list((await session.execute(stmt)).scalars())


def build_tree(units: Sequence[Unit]) -> list[UnitNode]:
    nodes = {u.code: UnitNode(**UnitOut.model_validate(u).model_dump()) for u in units}
    roots: list[UnitNode] = []
    for unit in units:
        node = nodes[unit.code]
        parent = nodes.get(unit.parent_code) if unit.parent_code else None
        (parent.children if parent else roots).append(node)
    return roots


async def subtree_codes(*, session: AsyncSession, root: str) -> list[str]:
    """The unit and all its descendants, for subtree filters."""
    rows = (await session.execute(select(Unit.code, Unit.parent_code))).all()
    children: dict[str, list[str]] = {}
    for code, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(code)
    return subtree(root, children)


def subtree(root: str, children: Mapping[str, list[str]]) -> list[str]:
    """``root`` and every unit below it in a parent -> children map (cycle-safe)."""
    out, stack, seen = [], [root], {root}
    while stack:
        code = stack.pop()
        out.append(code)
        for child in children.get(code, []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return out


async def put_procedure(
    *, session: AsyncSession, code: str, data: ProcedureIn
) -> tuple[Procedure, bool]:
    procedure = await session.get(Procedure, code)
    created = procedure is None
    if procedure is None:
        procedure = Procedure(code=code)
        session.add(procedure)
    changed = _describe_procedure(procedure, data)
    await session.flush()
    if changed:
        await rederive_procedures(session, [code])
    return procedure, created


def _describe_procedure(procedure: Procedure, data: ProcedureIn) -> bool:
    """The single and the bulk PUT write a procedure's fields here; True when its statutory
    duration changed."""
    procedure.name, procedure.level = data.name, data.level
    procedure.online_service, procedure.sector_code = data.online_service, data.sector_code
    duration_changed = procedure.duration_working_days != data.duration_working_days
    procedure.duration_working_days = data.duration_working_days
    procedure.registered = True
    return duration_changed


async def put_procedures(
    *, session: AsyncSession, items: Sequence[ProcedureItem], on_progress: Progress | None = None
) -> list[bool]:
    """Bulk upsert, all-or-nothing (a repeated code is a 422 at ``["body", index, "code"]``)."""
    seen: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if item.code in seen:
            errors.append(_error(_bulk_loc(index, "code"), f"code also at index {seen[item.code]}"))
        seen.setdefault(item.code, index)
    _raise(errors)
    existing = {p.code: p for p in (await session.execute(select(Procedure))).scalars()}
    created: list[bool] = []
    changed: list[str] = []
    for done, item in enumerate(items, start=1):
        procedure = existing.get(item.code)
        created.append(procedure is None)
        if procedure is None:
            procedure = existing[item.code] = Procedure(code=item.code)
            session.add(procedure)
        if _describe_procedure(procedure, item):
            changed.append(item.code)
        if on_progress is not None and done % FLUSH_EVERY == 0:
            await session.flush()
            on_progress(done, len(items))
    await session.flush()
    if changed:
        await rederive_procedures(session, changed)
    if on_progress is not None:
        on_progress(len(items), len(items))
    return created  # per item: whether it was created


async def rederive_procedures(session: AsyncSession, codes: Sequence[str]) -> None:
    """The due dates derived from procedures' durations follow a change of them (their
    dossiers without a due_at of their own), and the rollups with them."""
    from app.config import get_settings
    from app.dossiers.derive import rederive
    from app.dossiers.models import Dossier
    from app.metrics import rollups

    where = [
        Dossier.procedure_code.in_(list(codes)),
        Dossier.due_at_field.is_(None),
        Dossier.received_date.is_not(None),
    ]

    async def change() -> None:
        await rederive(session, where, get_settings().zone)

    await rollups.recount(session, where, change)


async def list_procedures(
    *, session: AsyncSession, level: str | None = None, unregistered: bool | None = None
) -> list[Procedure]:
    stmt = select(Procedure).order_by(Procedure.code)
    if level is not None:
        stmt = stmt.where(Procedure.level == level)
    if unregistered is not None:
        stmt = stmt.where(Procedure.registered.is_(not unregistered))
    return list((await session.execute(stmt)).scalars())
