"""Who is calling, and may they: the ``require_scope`` dependency every route uses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from app.auth import oidc, signing, usage
from app.auth.keys import Scope, hash_secret, same
from app.auth.models import ApiKey
from app.db import Database, get_database, pooled_driver, utcnow
from app.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key, a single sign-on token (JWT), or the bootstrap admin token.",
)


@dataclass(frozen=True)
class Principal:
    """The caller: an API key, the bootstrap admin token, or a single sign-on token.

    ``units``: the roots of the unit subtrees the caller is limited to; ``None``: every unit
    (an admin is never scoped). ``kind`` is the audit log's actor kind.
    """

    key_id: str | None
    name: str
    source: str
    scopes: frozenset[Scope]
    signing: bool = False
    units: tuple[str, ...] | None = None
    kind: str = "api_key"

    def allows(self, scope: Scope) -> bool:
        return Scope.admin in self.scopes or scope in self.scopes


ADMIN_SOURCE = "admin"


@dataclass(frozen=True)
class Credential:
    """The bearer token of a request, hashed, before its key is looked up."""

    digest: str
    admin: Principal | None = None  # the bootstrap admin token: no key to look up
    jwt: str | None = field(default=None, repr=False)  # a single sign-on token (never logged)


def _credential(
    request: Request, credentials: HTTPAuthorizationCredentials | None, db: Database
) -> Credential:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token", reason="missing")
    server_secret = request.app.state.hashing_secret
    digest = hash_secret(credentials.credentials, server_secret)
    admin_token = db.settings.admin_token
    if admin_token and same(digest, hash_secret(admin_token, server_secret)):
        return Credential(
            digest,
            Principal(None, "admin-token", ADMIN_SOURCE, frozenset(Scope), kind="admin_token"),
        )
    token = credentials.credentials
    if oidc.looks_like_jwt(token) and oidc.configured(db.settings):
        return Credential(digest, jwt=token)
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
        request.state.principal = credential.admin
        return credential.admin
    if credential.jwt is not None:
        who = await oidc.identity(request.app, db.settings, credential.jwt)
        principal = Principal(
            who.subject or None, who.name, who.source, who.scopes, units=who.units, kind="oidc"
        )
        request.state.principal = principal
        return principal
    digest = credential.digest
    key = await (_stored_key(db, digest) if driver is None else _pg_key(driver, digest))
    now = utcnow()
    if key is None:
        raise Unauthorized("unknown or revoked token", reason="unknown")
    if key.previous:
        # found by the secret before the last rotation: valid until its grace period ends
        grace = key.previous_expires_at
        if grace is None or grace <= now:
            raise Unauthorized("this key was rotated: use its new secret", reason="rotated")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("this key has expired", reason="expired")
    await usage.touch(db, key.id, key.last_used_at, now, driver)
    principal = Principal(
        key.id,
        key.name,
        key.source,
        frozenset(Scope(s) for s in key.scopes),
        key.signing,
        tuple(key.units) if key.units is not None else None,
    )
    request.state.principal = principal
    return principal


async def admit(request: Request, principal: Principal, scope: Scope) -> Principal:
    """403 unless ``principal`` holds ``scope``; for ``ingest``, a signing key's signature."""
    if not principal.allows(scope):
        raise Forbidden(f"this token lacks the '{scope.value}' scope", reason="scope")
    if scope is Scope.ingest:  # keys created with signing: true verify the request
        signing_key = principal.key_id if principal.signing else None
        await signing.enforce(request, key_id=signing_key, source=principal.source)
    return principal


_KEY_COLUMNS = (
    "id, name, source, scopes, signing, key_hash, units, expires_at, last_used_at, "
    "previous_key_hash, previous_expires_at"
)
_PG_KEY = f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
_PG_PREVIOUS_KEY = (
    f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE previous_key_hash = $1 AND revoked_at IS NULL"
)


def _json_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else list(value)


async def _pg_key(driver: Any, digest: str) -> _KeyRow | None:
    """The live key row with this hash (PostgreSQL): one prepared statement sent straight to
    asyncpg (the driver caches it per connection); SQLAlchemy's compile and result machinery
    cost more than the query. A secret replaced by a rotation is looked up second (only an
    unknown secret pays that second query)."""
    row = await driver.fetchrow(_PG_KEY, digest)
    previous = row is None
    if previous:
        row = await driver.fetchrow(_PG_PREVIOUS_KEY, digest)
    if row is None:
        return None
    return _KeyRow(
        previous,
        row["id"],
        row["name"],
        row["source"],
        _json_list(row["scopes"]) or [],
        row["signing"],
        row["key_hash"],
        _json_list(row["units"]),
        row["expires_at"],
        row["last_used_at"],
        row["previous_key_hash"],
        row["previous_expires_at"],
    )


async def _stored_key(db: Database, digest: str) -> _KeyRow | None:
    """The live key row with this hash, or None, on a pooled connection of its own.

    PostgreSQL: ``_pg_key`` on a connection that opens no transaction; a failing driver call
    drops the connection from the pool. Other backends: Core ``SELECT``s in autocommit.
    """
    if db.dialect == "postgresql":
        async with pooled_driver(db) as driver:
            return await _pg_key(driver, digest)
    table = ApiKey.__table__
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for previous, column in ((False, table.c.key_hash), (True, table.c.previous_key_hash)):
            m = (
                (
                    await connection.execute(
                        select(table).where(column == digest, table.c.revoked_at.is_(None))
                    )
                )
                .mappings()
                .first()
            )
            if m is not None:
                return _KeyRow(
                    previous,
                    m["id"],
                    m["name"],
                    m["source"],
                    list(m["scopes"]),
                    m["signing"],
                    m["key_hash"],
                    None if m["units"] is None else list(m["units"]),
                    m["expires_at"],
                    m["last_used_at"],
                    m["previous_key_hash"],
                    m["previous_expires_at"],
                )
    return None


@dataclass(frozen=True)
class _KeyRow:
    previous: bool  # found by the secret a rotation replaced, not the current one
    id: str
    name: str
    source: str
    scopes: list[str]
    signing: bool
    key_hash: str
    units: list[str] | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    previous_key_hash: str | None = None
    previous_expires_at: datetime | None = None


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
