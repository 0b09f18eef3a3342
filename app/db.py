"""The app's database (engines, storage) and the request-scoped session that owns the
transaction. The declarative base and column types live in ``app/tables.py``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.storage import build_engine, build_storage
from app.tables import Base as Base
from app.tables import JSONVariant as JSONVariant
from app.tables import UTCDateTime as UTCDateTime
from app.tables import chunks as chunks
from app.tables import utcnow as utcnow

if TYPE_CHECKING:
    from app.storage.base import Storage


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
        # The database is chosen here, once: the write path runs on its storage module.
        self.storage: Storage = build_storage(self.engine, self.sessionmaker, settings)

    @property
    def dialect(self) -> str:
        """The database's name (``postgresql``, ``sqlite``): for messages and tests."""
        return self.storage.name

    def write_guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around a write transaction on a session of ``sessionmaker``."""
        return self.storage.write_guard()

    @contextlib.asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A request's read session: it reads nothing it wrote itself, so its statements may
        run on spare connections beside it (``run_in_lanes``)."""
        async with self.read_sessionmaker() as session:
            if self.storage.read_lanes > 1:
                session.info[_LANES] = ReadLanes(self.storage.read_lanes, self.spare_read_session)
            yield session

    async def spare_read_session(self) -> AsyncSession | None:
        """A read session with its connection taken, if no other request of this worker holds
        a read connection now (the asking request's own may be the one in use) and the pool
        keeps one more open (``ONESTOP_DB_POOL_SIZE``); None otherwise.

        A second lane uses a core that would otherwise wait; beside other requests it competes
        for the same cores and costs more than it saves (summary by unit at 1M, 8 requests at
        once on 2 workers: 12–16 req/s with a lane for every request against 18–19 without;
        docs/performance.md, finding 13). Never waits for a connection (a request that holds
        one and waited for another could wait on requests doing the same), and never opens
        one of the overflow's, which are closed when given back and start again cold."""
        pool: Any = self.read_engine.sync_engine.pool
        if pool.checkedout() > 1 or pool.checkedout() >= pool.size():
            return None
        session = self.read_sessionmaker()
        await session.connection()  # checked out before any other request can take it
        return session

    async def dispose(self) -> None:
        await self.storage.dispose()
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
    async with db.read_session() as session:
        yield session


# --- a request's statements on several connections at once ----------------------------------

_LANES = "onestop.read_lanes"


@dataclass(frozen=True)
class ReadLanes:
    """How a read request's session may run statements beside itself: up to ``count``
    connections in all, the others from ``spare`` (None when the pool has none to spare)."""

    count: int
    spare: Callable[[], Awaitable[AsyncSession | None]]


Job = Callable[[AsyncSession], Awaitable[None]]


async def run_in_lanes(session: AsyncSession, jobs: Sequence[Job]) -> None:
    """Run ``jobs`` (each one or two statements and the reading of their answers), each on
    ``session`` or on a spare read session beside it, each lane taking the next job when it is
    done with one; in order on ``session`` alone when it is not a request's read session
    (which sets ``ReadLanes`` in its ``info``: a session with writes of its own must read them
    on itself) or the pool has no connection to spare.

    The statements of a read session already each see the commits made before they start
    (READ COMMITTED), so running them on other connections changes no answer's consistency."""
    lanes: ReadLanes | None = session.info.get(_LANES)
    extra: list[AsyncSession] = []
    try:
        for _ in range(min(lanes.count if lanes else 1, len(jobs)) - 1):
            assert lanes is not None
            spare = await lanes.spare()
            if spare is None:
                break
            extra.append(spare)
        if not extra:
            for job in jobs:
                await job(session)
            return
        queue = list(jobs)

        async def lane(on: AsyncSession) -> None:
            while queue:
                await queue.pop(0)(on)

        try:
            async with asyncio.TaskGroup() as group:
                for on in (session, *extra):
                    group.create_task(lane(on))
        except BaseExceptionGroup as failed:  # the first failure, as the sequential run raises
            raise failed.exceptions[0] from None
    finally:
        for spare in extra:
            await spare.close()


SessionDep = Depends(_session, scope="function")
ReadSessionDep = Depends(_read_session, scope="function")
