"""Reference data: the unit tree and the procedure catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import audit
from app.auth.deps import RequireAdmin, RequireRead
from app.auth.scope import Access, ReadAccess, allowed_units
from app.db import ReadSessionDep, SessionDep
from app.errors import AUTH_RESPONSES, Unprocessable, responses
from app.reference import service
from app.reference.schemas import (
    ProcedureIn,
    ProcedureList,
    ProcedureOut,
    UnitIn,
    UnitList,
    UnitOut,
    UnitTree,
)

router = APIRouter(prefix="/api/v1", tags=["reference"])

CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.put(
    "/units/{code}",
    response_model=UnitOut,
    dependencies=[RequireAdmin],
    summary="Create or update a unit",
    description="Describes a unit of the tree: name, free level label, parent. An unknown "
    "parent is registered as unregistered; a cycle is refused with 422. 201 when created.",
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


@router.get(
    "/units",
    response_model=UnitTree | UnitList,
    summary="The unit tree",
    description="Without parameters: the tree, roots first, each unit with its `children`. "
    "`flat=true`: one list. `unregistered=true`: only the codes seen in events but never "
    "described (`false`: only described ones); always a flat list. A key scoped to units "
    "sees only their subtrees (each root then a root of the tree).",
    responses=AUTH_RESPONSES,
)
async def get_units(
    unregistered: bool | None = Query(None, description="Filter on registration."),
    flat: bool = Query(False, description="A flat list instead of the tree."),
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> UnitTree | UnitList:
    codes = await allowed_units(session, access)
    units = await service.list_units(session=session, unregistered=unregistered, codes=codes)
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
