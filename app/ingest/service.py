"""Store events exactly once and keep their dossiers folded, a batch per transaction.

One function for one event and for a batch, on every database: validate → insert →
classify → fold → upsert, against the ``WriteTx`` of ``db.storage`` (``app/storage/``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import operator
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

import app.storage.columns as columns
from app.auth.signing import VerifiedRequest
from app.db import Database, utcnow
from app.dossiers.service import apply_events
from app.errors import clean_validation_errors
from app.ingest.schemas import (
    EventIn,
    ItemError,
    ItemOutcome,
    ItemResultKind,
    ValidationContext,
    event_model,
)
from app.observability.prometheus import record_ingest
from app.storage.base import REFERENCE_FIELDS, RetryableConflict, WriteTx

log = logging.getLogger("onestop.ingest")

_DEADLOCK_RETRIES = 4


@dataclass
class IngestOutcome:
    results: list[ItemOutcome]
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0
    dossiers_changed: int = 0
    conflict_ids: list[str] = field(default_factory=list)
    # per reference field (``unit_code``, ``procedure_code``), whether each code of the
    # stored events names a registered unit or procedure, as the insert read it
    registered: dict[str, dict[str, bool]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return self.invalid + self.conflicts


@dataclass
class _Valid:
    index: int
    event: EventIn
    body_hash: str
    payload: Any


def validate_items(
    items: Sequence[Any], ctx: ValidationContext
) -> tuple[list[_Valid], list[ItemOutcome]]:
    """Validate each item on its own: one bad item never spoils its neighbours."""
    valid: list[_Valid] = []
    invalid: list[ItemOutcome] = []
    for index, item in enumerate(items):
        try:
            event = event_model(ctx).model_validate(item, context=ctx)
        except ValidationError as exc:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            invalid.append(
                ItemOutcome(
                    index,
                    event_id if isinstance(event_id, str) and len(event_id) <= 128 else None,
                    "invalid",
                    [ItemError(**e) for e in clean_validation_errors(exc.errors())],
                )
            )
            continue
        if ctx.units is not None and event.unit_code not in ctx.units:
            # a scoped key: nothing stored, and no unknown code registered
            message = f"unit '{event.unit_code}' is outside this key's units"
            error = ItemError(loc=["unit_code"], msg=message, type="unit_scope")
            invalid.append(ItemOutcome(index, event.event_id, "invalid", [error]))
            continue
        valid.append(_Valid(index, event, event.body_hash(), item))
    return valid, invalid


async def ingest(
    db: Database,
    *,
    source: str,
    items: Sequence[Any],
    ctx: ValidationContext,
    claim: VerifiedRequest | None = None,
) -> IngestOutcome:
    """Validate, store and fold events; every valid one is stored or reported as not new.

    The events are one transaction: applied whole or (on a database failure) not at all, so
    a client may simply resend them. Collisions between concurrent writers (deadlocks) are
    retried. ``claim``: a signed request, whose id is recorded in that transaction first.
    """
    valid, invalid = validate_items(items, ctx)

    async def attempt() -> IngestOutcome:
        outcome = IngestOutcome(results=[])
        fresh = _first_of_each_id(valid, outcome)
        if not fresh and claim is None:
            return outcome
        async with db.storage.write() as tx:
            if claim is not None:
                await claim.claim(tx)
            if fresh:
                await _store(tx, source=source, fresh=fresh, zone=db.settings.zone, outcome=outcome)
        return outcome

    return _finish(await _retrying(attempt), invalid, source)


def _first_of_each_id(valid: list[_Valid], outcome: IngestOutcome) -> list[_Valid]:
    """The first item of each event id, in id order; a repeat within the same call is judged
    against its first occurrence."""
    first: dict[str, _Valid] = {}
    for item in valid:
        seen = first.get(item.event.event_id)
        if seen is None:
            first[item.event.event_id] = item
        else:
            _record(outcome, item, "duplicate" if seen.body_hash == item.body_hash else "conflict")
    # in id order: concurrent writers then insert shared ids in the same order
    return sorted(first.values(), key=lambda v: v.event.event_id)


async def _store(
    tx: WriteTx, *, source: str, fresh: list[_Valid], zone: Any, outcome: IngestOutcome
) -> None:
    """Insert (which registers unknown codes and then locks the dossiers of the events it
    stored), classify, then fold what was new into its dossiers.

    The dossiers are locked only after the insert: concurrent batches of one sync share
    dossiers, and holding their locks through the insert made them queue
    (bench/HISTORY.md, "Batch ingest"). The fold stays exact: under the lock, each
    statement sees every event committed by the previous holder, and ``apply_events``
    replays a dossier whenever one of its new events sorts before its folded state. An
    event another writer inserted but has not folded yet is folded by that writer, which
    locks after this one commits. Only dossiers with accepted events are locked.
    """
    now = utcnow()
    rows = [_event_row(item, source, now) for item in fresh]
    inserted = await tx.insert_events(source, rows)
    for name in REFERENCE_FIELDS:
        at = columns.EVENT_NAMES.index(name)
        unregistered = inserted.unregistered.get(name, set())
        outcome.registered[name] = {
            row[at]: row[at] not in unregistered for row in rows if row[at] is not None
        }
    accepted = []
    for item, row in zip(fresh, rows, strict=True):
        event_id = item.event.event_id
        if event_id in inserted.ids:
            _record(outcome, item, "accepted")
            accepted.append(row)
        else:
            same = inserted.stored.get(event_id) == item.body_hash
            _record(outcome, item, "duplicate" if same else "conflict")
    if not accepted:
        return
    events = [columns.fold_event_of_row(row) for row in accepted]
    outcome.dossiers_changed = await apply_events(tx, events, zone=zone)


# The values of an event row that do not come from the event's own fields.
_ROW_EXTRAS = frozenset({"source", "body_hash", "payload", "ingested_at"})
_FROM_EVENT = tuple(n for n in columns.EVENT_NAMES if n not in _ROW_EXTRAS)
_missing = set(_FROM_EVENT) - set(EventIn.model_fields)
assert not _missing, f"dossier_events columns without an EventIn field: {_missing}"


def _event_row(item: _Valid, source: str, now: datetime) -> tuple[Any, ...]:
    """The event as stored: its values in ``columns.EVENT_COLUMNS`` order, each event field
    taken by its column's name (enums as their values)."""
    e = item.event
    extras = {
        "source": source,
        "body_hash": item.body_hash,
        "payload": item.payload,
        "ingested_at": now,
    }
    return tuple(
        extras[name] if name in extras else _plain(getattr(e, name)) for name in columns.EVENT_NAMES
    )


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


async def _retrying(run: Callable[[], Awaitable[IngestOutcome]]) -> IngestOutcome:
    """Run one ingest transaction, again after a collision with another writer."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await run()
        except RetryableConflict as exc:
            if attempt >= _DEADLOCK_RETRIES:
                raise
            log.info("retrying ingest after %s", exc)
            await asyncio.sleep(0.01 * attempt)


def _finish(outcome: IngestOutcome, invalid: list[ItemOutcome], source: str) -> IngestOutcome:
    """Add the invalid items, put the results in item order, count them in the metrics."""
    outcome.results.extend(invalid)
    outcome.invalid = len(invalid)
    outcome.results.sort(key=_by_index)
    record_ingest(
        source,
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        conflicts=outcome.conflicts,
        invalid=outcome.invalid,
    )
    return outcome


_by_index = operator.attrgetter("index")


def _record(outcome: IngestOutcome, item: _Valid, kind: ItemResultKind) -> None:
    outcome.results.append(ItemOutcome(item.index, item.event.event_id, kind))
    if kind == "accepted":
        outcome.accepted += 1
    elif kind == "duplicate":
        outcome.duplicates += 1
    else:
        outcome.conflicts += 1
        outcome.conflict_ids.append(item.event.event_id)
