"""Units (a generic tree) and procedures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Unprocessable
from app.reference.models import Procedure, Unit
from app.reference.schemas import ProcedureIn, UnitIn, UnitNode, UnitOut


async def put_unit(*, session: AsyncSession, code: str, data: UnitIn) -> tuple[Unit, bool]:
    """Create or replace a unit; returns it and whether it was created.

    An unknown parent is registered as an unregistered unit (admins may describe the tree in
    any order); a parent that is the unit itself or one of its descendants is refused.
    """
    if data.parent_code is not None:
        await _check_no_cycle(session, code, data.parent_code)
        if await session.get(Unit, data.parent_code) is None:
            session.add(Unit(code=data.parent_code, registered=False))
    unit = await session.get(Unit, code)
    created = unit is None
    if unit is None:
        unit = Unit(code=code)
        session.add(unit)
    unit.name, unit.level, unit.parent_code = data.name, data.level, data.parent_code
    unit.registered = True
    await session.flush()
    return unit, created


async def _check_no_cycle(session: AsyncSession, code: str, parent_code: str) -> None:
    seen: set[str] = set()
    current: str | None = parent_code
    while current is not None and current not in seen:
        if current == code:
            raise Unprocessable(
                "parent_code would make the unit its own ancestor", ["body", "parent_code"]
            )
        seen.add(current)
        current = (
            await session.execute(select(Unit.parent_code).where(Unit.code == current))
        ).scalar_one_or_none()


async def list_units(*, session: AsyncSession, unregistered: bool | None = None) -> list[Unit]:
    stmt = select(Unit).order_by(Unit.code)
    if unregistered is not None:
        stmt = stmt.where(Unit.registered.is_(not unregistered))
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
    procedure.name, procedure.level = data.name, data.level
    procedure.online_service, procedure.sector_code = data.online_service, data.sector_code
    duration_changed = procedure.duration_working_days != data.duration_working_days
    procedure.duration_working_days = data.duration_working_days
    procedure.registered = True
    await session.flush()
    if duration_changed:
        await rederive_procedure(session, code)
    return procedure, created


async def rederive_procedure(session: AsyncSession, code: str) -> None:
    """The due dates derived from a procedure's duration follow a change of it (its dossiers
    without a due_at of their own), and the rollups with them."""
    from app.config import get_settings
    from app.dossiers.derive import rederive
    from app.dossiers.models import Dossier
    from app.metrics import rollups

    where = [
        Dossier.procedure_code == code,
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
