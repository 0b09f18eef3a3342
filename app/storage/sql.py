"""SQL that each database spells its own way.

Constructs any statement may use (each compiles by its database's rule below, so a statement
built once runs on either database), and ``sql_of(session)``: the INSERT construct, the
writer lock, the try-lock and the planner statistics refresh of a session's database. Imports
nothing of the app, so any module may use it.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Date, String, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator


class month_start(GenericFunction[Any]):
    """The first day of the month of a date."""

    type = Date()
    inherit_cache = True


class year_start(GenericFunction[Any]):
    """The first day (1 January) of the year of a date."""

    type = Date()
    inherit_cache = True


class latest(GenericFunction[Any]):
    """The latest of some dates (NULL if any is NULL)."""

    type = Date()
    inherit_cache = True


class IntList(TypeDecorator[list[int]]):
    """A list of integers as an aggregate returns it: PostgreSQL's array (a list already),
    SQLite's comma-separated text (split here)."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        return [int(v) for v in value.split(",")]


class int_list(GenericFunction[list[int]]):
    """The integers of a group as a list (an aggregate): ``array_agg`` on PostgreSQL,
    ``group_concat`` on SQLite. Two of them in one ``SELECT`` list their groups' rows in the
    same order (each aggregate of a group is fed the same rows, one after the other), so
    their lists pair up element by element."""

    type = IntList()
    inherit_cache = True


@compiles(int_list, "postgresql")
def _pg_int_list(element: Any, compiler: Any, **kw: Any) -> str:
    return f"array_agg({compiler.process(element.clauses, **kw)})"


@compiles(int_list, "sqlite")
def _sqlite_int_list(element: Any, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)})"


@compiles(month_start, "postgresql")
def _pg_month_start(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _sqlite_month_start(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(year_start, "postgresql")
def _pg_year_start(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('year', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(year_start, "sqlite")
def _sqlite_year_start(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of year')"


@compiles(latest, "postgresql")
def _pg_latest(element: Any, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


@compiles(latest, "sqlite")
def _sqlite_latest(element: Any, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


class DialectSql(Protocol):
    """The statements a database spells its own way, for code that writes through a
    session (calendar changes, rollup rebuilds)."""

    def insert(self, target: Table) -> Any:
        """The database's ``INSERT`` construct, which has ``on_conflict_do_nothing`` and
        ``on_conflict_do_update`` (typed ``Any``: SQLAlchemy gives the two no common type)."""
        ...

    async def hold_dossier_writers(self, session: AsyncSession) -> None:
        """Make writers of ``dossiers`` wait until the session's transaction ends."""
        ...

    async def try_xact_lock(self, session: AsyncSession, key: int) -> bool:
        """Take the lock ``key`` until the session's transaction ends, unless another
        transaction holds it (False then, without waiting). True where the database has one
        writer and the service one process (SQLite): nothing else can hold it."""
        ...

    async def refresh_statistics(self, session: AsyncSession, table: Table) -> None:
        """Refresh the planner's statistics of ``table`` after a large write (none to
        refresh on SQLite)."""
        ...


class PostgresSql:
    def insert(self, target: Table) -> Any:
        return pg_insert(target)

    async def hold_dossier_writers(self, session: AsyncSession) -> None:
        await session.execute(text(HOLD_WRITERS))

    async def try_xact_lock(self, session: AsyncSession, key: int) -> bool:
        locked = (await session.execute(select(func.pg_try_advisory_xact_lock(key)))).scalar_one()
        return bool(locked)

    async def refresh_statistics(self, session: AsyncSession, table: Table) -> None:
        # the name comes from the table definitions, never from input
        await session.execute(text(f"ANALYZE {table.name}"))


class SqliteSql:
    def insert(self, target: Table) -> Any:
        return sqlite_insert(target)

    async def hold_dossier_writers(self, session: AsyncSession) -> None:
        return None  # SQLite has a single writer already

    async def try_xact_lock(self, session: AsyncSession, key: int) -> bool:
        return True  # one writer, one process: no other scan can be running

    async def refresh_statistics(self, session: AsyncSession, table: Table) -> None:
        return None


HOLD_WRITERS = "LOCK TABLE dossiers IN SHARE ROW EXCLUSIVE MODE"
POSTGRES = PostgresSql()
SQLITE = SqliteSql()


def sql_of(session: AsyncSession) -> DialectSql:
    """The statements of the session's database that it spells its own way."""
    bind = session.bind
    assert bind is not None, "sessions are always bound to an engine here"
    return POSTGRES if bind.dialect.name == "postgresql" else SQLITE
