"""The last event of each source, counted straight from the event store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import Scope
from app.auth.models import ApiKey
from app.dossiers.models import DossierEvent
from app.status.schemas import SourcesStatus, SourceStatus


async def sources_status(
    *,
    session: AsyncSession,
    now: datetime,
    stale_after_seconds: int,
    units: Sequence[str] | None = None,
) -> SourcesStatus:
    """Every source that sent events or holds an active ingest key, with its last activity.

    A source is stale when its last stored event is older than ``stale_after_seconds``, or
    when it has a key but has never sent anything. ``units``: only events of those units
    (a scoped caller), and only the sources that sent some.
    """
    stmt = select(
        DossierEvent.source,
        func.count(),
        func.max(DossierEvent.ingested_at),
        func.max(DossierEvent.occurred_at),
    ).group_by(DossierEvent.source)
    if units is not None:
        stmt = stmt.where(DossierEvent.unit_code.in_(list(units)))
    rows = await session.execute(stmt)
    seen = {source: (count, ingested, occurred) for source, count, ingested, occurred in rows}
    keys: dict[str, int] = {}
    for source, scopes in await session.execute(
        select(ApiKey.source, ApiKey.scopes).where(ApiKey.revoked_at.is_(None))
    ):
        if Scope.ingest.value in scopes or Scope.admin.value in scopes:
            keys[source] = keys.get(source, 0) + 1
    out = []
    for source in sorted(set(seen) | (set(keys) if units is None else set())):
        count, ingested, occurred = seen.get(source, (0, None, None))
        silent = max(0, int((now - ingested).total_seconds())) if ingested else None
        out.append(
            SourceStatus(
                source=source,
                events=count,
                last_ingested_at=ingested,
                last_occurred_at=occurred,
                silent_seconds=silent,
                stale=silent is None or silent > stale_after_seconds,
                active_keys=keys.get(source, 0),
            )
        )
    return SourcesStatus(checked_at=now, stale_after_seconds=stale_after_seconds, sources=out)
