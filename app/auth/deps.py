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
from app.db import Database, get_database, pooled_driver
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


@dataclass(frozen=True)
class Credential:
    """The bearer token of a request, hashed, before its key is looked up."""

    digest: str
    admin: Principal | None = None  # the bootstrap admin token: no key to look up


def _credential(
    request: Request, credentials: HTTPAuthorizationCredentials | None, db: Database
) -> Credential:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    server_secret = request.app.state.hashing_secret
    digest = hash_secret(credentials.credentials, server_secret)
    admin_token = db.settings.admin_token
    if admin_token and same(digest, hash_secret(admin_token, server_secret)):
        return Credential(digest, Principal(None, "admin-token", ADMIN_SOURCE, frozenset(Scope)))
    return Credential(digest)


async def read_credential(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_database),
) -> Credential:
    """The token only (401 when there is none): for a route that looks its key up itself,
    with ``resolve`` and ``admit``, on the connection it also writes with."""
    return _credential(request, credentials, db)


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_database),
) -> Principal:
    return await resolve(request, db, _credential(request, credentials, db))


async def resolve(
    request: Request, db: Database, credential: Credential, driver: Any = None
) -> Principal:
    """The caller behind a credential; 401 for a key that is unknown or revoked.

    The key is read on every request, so a revocation takes effect at once in every worker:
    see docs/performance.md ("Single POST"). ``driver``: an asyncpg connection (outside any
    transaction) to read it on, instead of one of its own from the pool.
    """
    if credential.admin is not None:
        return credential.admin
    digest = credential.digest
    key = await (_stored_key(db, digest) if driver is None else _pg_key(driver, digest))
    if key is None or not same(key.key_hash, digest):
        raise Unauthorized("unknown or revoked token")
    principal = Principal(
        key.id, key.name, key.source, frozenset(Scope(s) for s in key.scopes), key.signing
    )
    request.state.principal = principal
    return principal


async def admit(request: Request, principal: Principal, scope: Scope) -> Principal:
    """403 unless ``principal`` holds ``scope``; for ``ingest``, a signing key's signature."""
    if not principal.allows(scope):
        raise Forbidden(f"this token lacks the '{scope.value}' scope")
    if scope is Scope.ingest:  # keys created with signing: true verify the request
        signing_key = principal.key_id if principal.signing else None
        await signing.enforce(request, key_id=signing_key, source=principal.source)
    return principal


_PG_KEY = (
    "SELECT id, name, source, scopes, signing, key_hash FROM api_keys "
    "WHERE key_hash = $1 AND revoked_at IS NULL"
)


async def _pg_key(driver: Any, digest: str) -> _KeyRow | None:
    """The live key row with this hash (PostgreSQL): one prepared statement sent straight to
    asyncpg (the driver caches it per connection); SQLAlchemy's compile and result machinery
    cost more than the query."""
    row = await driver.fetchrow(_PG_KEY, digest)
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


async def _stored_key(db: Database, digest: str) -> Any:
    """The live key row with this hash, or None, on a pooled connection of its own.

    PostgreSQL: ``_pg_key`` on a connection that opens no transaction; a failing driver call
    drops the connection from the pool. Other backends: one Core ``SELECT`` in autocommit.
    """
    if db.dialect == "postgresql":
        async with pooled_driver(db) as driver:
            return await _pg_key(driver, digest)
    async with db.engine.connect() as connection:
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
        return await admit(request, principal, scope)

    dependency.__name__ = f"require_{scope.value}"
    return dependency


RequireIngest = Depends(require_scope(Scope.ingest))
RequireRead = Depends(require_scope(Scope.read))
RequireAdmin = Depends(require_scope(Scope.admin))
