"""Who is calling, and may they: the ``require_scope`` dependency every route uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
    # Read on every request, so a revocation takes effect at once in every worker; one Core
    # statement in autocommit (no BEGIN/ROLLBACK round trips, no ORM object): see
    # docs/performance.md.
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        key = (
            await connection.execute(
                select(ApiKey.__table__).where(
                    ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                )
            )
        ).first()
    if key is None or not same(key.key_hash, digest):
        raise Unauthorized("unknown or revoked token")
    principal = Principal(
        key.id, key.name, key.source, frozenset(Scope(s) for s in key.scopes), key.signing
    )
    request.state.principal = principal
    return principal


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
