"""Read a dossier: its folded state and the events it was folded from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Access, ReadAccess, units_for
from app.db import ReadSessionDep
from app.dossiers.models import Dossier, DossierEvent
from app.dossiers.schemas import DossierOut, DossierStateOut, EventOut
from app.errors import AUTH_RESPONSES, NotFound, responses

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


@router.get(
    "/{code}",
    response_model=DossierOut,
    summary="A dossier's state and events",
    description="The current state is the fold of all the dossier's events ordered by "
    "(`occurred_at`, `event_id`): later non-null fields overwrite earlier ones. A dossier "
    "of a unit outside a scoped key's units is 404, like one that does not exist.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def get_dossier(
    code: Annotated[str, Path(min_length=1, max_length=64)],
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> DossierOut:
    stmt = select(Dossier).where(Dossier.code == code)
    units = await units_for(session, access, None)
    if units is not None:  # a scoped key: a dossier outside its units is not found
        stmt = stmt.where(Dossier.unit_code.in_(units))
    dossier = (await session.execute(stmt)).scalar_one_or_none()
    if dossier is None:
        raise NotFound(f"no dossier with code '{code}'")
    events = (
        await session.execute(
            select(DossierEvent)
            .where(DossierEvent.dossier_code == code)
            .order_by(DossierEvent.occurred_at, DossierEvent.event_id, DossierEvent.source)
        )
    ).scalars()
    return DossierOut(
        dossier_code=code,
        state=DossierStateOut.model_validate(dossier),
        events=[EventOut.model_validate(e) for e in events],
    )
