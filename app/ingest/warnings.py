"""The warnings of an intake answer: what was sent but not used as sent (CONTRACT v1.1,
"Intake clarifications").

- every field the event does not define (``"chanel"``, ``"due_date"``): ignored, so the
  dossier would silently never be online or late; with ONESTOP_STRICT_FIELDS=true the
  item is ``invalid`` instead (validation does that, ``StrictEventIn``);
- every ``unit_code`` and ``procedure_code`` that is not registered: stored and counted, but
  under a code without a name or a place in the tree until ``PUT /units/{code}`` (or
  ``/procedures/{code}``) describes it.

Registration is read by the statement that stores the events (``Inserted.unregistered``),
so the warnings cost no round trip of their own; only a code the insert did not see (an
event id repeated within one batch under another code) is looked up here. Not cached: a
restored or emptied database would make a cache lie.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.db import Database
from app.ingest.schemas import EVENT_FIELDS, ItemWarning
from app.ingest.service import IngestOutcome
from app.reference.models import Procedure, Unit
from app.storage.base import REFERENCE_FIELDS


def unknown_fields(item: Any) -> list[ItemWarning]:
    if not isinstance(item, dict):
        return []
    return [
        ItemWarning(
            loc=[name],
            msg=f"unknown field '{name}' ignored: events have no such field "
            "(see the event schema at /docs)",
        )
        for name in item
        if name not in EVENT_FIELDS
    ]


def _code(item: Any, field: str) -> str | None:
    value = item.get(field) if isinstance(item, dict) else None
    return value.strip() or None if isinstance(value, str) else None


async def _registered(db: Database, kind: str, codes: set[str]) -> set[str]:
    """The registered ones among ``codes``."""
    model: Any = Unit if kind == "unit_code" else Procedure
    statement = select(model.code).where(model.code.in_(codes), model.registered.is_(True))
    async with db.sessionmaker() as session:
        return set((await session.execute(statement)).scalars())


async def intake_warnings(
    db: Database, items: Sequence[Any], outcome: IngestOutcome
) -> dict[int, list[ItemWarning]]:
    """Item index -> its warnings (items without any are left out)."""
    out: dict[int, list[ItemWarning]] = {}
    results = outcome.results
    stored = [r.index for r in results if r.result != "invalid"]
    registered: dict[str, set[str]] = {}
    for kind in REFERENCE_FIELDS:
        known = outcome.registered.get(kind, {})
        codes = {c for i in stored if (c := _code(items[i], kind))}
        unseen = codes - known.keys()
        registered[kind] = {c for c in codes if known.get(c)}
        if unseen:
            registered[kind] |= await _registered(db, kind, unseen)
    registered_units = registered["unit_code"]
    registered_procedures = registered["procedure_code"]
    stored_set = set(stored)
    for result in results:
        item = items[result.index]
        found = unknown_fields(item)
        if result.index in stored_set:
            unit = _code(item, "unit_code")
            if unit and unit not in registered_units:
                found.append(
                    ItemWarning(
                        loc=["unit_code"],
                        msg=f"unit '{unit}' is not registered: its dossiers are counted under "
                        f"a code without a name or parent until PUT /api/v1/units/{unit} "
                        "describes it",
                    )
                )
            procedure = _code(item, "procedure_code")
            if procedure and procedure not in registered_procedures:
                found.append(
                    ItemWarning(
                        loc=["procedure_code"],
                        msg=f"procedure '{procedure}' is not registered: it has no name, level "
                        f"or online service until PUT /api/v1/procedures/{procedure} "
                        "describes it",
                    )
                )
        if found:
            out[result.index] = found
    return out
