"""Read a dossier: its folded state and the events it was folded from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import RequireRead
from app.db import ReadSessionDep
from app.dossiers.models import Dossier, DossierEvent
from app.dossiers.schemas import DossierOut, DossierStateOut, EventOut
from app.errors import AUTH_RESPONSES, NotFound, responses

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


@router.get(
    "/{code}",
    response_model=DossierOut,
    dependencies=[RequireRead],
    summary="A dossier's state and events",
    description="The current state is the fold of all the dossier's events ordered by "
    "(`occurred_at`, `event_id`): later non-null fields overwrite earlier ones.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def get_dossier(
    code: Annotated[str, Path(min_length=1, max_length=64)],
    session: AsyncSession = ReadSessionDep,
) -> DossierOut:
    dossier = await session.get(Dossier, code)
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
