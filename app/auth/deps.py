"""Who is calling, and may they: the ``require_scope`` dependency every route uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from app.auth import oidc, signing, usage
from app.auth.keys import Scope, hash_secret, same
from app.auth.models import ApiKey
from app.auth.signing import VerifiedRequest
from app.db import Database, get_database
from app.errors import Forbidden, Unauthorized
from app.tables import utcnow

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
    # a signing key's verified request (``admit`` for ``ingest``): its id is claimed by the
    # ingest transaction the route runs (``app.ingest.service.ingest(claim=...)``)
    signed_request: VerifiedRequest | None = None

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


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, db: Database
) -> Principal:
    """The caller behind a request's bearer credentials (401 when there is none)."""
    return await resolve(request, db, _credential(request, credentials, db))


async def resolve(request: Request, db: Database, credential: Credential) -> Principal:
    """The caller behind a credential; 401 for a key that is unknown, revoked or expired, or
    for a secret a rotation replaced once its grace period is over.

    The key is read on every request (``Storage.api_key``), so a revocation takes effect at
    once in every worker: see docs/performance.md ("Single POST").
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
    now = utcnow()
    key = await db.storage.api_key(digest)
    if key is None:
        # the secret before the last rotation: valid until its grace period ends
        key = await _rotated_key(db, digest)
        if key is None:
            raise Unauthorized("unknown or revoked token", reason="unknown")
        grace = key["previous_expires_at"]
        if grace is None or grace <= now:
            raise Unauthorized("this key was rotated: use its new secret", reason="rotated")
    if key["expires_at"] is not None and key["expires_at"] <= now:
        raise Unauthorized("this key has expired", reason="expired")
    await usage.touch(db, key["id"], key["last_used_at"], now)
    units = key["units"]
    principal = Principal(
        key["id"],
        key["name"],
        key["source"],
        frozenset(Scope(s) for s in key["scopes"]),
        key["signing"],
        tuple(units) if units is not None else None,
    )
    request.state.principal = principal
    return principal


async def admit(request: Request, principal: Principal, scope: Scope) -> Principal:
    """403 unless ``principal`` holds ``scope``; for ``ingest``, a signing key's signature."""
    if not principal.allows(scope):
        raise Forbidden(f"this token lacks the '{scope.value}' scope", reason="scope")
    if scope is Scope.ingest:  # keys created with signing: true verify the request
        signing_key = principal.key_id if principal.signing else None
        verified = await signing.enforce(request, key_id=signing_key, source=principal.source)
        if verified is not None:
            return dataclasses.replace(principal, signed_request=verified)
    return principal


async def _rotated_key(db: Database, digest: str) -> Mapping[str, Any] | None:
    """The live key whose previous secret (replaced by a rotation) has this hash.

    Only a secret ``Storage.api_key`` did not know comes here (a secret in its grace period,
    or an unknown one): one indexed look-up on ``previous_key_hash``."""
    table = ApiKey.__table__
    async with db.engine.connect() as connection:
        row = (
            (
                await connection.execute(
                    select(table).where(
                        table.c.previous_key_hash == digest, table.c.revoked_at.is_(None)
                    )
                )
            )
            .mappings()
            .first()
        )
    return None if row is None else dict(row)


def require_scope(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only callers holding ``scope`` (``admin`` holds all)."""

    # The bearer scheme is the one dependency below (it puts the scheme in OpenAPI); the
    # database and the key are plain calls: FastAPI resolves every dependency of the tree
    # again on every request (docs/performance.md, "Single POST").
    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        db = await get_database(request)
        return await admit(request, await authenticate(request, credentials, db), scope)

    dependency.__name__ = f"require_{scope.value}"
    return dependency


RequireIngest = Depends(require_scope(Scope.ingest))
RequireRead = Depends(require_scope(Scope.read))
RequireAdmin = Depends(require_scope(Scope.admin))
