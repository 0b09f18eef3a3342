"""Store events exactly once and keep their dossiers folded, a batch per transaction."""

from __future__ import annotations

import asyncio
import json
import logging
import operator
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.signing import take_claim
from app.db import (
    Database,
    DriverSession,
    chunks,
    dialect_insert,
    dialect_of,
    driver_connection,
    driver_errors,
    utcnow,
)
from app.dossiers.fold import STATE_NAMES, Channel, DossierState, Status
from app.dossiers.models import DossierEvent
from app.dossiers.service import (
    IN_CHUNK,
    apply_events,
    lock_dossiers,
    lock_key,
    pg_text_array,
    text_column,
)
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
from app.reference.models import Procedure, Unit

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
        valid.append(_Valid(index, event, event.body_hash(), item))
    return valid, invalid


async def ingest(
    db: Database,
    *,
    source: str,
    items: Sequence[Any],
    ctx: ValidationContext,
    claim: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> IngestOutcome:
    """Validate, store and fold a batch; every valid event is stored or reported as not new.

    The batch is one transaction: it is applied whole or (on a database failure) not at all,
    so a client may simply resend it. Deadlocks between concurrent writers are retried.
    ``claim`` runs first inside that transaction (a signed request records its id there).
    """
    valid, invalid = validate_items(items, ctx)
    claim = claim or take_claim()  # a signed request's id, recorded with its events

    async def attempt() -> IngestOutcome:
        async with db.write_guard(), db.sessionmaker() as session, session.begin():
            if db.dialect == "sqlite":
                # Take SQLite's write lock now, not at the first INSERT: the look-up of
                # stored ids and the insert then see no other writer in between, even
                # from another process on the same file.
                await session.execute(text("BEGIN IMMEDIATE"))
            if claim is not None:
                await claim(session)
            return await _store(session, db, source=source, valid=valid)

    return _finish(await _retrying(attempt), invalid, source)


async def ingest_one(
    db: Database, driver: Any, *, source: str, item: Any, ctx: ValidationContext
) -> IngestOutcome:
    """``ingest`` of one unsigned event on PostgreSQL, on ``driver``: a pooled asyncpg
    connection outside any transaction (the one the caller's key was read on).

    No ``AsyncSession``: for a single event its machinery cost more than the statements
    (docs/performance.md, "Single POST"). The same outcome, transaction and retries as
    ``ingest``. A signed request's id is recorded by ``ingest`` only: refused here.
    """
    if take_claim() is not None:
        raise RuntimeError("a signed request goes through ingest(), which records its id")
    valid, invalid = validate_items([item], ctx)
    if not valid:
        return _finish(IngestOutcome(results=[]), invalid, source)
    session = DriverSession(db.engine, driver)
    # BEGIN and the dossier's lock in one round trip: a simple query (the key is an int).
    begin = f"BEGIN; SELECT pg_advisory_xact_lock({int(lock_key(valid[0].event.dossier_code))})"

    async def attempt() -> IngestOutcome:
        with driver_errors(session.as_session()):
            try:
                await driver.execute(begin)
                outcome = await _store_one_pg(session, db, source=source, item=valid[0])
                await driver.execute("COMMIT")
            except BaseException:
                if driver.is_in_transaction() and not driver.is_closed():
                    await driver.execute("ROLLBACK")  # if this fails, pooled_driver drops it
                raise
            return outcome

    return _finish(await _retrying(attempt), invalid, source)


async def _retrying(run: Callable[[], Awaitable[IngestOutcome]]) -> IngestOutcome:
    """Run one ingest transaction, again after a deadlock or serialization failure."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await run()
        except DBAPIError as exc:
            if attempt < _DEADLOCK_RETRIES and _is_retryable(exc):
                log.info("retrying batch after %s", type(exc.orig).__name__)
                await asyncio.sleep(0.01 * attempt)
                continue
            raise


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


def _is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
        getattr(exc.orig, "__cause__", None), "sqlstate", None
    )
    return sqlstate in {"40P01", "40001"}


async def _store(
    session: AsyncSession, db: Database, *, source: str, valid: list[_Valid]
) -> IngestOutcome:
    outcome = IngestOutcome(results=[])
    first: dict[str, _Valid] = {}
    for item in valid:
        seen = first.get(item.event.event_id)
        if seen is None:
            first[item.event.event_id] = item
        else:  # the same id twice in one batch: judged against its first occurrence
            _record(outcome, item, "duplicate" if seen.body_hash == item.body_hash else "conflict")
    fresh = sorted(first.values(), key=lambda v: v.event.event_id)
    if not fresh:
        return outcome
    if dialect_of(session) == "postgresql":
        with driver_errors(session):
            await _store_fresh_pg(session, db, source=source, fresh=fresh, outcome=outcome)
        return outcome

    await lock_dossiers(session, [v.event.dossier_code for v in fresh])
    known = await _stored_hashes(session, source, [v.event.event_id for v in fresh])
    inserted = await _insert_events(
        session, source, [v for v in fresh if v.event.event_id not in known]
    )
    for item in fresh:
        if item.event.event_id in inserted:
            _record(outcome, item, "accepted")
        else:
            same = known.get(item.event.event_id) == item.body_hash
            _record(outcome, item, "duplicate" if same else "conflict")

    accepted = [v.event for v in fresh if v.event.event_id in inserted]
    if accepted:
        await _register_reference(session, accepted)
        outcome.dossiers_changed = await apply_events(
            session, [e.to_fold_event(source) for e in accepted], zone=db.settings.zone
        )
    return outcome


# The stored columns of an event, in the order of ``_event_values`` between source and
# ingested_at: the batch insert and the single-event insert below both use it.
_INSERT_EVENT = """INSERT INTO dossier_events (source, event_id, dossier_code, status,
    occurred_at, unit_code, procedure_code, sector_code, channel, received_at, due_at,
    components_total, components_digitized, result_digitized, result_signed, fee_required,
    paid_online, body_hash, payload, ingested_at)"""

_PG_INSERT_EVENTS = f"""
{_INSERT_EVENT}
SELECT $1, e, d, s, o, u, p, sc, ch, r, du, ct, cd, rd, rs, fr, po, h, pl::json, $2
FROM unnest({pg_text_array("$3")}, {pg_text_array("$4")}, {pg_text_array("$5")},
    $6::timestamptz[], {pg_text_array("$7")}, {pg_text_array("$8")}, {pg_text_array("$9")},
    {pg_text_array("$10")}, $11::timestamptz[], $12::timestamptz[], $13::int[], $14::int[],
    $15::bool[], $16::bool[], $17::bool[], $18::bool[], {pg_text_array("$19")},
    {pg_text_array("$20")})
    AS t(e, d, s, o, u, p, sc, ch, r, du, ct, cd, rd, rs, fr, po, h, pl)
RETURNING event_id
"""
# Text columns are sent joined (``text_column``): see app/dossiers/service.py.
_TEXT_COLUMNS = frozenset({0, 1, 2, 4, 5, 6, 7, 16, 17})
# No ON CONFLICT here: dossier_events is partitioned by month on PostgreSQL and its
# idempotency lives in dossier_event_keys, kept by a BEFORE INSERT trigger that skips a row
# whose (source, event_id) is stored already (migration 0006_event_partitions).

_PG_STORED_HASHES = (
    "SELECT event_id, body_hash FROM dossier_event_keys "
    "WHERE source = $1 AND event_id = ANY($2::text[])"
)

_PG_REGISTER_REFERENCE = """
WITH new_units AS (
    INSERT INTO units (code, registered, created_at, updated_at)
    SELECT t.c, false, $3, $3 FROM unnest($1::text[]) AS t(c)
    WHERE NOT EXISTS (SELECT 1 FROM units WHERE units.code = t.c)
    ON CONFLICT (code) DO NOTHING
)
INSERT INTO procedures (code, registered, created_at, updated_at)
SELECT t.c, false, $3, $3 FROM unnest($2::text[]) AS t(c)
WHERE NOT EXISTS (SELECT 1 FROM procedures WHERE procedures.code = t.c)
ON CONFLICT (code) DO NOTHING
"""


# Enum ``.value`` is a descriptor lookup, slow enough to show in a 1000-event profile.
_STATUS_VALUE = {status: status.value for status in Status}
_CHANNEL_VALUE: dict[Channel | None, str] = {channel: channel.value for channel in Channel}


def _payload_json(payload: Any) -> str:
    """The event as received, as JSON text (orjson; the stdlib for what orjson refuses)."""
    try:
        return orjson.dumps(payload).decode()
    except TypeError:  # e.g. integers beyond 64 bits from a non-orjson parser
        return json.dumps(payload)


def _event_values(item: _Valid) -> tuple[Any, ...]:
    """The stored columns of an event, from ``event_id`` to ``payload`` (insert order)."""
    e = item.event
    return (
        e.event_id,
        e.dossier_code,
        _STATUS_VALUE[e.status],
        e.occurred_at,
        e.unit_code,
        e.procedure_code,
        e.sector_code,
        _CHANNEL_VALUE.get(e.channel),
        e.received_at,
        e.due_at,
        e.components_total,
        e.components_digitized,
        e.result_digitized,
        e.result_signed,
        e.fee_required,
        e.paid_online,
        item.body_hash,
        _payload_json(item.payload),
    )


# One event (``ingest_one``), under its dossier's lock (taken with BEGIN): the insert, the
# unknown unit and procedure (only when the event was new: the key trigger skips a stored one),
# and the dossier's stored state, in one statement. A single event locks before its insert
# (a batch locks after, so that concurrent batches of one sync queue less): the statement
# then starts after the lock, and in READ COMMITTED it sees every event and dossier row
# committed by the lock's previous holders, so the state it reads is the one to fold on.
_PG_INSERT_ONE = f"""
WITH ins AS (
    {_INSERT_EVENT}
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        $19::json, $20)
    RETURNING 1
), new_unit AS (
    INSERT INTO units (code, registered, created_at, updated_at)
    SELECT $6, false, $20, $20 FROM ins
    WHERE NOT EXISTS (SELECT 1 FROM units WHERE units.code = $6)
    ON CONFLICT (code) DO NOTHING
), new_procedure AS (
    INSERT INTO procedures (code, registered, created_at, updated_at)
    SELECT $7, false, $20, $20 FROM ins
    WHERE $7 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM procedures WHERE procedures.code = $7)
    ON CONFLICT (code) DO NOTHING
)
SELECT (SELECT count(*) FROM ins) AS inserted, {", ".join(f"d.{n}" for n in STATE_NAMES)}
FROM (VALUES (1)) AS one LEFT JOIN dossiers AS d ON d.code = $3
"""


async def _store_one_pg(
    session: DriverSession, db: Database, *, source: str, item: _Valid
) -> IngestOutcome:
    """``_store_fresh_pg`` for one event: one statement, then the fold's upsert."""
    outcome = IngestOutcome(results=[])
    conn = session.driver
    event = item.event
    row = await conn.fetchrow(_PG_INSERT_ONE, source, *_event_values(item), utcnow())
    if not row["inserted"]:
        known = dict(await conn.fetch(_PG_STORED_HASHES, source, [event.event_id]))
        same = known.get(event.event_id) == item.body_hash
        _record(outcome, item, "duplicate" if same else "conflict")
        return outcome
    _record(outcome, item, "accepted")
    states = {} if row["code"] is None else {row["code"]: DossierState.from_row(row)}
    outcome.dossiers_changed = await apply_events(
        session.as_session(), [event.to_fold_event(source)], zone=db.settings.zone, states=states
    )
    return outcome


async def _store_fresh_pg(
    session: AsyncSession,
    db: Database,
    *,
    source: str,
    fresh: list[_Valid],
    outcome: IngestOutcome,
) -> None:
    """PostgreSQL: the same steps as ``_store`` in a few set-based statements.

    Profiling showed SQLAlchemy's per-statement and per-row work (compiling, binding each
    row's parameters, building ORM objects) dominating a batch; here each step is one
    statement with the columns sent as arrays (``unnest``), on the session's own connection
    and transaction.
    """
    conn = await driver_connection(session)  # opens the transaction if nothing did yet
    now = utcnow()
    columns: list[list[Any]] = [[] for _ in range(18)]
    for item in fresh:
        for column, value in zip(columns, _event_values(item), strict=True):
            column.append(value)
    params = [
        text_column(column) if i in _TEXT_COLUMNS else column for i, column in enumerate(columns)
    ]
    inserted = {row[0] for row in await conn.fetch(_PG_INSERT_EVENTS, source, now, *params)}
    not_inserted = [v.event.event_id for v in fresh if v.event.event_id not in inserted]
    known: dict[str, str] = {}
    if not_inserted:
        known = dict(await conn.fetch(_PG_STORED_HASHES, source, not_inserted))
    for item in fresh:
        if item.event.event_id in inserted:
            _record(outcome, item, "accepted")
        else:
            same = known.get(item.event.event_id) == item.body_hash
            _record(outcome, item, "duplicate" if same else "conflict")
    accepted = [v.event for v in fresh if v.event.event_id in inserted]
    if not accepted:
        return
    # The dossiers are locked only now, after the event insert: concurrent batches of one
    # sync share dossiers, and holding their locks through the insert made them queue
    # (docs/performance.md, "Batch ingest"). The fold stays exact: under the lock, each
    # statement sees every event committed by the previous holder, and ``apply_events``
    # replays a dossier whenever one of its new events sorts before its folded state. An
    # event another batch inserted but has not folded yet is folded by that batch, which
    # locks after this one commits. Only dossiers with accepted events are locked.
    await lock_dossiers(session, [e.dossier_code for e in accepted])
    units = sorted({e.unit_code for e in accepted})
    procedures = sorted({e.procedure_code for e in accepted if e.procedure_code})
    await conn.execute(_PG_REGISTER_REFERENCE, units, procedures, now)
    outcome.dossiers_changed = await apply_events(
        session, [e.to_fold_event(source) for e in accepted], zone=db.settings.zone
    )


def _record(outcome: IngestOutcome, item: _Valid, kind: ItemResultKind) -> None:
    outcome.results.append(ItemOutcome(item.index, item.event.event_id, kind))
    if kind == "accepted":
        outcome.accepted += 1
    elif kind == "duplicate":
        outcome.duplicates += 1
    else:
        outcome.conflicts += 1
        outcome.conflict_ids.append(item.event.event_id)


async def _insert_events(session: AsyncSession, source: str, new: list[_Valid]) -> set[str]:
    """Insert events not stored yet (SQLite path); returns the ids inserted.

    The caller looked the stored ids up inside this transaction, which holds SQLite's write
    lock from its start (``BEGIN IMMEDIATE``), so no other writer can store one meanwhile.
    The insert has no RETURNING, so the driver's C ``executemany`` runs it (one statement per
    row with RETURNING was 80 % of a batch's time).
    """
    now = utcnow()
    rows = []
    for item in new:
        row = item.event.model_dump()
        row["status"] = _STATUS_VALUE[item.event.status]
        row["channel"] = _CHANNEL_VALUE[item.event.channel] if item.event.channel else None
        row.update(source=source, body_hash=item.body_hash, payload=item.payload, ingested_at=now)
        rows.append(row)
    insert = dialect_insert(dialect_of(session))
    stmt = insert(DossierEvent).on_conflict_do_nothing(index_elements=["source", "event_id"])
    for part in chunks(rows, 1000):
        await session.execute(stmt, part)
    return {row["event_id"] for row in rows}


async def _stored_hashes(
    session: AsyncSession, source: str, event_ids: list[str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in chunks(event_ids, IN_CHUNK):
        rows = await session.execute(
            select(DossierEvent.event_id, DossierEvent.body_hash).where(
                DossierEvent.source == source, DossierEvent.event_id.in_(part)
            )
        )
        out.update({event_id: body_hash for event_id, body_hash in rows})
    return out


async def _register_reference(session: AsyncSession, events: list[EventIn]) -> None:
    """Codes never seen before become unregistered units and procedures."""
    insert = dialect_insert(dialect_of(session))
    now = utcnow()
    units = sorted({e.unit_code for e in events})
    procedures = sorted({e.procedure_code for e in events if e.procedure_code})
    for model, codes in ((Unit, units), (Procedure, procedures)):
        for part in chunks(codes, IN_CHUNK):
            existing = set(
                (await session.execute(select(model.code).where(model.code.in_(part)))).scalars()
            )
            missing = [c for c in part if c not in existing]
            if missing:
                await session.execute(
                    insert(model).on_conflict_do_nothing(index_elements=["code"]),
                    [
                        {"code": c, "registered": False, "created_at": now, "updated_at": now}
                        for c in missing
                    ],
                )
