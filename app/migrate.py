"""Alembic, driven from code: the schema's only source is ``migrations/``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations, then bring the working-day calendar up to date.

    Synchronous: Alembic's env runs its own event loop. The calendar is rebuilt when the
    installed ``holidays`` package knows other public holidays than the stored table.
    """
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        asyncio.run(refresh_calendar(url))


async def refresh_calendar(url: str) -> bool:
    """Rebuild ``work_days`` if it is stale; True if it was rebuilt."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.pool import NullPool

    from app.reference.calendar import ensure_work_days

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session, session.begin():
            return await ensure_work_days(session=session)
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
