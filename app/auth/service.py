from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import Scope, hash_secret, new_secret, visible_prefix
from app.auth.models import ApiKey
from app.auth.schemas import ApiKeyIn
from app.db import utcnow
from app.errors import Unprocessable
from app.reference.models import Unit


async def _check_units(session: AsyncSession, data: ApiKeyIn) -> list[str] | None:
    """The key's unit roots: registered units only, and never for an admin key (422)."""
    if data.units is None:
        return None
    if Scope.admin in data.scopes:
        raise Unprocessable("an admin key is never scoped to units", ["body", "units"])
    codes = list(dict.fromkeys(data.units))
    registered = set(
        (
            await session.execute(
                select(Unit.code).where(Unit.code.in_(codes), Unit.registered.is_(True))
            )
        ).scalars()
    )
    for index, code in enumerate(data.units):
        if code not in registered:
            raise Unprocessable(f"no registered unit with code '{code}'", ["body", "units", index])
    return codes


def _check_expiry(expires_at: datetime | None, zone: ZoneInfo) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=zone)
    if expires_at <= utcnow():
        raise Unprocessable("expires_at lies in the past", ["body", "expires_at"])
    return expires_at


async def create(
    *,
    session: AsyncSession,
    data: ApiKeyIn,
    server_secret: bytes,
    zone: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh"),
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (which is stored only as a hash)."""
    units = await _check_units(session, data)
    expires_at = _check_expiry(data.expires_at, zone)
    secret = new_secret()
    key = ApiKey(
        id=uuid.uuid4().hex,
        name=data.name,
        source=data.source or data.name,
        prefix=visible_prefix(secret),
        key_hash=hash_secret(secret, server_secret),
        scopes=sorted({s.value for s in data.scopes}),
        signing=data.signing,
        created_at=utcnow(),
        units=units,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_all(*, session: AsyncSession, include_revoked: bool = False) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list((await session.execute(stmt)).scalars())


async def revoke(*, session: AsyncSession, key_id: str) -> tuple[ApiKey, bool] | None:
    """Revoke a key: the key and whether this call revoked it (None: no such key).

    A key revoked before is left as it was (its ``revoked_at`` stays) and answers False, so
    the caller records ``api_key.revoke`` only for the revocation itself. One conditional
    UPDATE decides it, so of two concurrent revocations exactly one answers True."""
    changed = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(ApiKey.id)
        .execution_options(synchronize_session=False)
    )
    revoked = changed.scalar_one_or_none() is not None
    key = await session.get(ApiKey, key_id, populate_existing=True)
    return None if key is None else (key, revoked)


async def rotate(
    *, session: AsyncSession, key_id: str, server_secret: bytes, grace_seconds: int = 0
) -> tuple[ApiKey, str] | None:
    """A new secret for a live key (None: no such live key). The old secret stops working at
    once, or after ``grace_seconds``; a secret from an earlier rotation is dropped."""
    key = (
        await session.execute(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    secret = new_secret()
    if grace_seconds > 0:
        key.previous_key_hash = key.key_hash
        key.previous_expires_at = utcnow() + timedelta(seconds=grace_seconds)
    else:
        key.previous_key_hash = key.previous_expires_at = None
    key.key_hash = hash_secret(secret, server_secret)
    key.prefix = visible_prefix(secret)
    await session.flush()
    return key, secret
