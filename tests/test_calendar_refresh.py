"""Migrating brings the working-day table up to date with the installed holiday list."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from app.db import Database
from app.migrate import refresh_calendar
from app.reference.workdays import WorkDay

TET_2024 = date(2024, 2, 12)


async def _tet_row(db: Database) -> tuple[bool, bool]:
    async with db.sessionmaker() as session:
        row = (
            await session.execute(
                select(WorkDay.default_working, WorkDay.working).where(WorkDay.day == TET_2024)
            )
        ).one()
    return row[0], row[1]


async def test_a_table_built_without_a_holiday_is_rebuilt(db: Database, database_url: str) -> None:
    async with db.sessionmaker() as session, session.begin():  # as an older package built it
        await session.execute(
            update(WorkDay)
            .where(WorkDay.day == TET_2024)
            .values(default_working=True, working=True)
        )
    rebuilt = await refresh_calendar(database_url)
    assert (rebuilt, await _tet_row(db)) == (True, (False, False))


async def test_an_up_to_date_table_is_left_alone(db: Database, database_url: str) -> None:
    await refresh_calendar(database_url)
    assert await refresh_calendar(database_url) is False
