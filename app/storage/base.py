"""What the write path asks of a database: one small interface, one module per database.

The ingest service (``app/ingest/service.py``) and the fold's storage side
(``app/dossiers/service.py``) are written against ``Storage`` and ``WriteTx`` only; each
database spells the statements its own way in its module (``postgres.py``, ``sqlite.py``).
The module is chosen once, when the ``Database`` is built (``app.storage.build_storage``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.dossiers.fold import DossierState, FoldEvent


class RetryableConflict(Exception):
    """Two transactions collided (deadlock, serialization failure): run the whole one again.

    Raised by ``Storage.write`` in place of the database's own error."""


# The event fields whose codes name reference data (``units``, ``procedures``).
REFERENCE_FIELDS = ("unit_code", "procedure_code")


@dataclass
class Inserted:
    """What ``WriteTx.insert_events`` did: the ids it stored, and the body hashes already
    stored under the ids it did not (a duplicate when equal, a conflict when not).

    ``unregistered``: per ``REFERENCE_FIELDS`` field, those of the rows' codes that name no
    registered unit or procedure (codes first seen in this insert included): what the intake
    answer warns about (``app/ingest/warnings.py``), read in the same statement."""

    ids: set[str]
    stored: dict[str, str] = field(default_factory=dict)
    unregistered: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolStats:
    """A connection pool's numbers at the moment they were read (``/metrics`` reads them)."""

    open: int  # connections open, idle or in use
    in_use: int  # acquired by a write transaction
    capacity: int  # the most it may open


class WriteTx(Protocol):
    """One write transaction: committed when ``Storage.write``'s block ends without error."""

    async def record_request(self, source: str, msg_id: str, *, prune_before: datetime) -> bool:
        """Record a signed request's id (and forget those seen before ``prune_before``);
        False when the id was recorded already (a replay)."""
        ...

    async def insert_events(self, source: str, rows: Sequence[tuple[Any, ...]]) -> Inserted:
        """Store the events not stored yet, and register the unit and procedure codes of
        those it stored that were never seen before (as unregistered units and procedures);
        ``rows`` in ``columns.EVENT_COLUMNS`` order, with distinct event ids of ``source``.
        Reports which of the rows' codes are not registered (``Inserted.unregistered``).

        Then serialises writers of the dossiers of the events it stored (a lock held until
        the transaction ends, taken after the rows are written): a statement that starts
        after it returns sees every event committed by the previous holder."""
        ...

    async def load_states(self, codes: Sequence[str]) -> dict[str, DossierState]:
        """The stored fold states of these dossiers (none for a new one)."""
        ...

    async def load_events(self, codes: Sequence[str]) -> dict[str, list[FoldEvent]]:
        """Every stored event of these dossiers."""
        ...

    async def upsert_dossiers(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write these ``dossiers`` rows and move the metric rollups by their change."""
        ...

    async def dossier_codes(self) -> list[str]:
        """The code of every dossier that has events."""
        ...

    async def rebuild_rollups(self) -> None:
        """Recount the metric rollups from every dossier."""
        ...

    async def fetch(self, stmt: Any) -> list[tuple[Any, ...]]:
        """The rows of a SELECT (SQLAlchemy core) of reference data: the procedures'
        statutory durations and the calendar, for ``app/dossiers/derive.py``."""
        ...


class Storage(Protocol):
    """One database, as the write path and a few SQL builders see it."""

    name: str  # the SQLAlchemy dialect name, for messages and tests
    # How many connections one read request may run its statements on at once
    # (``app.db.run_in_lanes``): PostgreSQL runs each on a backend of its own, on another core
    # while the worker reads the answers that came first; SQLite reads in the worker's threads
    # of one file, and its engine may hand two sessions the same connection: one.
    read_lanes: int

    def write(self) -> AbstractAsyncContextManager[WriteTx]:
        """A write transaction (raises ``RetryableConflict`` when it should be run again)."""
        ...

    def write_guard(self) -> AbstractAsyncContextManager[None]:
        """Held around a write transaction opened elsewhere (a session): SQLite has one
        writer, so this process's writers queue here rather than in the database."""
        ...

    async def api_key(self, key_hash: str) -> Mapping[str, Any] | None:
        """The live (unrevoked) ``api_keys`` row with this hash, every column by name."""
        ...

    def write_pool_stats(self) -> PoolStats | None:
        """The write path's own connection pool now (PostgreSQL); None when there is none
        (SQLite writes on the engine's sessions) or it is not open yet."""
        ...

    async def dispose(self) -> None: ...
