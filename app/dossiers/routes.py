"""Read a dossier: its folded state and the events it was folded from."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Access, ReadAccess
from app.db import ReadSessionDep
from app.dossiers.lists import DossierList, ListQuery, ListState, list_dossiers
from app.dossiers.models import Dossier, DossierEvent
from app.dossiers.schemas import DossierOut, DossierStateOut, EventOut
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.metrics.service import check_dates, scope_of

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


@router.get(
    "",
    response_model=DossierList,
    summary="Dossiers to urge units with",
    description="`open`: received and not yet resolved, withdrawn, stopped or refused; "
    "`overdue`: open past due_at; `due_soon`: open, not yet due, due within `due_within` "
    "working days; `resolved`: resolved (first `resolved`, else `returned` event) in "
    "`from`…`to`; `late`: resolved in `from`…`to` after due_at. For open states `from`/`to` "
    "filter on the receipt date. Most overdue first (working days past due), then earliest due.",
    responses={**AUTH_RESPONSES, **responses(NotFound, Unprocessable)},
)
async def get_dossiers(
    request: Request,
    unit: str | None = Query(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Root of the subtree listed.",
    ),
    state: ListState = Query(ListState.open, description="Which dossiers."),
    due_within: int = Query(
        3, ge=0, le=366, description="`due_soon`: due within this many working days."
    ),
    from_: date | None = Query(None, alias="from", description="First day, inclusive."),
    to: date | None = Query(None, description="Last day, inclusive."),
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=500),
    access: Access = ReadAccess,
    session: AsyncSession = ReadSessionDep,
) -> DossierList:
    if from_ is not None and to is not None:
        check_dates(from_, to)
    scope = await scope_of(session, unit=unit, level=None, access=access)
    now = datetime.now(UTC)
    today = now.astimezone(request.app.state.settings.zone).date()
    query = ListQuery(state, from_, to, due_within, page, page_size)
    total, items = await list_dossiers(session, scope=scope, query=query, now=now, today=today)
    return DossierList.model_validate(
        {"total": total, "page": page, "page_size": page_size, "items": items}
    )


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
    scope = await scope_of(session, unit=None, level=None, access=access)
    dossier = (
        await session.execute(select(Dossier).where(Dossier.code == code, *scope.where()))
    ).scalar_one_or_none()
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
