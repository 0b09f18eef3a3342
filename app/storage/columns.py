"""The stored columns of events and dossiers, read off the table definitions.

Every list of columns the write path needs (what an ingest inserts, what the fold reads
back, what a dossier upsert writes) comes from here, and each is derived from a table in
``app/dossiers/models.py`` or a dataclass of the fold, never kept by hand: a field added to
the model (and its migration) reaches every statement by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Column, Date, Integer, Table
from sqlalchemy.types import TypeEngine

from app.dossiers.fold import STATE_NAMES, FoldEvent, Status
from app.dossiers.models import Dossier, DossierEvent
from app.tables import UTCDateTime

EVENT_TABLE = cast(Table, DossierEvent.__table__)
DOSSIER_TABLE = cast(Table, Dossier.__table__)

# What an ingest writes per event: every column but the generated id, in table order.
EVENT_COLUMNS: tuple[Column[Any], ...] = tuple(c for c in EVENT_TABLE.columns if c.key != "id")
EVENT_NAMES: tuple[str, ...] = tuple(c.key for c in EVENT_COLUMNS)
# What the fold reads back of a stored event: the fields of ``FoldEvent``, in its order, so
# a row builds one positionally.
FOLD_EVENT_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FoldEvent))
FOLD_EVENT_COLUMNS: tuple[Column[Any], ...] = tuple(EVENT_TABLE.c[n] for n in FOLD_EVENT_NAMES)
# What a dossier's stored state is read from (``DossierState``'s fields).
STATE_COLUMNS: tuple[Column[Any], ...] = tuple(DOSSIER_TABLE.c[n] for n in STATE_NAMES)
DOSSIER_NAMES: tuple[str, ...] = tuple(c.key for c in DOSSIER_TABLE.columns)


def kind(column: Column[Any]) -> str:
    """The column's kind as the drivers see it: ``text``, ``timestamptz``, ``date``,
    ``bool``, ``int`` or ``json``."""
    type_: TypeEngine[Any] = column.type
    if isinstance(type_, UTCDateTime):
        return "timestamptz"
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, Integer):
        return "int"
    if isinstance(type_, JSON):
        return "json"
    return "text"


_STATUS_AT = FOLD_EVENT_NAMES.index("status")


def fold_event(values: Sequence[Any]) -> FoldEvent:
    """A ``FoldEvent`` from its values in ``FOLD_EVENT_NAMES`` order, status as stored."""
    fields = list(values)
    fields[_STATUS_AT] = Status(fields[_STATUS_AT])
    return FoldEvent(*fields)


# Where each of the fold's fields sits in an ``EVENT_COLUMNS`` row.
FOLD_EVENT_AT: tuple[int, ...] = tuple(EVENT_NAMES.index(n) for n in FOLD_EVENT_NAMES)


def fold_event_of_row(row: Sequence[Any]) -> FoldEvent:
    """The ``FoldEvent`` of an event row in ``EVENT_COLUMNS`` order (what an ingest stores)."""
    return fold_event([row[i] for i in FOLD_EVENT_AT])
