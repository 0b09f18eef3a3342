"""Storage side of the fold: keep each dossier row equal to the fold of its events.

Written against ``app.storage.base.WriteTx`` only: the same steps on every database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from app.db import chunks, utcnow
from app.dossiers import derive
from app.dossiers.fold import DossierState, FoldEvent, fold
from app.storage.base import WriteTx

IN_CHUNK = 900  # codes per ``IN (…)``: under every database's bound-parameter limit


async def apply_events(
    tx: WriteTx,
    events: Sequence[FoldEvent],
    *,
    zone: ZoneInfo,
    states: dict[str, DossierState] | None = None,
) -> int:
    """Fold newly stored events into their dossiers; returns how many dossiers changed.

    A dossier whose new events all sort after its last folded event is folded on from its
    stored row; any other (an older event arrived late) is replayed from all its events.
    ``states``: the stored states of these dossiers (none for a new one), when the caller
    read them already under the dossiers' locks; otherwise they are loaded here.
    """
    if not events:
        return 0
    by_code: dict[str, list[FoldEvent]] = defaultdict(list)
    for ev in events:
        by_code[ev.dossier_code].append(ev)
    if states is None:
        states = await tx.load_states(list(by_code))
    replay = [
        code
        for code, new in by_code.items()
        if code in states and min(e.key for e in new) <= states[code].last_key
    ]
    history = await tx.load_events(replay) if replay else {}
    folded: list[DossierState] = []
    for code, new in by_code.items():
        if code in history:
            folded.append(fold(history[code]))
        else:
            folded.append(fold(new, start=states.get(code)))
    rows = await derive.rows_of(tx, folded, zone)  # wait days, effective due date
    now = utcnow()
    for row in rows:
        row["updated_at"] = now
    await tx.upsert_dossiers(rows)
    return len(rows)


async def refold_all(tx: WriteTx, *, zone: ZoneInfo, batch: int = 2000) -> int:
    """Rebuild every dossier row from its events (after a zone change or a repair), then
    recount the metric rollups from them (repairing rollups that were written around)."""
    done = 0
    for part in chunks(await tx.dossier_codes(), batch):
        history = await tx.load_events(part)
        folded = [fold(events) for events in history.values()]
        rows = await derive.rows_of(tx, folded, zone)
        now = utcnow()
        for row in rows:
            row["updated_at"] = now
        await tx.upsert_dossiers(rows)
        done += len(rows)
    await tx.rebuild_rollups()
    return done
