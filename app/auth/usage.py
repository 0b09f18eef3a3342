"""``api_keys.last_used_at``, written cheaply: at most once a minute per key and worker.

A request with a key whose stored ``last_used_at`` is less than ``INTERVAL_SECONDS`` old
writes nothing; otherwise it writes the time once (one small ``UPDATE`` in autocommit), and
this worker then skips the key for the next ``INTERVAL_SECONDS`` whatever the stored value.
So ``last_used_at`` is at most a minute (plus one request) behind, and a busy key costs one
write a minute per worker, not one per request.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import update

from app.auth.models import ApiKey
from app.db import Database

INTERVAL_SECONDS = 60.0
_MAX_REMEMBERED = 10_000

# key id -> monotonic time this worker last wrote (or decided not to write) its last_used_at
_checked: dict[str, float] = {}


def _due(key_id: str, stored: datetime | None, now: datetime) -> bool:
    clock = time.monotonic()
    last = _checked.get(key_id)
    if last is not None and clock - last < INTERVAL_SECONDS:
        return False
    if len(_checked) >= _MAX_REMEMBERED:
        _checked.clear()
    _checked[key_id] = clock
    return stored is None or now - stored >= timedelta(seconds=INTERVAL_SECONDS)


async def touch(db: Database, key_id: str, stored: datetime | None, now: datetime) -> None:
    """Record that ``key_id`` was used at ``now``, if the stored time is a minute old."""
    if not _due(key_id, stored, now):
        return
    async with db.engine.begin() as connection:
        await connection.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def forget() -> None:
    """Drop what this worker remembers (tests, to see the next use written)."""
    _checked.clear()
