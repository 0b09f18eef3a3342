"""``GET /api/v1/status/sources`` (scope ``read``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Access, ReadAccess, allowed_units
from app.db import Database, SessionDep, get_database, utcnow
from app.errors import AUTH_RESPONSES
from app.status import service
from app.status.schemas import SourcesStatus

router = APIRouter(prefix="/api/v1/status", tags=["operations"])


@router.get(
    "/sources",
    response_model=SourcesStatus,
    summary="Last event of each pushing system",
    description="One row per source (each source that sent events or holds an unrevoked "
    "ingest key): events stored, when the last one was stored (`last_ingested_at`) and the "
    "latest `occurred_at`. `stale` is true when the source has been silent for longer than "
    "`ONESTOP_SOURCE_STALE_SECONDS` or has never sent anything. Read from the primary "
    "database, never a replica, so it shows what was really stored. A key scoped to units "
    "sees only the events of their dossiers (and only the sources that sent some).",
    responses=AUTH_RESPONSES,
)
async def sources(
    access: Access = ReadAccess,
    session: AsyncSession = SessionDep,
    db: Database = Depends(get_database),
) -> SourcesStatus:
    return await service.sources_status(
        session=session,
        now=utcnow(),
        stale_after_seconds=db.settings.source_stale_seconds,
        units=await allowed_units(session, access),
    )
