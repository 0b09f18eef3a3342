"""A read request's statements on two connections at once (``app.db.run_in_lanes``)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, Job, run_in_lanes


def backend_of(seen: list[object]) -> Job:
    """A job that notes the connection it ran on (PostgreSQL's backend pid) after a pause,
    so that a second lane takes the next job meanwhile."""

    async def job(session: AsyncSession) -> None:
        await asyncio.sleep(0.02)
        seen.append((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    return job


def postgres_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite reads on one lane (its storage's read_lanes is 1)")


async def test_a_read_session_runs_its_jobs_on_two_connections(db: Database) -> None:
    postgres_only(db)
    seen: list[object] = []
    async with db.read_session() as session:
        await run_in_lanes(session, [backend_of(seen) for _ in range(4)])
    assert len(seen) == 4
    assert len(set(seen)) == 2


async def test_any_other_session_runs_its_jobs_in_order_on_itself(db: Database) -> None:
    order: list[int] = []

    def job(k: int) -> Job:
        async def run(session: AsyncSession) -> None:
            await asyncio.sleep(0.01 * (3 - k))
            order.append((await session.execute(text(f"SELECT {k}"))).scalar_one())

        return run

    async with db.read_sessionmaker() as session:
        await run_in_lanes(session, [job(k) for k in range(3)])
    assert order == [0, 1, 2]


async def test_beside_another_request_the_jobs_run_on_the_session(db: Database) -> None:
    """A second lane only for a request alone on the read pool: beside another, the two
    would compete for the same cores."""
    postgres_only(db)
    async with db.read_sessionmaker() as other:
        await other.connection()  # another request's connection, held
        seen: list[object] = []
        async with db.read_session() as session:
            await session.connection()
            await run_in_lanes(session, [backend_of(seen) for _ in range(3)])
    assert len(seen) == 3
    assert len(set(seen)) == 1


async def test_a_failing_job_raises_its_own_error_and_returns_the_spare(db: Database) -> None:
    postgres_only(db)

    async def fails(session: AsyncSession) -> None:
        await session.execute(text("SELECT 1"))
        raise LookupError("this job failed")

    pool = db.read_engine.sync_engine.pool
    async with db.read_session() as session:
        await session.connection()
        before = pool.checkedout()
        with pytest.raises(LookupError, match="this job failed"):
            await run_in_lanes(session, [backend_of([]), fails, backend_of([])])
        assert pool.checkedout() == before
