"""The fold: a dossier's current state from its events. Pure: no I/O, no clock.

Rules (CONTRACT.md, "Events"):
- events are applied in (``occurred_at``, ``event_id``, ``source``) order; the same
  (``source``, ``event_id``) twice counts once;
- a later non-null attribute overwrites an earlier one; ``status`` is the last event's;
- ``received_at`` is the latest non-null ``received_at`` field, else the ``occurred_at`` of the
  first ``received`` event; a dossier that has a ``received`` event stays received when it is
  later ``refused`` (the refusal closes it, like ``withdrawn``); only a dossier refused without
  ever being received is outside intake (CONTRACT.md v1.1, "Intake clarifications");
- ``due_at_field`` is the latest non-null ``due_at`` an event gave (the row's ``due_at`` is the
  *effective* due date: that one, else the one derived from the procedure's statutory duration,
  see ``app/dossiers/derive.py``);
- waiting on the citizen (CONTRACT.md v1.1, "The national index"): a wait runs from an event
  entering ``supplement_requested`` or ``payment_requested`` from another status to the next
  event of another status; a repeat of the same status continues the wait (it is not a new
  request). ``waits`` holds the ended waits as (start, end) instants, ``paused_at`` the start of
  the outstanding one (None when not waiting), ``supplement_count`` the number of supplement
  requests (entries into ``supplement_requested``);
- ``resolved_at`` is the ``occurred_at`` of the first ``resolved`` event, else of the first
  ``returned`` one; ``closed_at`` of the first ``withdrawn``, ``stopped`` or ``refused`` one;
  ``ended_at`` is the earlier of the two: from then on the dossier is no longer open.

``fold(events)`` equals ``fold(later, start=fold(earlier))`` whenever every event of
``later`` sorts after every event of ``earlier``; storage relies on that to fold new events
onto the stored row without replaying history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class Status(StrEnum):
    """Dossier status, with the national TrangThaiHoSo code as ``.code``."""

    submitted = "submitted"
    received = "received"
    refused = "refused"
    processing = "processing"
    supplement_requested = "supplement_requested"
    payment_requested = "payment_requested"
    withdrawn = "withdrawn"
    stopped = "stopped"
    resolved = "resolved"
    returned = "returned"

    @property
    def code(self) -> int:
        return STATUS_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Status:
        return CODE_STATUSES[code]


STATUS_CODES: dict[Status, int] = {status: i for i, status in enumerate(Status, start=1)}
CODE_STATUSES: dict[int, Status] = {i: status for status, i in STATUS_CODES.items()}
CLOSING_STATUSES = frozenset({Status.withdrawn, Status.stopped, Status.refused})
# Statuses in which the dossier waits on the citizen (the unit's clock is paused).
WAITING_STATUSES = frozenset({Status.supplement_requested, Status.payment_requested})

Wait = tuple[datetime, datetime]


class Channel(StrEnum):
    """Intake channel, with the national KenhThucHien code as ``.code``."""

    direct = "direct"
    online = "online"
    postal = "postal"

    @property
    def code(self) -> int:
        return {"direct": 1, "online": 2, "postal": 3}[self.value]


# Attributes an event may carry; a later non-null value overwrites an earlier one (``due_at``
# and ``received_at`` too, kept as ``due_at_field`` and ``received_at_field``).
ATTRIBUTES = (
    "unit_code",
    "procedure_code",
    "sector_code",
    "channel",
    "components_total",
    "components_digitized",
    "result_digitized",
    "result_signed",
    "fee_required",
    "paid_online",
)


@dataclass(frozen=True, slots=True)
class FoldEvent:
    """The part of a stored event the fold reads."""

    source: str
    event_id: str
    dossier_code: str
    status: Status
    occurred_at: datetime
    unit_code: str
    procedure_code: str | None = None
    sector_code: str | None = None
    channel: str | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    components_total: int | None = None
    components_digitized: int | None = None
    result_digitized: bool | None = None
    result_signed: bool | None = None
    fee_required: bool | None = None
    paid_online: bool | None = None

    @property
    def key(self) -> tuple[datetime, str, str]:
        return (self.occurred_at, self.event_id, self.source)

    @classmethod
    def from_mapping(cls, data: Any) -> FoldEvent:
        values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        values["status"] = Status(values["status"])
        return cls(**values)


@dataclass(slots=True)
class DossierState:
    """A dossier's folded state, including the raw inputs of its derived instants."""

    code: str
    unit_code: str
    status: Status
    first_event_at: datetime
    last_event_at: datetime
    last_event_id: str
    last_event_source: str
    procedure_code: str | None = None
    sector_code: str | None = None
    channel: str | None = None
    due_at_field: datetime | None = None
    components_total: int | None = None
    components_digitized: int | None = None
    result_digitized: bool | None = None
    result_signed: bool | None = None
    fee_required: bool | None = None
    paid_online: bool | None = None
    received_at_field: datetime | None = None
    first_received_at: datetime | None = None
    first_resolved_at: datetime | None = None
    first_returned_at: datetime | None = None
    refused_at: datetime | None = None
    closed_at: datetime | None = None
    supplement_count: int = 0
    paused_at: datetime | None = None
    waits: tuple[Wait, ...] = ()
    event_count: int = 0

    @property
    def last_key(self) -> tuple[datetime, str, str]:
        return (self.last_event_at, self.last_event_id, self.last_event_source)

    @property
    def received_at(self) -> datetime | None:
        return self.received_at_field or self.first_received_at

    @property
    def counts_as_received(self) -> bool:
        """Received: a ``received`` event (even if refused later), or a ``received_at`` on a
        dossier never refused."""
        if self.received_at is None:
            return False
        return self.first_received_at is not None or self.refused_at is None

    @property
    def due_at(self) -> datetime | None:
        """The due date the events set (the last non-null ``due_at``)."""
        return self.due_at_field

    def clipped_waits(self) -> list[Wait]:
        """The ended waits clipped to receipt … resolution (receipt … for an open dossier);
        empty when the dossier was never received. Waits never overlap (one ends where the
        next starts, at the earliest)."""
        start = self.received_at if self.counts_as_received else None
        if start is None:
            return []
        stop = self.resolved_at
        out = []
        for begin, end in self.waits:
            begin = max(begin, start)
            if stop is not None:
                end = min(end, stop)
            if begin < end:
                out.append((begin, end))
        return out

    @property
    def resolved_at(self) -> datetime | None:
        return self.first_resolved_at or self.first_returned_at

    @property
    def ended_at(self) -> datetime | None:
        ends = [t for t in (self.resolved_at, self.closed_at) if t is not None]
        return min(ends) if ends else None

    def apply(self, event: FoldEvent) -> None:
        """Fold one event that sorts after every event already folded."""
        for name in ATTRIBUTES:
            value = getattr(event, name)
            if value is not None:
                setattr(self, name, value)
        if event.received_at is not None:
            self.received_at_field = event.received_at
        if event.due_at is not None:
            self.due_at_field = event.due_at
        at = event.occurred_at
        status = event.status
        if status is not self.status or self.event_count == 0:
            # a change of status: it ends an outstanding wait and may start one
            if self.paused_at is not None:
                self.waits = (*self.waits, (self.paused_at, at))
                self.paused_at = None
            if status in WAITING_STATUSES:
                self.paused_at = at
                if status is Status.supplement_requested:
                    self.supplement_count += 1
        self.status = status
        if status is Status.received and self.first_received_at is None:
            self.first_received_at = at
        elif status is Status.resolved and self.first_resolved_at is None:
            self.first_resolved_at = at
        elif status is Status.returned and self.first_returned_at is None:
            self.first_returned_at = at
        if status is Status.refused and self.refused_at is None:
            self.refused_at = at
        if status in CLOSING_STATUSES and self.closed_at is None:
            self.closed_at = at
        self.event_count += 1
        self.last_event_at, self.last_event_id, self.last_event_source = event.key

    @classmethod
    def start(cls, event: FoldEvent) -> DossierState:
        return cls(
            code=event.dossier_code,
            unit_code=event.unit_code,
            status=event.status,
            first_event_at=event.occurred_at,
            last_event_at=event.occurred_at,
            last_event_id=event.event_id,
            last_event_source=event.source,
        )

    def to_row(self, zone: ZoneInfo) -> dict[str, Any]:
        """The ``dossiers`` table row: raw inputs, derived instants and local dates."""
        row = {name: getattr(self, name) for name in STATE_NAMES}
        row["status"] = self.status.value
        row["waits"] = encode_waits(self.waits)
        received = self.received_at if self.counts_as_received else None
        row["received_at"] = self.received_at
        row["received_date"] = _local_date(received, zone)
        row["resolved_at"] = self.resolved_at
        row["resolved_date"] = _local_date(self.resolved_at, zone)
        row["ended_at"] = self.ended_at
        row["ended_date"] = _local_date(self.ended_at, zone)
        row["due_at"] = self.due_at_field  # until ``derive`` sets the effective one
        row["due_date"] = _local_date(self.due_at_field, zone)
        row["paused_date"] = _local_date(self.paused_at, zone)
        return row

    @classmethod
    def from_row(cls, row: Any) -> DossierState:
        return cls.from_values([row[name] for name in STATE_NAMES])

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> DossierState:
        """A state from its stored values in ``STATE_NAMES`` order (positional: a batch's
        states are read this way, without a look-up by name per field)."""
        fields = list(values)
        fields[_STATUS_AT] = Status(fields[_STATUS_AT])
        fields[_WAITS_AT] = decode_waits(fields[_WAITS_AT])
        return cls(*fields)


def encode_waits(waits: tuple[Wait, ...]) -> str:
    """The ended waits as stored: ``start end`` pairs of ISO instants, separated by ``;``."""
    return ";".join(f"{a.isoformat()} {b.isoformat()}" for a, b in waits)


def decode_waits(text: str | None) -> tuple[Wait, ...]:
    """:func:`encode_waits` read back (NULL, from a row written before waits: none)."""
    if not text:
        return ()
    pairs = []
    for part in text.split(";"):
        a, b = part.split(" ")
        pairs.append((datetime.fromisoformat(a), datetime.fromisoformat(b)))
    return tuple(pairs)


# ``dataclasses.fields`` rebuilds its tuple on every call: visible in a 1000-event profile.
STATE_NAMES = tuple(f.name for f in dataclasses.fields(DossierState))
_STATUS_AT = STATE_NAMES.index("status")
_WAITS_AT = STATE_NAMES.index("waits")


def _local_date(value: datetime | None, zone: ZoneInfo) -> date | None:
    return value.astimezone(zone).date() if value is not None else None


def fold(events: Iterable[FoldEvent], start: DossierState | None = None) -> DossierState:
    """Fold events (any order, duplicates allowed) onto ``start`` (or from nothing)."""
    unique = {(e.source, e.event_id): e for e in events}
    ordered = sorted(unique.values(), key=lambda e: e.key)
    if not ordered:
        if start is None:
            raise ValueError("cannot fold an empty list of events without a start state")
        return start
    state = start if start is not None else DossierState.start(ordered[0])
    for event in ordered:
        state.apply(event)
    return state
