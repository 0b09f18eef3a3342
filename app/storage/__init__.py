"""One storage module per database behind one small interface (``base.py``).

``build_storage`` picks the module once, when the ``Database`` is built; nothing else in
the app asks which database it runs on. ``columns.py`` derives every column list the write
path uses from the table definitions; ``sql.py`` holds the few SQL constructs each
database spells its own way, ``alerts.py`` the alert scan's bulk insert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

if TYPE_CHECKING:
    from app.config import Settings
    from app.storage.base import Storage


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def build_engine(url: str, settings: Settings) -> AsyncEngine:
    """The SQLAlchemy engine of a database URL, with that database's options."""
    if is_sqlite(url):
        from app.storage import sqlite

        return sqlite.build_engine(url)
    from app.storage import postgres

    return postgres.build_engine(url, settings)


def build_storage(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> Storage:
    """The storage of the engine's database."""
    if engine.dialect.name == "postgresql":
        from app.storage.postgres import PostgresStorage

        return PostgresStorage(engine.url.render_as_string(hide_password=False), settings)
    from app.storage.sqlite import SqliteStorage

    return SqliteStorage(sessionmaker)
