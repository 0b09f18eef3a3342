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
        asyncio.run(fill_ended_dates(url))
        asyncio.run(refresh_calendar(url))
        asyncio.run(ensure_event_partitions(url))
        asyncio.run(refold_unwaited(url))
        asyncio.run(ensure_rollups(url))


async def ensure_event_partitions(url: str, months_ahead: int = 12) -> int:
    """PostgreSQL: make sure monthly event partitions exist up to ``months_ahead`` from now.

    Runs at every ``onestop migrate`` / ``serve``, so the partition window keeps ahead of time
    without a cron job. Returns how many months were checked (0 on SQLite).
    """
    if not url.startswith("postgresql"):
        return 0
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            exists = await conn.scalar(text("SELECT to_regproc('onestop_event_partition')"))
            if exists is None:
                return 0
            result = await conn.execute(
                text(
                    "SELECT onestop_event_partition(m::date) FROM generate_series("
                    "date_trunc('month', now() AT TIME ZONE 'UTC'), "
                    "date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => :n),"
                    " interval '1 month') AS m"
                ),
                {"n": months_ahead},
            )
            return len(result.all())
    finally:
        await engine.dispose()


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


async def fill_ended_dates(url: str, chunk: int = 5000) -> int:
    """Fill ``dossiers.ended_date`` where a database from before it has only ``ended_at``: the
    local date in the configured zone (ONESTOP_TIMEZONE), as the fold writes it. Returns the
    rows filled."""
    from sqlalchemy import select, update
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.pool import NullPool

    from app.config import Settings
    from app.dossiers.models import Dossier

    zone = Settings().zone
    engine = create_async_engine(url, poolclass=NullPool)
    filled = 0
    try:
        async with AsyncSession(engine) as session, session.begin():
            missing = select(Dossier.code, Dossier.ended_at).where(
                Dossier.ended_at.is_not(None), Dossier.ended_date.is_(None)
            )
            rows = (await session.execute(missing.order_by(Dossier.code))).all()
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                await session.execute(
                    update(Dossier),
                    [
                        {"code": c, "ended_date": at.astimezone(zone).date()}
                        for c, at in part
                        if at is not None  # selected not null
                    ],
                )
                filled += len(part)
    finally:
        await engine.dispose()
    return filled


async def refold_unwaited(url: str) -> int:
    """Refold every dossier (and recount the rollups) when some were folded before the fold
    recorded waits on the citizen (``waits`` NULL, migration 0014); returns the dossiers
    refolded (0 when none needed it)."""
    from sqlalchemy import literal, select, update

    from app.config import Settings
    from app.db import Database
    from app.dossiers.models import Dossier
    from app.dossiers.service import refold_all

    settings = Settings(database_url=url)
    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            stale = select(literal(1)).select_from(Dossier).where(Dossier.waits.is_(None))
            if await session.scalar(stale.limit(1)) is None:
                return 0
        async with db.storage.write() as tx:
            done = await refold_all(tx, zone=settings.zone)
        async with db.sessionmaker() as session, session.begin():
            # rows without events (written around the app) have no waits to record
            await session.execute(update(Dossier).where(Dossier.waits.is_(None)).values(waits=""))
        return done
    finally:
        await db.dispose()


async def ensure_rollups(url: str, *, force: bool = False) -> bool:
    """Fill the metric rollups if dossiers exist but no rollup does (a database upgraded from
    before them), or always with ``force`` (after dossiers were written around the app);
    True if they were rebuilt."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.pool import NullPool

    from app.metrics import rollups

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session, session.begin():
            if not force and not await rollups.missing(session):
                return False
            await rollups.rebuild(session)
            return True
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
