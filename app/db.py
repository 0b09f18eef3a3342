"""Engines, the declarative base, and the request-scoped session that owns the transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_, greenlet_spawn

from app.config import Settings
from app.errors import AppError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONVariant = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC on every backend and returned timezone-aware.

    SQLite keeps no offset, so values are normalised to naive UTC before they are written
    and tagged as UTC when read; PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _prepare_sqlite(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


PG_MAX_CACHED_STATEMENT = 256 * 1024


def build_engine(url: str, settings: Settings) -> AsyncEngine:
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
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
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_timeout_seconds,
        pool_pre_ping=True,
        # the most recently used connection first: its prepared statements (one set per
        # connection) are warm, and the rest of the pool can sit idle
        pool_use_lifo=True,
        connect_args={
            "timeout": settings.db_timeout_seconds,
            "command_timeout": 60,
            # asyncpg prepares a statement once per connection only if its text is at most
            # this long (default 15 KiB); the dossier upsert with its rollup deltas is longer,
            # and was parsed, planned and described again on every batch and single event.
            "max_cacheable_statement_size": PG_MAX_CACHED_STATEMENT,
        },
    )
    if engine.dialect.driver == "asyncpg":
        engine.dialect.do_ping = _ping_once  # type: ignore[method-assign]
    return engine


def _ping_once(dbapi_connection: Any) -> bool:
    """The checkout pre-ping in one round trip.

    SQLAlchemy's asyncpg ping wraps its ``;`` in ``BEGIN`` … ``ROLLBACK`` (for pgbouncer in
    transaction mode, which this app does not use): three round trips on every checkout, a
    tenth of a single-event POST's CPU (docs/performance.md, "Single POST"). Errors are
    translated as the stock ping does, so a dead connection is still replaced.
    """
    try:
        await_(dbapi_connection._connection.fetchrow(";"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


class Database:
    """The engines of one running app (a read replica is optional)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = build_engine(settings.database_url, settings)
        self.read_engine = (
            build_engine(settings.read_database_url, settings)
            if settings.read_database_url
            else self.engine
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite has a single writer: serialise this process's write transactions.
        self.write_lock: asyncio.Lock | None = (
            asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def write_guard(self) -> AsyncIterator[None]:
        if self.write_lock is None:
            yield
        else:
            async with self.write_lock:
                yield

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


async def get_database(request: Request) -> Database:
    """The app's engines (``async``: a plain ``def`` dependency costs a thread hop)."""
    db: Database = request.app.state.db
    return db


async def _session(db: Database = Depends(get_database)) -> AsyncIterator[AsyncSession]:
    """One request, one transaction: commit after the handler, roll back on any error.

    Declared with ``scope="function"`` below so the commit happens *before* the response is
    sent: a client never sees success for a write that did not commit.
    """
    async with db.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def _read_session(db: Database = Depends(get_database)) -> AsyncIterator[AsyncSession]:
    async with db.read_sessionmaker() as session:
        yield session


SessionDep = Depends(_session, scope="function")
ReadSessionDep = Depends(_read_session, scope="function")


def dialect_insert(dialect: str) -> Any:
    """The dialect's ``insert`` (it has ``on_conflict_do_nothing`` / ``_do_update``)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def dialect_of(session: AsyncSession) -> str:
    """The backend name (``postgresql`` or ``sqlite``) of a session's engine."""
    bind = session.bind
    assert bind is not None, "sessions are always bound to an engine here"
    return bind.dialect.name


class DriverSession:
    """A PostgreSQL transaction on one pooled asyncpg connection, standing in for a session.

    The single-event ingest path needs no ORM: an ``AsyncSession`` (its begin, connection and
    commit machinery) cost more than the event's statements (docs/performance.md, "Single
    POST"). The PostgreSQL branches of the dossier service (``apply_events``,
    ``load_states``, ``load_events``, ``upsert_dossiers``, ``lock_dossiers``) use a session
    only through ``dialect_of(session)`` and ``driver_connection(session)``, and both accept
    this object; ``as_session`` hands it to them under their ``AsyncSession`` annotation.
    Anything else a session does (``execute``, ``add``, ``commit``) it does not have.
    """

    def __init__(self, engine: AsyncEngine, driver: Any) -> None:
        self.bind = engine
        self.driver = driver

    def as_session(self) -> AsyncSession:
        return cast(AsyncSession, self)


@contextlib.asynccontextmanager
async def pooled_driver(db: Database) -> AsyncIterator[Any]:
    """One asyncpg connection from the engine's pool (pre-pinged, counted by its gauges).

    Statements run in autocommit until the caller opens a transaction on it. The connection
    goes back to the pool on exit; it is dropped from the pool instead when a driver call
    failed or was interrupted (anything but one of our own ``AppError`` answers), or when a
    transaction is still open.
    """
    # The pool's own checkout (pre-ping, events) without an engine ``Connection`` around it.
    pooled = await db.engine.raw_connection()
    driver: Any = pooled.driver_connection
    invalidated = False
    try:
        yield driver
    except BaseException as exc:
        if not isinstance(exc, AppError) or driver.is_closed() or driver.is_in_transaction():
            invalidated = True
            await greenlet_spawn(pooled.invalidate)  # which also checks its slot back in
        raise
    finally:
        if not invalidated:
            await greenlet_spawn(pooled.close)  # back to the pool (an overflow one is closed)


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under a PostgreSQL session, for the hot paths.

    The session's transaction is opened on it first if no statement has run yet, so statements
    sent straight to the driver share that transaction and commit or roll back with it.
    Refuses to hand out a connection outside a transaction. A ``DriverSession`` gives its own
    connection (its owner opened the transaction).
    """
    if isinstance(session, DriverSession):
        if not session.driver.is_in_transaction():
            raise RuntimeError("driver_connection needs a session with an open transaction")
        return session.driver
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if getattr(adapted, "_transaction", True) is None:
        # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it runs;
        # start it the same way here (it is then committed or rolled back with the session).
        await adapted._start_transaction()
    driver = raw.driver_connection
    if driver is None or not driver.is_in_transaction():
        raise RuntimeError("driver_connection needs a session with an open transaction")
    return driver


@contextlib.contextmanager
def driver_errors(session: AsyncSession) -> Iterator[None]:
    """Raise driver (asyncpg) errors as SQLAlchemy's, as if the statement had gone through it.

    Statements sent with ``driver_connection`` would otherwise escape as raw asyncpg errors:
    this keeps deadlock retries (``exc.orig.sqlstate``) and the 503 for a lost database.
    """
    try:
        yield
    except DBAPIError:
        raise
    except Exception as exc:
        bind = session.bind
        if bind is None:
            raise
        dialect = bind.dialect
        dbapi: Any = dialect.dbapi
        translated: Exception | None = exc if isinstance(exc, dbapi.Error) else None
        mapping = getattr(dbapi, "_asyncpg_error_translate", None) or {}
        for kind in type(exc).__mro__ if translated is None else ():
            if kind in mapping:
                translated = mapping[kind](exc.args[0] if exc.args else str(exc), exc)
                break
        if translated is None:
            raise
        raise DBAPIError.instance(
            None,
            None,
            translated,
            dbapi.Error,
            connection_invalidated=dialect.is_disconnect(translated, None, None),  # type: ignore[arg-type]
            dialect=dialect,
        ) from exc
