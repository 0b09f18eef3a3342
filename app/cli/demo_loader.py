"""``onestop demo``: the generated province of ``app.demo`` into the database.

Reference data goes through the same service functions as ``PUT /api/v1/units`` and
``PUT /api/v1/procedures/{code}``, events through the shared ingestion. Event ids are fixed by
the seed, so loading twice stores nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.db import Database, chunks
from app.ingest.schemas import ValidationContext
from app.ingest.service import ingest
from app.reference import service as reference
from app.reference.schemas import ProcedureIn, UnitItem
from app.reference.sectors import put_sector

BATCH = 2000


class DemoRejected(Exception):
    """The database refused a demo event (shown to the user as is)."""


@dataclass
class DemoSummary:
    units: int
    procedures: int
    events: int
    accepted: int
    duplicates: int
    report_query: dict[str, str]  # the dashboard's view of the district report (Q1 2024)


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    if hasattr(item, "model_dump"):
        return dict(item.model_dump())
    return dict(vars(item))


async def load_demo(db: Database, *, seed: int = 0, source: str = "demo") -> DemoSummary:
    """Load units, procedures and events of ``build_demo(seed)``; idempotent."""
    from app.demo import SECTORS, build_demo

    data = build_demo(seed=seed)
    units = [_as_dict(u) for u in data.units]
    procedures = [_as_dict(p) for p in data.procedures]
    async with db.write_guard(), db.sessionmaker() as session, session.begin():
        for code, (name, _) in SECTORS.items():
            await put_sector(session, code, name)
        # one bulk upsert: the units with their lives and successors (the 2025 reorganisation)
        await reference.put_units(
            session=session, items=[UnitItem.model_validate(u) for u in units]
        )
        for procedure in procedures:
            await reference.put_procedure(
                session=session, code=procedure["code"], data=ProcedureIn.model_validate(procedure)
            )
    ctx = ValidationContext.make(db.settings.zone, db.settings.max_future_skew_seconds)
    events = [_as_dict(e) for e in data.events]
    accepted = duplicates = 0
    for part in chunks(events, BATCH):
        outcome = await ingest(db, source=source, items=part, ctx=ctx)
        if outcome.rejected:
            bad = next(r for r in outcome.results if r.result in ("invalid", "conflict"))
            raise DemoRejected(
                f"event {bad.event_id} was {bad.result}: "
                + (
                    f"this database holds another demo under source '{source}' (made by an "
                    "older version?); load into an empty database or pass --source"
                    if bad.result == "conflict"
                    else "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in bad.errors)
                )
            )
        accepted += outcome.accepted
        duplicates += outcome.duplicates
    report_query = {k: str(v) for k, v in data.expected["q1_digitization"]["query"].items()}
    return DemoSummary(len(units), len(procedures), len(events), accepted, duplicates, report_query)
