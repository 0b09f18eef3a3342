"""PostgreSQL: the write path on a pool of asyncpg connections of its own.

Why its own pool rather than the engine's: the write path needs no ORM and no SQLAlchemy
statement machinery (for a single event they cost more than its statements,
docs/performance.md), and a fixed set of connections that stay open keeps every
connection's prepared statements warm; the engine's pool opened and closed overflow
connections under load, each starting with a cold statement cache (docs/performance.md,
"Single POST"). Reads, admin routes and migrations keep the engine. Driver errors are
asyncpg's own: a deadlock becomes ``RetryableConflict`` here, a lost connection is a 503 in
``app/errors.py``.

Each statement sends a batch's columns as arrays (``unnest``), one statement per step
whatever the batch size, so one event and a thousand run the same prepared statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import Column, Date, Integer, String, Table, column, table
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.visitors import iterate

import app.storage.columns as spec
from app.auth.models import ApiKey
from app.config import Settings
from app.dossiers.fold import DossierState, FoldEvent
from app.metrics import rollups
from app.storage.base import REFERENCE_FIELDS, Inserted, PoolStats, RetryableConflict
from app.storage.sql import HOLD_WRITERS
from app.tables import utcnow

NAME = "postgresql"
# asyncpg prepares a statement once per connection only if its text is at most this long
# (default 15 KiB); the dossier upsert with its rollup deltas is longer.
MAX_CACHED_STATEMENT = 256 * 1024
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
# The write path's statements look rows up by key (codes, ids, unit and day), and each runs
# prepared, many times per connection. Two planner settings make that hold on every table
# size (docs/performance.md, "Single POST", findings 4-5):
# - generic plans always: with the default, a statement whose generic plan costs more than
#   its custom ones is planned again on every execution (the event insert: 0.5 ms of
#   planning per event, pg_stat_statements);
# - no sequential scans where an index serves: a generic plan assumes ten codes per array,
#   and on a table of a few thousand dossiers chose to scan it whole for one code (0.6 ms,
#   auto_explain). The few whole-table statements (``dossier_codes``, ``rebuild_rollups``)
#   turn it back on for their transaction.
WRITE_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}
_WHOLE_TABLES = "SET LOCAL enable_seqscan = on"
# What a connection that died while idle in the pool (a server restart, a network reset)
# raises on its first statement.
_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def build_engine(url: str, settings: Settings) -> AsyncEngine:
    """The engine of reads, admin routes and migrations (the write path has its own pool)."""
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_timeout_seconds,
        pool_pre_ping=True,
        # the most recently used connection first: its prepared statements (one set per
        # connection) are warm, and the rest of the pool can sit idle
        pool_use_lifo=True,
        connect_args={"timeout": settings.db_timeout_seconds, "command_timeout": 60},
    )


# --- how columns travel ---------------------------------------------------------------------

# A statement's rows travel as one parameter: a JSON array of arrays, each row's values in
# its column order (orjson writes instants as RFC 3339, dates as ISO dates), read back by
# ``jsonb_array_elements`` with one cast per column. One parameter whatever the width: the
# array-per-column form cost ~340 µs of client CPU for one dossier (41 arrays, each element
# checked by asyncpg's encoder; docs/performance.md, "Single POST", finding 6), and its
# text columns needed a separator trick that lost a lone empty text.
_CAST = {
    "timestamptz": "timestamptz",
    "date": "date",
    "bool": "boolean",
    "int": "integer",
    "text": "text",
    "json": "json",  # sent as its JSON text, so the stored document keeps its key order
}


def _payload_json(payload: Any) -> str:
    """A JSON value as text (orjson; the stdlib for what orjson refuses)."""
    try:
        return orjson.dumps(payload).decode()
    except TypeError:  # e.g. integers beyond 64 bits from a non-orjson parser
        return json.dumps(payload)


@functools.cache
def _kind(col: Column[Any]) -> str:
    return spec.kind(col)


def _rows_from(cols: Sequence[Column[Any]], position: int, extra: Sequence[str] = ()) -> str:
    """A subquery (columns named as ``cols``, then ``extra`` bigints) over the rows sent as
    parameter ``position`` by :func:`_rows_param`."""
    fields = [f"(r->>{i})::{_CAST[_kind(c)]} AS {c.name}" for i, c in enumerate(cols)]
    fields += [f"(r->>{len(cols) + i})::bigint AS {name}" for i, name in enumerate(extra)]
    return f"(SELECT {', '.join(fields)} FROM jsonb_array_elements(${position}::jsonb) AS r)"


def _rows_param(cols: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` (values in ``cols`` order, then any extras) as the parameter of
    :func:`_rows_from`."""
    json_at = [i for i, c in enumerate(cols) if _kind(c) == "json"]
    if not json_at:
        return orjson.dumps(rows).decode()
    lists = [list(row) for row in rows]
    for values in lists:
        for i in json_at:
            values[i] = _payload_json(values[i])
    return orjson.dumps(lists).decode()


# --- the statements -------------------------------------------------------------------------

# No ON CONFLICT: dossier_events is partitioned by month and its idempotency lives in
# dossier_event_keys, kept by a BEFORE INSERT trigger that skips a row whose (source,
# event_id) is stored already (migration 0006_event_partitions): RETURNING names the new ones.
# The codes of the events stored are registered in the same statement, and the dossiers of
# the events it stored are locked at its end (two round trips less per ingest:
# docs/performance.md, "Single POST"): the lock is granted after the rows are written, as a
# separate statement would be, and the next statement (the states) starts after it.
# Look-ups of units and procedures are scalar subqueries, one index probe per code: as
# (anti-)joins, the generic plan of a prepared statement hashed the whole table for one event.
_INSERT_EVENTS = f"""
WITH src AS MATERIALIZED {_rows_from(spec.EVENT_COLUMNS, 1, ["lock_key"])},
ins AS (
    INSERT INTO {spec.EVENT_TABLE.name} ({", ".join(spec.EVENT_NAMES)})
    SELECT {", ".join(spec.EVENT_NAMES)} FROM src
    RETURNING event_id, dossier_code, unit_code, procedure_code
), new_units AS (
    INSERT INTO units (code, registered, created_at, updated_at)
    SELECT DISTINCT ins.unit_code, false, now(), now() FROM ins
    WHERE (SELECT true FROM units WHERE units.code = ins.unit_code) IS NULL
    ORDER BY 1
    ON CONFLICT (code) DO NOTHING
), new_procedures AS (
    INSERT INTO procedures (code, registered, created_at, updated_at)
    SELECT DISTINCT ins.procedure_code, false, now(), now() FROM ins
    WHERE ins.procedure_code IS NOT NULL
        AND (SELECT true FROM procedures WHERE procedures.code = ins.procedure_code) IS NULL
    ORDER BY 1
    ON CONFLICT (code) DO NOTHING
), locked AS (
    -- in key order, so two writers of the same dossiers cannot deadlock on them
    SELECT count(pg_advisory_xact_lock(s.lock_key)) AS n FROM (
        SELECT DISTINCT src.lock_key FROM src JOIN ins ON ins.event_id = src.event_id
        ORDER BY 1
    ) AS s
)
SELECT 'event_id', event_id FROM ins
UNION ALL
SELECT 'unit_code', c.code FROM (SELECT DISTINCT unit_code AS code FROM src) AS c
WHERE (SELECT u.registered FROM units AS u WHERE u.code = c.code) IS NOT TRUE
UNION ALL
SELECT 'procedure_code', c.code FROM (SELECT DISTINCT procedure_code AS code FROM src) AS c
WHERE c.code IS NOT NULL
    AND (SELECT p.registered FROM procedures AS p WHERE p.code = c.code) IS NOT TRUE
UNION ALL
SELECT 'locked', n::text FROM locked
"""
_STORED_HASHES = (
    "SELECT event_id, body_hash FROM dossier_event_keys "
    "WHERE source = $1 AND event_id = ANY($2::text[])"
)
_LOAD_STATES = (
    f"SELECT {', '.join(c.name for c in spec.STATE_COLUMNS)} FROM {spec.DOSSIER_TABLE.name} "
    "WHERE code = ANY($1::text[])"
)
_LOAD_EVENTS = (
    f"SELECT {', '.join(c.name for c in spec.FOLD_EVENT_COLUMNS)} FROM {spec.EVENT_TABLE.name} "
    "WHERE dossier_code = ANY($1::text[])"
)
_DOSSIER_CODES = f"SELECT DISTINCT dossier_code FROM {spec.EVENT_TABLE.name}"
_PRUNE_REQUESTS = "DELETE FROM signed_requests WHERE seen_at < $1"
_RECORD_REQUEST = (
    "INSERT INTO signed_requests (source, msg_id, seen_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (source, msg_id) DO NOTHING RETURNING msg_id"
)
_KEY_TABLE = cast(Table, ApiKey.__table__)
_API_KEY = (
    f"SELECT {', '.join(c.name for c in _KEY_TABLE.columns)} FROM {_KEY_TABLE.name} "
    "WHERE key_hash = $1 AND revoked_at IS NULL"
)
_KEY_JSON = frozenset(c.name for c in _KEY_TABLE.columns if spec.kind(c) == "json")


def lock_key(code: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks on a dossier code."""
    return int.from_bytes(
        hashlib.blake2b(code.encode(), digest_size=8).digest(), "big", signed=True
    )


def _sql(stmt: Any) -> str:
    dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@functools.lru_cache(maxsize=8)
def _columns(names: tuple[str, ...]) -> tuple[Column[Any], ...]:
    return tuple(spec.DOSSIER_TABLE.c[n] for n in names)


@functools.lru_cache(maxsize=8)
def _upsert_dossiers(names: tuple[str, ...]) -> str:
    """The dossier upsert of rows with these columns, in one statement with its rollup
    delta: ``old`` reads the rows before the upsert (every part of a statement sees the same
    snapshot), ``new`` is what the upsert wrote (RETURNING), and the rollups move by
    new − old (the conditions of ``rollups.per_dossier``, over ``changes``)."""
    cols = _columns(names)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "code")
    upsert = (
        f"INSERT INTO dossiers ({', '.join(names)}) SELECT {', '.join(names)} FROM src "
        f"ON CONFLICT (code) DO UPDATE SET {updates}"
    )

    all_names = spec.DOSSIER_NAMES
    changes = table("changes", *(column(n) for n in [*all_names, "sign"]))
    for name in all_names:  # typed columns, so the conditions compile as over ``dossiers``
        changes.c[name].type = spec.DOSSIER_TABLE.c[name].type
    sums_rows, histogram_rows, net_rows = rollups.per_dossier(changes, changes.c.sign)
    contributions = table(
        "contributions",
        column("unit_code", String()),
        column("day", Date()),
        *(column(n, Integer()) for n in rollups.SUMS),
    )
    processing = table(
        "processing",
        column("unit_code", String()),
        column("day", Date()),
        column("days", Integer()),
        column("n", Integer()),
    )
    processing_net = table(
        "processing_net",
        column("unit_code", String()),
        column("day", Date()),
        column("days", Integer()),
        column("n", Integer()),
    )
    statements = rollups.inserts(contributions, processing, pg_insert, processing_net)
    every = ", ".join(all_names)
    counted = sorted(
        {
            element.name
            for stmt in (sums_rows, histogram_rows, net_rows)
            for element in iterate(stmt)
            if isinstance(element, ColumnClause) and element.table is changes
        }
        - {"sign"}
    )
    ctes = [
        f"src AS MATERIALIZED {_rows_from(cols, 1)}",
        f"old AS (SELECT {every} FROM dossiers WHERE code IN (SELECT code FROM src))",
        f"new AS ({upsert} RETURNING {every})",
        f"pairs AS (SELECT {every}, -1 AS sign FROM old UNION ALL SELECT {every}, 1 FROM new)",
        # a dossier whose counted columns did not change moves no sum: left out
        "changes AS (SELECT * FROM pairs WHERE code IN (SELECT code FROM pairs GROUP BY code "
        f"HAVING count(*) = 1 OR count(DISTINCT ({', '.join(counted)})) = 2))",
        # each dossier's contributions computed once, summed per day and per month below
        f"contributions AS ({_sql(sums_rows)})",
        f"processing AS ({_sql(histogram_rows)})",
        f"processing_net AS ({_sql(net_rows)})",
    ]
    for i, stmt in enumerate(statements[:-1]):
        ctes.append(f"r{i} AS ({_sql(stmt)} RETURNING 1)")
    return f"WITH {', '.join(ctes)} {_sql(statements[-1])}"


def _fold_event(row: Any) -> FoldEvent:
    """A FoldEvent from a row in ``FOLD_EVENT_NAMES`` order (positional: no look-ups)."""
    return spec.fold_event(tuple(row))


class PostgresTx:
    """One write transaction on one asyncpg connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def record_request(self, source: str, msg_id: str, *, prune_before: datetime) -> bool:
        await self.conn.execute(_PRUNE_REQUESTS, prune_before)
        return await self.conn.fetchval(_RECORD_REQUEST, source, msg_id, utcnow()) is not None

    async def insert_events(self, source: str, rows: Sequence[tuple[Any, ...]]) -> Inserted:
        if not rows:
            return Inserted(set())
        dossier_at = spec.EVENT_NAMES.index("dossier_code")
        keyed = [(*row, lock_key(row[dossier_at])) for row in rows]
        # (what, value) rows: stored ids, unregistered codes, and the lock's one row
        found: dict[str, set[str]] = defaultdict(set)
        for kind, value in await self.conn.fetch(
            _INSERT_EVENTS, _rows_param(spec.EVENT_COLUMNS, keyed)
        ):
            found[kind].add(value)
        ids = found["event_id"]
        id_at = spec.EVENT_NAMES.index("event_id")
        others = [row[id_at] for row in rows if row[id_at] not in ids]
        stored = dict(await self.conn.fetch(_STORED_HASHES, source, others)) if others else {}
        return Inserted(ids, stored, {f: found[f] for f in REFERENCE_FIELDS})

    async def load_states(self, codes: Sequence[str]) -> dict[str, DossierState]:
        out: dict[str, DossierState] = {}
        for record in await self.conn.fetch(_LOAD_STATES, sorted(codes)):
            state = DossierState.from_values(record)
            out[state.code] = state
        return out

    async def load_events(self, codes: Sequence[str]) -> dict[str, list[FoldEvent]]:
        out: dict[str, list[FoldEvent]] = defaultdict(list)
        for row in await self.conn.fetch(_LOAD_EVENTS, sorted(codes)):
            event = _fold_event(row)
            out[event.dossier_code].append(event)
        return out

    async def upsert_dossiers(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        rows = sorted(rows, key=lambda r: r["code"])  # same lock order in every writer
        names = tuple(n for n in spec.DOSSIER_NAMES if n in rows[0])
        sent = _rows_param(_columns(names), [[row[n] for n in names] for row in rows])
        await self.conn.execute(_upsert_dossiers(names), sent)

    async def dossier_codes(self) -> list[str]:
        await self.conn.execute(_WHOLE_TABLES)
        return [r[0] for r in await self.conn.fetch(_DOSSIER_CODES)]

    async def rebuild_rollups(self) -> None:
        await self.conn.execute(_WHOLE_TABLES)
        await self.conn.execute(HOLD_WRITERS)
        for stmt in rollups.rebuild_statements(pg_insert):
            await self.conn.execute(_sql(stmt))

    async def fetch(self, stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(record) for record in await self.conn.fetch(_sql(stmt))]


async def _release(pool: Any, conn: Any) -> None:
    """Back to the pool; a connection that cannot be reset is closed by the pool instead
    (its error is not the caller's: the request's own outcome stands)."""
    with contextlib.suppress(Exception):
        await pool.release(conn)


async def _no_reset(_: Any) -> None:
    """Nothing to reset when a connection goes back: the write path keeps no session state
    (its locks are transaction-scoped), and asyncpg rolls back a transaction left open."""


class PostgresStorage:
    name = NAME
    read_lanes = 2  # the server's two cores (docs/performance.md, finding 13)

    def __init__(self, url: str, settings: Settings) -> None:
        self.settings = settings
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def pool(self) -> Any:
        """The pool, opened on first use (so the app starts while the database is down)."""
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        # connections open on demand (up to the engine's pool size plus its
                        # overflow), then stay open: none is closed after a burst, so none
                        # starts again with a cold statement cache
                        min_size=0,
                        max_size=self.settings.db_pool_size + self.settings.db_max_overflow,
                        max_inactive_connection_lifetime=0,
                        reset=_no_reset,
                        timeout=self.settings.db_timeout_seconds,
                        command_timeout=60,
                        max_cacheable_statement_size=MAX_CACHED_STATEMENT,
                        server_settings=WRITE_SETTINGS,
                    )
        return self._pool

    async def _first(self, statement: Any) -> tuple[Any, Any]:
        """A pooled connection and the result of ``statement(conn)``, its first statement.

        A connection that died while idle fails its first statement: it is dropped and the
        statement tried once more on a fresh one (nothing ran on the dead one, so this is
        safe); the pool's check on every checkout that SQLAlchemy does (a ping) is saved.
        """
        pool = await self.pool()
        for attempt in (1, 2):
            conn = await pool.acquire(timeout=self.settings.db_timeout_seconds)
            try:
                return conn, await statement(conn)
            except _LOST:
                await _release(pool, conn)
                if attempt == 2:
                    raise
            except BaseException:
                await _release(pool, conn)
                raise
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[PostgresTx]:
        pool = await self.pool()

        async def begin(conn: Any) -> Any:
            transaction = conn.transaction()
            await transaction.start()
            return transaction

        conn, transaction = await self._first(begin)
        try:
            try:
                yield PostgresTx(conn)
            except BaseException:
                with contextlib.suppress(Exception):  # a lost connection: dropped below
                    await transaction.rollback()
                raise
            await transaction.commit()
        except _RETRYABLE as exc:
            raise RetryableConflict(type(exc).__name__) from exc
        finally:
            await _release(pool, conn)

    @contextlib.asynccontextmanager
    async def write_guard(self) -> AsyncIterator[None]:
        yield  # PostgreSQL has many writers: they serialise on their rows and locks

    async def api_key(self, key_hash: str) -> Mapping[str, Any] | None:
        async def read(conn: Any) -> Any:
            return await conn.fetchrow(_API_KEY, key_hash)

        conn, record = await self._first(read)
        await _release(await self.pool(), conn)
        if record is None:
            return None
        row = dict(record)
        for name in _KEY_JSON:
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        return row

    def write_pool_stats(self) -> PoolStats | None:
        pool = self._pool
        if pool is None:
            return None
        size = pool.get_size()
        return PoolStats(size, size - pool.get_idle_size(), pool.get_max_size())

    async def dispose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
