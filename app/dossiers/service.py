"""Storage side of the fold: keep each dossier row equal to the fold of its events."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import chunks, dialect_insert, dialect_of, utcnow
from app.dossiers.fold import DossierState, FoldEvent, fold
from app.dossiers.models import Dossier, DossierEvent

IN_CHUNK = 900  # stays under every backend's bound-parameter limit

_EVENT_FOLD_COLUMNS = [
    DossierEvent.source,
    DossierEvent.event_id,
    DossierEvent.dossier_code,
    DossierEvent.status,
    DossierEvent.occurred_at,
    DossierEvent.unit_code,
    DossierEvent.procedure_code,
    DossierEvent.sector_code,
    DossierEvent.channel,
    DossierEvent.received_at,
    DossierEvent.due_at,
    DossierEvent.components_total,
    DossierEvent.components_digitized,
    DossierEvent.result_digitized,
    DossierEvent.result_signed,
    DossierEvent.fee_required,
    DossierEvent.paid_online,
]


def lock_key(code: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks on a dossier code."""
    return int.from_bytes(
        hashlib.blake2b(code.encode(), digest_size=8).digest(), "big", signed=True
    )


async def lock_dossiers(session: AsyncSession, codes: Sequence[str]) -> None:
    """Serialise writers of the same dossiers (PostgreSQL; SQLite has a single writer).

    Locks are taken in key order, so two batches touching the same dossiers cannot deadlock
    on them; they are released at commit or rollback.
    """
    if dialect_of(session) != "postgresql" or not codes:
        return
    keys = sorted({lock_key(c) for c in codes})
    await session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM "
            "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS s"
        ),
        {"keys": keys},
    )


async def load_events(session: AsyncSession, codes: Sequence[str]) -> dict[str, list[FoldEvent]]:
    out: dict[str, list[FoldEvent]] = defaultdict(list)
    for part in chunks(sorted(codes), IN_CHUNK):
        rows = await session.execute(
            select(*_EVENT_FOLD_COLUMNS).where(DossierEvent.dossier_code.in_(part))
        )
        for row in rows.mappings():
            out[row["dossier_code"]].append(FoldEvent.from_mapping(row))
    return out


async def load_states(session: AsyncSession, codes: Sequence[str]) -> dict[str, DossierState]:
    out: dict[str, DossierState] = {}
    for part in chunks(sorted(codes), IN_CHUNK):
        rows = await session.execute(select(Dossier).where(Dossier.code.in_(part)))
        for dossier in rows.scalars():
            out[dossier.code] = DossierState.from_row(dossier.__dict__)
    return out


async def apply_events(
    session: AsyncSession, events: Sequence[FoldEvent], *, zone: ZoneInfo
) -> int:
    """Fold newly stored events into their dossiers; returns how many dossiers changed.

    A dossier whose new events all sort after its last folded event is folded on from its
    stored row; any other (an older event arrived late) is replayed from all its events.
    """
    if not events:
        return 0
    by_code: dict[str, list[FoldEvent]] = defaultdict(list)
    for ev in events:
        by_code[ev.dossier_code].append(ev)
    states = await load_states(session, list(by_code))
    replay = [
        code
        for code, new in by_code.items()
        if code in states and min(e.key for e in new) <= states[code].last_key
    ]
    history = await load_events(session, replay) if replay else {}
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for code, new in by_code.items():
        if code in history:
            state = fold(history[code])
        else:
            state = fold(new, start=states.get(code))
        row = state.to_row(zone)
        row["updated_at"] = now
        rows.append(row)
    await upsert_dossiers(session, rows)
    return len(rows)


async def upsert_dossiers(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    insert = dialect_insert(dialect_of(session))
    table = Dossier.__table__
    for part in chunks(rows, 500):
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.code],
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != "code"},
        )
        await session.execute(stmt, part)


async def refold_all(session: AsyncSession, *, zone: ZoneInfo, batch: int = 2000) -> int:
    """Rebuild every dossier row from its events (after a zone change or a repair)."""
    codes = list((await session.execute(select(DossierEvent.dossier_code).distinct())).scalars())
    done = 0
    for part in chunks(codes, batch):
        history = await load_events(session, part)
        rows = []
        now = utcnow()
        for events in history.values():
            row = fold(events).to_row(zone)
            row["updated_at"] = now
            rows.append(row)
        await upsert_dossiers(session, rows)
        done += len(rows)
    return done
