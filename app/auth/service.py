from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import hash_secret, new_secret, visible_prefix
from app.auth.models import ApiKey
from app.auth.schemas import ApiKeyIn
from app.db import utcnow


async def create(
    *, session: AsyncSession, data: ApiKeyIn, server_secret: bytes
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (which is stored only as a hash)."""
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
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_all(*, session: AsyncSession, include_revoked: bool = False) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list((await session.execute(stmt)).scalars())


async def revoke(*, session: AsyncSession, key_id: str) -> ApiKey | None:
    key = await session.get(ApiKey, key_id)
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
