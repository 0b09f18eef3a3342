"""Sectors (lĩnh vực, MaLinhVuc): code -> name, so that reports by sector are readable.

Events and procedures carry a ``sector_code``; the II.06a form's "Lĩnh vực" column needs its
name. ``PUT /api/v1/sectors/{code}`` (admin) describes one, ``PUT /api/v1/sectors`` many (all
or nothing), ``GET /api/v1/sectors`` (read) lists them. A code without a name stays a code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.deps import RequireAdmin, RequireRead
from app.db import Base, ReadSessionDep, SessionDep, UTCDateTime, utcnow
from app.errors import AUTH_RESPONSES, Unprocessable, responses

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Sector(Base):
    """A sector of administrative procedures (lĩnh vực), by its national code."""

    __tablename__ = "sectors"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SectorIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"name": "Hộ tịch"}]},
    )

    name: str = Field(min_length=1, max_length=255, description="The sector's name.")


class SectorItem(SectorIn):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "HT", "name": "Hộ tịch"}]})

    code: Code


class SectorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class SectorList(BaseModel):
    sectors: list[SectorOut]


class Upserted(BaseModel):
    upserted: int


async def put_sector(session: AsyncSession, code: str, name: str) -> tuple[Sector, bool]:
    sector = await session.get(Sector, code)
    if sector is None:
        sector = Sector(code=code, name=name)
        session.add(sector)
        return sector, True
    sector.name = name
    return sector, False


async def sector_names(session: AsyncSession, codes: Iterable[str | None]) -> dict[str, str]:
    """code -> name for the given codes that are described."""
    wanted = [c for c in set(codes) if c is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(Sector.code, Sector.name).where(Sector.code.in_(wanted)))
    return {code: name for code, name in rows.all()}


router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.put(
    "/sectors/{code}",
    response_model=SectorOut,
    dependencies=[RequireAdmin],
    summary="Name a sector",
    description="Describes a sector (lĩnh vực, MaLinhVuc) by its code: reports by sector "
    "(II.06a's 'Lĩnh vực' column) show its name. 201 when created, 200 when updated.",
    responses={201: {"model": SectorOut, "description": "Created."}, **AUTH_RESPONSES},
)
async def put_one(
    code: CodePath, data: SectorIn, response: Response, session: AsyncSession = SessionDep
) -> SectorOut:
    sector, created = await put_sector(session, code, data.name)
    response.status_code = 201 if created else 200
    return SectorOut.model_validate(sector)


@router.put(
    "/sectors",
    response_model=Upserted,
    dependencies=[RequireAdmin],
    summary="Name many sectors (all or nothing)",
    description="A JSON array of `{code, name}`. A bad item is 422 with `loc` "
    '`["body", index, field]` and nothing is changed.',
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def put_many(items: list[SectorItem], session: AsyncSession = SessionDep) -> Upserted:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.code in seen:
            raise Unprocessable("the same code twice in one array", ["body", index, "code"])
        seen.add(item.code)
    for item in items:
        await put_sector(session, item.code, item.name)
    return Upserted(upserted=len(items))


@router.get(
    "/sectors",
    response_model=SectorList,
    dependencies=[RequireRead],
    summary="The sectors",
    description="Every described sector, by code.",
    responses=AUTH_RESPONSES,
)
async def get_sectors(session: AsyncSession = ReadSessionDep) -> SectorList:
    rows = (await session.execute(select(Sector).order_by(Sector.code))).scalars()
    return SectorList(sectors=[SectorOut.model_validate(s) for s in rows])
