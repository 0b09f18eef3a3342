"""Who is pushing in the national format: a bearer key, the envelope's ``session``, or
(opt-in) a trusted network.

National clients do not send ``Authorization: Bearer`` (docs/dvcqg.md, "The clients"): OpenCPS
logs in to the portal and puts the session it got into the body, two others send no credential
at all. Every way in ends in ``app.auth.deps.resolve`` with the hash of an API key, so the
caller is the same ``Principal`` the bearer dependency builds (scopes, source, and whatever
that function checks of the key: revoked, expired), and ``admit`` checks the scope.

- ``session`` holds an API key's secret, or a token from ``POST /api/v1/dvcqg/login``. Session
  tokens are stored as the HMAC-SHA256 under the server secret (like keys), looked up by that
  hash and compared in constant time; a session expires by itself
  (``ONESTOP_DVCQG_SESSION_TTL_SECONDS``) and with its key, since each use resolves the key.
- ``ONESTOP_DVCQG_TRUSTED_NETWORKS`` (``<cidr>=<key id>``, empty by default) admits a push that
  carries no credential at all from an address in the range as that key.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta
from typing import Any

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, select

from app.auth import deps
from app.auth.deps import Credential, Principal
from app.auth.keys import Scope, hash_secret, same
from app.auth.models import ApiKey
from app.db import Database, get_database, utcnow
from app.dvcqg.models import DvcqgSession
from app.errors import Unauthorized

SESSION_PREFIX = "dvs_"

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key, or the bootstrap admin token; national clients may instead put "
    "a key's secret or a session from POST /api/v1/dvcqg/login in the body's \"session\".",
)

MISSING = (
    'missing credential: send Authorization: Bearer <key>, or "session" in the envelope '
    '{"session": ..., "service": ..., "data": [...]} (a key\'s secret, or a session from '
    "POST /api/v1/dvcqg/login)"
)


def envelope_session(raw: bytes) -> str | None:
    """The envelope's ``session`` text, if the body is an envelope that has one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(body, dict):
        session = body.get("session")
        if isinstance(session, str) and session.strip():
            return session.strip()
    return None


async def _key_hash(db: Database, key_id: str) -> str | None:
    async with db.sessionmaker() as session:
        return (
            await session.execute(select(ApiKey.key_hash).where(ApiKey.id == key_id))
        ).scalar_one_or_none()


async def _session_key(db: Database, digest: str) -> str | None:
    """The key id of a live session with this hash."""
    async with db.sessionmaker() as session:
        row = (
            await session.execute(
                select(DvcqgSession.session_hash, DvcqgSession.key_id).where(
                    DvcqgSession.session_hash == digest, DvcqgSession.expires_at > utcnow()
                )
            )
        ).first()
    if row is None or not same(row.session_hash, digest):
        return None
    return str(row.key_id)


async def key_principal(request: Request, db: Database, key_id: str) -> Principal:
    """The caller a key id stands for, checked as a bearer of that key would be (401 when the
    key is unknown, revoked or no longer valid)."""
    key_hash = await _key_hash(db, key_id)
    if key_hash is None:
        raise Unauthorized("unknown or revoked token")
    return await deps.resolve(request, db, Credential(key_hash))


async def session_principal(request: Request, db: Database, token: str) -> Principal:
    """The caller behind an envelope ``session``: a session token, else an API key's secret
    (or the admin token), exactly as if it came as a bearer token."""
    digest = hash_secret(token, request.app.state.hashing_secret)
    if token.startswith(SESSION_PREFIX):
        key_id = await _session_key(db, digest)
        if key_id is None:
            raise Unauthorized(
                "unknown or expired session: log in again (POST /api/v1/dvcqg/login)"
            )
        return await key_principal(request, db, key_id)
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    return await deps.authenticate(request, credentials, db)


def trusted_key(request: Request, db: Database) -> str | None:
    """The key a trusted network range stands for, for the caller's address (opt-in)."""
    trusted = db.settings.dvcqg_trusted
    if not trusted or request.client is None:
        return None
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return None
    for network, key_id in trusted:
        if address.version == network.version and address in network:
            return key_id
    return None


async def national_ingest(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_database),
) -> Principal:
    """The ``ingest`` dependency of the national routes: bearer, else the envelope's
    ``session``, else (opt-in) a trusted network; 401 when none, 403 without the scope."""
    if "authorization" in request.headers:
        principal = await deps.authenticate(request, credentials, db)
    elif (token := envelope_session(await request.body())) is not None:
        principal = await session_principal(request, db, token)
    elif (key_id := trusted_key(request, db)) is not None:
        principal = await key_principal(request, db, key_id)
    else:
        raise Unauthorized(MISSING)
    return await deps.admit(request, principal, Scope.ingest)


async def login(request: Request, db: Database, username: str, password: str) -> dict[str, Any]:
    """Trade a key's id and secret for a session token (shown only here); 401 otherwise.

    Expired sessions are deleted here, so the table holds only live ones and the recent past.
    """
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=password)
    principal = await deps.authenticate(request, credentials, db)
    if principal.key_id is None or not same(principal.key_id, username):
        raise Unauthorized("unknown key id or wrong secret")
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    ttl = db.settings.dvcqg_session_ttl_seconds
    async with db.sessionmaker() as session, session.begin():
        await session.execute(delete(DvcqgSession).where(DvcqgSession.expires_at <= now))
        session.add(
            DvcqgSession(
                session_hash=hash_secret(token, request.app.state.hashing_secret),
                key_id=principal.key_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
    return {"session": token, "expires_in": ttl}
