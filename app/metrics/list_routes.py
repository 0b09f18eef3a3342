"""The lists of dossiers to urge units with (``lists.py``), under ``/api/v1/dossiers``.

They live with the metrics because they are the metrics' populations: open, overdue, resolved
and late mean here what they mean in ``formulas.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import RequireRead
from app.db import ReadSessionDep
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.metrics.lists import DossierList, ListQuery, ListState, list_dossiers
from app.metrics.service import check_dates, scope_of

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


@router.get(
    "",
    response_model=DossierList,
    dependencies=[RequireRead],
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
    session: AsyncSession = ReadSessionDep,
) -> DossierList:
    if from_ is not None and to is not None:
        check_dates(from_, to)
    scope = await scope_of(session, unit=unit, level=None)
    now = datetime.now(UTC)
    today = now.astimezone(request.app.state.settings.zone).date()
    query = ListQuery(state, from_, to, due_within, page, page_size)
    total, items = await list_dossiers(session, scope=scope, query=query, now=now, today=today)
    return DossierList.model_validate(
        {"total": total, "page": page, "page_size": page_size, "items": items}
    )
