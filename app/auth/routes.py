"""Admin routes of access: API keys (create, list, rotate, revoke) and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import audit, service
from app.auth.deps import RequireAdmin
from app.auth.models import ApiKey, AuditEntry
from app.auth.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    AuditActor,
    AuditItem,
    AuditPage,
    RotateIn,
)
from app.auth.signing import signing_secret
from app.db import Database, SessionDep, get_database
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses

router = APIRouter(prefix="/api/v1/admin/api-keys", tags=["admin"], dependencies=[RequireAdmin])
audit_router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[RequireAdmin])

KeyId = Annotated[str, Path(min_length=1, max_length=64, description="The key's full id.")]


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key",
    description="Creates a key with the given scopes for a pushing system (`source`). The "
    "secret is returned once, in this response; only its HMAC is stored. `units` limits the "
    "key to those subtrees (registered units; not with `admin`), `expires_at` ends it (a "
    "past time is 422).",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def create_key(
    request: Request, data: ApiKeyIn, session: AsyncSession = SessionDep
) -> ApiKeyCreated:
    key, secret = await service.create(
        session=session,
        data=data,
        server_secret=request.app.state.hashing_secret,
        zone=request.app.state.settings.zone,
    )
    audit.record(session, request, "api_key.create", target=key.id, details=audit.key_details(key))
    signing = signing_secret(request.app.state.hashing_secret, key.id) if key.signing else None
    return ApiKeyCreated(**_out(key).model_dump(), key=secret, signing_secret=signing)


@router.get(
    "",
    response_model=ApiKeyList,
    summary="List API keys (without secrets)",
    description="Each key with its full `id`, `units`, `expires_at` and `last_used_at`.",
    responses=AUTH_RESPONSES,
)
async def list_keys(
    include_revoked: bool = Query(False, description="Also list revoked keys."),
    session: AsyncSession = SessionDep,
) -> ApiKeyList:
    return ApiKeyList(
        keys=[
            _out(k)
            for k in await service.list_all(session=session, include_revoked=include_revoked)
        ]
    )


@router.post(
    "/{key_id}/rotate",
    response_model=ApiKeyCreated,
    summary="Rotate an API key's secret",
    description="The same key (id, name, source, scopes, units) with a new secret, shown only "
    "in this response. The old secret stops working at once, or after `grace_seconds` "
    "(at most 30 days). A revoked or unknown key is 404.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def rotate_key(
    request: Request,
    key_id: KeyId,
    data: RotateIn | None = None,
    session: AsyncSession = SessionDep,
) -> ApiKeyCreated:
    grace = data.grace_seconds if data is not None else 0
    rotated = await service.rotate(
        session=session,
        key_id=key_id,
        server_secret=request.app.state.hashing_secret,
        grace_seconds=grace,
    )
    if rotated is None:
        raise NotFound(f"no live API key with id '{key_id}'")
    key, secret = rotated
    audit.record(
        session, request, "api_key.rotate", target=key.id, details={"grace_seconds": grace}
    )
    return ApiKeyCreated(**_out(key).model_dump(), key=secret)


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    description="Revocation takes effect at once, on every worker. Revoking a key that is "
    "already revoked is 204 too and changes nothing: its `revoked_at` stays and no second "
    "`api_key.revoke` entry is recorded (as `onestop api-key revoke`). An unknown id is 404.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def revoke_key(request: Request, key_id: str, session: AsyncSession = SessionDep) -> Response:
    revoked = await service.revoke(session=session, key_id=key_id)
    if revoked is None:
        raise NotFound(f"no API key with id '{key_id}'")
    key, now = revoked
    if now:
        audit.record(session, request, "api_key.revoke", target=key.id, details={"name": key.name})
    return Response(status_code=204)


# --- the audit log ------------------------------------------------------------------------


def _instant(value: str | None, name: str, zone: object, end: bool) -> datetime | None:
    """A ``from``/``to`` bound: a local date (the whole day, inclusive) or a timestamp."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(0))
            return moment.replace(tzinfo=zone)  # type: ignore[arg-type]
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable(
            "expected a date (YYYY-MM-DD) or an RFC 3339 timestamp", ["query", name]
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)  # type: ignore[arg-type]


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise Unprocessable("not a cursor this route gave", ["query", "cursor"])
    return int(value)


@audit_router.get(
    "/audit",
    response_model=AuditPage,
    summary="The audit log, newest first",
    description="Every recorded change (`api_key.create`, `api_key.revoke`, `api_key.rotate`, "
    "`unit.put`, `procedure.put`, `calendar.put`, `calendar.delete`, `subscription.create`, "
    "`subscription.delete`), every export and report download (`export.dossiers`, "
    "`report.download`), and refused requests (`auth.denied`: 401/403, without their token; "
    "past 5 a minute per client address and reason, one entry with `details.aggregated` and "
    "`details.count` sums up the rest). `from`/`to`: dates (local, inclusive) or timestamps. "
    "`action`: an action, or a prefix ending in `.*` (`api_key.*`). `actor`: a key id, a "
    "token subject or a name. The log is append-only: no route changes or deletes it.",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def get_audit(
    request: Request,
    from_: str | None = Query(None, alias="from", max_length=40, description="Earliest."),
    to: str | None = Query(None, max_length=40, description="Latest (inclusive)."),
    action: str | None = Query(None, min_length=1, max_length=64),
    actor: str | None = Query(None, min_length=1, max_length=256),
    cursor: str | None = Query(None, max_length=32, description="From `next_cursor`."),
    limit: int = Query(100, ge=1, le=1000),
    session: AsyncSession = SessionDep,
    db: Database = Depends(get_database),
) -> AuditPage:
    zone = request.app.state.settings.zone
    start, end = _instant(from_, "from", zone, False), _instant(to, "to", zone, True)
    before = _cursor(cursor)
    await audit.flush(db)  # this worker's finished summaries of refused requests
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if start is not None:
        stmt = stmt.where(AuditEntry.at >= start)
    if end is not None:
        stmt = stmt.where(AuditEntry.at < end if to and len(to) == 10 else AuditEntry.at <= end)
    if action is not None:
        if action.endswith(".*"):
            stmt = stmt.where(AuditEntry.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if actor is not None:
        stmt = stmt.where(or_(AuditEntry.actor_id == actor, AuditEntry.actor_name == actor))
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    rows = list((await session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[
            AuditItem(
                id=e.id,
                at=e.at,
                action=e.action,
                actor=AuditActor(kind=e.actor_kind, id=e.actor_id, name=e.actor_name),
                target=e.target,
                request_id=e.request_id,
                client_ip=e.client_ip,
                details=e.details,
            )
            for e in rows
        ],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )
