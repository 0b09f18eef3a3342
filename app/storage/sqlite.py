"""SQLite: the write path on the engine's sessions, one writer at a time.

SQLite has a single writer: this process's write transactions queue on an ``asyncio.Lock``
(``write_guard``) rather than in the database's busy timeout, and each takes the write lock
at its start (``BEGIN IMMEDIATE``), so the look-up of stored ids and the insert see no other
writer in between, even from another process on the same file. Dossier locks are then
needless. The rollups move by the rows' contributions after the upsert minus before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Table,
    delete,
    event,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import app.storage.columns as spec
from app.auth.models import ApiKey, SignedRequest
from app.dossiers.fold import DossierState, FoldEvent
from app.metrics import rollups
from app.reference.models import Procedure, Unit
from app.storage.base import REFERENCE_FIELDS, Inserted
from app.tables import chunks, utcnow

NAME = "sqlite"
IN_CHUNK = 900  # under SQLite's bound-parameter limit


def prepare_file(url: str) -> None:
    """Create the database file's folder."""
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def build_engine(url: str) -> AsyncEngine:
    prepare_file(url)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


@functools.lru_cache(maxsize=4)
def _delta_sql(sign: int) -> tuple[str, ...]:
    """The rollup delta statements for the dossiers whose codes are the JSON array
    ``:codes``, compiled once (building and compiling them per batch cost more than running
    them)."""
    each = func.json_each(literal_column(":codes")).table_valued("value")
    source = rollups.dossiers_where(spec.DOSSIER_TABLE.c.code.in_(select(each.c.value)))
    dialect: Any = sqlite.dialect()
    return tuple(
        str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for stmt in rollups.delta_statements(source, literal(sign, Integer), sqlite_insert)
    )


_EVENTS = spec.EVENT_TABLE
_INSERT_EVENTS = sqlite_insert(_EVENTS).on_conflict_do_nothing(
    index_elements=["source", "event_id"]
)
_UPSERT_DOSSIERS = sqlite_insert(spec.DOSSIER_TABLE)
_UPSERT_DOSSIERS = _UPSERT_DOSSIERS.on_conflict_do_update(
    index_elements=[spec.DOSSIER_TABLE.c.code],
    set_={
        c.name: _UPSERT_DOSSIERS.excluded[c.name]
        for c in spec.DOSSIER_TABLE.columns
        if c.name != "code"
    },
)


class SqliteTx:
    """One write transaction on one session (under the write lock, ``BEGIN IMMEDIATE``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_request(self, source: str, msg_id: str, *, prune_before: datetime) -> bool:
        old = delete(SignedRequest).where(SignedRequest.seen_at < prune_before)
        await self.session.execute(old)
        stmt = (
            sqlite_insert(SignedRequest)
            .values(source=source, msg_id=msg_id, seen_at=utcnow())
            .on_conflict_do_nothing(index_elements=["source", "msg_id"])
            .returning(SignedRequest.msg_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def insert_events(self, source: str, rows: Sequence[tuple[Any, ...]]) -> Inserted:
        """Look the ids up, then insert those not stored: the transaction holds the write
        lock from its start, so no other writer stores one in between (and no dossier needs
        a lock of its own). The insert has no
        RETURNING, so the driver's C ``executemany`` runs it (one statement per row with
        RETURNING was 80 % of a batch's time)."""
        at = spec.EVENT_NAMES.index("event_id")
        stored: dict[str, str] = {}
        for part in chunks([row[at] for row in rows], IN_CHUNK):
            found = await self.session.execute(
                select(_EVENTS.c.event_id, _EVENTS.c.body_hash).where(
                    _EVENTS.c.source == source, _EVENTS.c.event_id.in_(part)
                )
            )
            stored.update({event_id: body_hash for event_id, body_hash in found})
        names = spec.EVENT_NAMES
        new = [dict(zip(names, row, strict=True)) for row in rows if row[at] not in stored]
        for part in chunks(new, 1000):
            await self.session.execute(_INSERT_EVENTS, part)
        return Inserted({row["event_id"] for row in new}, stored, await self._reference(rows, new))

    async def _reference(
        self, rows: Sequence[tuple[Any, ...]], new: Sequence[Mapping[str, Any]]
    ) -> dict[str, set[str]]:
        """Per reference field, one look-up of the rows' codes: those never seen before in
        the events stored (``new``) become unregistered units and procedures, and the answer
        names every code of the rows that is not registered (``Inserted.unregistered``)."""
        now = utcnow()
        out: dict[str, set[str]] = {}
        models: tuple[type[Unit] | type[Procedure], ...] = (Unit, Procedure)
        for name, model in zip(REFERENCE_FIELDS, models, strict=True):
            at = spec.EVENT_NAMES.index(name)
            codes = sorted({row[at] for row in rows if row[at] is not None})
            known: dict[str, bool] = {}
            for part in chunks(codes, IN_CHUNK):
                found = await self.session.execute(
                    select(model.code, model.registered).where(model.code.in_(part))
                )
                known.update({code: bool(registered) for code, registered in found})
            missing = sorted({row[name] for row in new if row[name] is not None} - known.keys())
            for part in chunks(missing, IN_CHUNK):
                await self.session.execute(
                    sqlite_insert(model).on_conflict_do_nothing(index_elements=["code"]),
                    [
                        {"code": c, "registered": False, "created_at": now, "updated_at": now}
                        for c in part
                    ],
                )
            out[name] = {c for c in codes if not known.get(c, False)}
        return out

    async def load_states(self, codes: Sequence[str]) -> dict[str, DossierState]:
        out: dict[str, DossierState] = {}
        table = spec.DOSSIER_TABLE
        for part in chunks(sorted(codes), IN_CHUNK):
            rows = await self.session.execute(
                select(*spec.STATE_COLUMNS).where(table.c.code.in_(part))
            )
            for row in rows.mappings():
                state = DossierState.from_row(row)
                out[state.code] = state
        return out

    async def load_events(self, codes: Sequence[str]) -> dict[str, list[FoldEvent]]:
        out: dict[str, list[FoldEvent]] = defaultdict(list)
        for part in chunks(sorted(codes), IN_CHUNK):
            rows = await self.session.execute(
                select(*spec.FOLD_EVENT_COLUMNS).where(_EVENTS.c.dossier_code.in_(part))
            )
            for row in rows:
                event = spec.fold_event(tuple(row))
                out[event.dossier_code].append(event)
        return out

    async def upsert_dossiers(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        codes = json.dumps([row["code"] for row in rows])
        for sql in _delta_sql(-1):
            await self.session.execute(text(sql), {"codes": codes})
        for part in chunks(list(rows), 500):
            await self.session.execute(_UPSERT_DOSSIERS, part)
        for sql in _delta_sql(1):
            await self.session.execute(text(sql), {"codes": codes})

    async def dossier_codes(self) -> list[str]:
        codes = await self.session.execute(select(_EVENTS.c.dossier_code).distinct())
        return list(codes.scalars())

    async def rebuild_rollups(self) -> None:
        await rollups.rebuild(self.session)

    async def fetch(self, stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.session.execute(stmt)]


class SqliteStorage:
    name = NAME
    read_lanes = 1

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqliteTx]:
        async with self._lock, self.sessionmaker() as session, session.begin():
            await session.execute(text("BEGIN IMMEDIATE"))
            yield SqliteTx(session)

    @contextlib.asynccontextmanager
    async def write_guard(self) -> AsyncIterator[None]:
        async with self._lock:
            yield

    async def api_key(self, key_hash: str) -> Mapping[str, Any] | None:
        table = cast(Table, ApiKey.__table__)
        async with self.sessionmaker() as session:
            row = (
                await session.execute(
                    select(table).where(table.c.key_hash == key_hash, table.c.revoked_at.is_(None))
                )
            ).first()
        return None if row is None else dict(row._mapping)

    def write_pool_stats(self) -> None:
        return None  # no pool of its own: the engine's (whose gauges ``observe_engine`` keeps)

    async def dispose(self) -> None:
        return None  # the engine's sessions: the engine closes them
