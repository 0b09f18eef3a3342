"""Workloads that stress idempotency and ordering, and the check that nothing was lost.

``make_events`` writes the life of many dossiers; ``make_batches`` cuts those events into
batches in random order, with overlaps and whole-batch resends, as a sloppy client would;
``check_store`` compares the database with what was sent: every distinct event stored once,
and every dossier row equal to the pure fold (``app.dossiers.fold.fold``) of its events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dossiers.fold import fold
from app.dossiers.models import Dossier, DossierEvent
from app.ingest.schemas import EventIn, ValidationContext

Event = dict[str, Any]

STATUSES = [
    "processing",
    "supplement_requested",
    "payment_requested",
    "processing",
    "resolved",
    "returned",
    "withdrawn",
]
UNITS = ["H40.31", "H40.31.01", "H40.31.02", "H40.32"]
PROCEDURES = ["1.001234", "1.004567", "2.000123"]
START = datetime(2024, 1, 2, 1, 0, tzinfo=UTC)


def make_events(rng: random.Random, dossiers: int, per_dossier: int, tag: str) -> list[Event]:
    """The events of ``dossiers`` dossiers, ``per_dossier`` each, with ties in time."""
    events: list[Event] = []
    for d in range(dossiers):
        code = f"{tag}-D{d:05d}"
        unit = rng.choice(UNITS)
        at = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
        for n in range(per_dossier):
            status = "received" if n == 0 else rng.choice(STATUSES)
            body: Event = {
                "event_id": f"{code}-{n}",
                "dossier_code": code,
                "status": status,
                "occurred_at": at.isoformat(),
                "unit_code": unit,
            }
            if n == 0:
                body.update(
                    procedure_code=rng.choice(PROCEDURES),
                    channel=rng.choice(["direct", "online", "postal"]),
                    due_at=(at + timedelta(days=rng.randrange(1, 20))).isoformat(),
                    components_total=3,
                    components_digitized=rng.randrange(0, 4),
                    fee_required=rng.random() < 0.5,
                )
            elif rng.random() < 0.3:
                body["due_at"] = (at + timedelta(days=rng.randrange(1, 20))).isoformat()
            if status in ("resolved", "returned"):
                body.update(result_digitized=rng.random() < 0.7, result_signed=rng.random() < 0.5)
            events.append(body)
            if rng.random() < 0.8:  # else the next event happens at the same instant
                at += timedelta(minutes=rng.randrange(1, 60 * 24 * 5))
    return events


def make_batches(
    rng: random.Random,
    events: list[Event],
    *,
    min_size: int = 5,
    max_size: int = 40,
    overlap: float = 0.2,
    resend: float = 0.3,
) -> list[list[Event]]:
    """Shuffled batches; some events also ride in a second batch, some batches go twice."""
    order = events[:]
    rng.shuffle(order)
    batches: list[list[Event]] = []
    i = 0
    while i < len(order):
        size = rng.randint(min_size, max_size)
        batch = order[i : i + size]
        extra = [rng.choice(events) for _ in range(int(len(batch) * overlap))]
        batch = batch + extra
        rng.shuffle(batch)
        batches.append(batch)
        i += size
    resent = [b[:] for b in batches if rng.random() < resend]
    batches += resent
    rng.shuffle(batches)
    return batches


def expected_rows(events: list[Event], *, source: str, zone: ZoneInfo) -> dict[str, dict[str, Any]]:
    """Each dossier's row as a sequential fold of its distinct events would make it."""
    ctx = ValidationContext.make(zone, 86400)
    by_code: dict[str, list[Any]] = {}
    for body in events:
        folded = EventIn.model_validate(body, context=ctx).to_fold_event(source)
        by_code.setdefault(folded.dossier_code, []).append(folded)
    return {code: fold(evs).to_row(zone) for code, evs in by_code.items()}


@dataclass
class StoreReport:
    distinct_sent: int
    stored: int
    lost: int
    counted_twice: int
    dossiers: int
    dossiers_mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.counted_twice == 0
            and self.stored == self.distinct_sent
            and not self.dossiers_mismatched
        )


async def check_store(
    engine: AsyncEngine, events: list[Event], *, source: str, zone: ZoneInfo
) -> StoreReport:
    """Compare what the database holds with the events that were sent."""
    sent_ids = {e["event_id"] for e in events}
    expected = expected_rows(events, source=source, zone=zone)
    async with engine.connect() as conn:
        stored_ids = list(
            (
                await conn.execute(
                    select(DossierEvent.event_id).where(DossierEvent.source == source)
                )
            ).scalars()
        )
        extra_rows = (
            await conn.execute(
                select(func.count()).select_from(DossierEvent).where(DossierEvent.source != source)
            )
        ).scalar_one()
        rows = {r["code"]: dict(r) for r in (await conn.execute(select(Dossier))).mappings()}
    stored_set = set(stored_ids)
    mismatched = []
    for code, want in expected.items():
        got = rows.get(code)
        if got is None or any(got[k] != v for k, v in want.items()):
            mismatched.append(code)
    mismatched += [code for code in rows if code not in expected]
    return StoreReport(
        distinct_sent=len(sent_ids),
        stored=len(stored_ids) + int(extra_rows),
        lost=len(sent_ids - stored_set),
        counted_twice=len(stored_ids) - len(stored_set) + int(extra_rows),
        dossiers=len(expected),
        dossiers_mismatched=sorted(mismatched),
    )
