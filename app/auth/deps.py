"""Who is calling, and may they: the ``require_scope`` dependency every route uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import signing
from app.auth.keys import Scope, hash_secret, same
from app.auth.signing import VerifiedRequest
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


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_database),
) -> Principal:
    return await resolve(request, db, _credential(request, credentials, db))


async def resolve(request: Request, db: Database, credential: Credential) -> Principal:
    """The caller behind a credential; 401 for a key that is unknown or revoked.

    The key is read on every request (``Storage.api_key``), so a revocation takes effect at
    once in every worker: see docs/performance.md ("Single POST").
    """
    if credential.admin is not None:
        return credential.admin
    digest = credential.digest
    key = await db.storage.api_key(digest)
    if key is None or not same(key["key_hash"], digest):
        raise Unauthorized("unknown or revoked token")
    principal = Principal(
        key["id"],
        key["name"],
        key["source"],
        frozenset(Scope(s) for s in key["scopes"]),
        key["signing"],
    )
    request.state.principal = principal
    return principal


async def admit(request: Request, principal: Principal, scope: Scope) -> Principal:
    """403 unless ``principal`` holds ``scope``; for ``ingest``, a signing key's signature."""
    if not principal.allows(scope):
        raise Forbidden(f"this token lacks the '{scope.value}' scope")
    if scope is Scope.ingest:  # keys created with signing: true verify the request
        signing_key = principal.key_id if principal.signing else None
        verified = await signing.enforce(request, key_id=signing_key, source=principal.source)
        if verified is not None:
            return dataclasses.replace(principal, signed_request=verified)
    return principal


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
