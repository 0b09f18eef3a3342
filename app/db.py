"""Engines, the declarative base, and the request-scoped session that owns the transaction."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app.config import Settings
from app.storage import build_engine, build_storage

if TYPE_CHECKING:
    from app.storage.base import Storage

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

    Values are normalised to UTC before they are written (SQLite's ``DATETIME`` then stores
    the UTC wall time, without an offset) and tagged as UTC when read; PostgreSQL gets
    ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


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


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
