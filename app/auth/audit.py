"""The audit log: who changed or took what, append-only, written with the change itself.

- :func:`record` adds an entry to the caller's session, so it commits (or rolls back) in the
  SAME transaction as the change it records: a change without its entry, or an entry for a
  change that did not happen, cannot exist. Every admin route that changes something calls it
  (``api_key.*``, ``unit.put``, ``procedure.put``, ``calendar.*``, ``subscription.*``).
- :func:`record_cli` is :func:`record` for a change made from the command line (``onestop
  api-key create|rotate|revoke``, ``onestop units|procedures import``): the same entry as the
  HTTP route's, with the actor kind ``cli`` named ``cli:<OS user>``.
- :func:`record_now` writes an entry in a transaction of its own, for what changes nothing but
  must be known (``export.dossiers``, ``report.download``).
- :func:`denied` records refused requests (401 and 403, ``auth.denied``) without their token,
  flood-proof by aggregation: per worker and per (client address, reason) and minute, the
  first ``DETAILED_PER_WINDOW`` refusals are written one by one; the rest are only counted,
  and one summary entry (``details.aggregated``: true, ``details.count``) is written when that
  minute is over (at the next refusal or the next read of the log on that worker). Past
  ``MAX_KEYS`` distinct (address, reason) pairs in a minute, the others share one pair
  (``client_ip`` "*"), and at most ``MAX_DETAILED_PER_MINUTE`` detailed entries are written a
  minute in all. So a flood writes at most a few hundred rows a minute per worker.

The table refuses UPDATE and DELETE (a trigger, on PostgreSQL and SQLite); no route changes it.
Entries never hold a secret: details under a secret-like name are dropped (``_clean``).
"""

from __future__ import annotations

import getpass
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, AuditEntry
from app.db import Database, utcnow

log = logging.getLogger("onestop.audit")

ACTIONS = (
    "api_key.create",
    "api_key.revoke",
    "api_key.rotate",
    "unit.put",
    "procedure.put",
    "calendar.put",
    "calendar.delete",
    "subscription.create",
    "subscription.delete",
    "export.dossiers",
    "report.download",
    "auth.denied",
)
SECRET_NAMES = frozenset(
    {"key", "secret", "token", "password", "session", "signing_secret", "authorization"}
)
DETAILED_PER_WINDOW = 5
MAX_DETAILED_PER_MINUTE = 120
MAX_KEYS = 200
WINDOW_SECONDS = 60


def _clean(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if details is None:
        return None
    return {k: v for k, v in details.items() if k.lower() not in SECRET_NAMES}


def _actor(request: Request | None) -> tuple[str, str | None, str | None]:
    principal = getattr(request.state, "principal", None) if request is not None else None
    if principal is None:
        return ("anonymous", None, None) if request is not None else ("system", None, None)
    return principal.kind, principal.key_id, principal.name


def _client_ip(request: Request | None) -> str | None:
    if request is None or request.client is None:
        return None
    return request.client.host[:64]


def _values(
    request: Request | None,
    action: str,
    target: str | None,
    details: dict[str, Any] | None,
    at: datetime | None = None,
) -> dict[str, Any]:
    kind, actor_id, actor_name = _actor(request)
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    return {
        "at": at or utcnow(),
        "action": action,
        "actor_kind": kind,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "target": None if target is None else str(target)[:512],
        "request_id": request_id,
        "client_ip": _client_ip(request),
        "details": _clean(details),
    }


def record(
    session: AsyncSession,
    request: Request | None,
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an entry to ``session``: it commits with the change the session makes.

    ``request`` gives the actor (the authenticated caller), the ``X-Request-ID`` and the
    client address; ``None`` for a change made outside a request (the actor ``system``; the
    command line uses :func:`record_cli`).
    """
    session.add(AuditEntry(**_values(request, action, target, details)))


def os_user() -> str:
    """The login that runs this process (``LOGNAME``/``USER``, else the password database),
    else its numeric uid (a container without a passwd entry)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}"


def record_cli(
    session: AsyncSession,
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """:func:`record` for a change made from the command line: the actor is kind ``cli``,
    named ``cli:<OS user>``; there is no request id or client address."""
    values = _values(None, action, target, details)
    values.update(actor_kind="cli", actor_name=f"cli:{os_user()}"[:256])
    session.add(AuditEntry(**values))


def key_details(key: ApiKey) -> dict[str, Any]:
    """What ``api_key.create`` records of a key (from the route and the CLI alike): never its
    secret or hash."""
    return {
        "name": key.name,
        "source": key.source,
        "scopes": key.scopes,
        "units": key.units,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "signing": key.signing,
    }


async def record_now(
    db: Database,
    request: Request | None,
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write an entry in a transaction of its own (for reads worth recording)."""
    async with db.engine.begin() as connection:
        await connection.execute(insert(AuditEntry), [_values(request, action, target, details)])


# --- refused requests ---------------------------------------------------------------------


@dataclass
class _Window:
    minute: int
    written: int = 0
    suppressed: int = 0
    last_path: str | None = None


_windows: dict[tuple[str, str], _Window] = {}
_detailed: dict[int, int] = {}  # minute -> detailed entries written by this worker


def _summary(key: tuple[str, str], window: _Window) -> dict[str, Any]:
    ip, reason = key
    return {
        "at": utcnow(),
        "action": "auth.denied",
        "actor_kind": "anonymous",
        "actor_id": None,
        "actor_name": None,
        "target": window.last_path,
        "request_id": None,
        "client_ip": None if ip == "*" else ip,
        "details": {
            "aggregated": True,
            "reason": reason,
            "count": window.suppressed,
            "window_start": datetime.fromtimestamp(window.minute * WINDOW_SECONDS, UTC).isoformat(),
        },
    }


def _due_summaries(minute: int) -> list[dict[str, Any]]:
    """Summary rows of the windows that ended before ``minute`` (and forget those windows)."""
    rows = []
    for key in [k for k, w in _windows.items() if w.minute < minute]:
        window = _windows.pop(key)
        if window.suppressed:
            rows.append(_summary(key, window))
    for old in [m for m in _detailed if m < minute]:
        del _detailed[old]
    return rows


async def flush(db: Database, now: float | None = None) -> None:
    """Write the summaries of this worker's finished minutes (reading the log calls it)."""
    rows = _due_summaries(int(time.time() if now is None else now) // WINDOW_SECONDS)
    if rows:
        async with db.engine.begin() as connection:
            await connection.execute(insert(AuditEntry), rows)


def forget() -> None:
    """Drop this worker's counts of refused requests, unwritten summaries included (tests)."""
    _windows.clear()
    _detailed.clear()


async def denied(request: Request, status_code: int, reason: str, message: str) -> None:
    """Record a refused request (never its token), aggregated as the module says."""
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:
        return
    minute = int(time.time()) // WINDOW_SECONDS
    rows = _due_summaries(minute)
    key = (_client_ip(request) or "-", reason)
    if key not in _windows and len(_windows) >= MAX_KEYS:
        key = ("*", reason)
    window = _windows.setdefault(key, _Window(minute))
    path = request.url.path[:512]
    if window.written < DETAILED_PER_WINDOW and _detailed.get(minute, 0) < MAX_DETAILED_PER_MINUTE:
        window.written += 1
        _detailed[minute] = _detailed.get(minute, 0) + 1
        details = {
            "status": status_code,
            "reason": reason,
            "method": request.method,
            "message": message[:300],
        }
        rows.append(_values(request, "auth.denied", path, details))
    else:
        window.suppressed += 1
        window.last_path = path
    if not rows:
        return
    try:
        async with db.engine.begin() as connection:
            await connection.execute(insert(AuditEntry), rows)
    except Exception:  # the refusal is answered whatever happens to its record
        log.warning("could not record a refused request in the audit log", exc_info=True)
