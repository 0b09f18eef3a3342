"""National records and steps in, through the shared ingestion: one store, one fold."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.auth.signing import VerifiedRequest
from app.config import Settings
from app.db import Database, chunks
from app.dossiers.models import Dossier
from app.dossiers.service import IN_CHUNK
from app.dvcqg.mapping import (
    KnownDossier,
    MappedRecord,
    MappingOptions,
    map_dossier,
    map_step,
)
from app.dvcqg.schemas import EventResult, RecordResult, RecordResultKind, SyncOut
from app.errors import FieldError
from app.ingest import service as ingest_service
from app.ingest.schemas import ItemOutcome, ValidationContext

SOME_INVALID = "2"
NONE_STORED = "3"


def mapping_options(settings: Settings) -> MappingOptions:
    return MappingOptions(
        zone=settings.zone,
        unit_source=settings.dvcqg_unit_source,
        unit_map=dict(settings.dvcqg_unit_map),
    )


async def sync_dossiers(
    db: Database,
    *,
    source: str,
    records: Sequence[Any],
    claim: VerifiedRequest | None = None,
    units: frozenset[str] | None = None,
) -> SyncOut:
    """Map each national record to its events and store them all in one transaction
    (``claim``: a signed request, its id recorded in that transaction; ``units``: a scoped
    key's units, events of other units are invalid)."""
    options = mapping_options(db.settings)
    mapped = [map_dossier(record, options) for record in records]
    return await _store(db, source=source, mapped=mapped, claim=claim, units=units)


async def sync_progress(
    db: Database,
    *,
    source: str,
    steps: Sequence[Any],
    claim: VerifiedRequest | None = None,
    units: frozenset[str] | None = None,
) -> SyncOut:
    """Map each processing step to a status event; known dossiers keep their unit."""
    options = mapping_options(db.settings)
    codes = sorted(
        {s["MaHoSo"] for s in steps if isinstance(s, dict) and isinstance(s.get("MaHoSo"), str)}
    )
    known = await _known_dossiers(db, codes)
    unit_of = {code: dossier.unit_code for code, dossier in known.items()}
    mapped = [map_step(step, options, unit_of, known) for step in steps]
    return await _store(db, source=source, mapped=mapped, claim=claim, units=units)


async def _known_dossiers(db: Database, codes: list[str]) -> dict[str, KnownDossier]:
    out: dict[str, KnownDossier] = {}
    if not codes:
        return out
    async with db.sessionmaker() as session:
        for part in chunks(codes, IN_CHUNK):
            rows = await session.execute(
                select(
                    Dossier.code, Dossier.unit_code, Dossier.received_at, Dossier.resolved_at
                ).where(Dossier.code.in_(part))
            )
            out.update(
                {
                    code: KnownDossier(unit, _aware(received), _aware(resolved))
                    for code, unit, received, resolved in rows
                }
            )
    return out


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def _store(
    db: Database,
    *,
    source: str,
    mapped: list[MappedRecord],
    claim: VerifiedRequest | None,
    units: frozenset[str] | None = None,
) -> SyncOut:
    items: list[dict[str, Any]] = []
    owners: list[tuple[int, int]] = []  # (record index, event index within the record)
    for index, record in enumerate(mapped):
        for position, event in enumerate(record.events):
            items.append(event.body)
            owners.append((index, position))
    per_event: dict[tuple[int, int], ItemOutcome] = {}
    if items:
        ctx = ValidationContext.make(db.settings.zone, db.settings.max_future_skew_seconds, units)
        outcome = await ingest_service.ingest(db, source=source, items=items, ctx=ctx, claim=claim)
        for result in outcome.results:
            per_event[owners[result.index]] = result
    results = [
        _record_result(index, record, [per_event[(index, p)] for p in range(len(record.events))])
        for index, record in enumerate(mapped)
    ]
    return _answer(db.settings.dvcqg_success_code, results)


def _record_result(index: int, record: MappedRecord, outcomes: list[ItemOutcome]) -> RecordResult:
    errors = [FieldError(**p.as_dict()) for p in record.problems]
    events = []
    for event, outcome in zip(record.events, outcomes, strict=True):
        events.append(
            EventResult(
                event_id=event.event_id,
                status=str(event.body["status"]),
                occurred_at=str(event.body["occurred_at"]),
                result=outcome.result,
            )
        )
        for error in outcome.errors:
            field = str(error.loc[0]) if error.loc else ""
            loc = event.locs.get(field, [field] if field else [])
            errors.append(FieldError(loc=loc, msg=f"{field}: {error.msg}", type=error.type))
        if outcome.result == "conflict":
            errors.append(
                FieldError(
                    loc=[],
                    msg=f"event {event.event_id} was stored before with other content",
                    type="conflict",
                )
            )
    stored = [o.result for o in outcomes if o.result in ("accepted", "duplicate")]
    kind: RecordResultKind
    if not stored:
        kind = "partial" if record.ignored else "invalid"
    elif errors:
        kind = "partial"
    elif "accepted" in stored:
        kind = "accepted"
    else:
        kind = "duplicate"
    return RecordResult(
        index=index, MaHoSo=record.dossier_code, result=kind, events=events, errors=errors
    )


def _answer(success_code: str, results: list[RecordResult]) -> SyncOut:
    """The summary national clients read: ``error_code`` and a Vietnamese ``message``.

    Success (every record stored, some perhaps partially) says "thành công", which one client
    looks for in the message (docs/dvcqg.md, Thanh Hóa); when every record was already stored it
    also says "đã tồn tại", the portal's "already exists". A failure never contains
    "thành công" (not even as "không thành công").
    """
    counts = {k: sum(r.result == k for r in results) for k in ("accepted", "duplicate")}
    partial = sum(r.result == "partial" for r in results)
    invalid = sum(r.result == "invalid" for r in results)
    events = [e.result for r in results for e in r.events]
    total = len(results)
    if invalid == 0:
        code = success_code
        head = "Đồng bộ thành công"
        if total and counts["duplicate"] == total:
            head = "Hồ sơ đã tồn tại, không có thay đổi; đồng bộ thành công"
        head += " (success)"
    elif invalid < total:
        code, head = SOME_INVALID, "Đồng bộ lỗi một phần (some records could not be stored)"
    else:
        code, head = NONE_STORED, "Đồng bộ thất bại (no record could be stored)"
    message = (
        f"{head}: {total} records, {counts['accepted']} accepted, {counts['duplicate']} "
        f"duplicate, {partial} partial, {invalid} invalid"
    )
    return SyncOut(
        error_code=code,
        message=message,
        accepted=counts["accepted"],
        duplicates=counts["duplicate"],
        partial=partial,
        invalid=invalid,
        events_accepted=events.count("accepted"),
        events_duplicate=events.count("duplicate"),
        results=results,
    )
