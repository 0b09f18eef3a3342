"""The app's database (engines, storage) and the request-scoped session that owns the
transaction. The declarative base and column types live in ``app/tables.py``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

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
    async with db.read_sessionmaker() as session:
        yield session


SessionDep = Depends(_session, scope="function")
ReadSessionDep = Depends(_read_session, scope="function")
