"""Who is calling, and may they: the ``require_scope`` dependency every route uses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from app.auth import signing
from app.auth.keys import Scope, hash_secret, same
from app.auth.models import ApiKey
from app.db import Database, get_database
from app.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key, or the bootstrap admin token.")


@dataclass(frozen=True)
class Principal:
    key_id: str | None
    name: str
    source: str
    scopes: frozenset[Scope]
    signing: bool = False

    def allows(self, scope: Scope) -> bool:
        return Scope.admin in self.scopes or scope in self.scopes


ADMIN_SOURCE = "admin"


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_database),
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    token = credentials.credentials
    settings = db.settings
    server_secret = request.app.state.hashing_secret
    digest = hash_secret(token, server_secret)
    if settings.admin_token and same(digest, hash_secret(settings.admin_token, server_secret)):
        return Principal(None, "admin-token", ADMIN_SOURCE, frozenset(Scope))
    # Read on every request, so a revocation takes effect at once in every worker: see
    # docs/performance.md ("Single POST").
    key = await _stored_key(db, digest)
    if key is None or not same(key.key_hash, digest):
        raise Unauthorized("unknown or revoked token")
    principal = Principal(
        key.id, key.name, key.source, frozenset(Scope(s) for s in key.scopes), key.signing
    )
    request.state.principal = principal
    return principal


_PG_KEY = (
    "SELECT id, name, source, scopes, signing, key_hash FROM api_keys "
    "WHERE key_hash = $1 AND revoked_at IS NULL"
)


async def _stored_key(db: Database, digest: str) -> Any:
    """The live key row with this hash, or None.

    PostgreSQL: one prepared statement sent straight to asyncpg (the driver caches it per
    connection) on a pooled connection that opens no transaction; SQLAlchemy's compile and
    result machinery cost more than the query. Other backends: one Core ``SELECT`` in
    autocommit. A failing driver call drops the connection from the pool.
    """
    async with db.engine.connect() as connection:
        if db.dialect == "postgresql":
            raw = await connection.get_raw_connection()
            try:
                row = await raw.driver_connection.fetchrow(_PG_KEY, digest)  # type: ignore[union-attr]
            except BaseException:
                await connection.invalidate()
                raise
            if row is None:
                return None
            scopes = row["scopes"]
            return _KeyRow(
                row["id"],
                row["name"],
                row["source"],
                json.loads(scopes) if isinstance(scopes, str) else scopes,
                row["signing"],
                row["key_hash"],
            )
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (
            await connection.execute(
                select(ApiKey.__table__).where(
                    ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                )
            )
        ).first()


@dataclass(frozen=True)
class _KeyRow:
    id: str
    name: str
    source: str
    scopes: list[str]
    signing: bool
    key_hash: str


def require_scope(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only callers holding ``scope`` (``admin`` holds all)."""

    async def dependency(
        request: Request, principal: Principal = Depends(authenticate)
    ) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"this token lacks the '{scope.value}' scope")
        if scope is Scope.ingest:
            await signing.enforce(request, principal)  # keys created with signing: true
        return principal

    dependency.__name__ = f"require_{scope.value}"
    return dependency


RequireIngest = Depends(require_scope(Scope.ingest))
RequireRead = Depends(require_scope(Scope.read))
RequireAdmin = Depends(require_scope(Scope.admin))
