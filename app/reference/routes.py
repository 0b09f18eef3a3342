"""Reference data: the unit tree and the procedure catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import audit
from app.auth.deps import RequireAdmin, RequireRead
from app.auth.scope import Access, ReadAccess, allowed_units
from app.db import ReadSessionDep, SessionDep
from app.errors import AUTH_RESPONSES, Unprocessable, responses
from app.reference import service
from app.reference.schemas import (
    ProcedureIn,
    ProcedureItem,
    ProcedureList,
    ProcedureOut,
    UnitIn,
    UnitItem,
    UnitList,
    UnitOut,
    UnitTree,
    Upserted,
)

router = APIRouter(prefix="/api/v1", tags=["reference"])

CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.put(
    "/units/{code}",
    response_model=UnitOut,
    dependencies=[RequireAdmin],
    summary="Create or update a unit",
    description="Describes a unit of the tree: name, free level label, parent, and its life "
    "(`valid_from`, `valid_to`, inclusive; null: unbounded) and `successor_code` (the unit "
    "that took over its dossiers). An unknown parent is registered as unregistered; a cycle "
    "(of parents or successors), an unknown successor or `valid_to` before `valid_from` is "
    "refused with 422. 201 when created.",
    responses={
        201: {"model": UnitOut, "description": "Created."},
        **AUTH_RESPONSES,
        **responses(Unprocessable),
    },
)
async def put_unit(
    request: Request,
    code: CodePath,
    data: UnitIn,
    response: Response,
    session: AsyncSession = SessionDep,
) -> UnitOut:
    unit, created = await service.put_unit(session=session, code=code, data=data)
    details = {**data.model_dump(mode="json"), "created": created}
    audit.record(session, request, "unit.put", target=code, details=details)
    response.status_code = 201 if created else 200
    return UnitOut.model_validate(unit)


MAX_BULK = 50_000


@router.put(
    "/units",
    response_model=Upserted,
    dependencies=[RequireAdmin],
    summary="Create or update many units at once",
    description="A JSON array of units, each the single PUT's body plus `code`. All or "
    'nothing: any bad item is a 422 with `loc` `["body", index, field]` (every bad item '
    "listed) and nothing is changed. Parents and successors may be named anywhere in the "
    "array; an unknown parent is registered as unregistered, an unknown successor is a 422.",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def put_units(
    request: Request,
    items: Annotated[list[UnitItem], Body(max_length=MAX_BULK)],
    session: AsyncSession = SessionDep,
) -> Upserted:
    created = await service.put_units(session=session, items=items)
    for item, new in zip(items, created, strict=True):  # one audit entry per item
        details = service.put_details(item, new)
        audit.record(session, request, "unit.put", target=item.code, details=details)
    return Upserted(upserted=len(created))


@router.put(
    "/procedures",
    response_model=Upserted,
    dependencies=[RequireAdmin],
    summary="Create or update many procedures at once",
    description="A JSON array of procedures, each the single PUT's body plus `code`. All or "
    'nothing: any bad item is a 422 with `loc` `["body", index, field]` and nothing is '
    "changed.",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def put_procedures(
    request: Request,
    items: Annotated[list[ProcedureItem], Body(max_length=MAX_BULK)],
    session: AsyncSession = SessionDep,
) -> Upserted:
    created = await service.put_procedures(session=session, items=items)
    for item, new in zip(items, created, strict=True):  # one audit entry per item
        details = service.put_details(item, new)
        audit.record(session, request, "procedure.put", target=item.code, details=details)
    return Upserted(upserted=len(created))


def parse_at(value: str | None, request: Request) -> date | None:
    """``at``: a date, ``all`` (None: every unit), or missing (today, in ONESTOP_TIMEZONE)."""
    if value == "all":
        return None
    if value is None:
        return datetime.now(request.app.state.settings.zone).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable("at must be a date YYYY-MM-DD or 'all'", ["query", "at"]) from None


@router.get(
    "/units",
    response_model=UnitTree | UnitList,
    summary="The unit tree",
    description="Without parameters: the tree as it stands today (units whose life, "
    "`valid_from` … `valid_to`, includes today), roots first, each unit with its `children`. "
    "`at=YYYY-MM-DD`: the tree as it stood that day; `at=all`: every unit. "
    "`flat=true`: one list. `unregistered=true`: only the codes seen in events but never "
    "described (`false`: only described ones); always a flat list, `at` ignored. A key "
    "scoped to units sees only their subtrees (each root then a root of the tree).",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def get_units(
    request: Request,
    unregistered: bool | None = Query(None, description="Filter on registration."),
    flat: bool = Query(False, description="A flat list instead of the tree."),
    at: str | None = Query(
        None,
        max_length=10,
        description="`YYYY-MM-DD`: the units valid that day (default: today); `all`: every "
        "unit, former ones included.",
        examples=["2024-03-31", "all"],
    ),
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> UnitTree | UnitList:
    day = parse_at(at, request)
    codes = await allowed_units(session, access)
    units = await service.list_units(
        session=session, unregistered=unregistered, at=day, codes=codes
    )
    if flat or unregistered is not None:
        return UnitList(units=[UnitOut.model_validate(u) for u in units])
    return UnitTree(units=service.build_tree(units))


@router.put(
    "/procedures/{code}",
    response_model=ProcedureOut,
    dependencies=[RequireAdmin],
    summary="Create or update a procedure",
    description="Describes an administrative procedure (TTHC): name, level, how far it is "
    "offered online, its sector. 201 when created.",
    responses={201: {"model": ProcedureOut, "description": "Created."}, **AUTH_RESPONSES},
)
async def put_procedure(
    request: Request,
    code: CodePath,
    data: ProcedureIn,
    response: Response,
    session: AsyncSession = SessionDep,
) -> ProcedureOut:
    procedure, created = await service.put_procedure(session=session, code=code, data=data)
    details = {**data.model_dump(mode="json"), "created": created}
    audit.record(session, request, "procedure.put", target=code, details=details)
    response.status_code = 201 if created else 200
    return ProcedureOut.model_validate(procedure)


@router.get(
    "/procedures",
    response_model=ProcedureList,
    dependencies=[RequireRead],
    summary="The procedure catalogue",
    description="All procedures, optionally of one `level`; `unregistered=true` lists codes "
    "seen only in events.",
    responses=AUTH_RESPONSES,
)
async def get_procedures(
    level: str | None = Query(None, max_length=32),
    unregistered: bool | None = Query(None),
    session: AsyncSession = ReadSessionDep,
) -> ProcedureList:
    items = await service.list_procedures(session=session, level=level, unregistered=unregistered)
    return ProcedureList(procedures=[ProcedureOut.model_validate(p) for p in items])
