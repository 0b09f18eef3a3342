"""SQL that each database spells its own way, as constructs any statement may use.

Each construct compiles by its database's rule below, so a statement built once runs on
either database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class month_start(GenericFunction[Any]):
    """The first day of the month of a date."""

    type = Date()
    inherit_cache = True


class latest(GenericFunction[Any]):
    """The latest of some dates (NULL if any is NULL)."""

    type = Date()
    inherit_cache = True


@compiles(month_start, "postgresql")
def _pg_month_start(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _sqlite_month_start(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(latest, "postgresql")
def _pg_latest(element: Any, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


@compiles(latest, "sqlite")
def _sqlite_latest(element: Any, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"
