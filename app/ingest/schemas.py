"""The canonical event (CONTRACT.md, "Events") and the batch answers."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.dossiers.fold import Channel, FoldEvent, Status
from app.errors import FieldRuleError

# Codes are printable text: no control characters (PostgreSQL cannot store NUL in text).
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=_PRINTABLE)]
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

EVENT_EXAMPLE: dict[str, Any] = {
    "event_id": "evt-000.00.31.H40-240105-0001-2",
    "dossier_code": "000.00.31.H40-240105-0001",
    "status": "received",
    "occurred_at": "2024-01-05T08:30:00+07:00",
    "unit_code": "000.00.31.H40",
    "procedure_code": "1.001234",
    "sector_code": "G09-TP01",
    "channel": "online",
    "due_at": "2024-01-12T17:00:00+07:00",
    "components_total": 3,
    "components_digitized": 3,
    "fee_required": True,
    "paid_online": True,
}


class ValidationContext(BaseModel):
    """What validation needs from outside: the zone for naive times and 'now', and whether
    an unknown field is an error (ONESTOP_STRICT_FIELDS) or only a warning."""

    zone: Any
    now: datetime
    max_future: timedelta
    strict_fields: bool = False
    # a scoped ingest key: the unit codes it may push for (app.auth.scope.ingest_units)
    units: frozenset[str] | None = None

    @classmethod
    def make(
        cls,
        zone: ZoneInfo,
        max_future_seconds: int,
        units: frozenset[str] | None = None,
        *,
        strict_fields: bool = False,
    ) -> ValidationContext:
        return cls(
            zone=zone,
            now=datetime.now(UTC),
            max_future=timedelta(seconds=max_future_seconds),
            units=units,
            strict_fields=strict_fields,
        )


class EventIn(BaseModel):
    """One status change of one dossier, with the dossier's attributes as known then."""

    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, json_schema_extra={"examples": [EVENT_EXAMPLE]}
    )

    event_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=_PRINTABLE,
        description="Unique per source (the key's `source`): the idempotency key.",
    )
    dossier_code: Code = Field(description="MaHoSo, the dossier's code.")
    status: Status = Field(description="The dossier's status after this change (TrangThaiHoSo).")
    occurred_at: datetime = Field(
        description="When the change happened in the source system. RFC 3339; without an "
        "offset it is read in ONESTOP_TIMEZONE."
    )
    unit_code: Code = Field(
        description="The unit handling the dossier; unknown codes are registered."
    )
    procedure_code: Code | None = Field(default=None, description="MaTTHC.")
    sector_code: Code | None = Field(default=None, description="MaLinhVuc.")
    channel: Channel | None = Field(
        default=None, description="KenhThucHien: direct 1, online 2, postal 3."
    )
    received_at: datetime | None = Field(
        default=None,
        description="NgayTiepNhan; default: occurred_at of the first `received` event.",
    )
    due_at: datetime | None = Field(
        default=None, description="NgayHenTra; a later event may move it (supplements)."
    )
    components_total: int | None = Field(default=None, ge=0, le=10_000)
    components_digitized: int | None = Field(
        default=None, ge=0, le=10_000, description="At most components_total."
    )
    result_digitized: StrictBool | None = None
    result_signed: StrictBool | None = None
    fee_required: StrictBool | None = None
    paid_online: StrictBool | None = None

    @field_validator("occurred_at", "received_at", "due_at", mode="before")
    @classmethod
    def _rfc3339_text(cls, value: Any) -> Any:
        # Pydantic would read a number as Unix seconds or milliseconds, guessing by size;
        # the contract says RFC 3339, so a number is refused rather than guessed.
        if isinstance(value, int | float):
            raise ValueError("timestamps are RFC 3339 strings, not numbers")
        return value

    @field_validator("occurred_at", "received_at", "due_at")
    @classmethod
    def _instant(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        ctx = info.context
        if value.tzinfo is None:
            zone = ctx.zone if isinstance(ctx, ValidationContext) else ZoneInfo("Asia/Ho_Chi_Minh")
            value = value.replace(tzinfo=zone)
        value = value.astimezone(UTC)
        if not EARLIEST <= value < LATEST:
            raise ValueError("timestamp out of range (1990-01-01 … 2199-12-31)")
        future = isinstance(ctx, ValidationContext) and value > ctx.now + ctx.max_future
        if future and info.field_name != "due_at":
            raise ValueError("timestamp lies in the future beyond the allowed clock skew")
        return value

    @model_validator(mode="after")
    def _digitized_within_total(self) -> EventIn:
        if (
            self.components_digitized is not None
            and self.components_total is not None
            and self.components_digitized > self.components_total
        ):
            raise FieldRuleError(
                "components_digitized",
                f"components_digitized ({self.components_digitized}) must not exceed "
                f"components_total ({self.components_total})",
            )
        return self

    def canonical(self) -> dict[str, Any]:
        """The event's meaning as JSON: instants in UTC, every field present."""
        return self.model_dump(mode="json")

    def body_hash(self) -> str:
        """SHA-256 of ``canonical()`` as compact JSON with sorted keys.

        Written without ``canonical()``: orjson serialises the fields directly (instants in
        UTC with a ``Z``, the same text pydantic's JSON mode gives, enums as their values),
        a third of the cost per event; ``tests/test_ingest_hash.py`` checks the two agree.
        """
        values = {name: getattr(self, name) for name in _HASHED_FIELDS}
        return hashlib.sha256(
            orjson.dumps(values, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
        ).hexdigest()

    def to_fold_event(self, source: str) -> FoldEvent:
        """The event as the fold reads it: ``FoldEvent``'s fields taken by name."""
        values = {name: getattr(self, name) for name in _FOLD_FIELDS}
        values["channel"] = self.channel.value if self.channel else None
        return FoldEvent(source=source, **values)


_FOLD_FIELDS = tuple(f.name for f in dataclasses.fields(FoldEvent) if f.name != "source")

_HASHED_FIELDS = tuple(sorted(EventIn.model_fields))
EVENT_FIELDS = frozenset(EventIn.model_fields)


class StrictEventIn(EventIn):
    """``EventIn`` under ONESTOP_STRICT_FIELDS=true: an unknown field is an error at its name."""

    model_config = ConfigDict(extra="forbid")


def event_model(ctx: ValidationContext | None) -> type[EventIn]:
    return StrictEventIn if ctx is not None and ctx.strict_fields else EventIn


ItemResultKind = Literal["accepted", "duplicate", "conflict", "invalid"]


class ItemError(BaseModel):
    loc: list[str | int] = Field(description="Field path inside the event.")
    msg: str
    type: str


class ItemWarning(BaseModel):
    """Something sent that was not used as sent: never silent (CONTRACT "Intake
    clarifications"). An unknown field (ignored) or an unregistered unit or procedure code
    (stored, counted under a code without a name until it is registered)."""

    loc: list[str | int] = Field(description="Field path inside the event.")
    msg: str


WARNINGS_FIELD: Any = Field(
    default_factory=list,
    description="Every unknown field (ignored; with ONESTOP_STRICT_FIELDS=true the item is "
    "`invalid` instead) and every unit or procedure code that is not registered. Empty when "
    "none.",
)


class ItemResult(BaseModel):
    index: int = Field(description="Position of the event in the batch, from 0.")
    event_id: str | None = Field(description="The event's id, when one could be read.")
    result: ItemResultKind
    errors: list[ItemError] = Field(default_factory=list)
    warnings: list[ItemWarning] = WARNINGS_FIELD


@dataclass(slots=True)
class ItemOutcome:
    """One item's outcome as the service reports it: ``ItemResult``'s fields, no validation.

    A batch of 1000 built 1000 pydantic models and FastAPI validated and dumped them again;
    the batch route writes these straight to JSON (``batch_json``), in ``ItemResult``'s shape.
    """

    index: int
    event_id: str | None
    result: ItemResultKind
    errors: Sequence[ItemError] = ()


class EventAck(BaseModel):
    event_id: str
    result: Literal["accepted", "duplicate"]
    warnings: list[ItemWarning] = WARNINGS_FIELD


class BatchIn(BaseModel):
    """Documentation model of the batch body; items are validated one by one."""

    events: list[EventIn] = Field(description="At most ONESTOP_MAX_BATCH events.")


class BatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int = Field(description="Invalid items plus conflicts.")
    results: list[ItemResult]


def batch_json(
    *,
    accepted: int,
    duplicates: int,
    rejected: int,
    results: Sequence[ItemOutcome],
    warnings: Mapping[int, Sequence[ItemWarning]] | None = None,
) -> bytes:
    """``BatchOut`` as JSON, byte for byte what FastAPI wrote for the model, in one pass.

    Same key order, compact separators, non-ASCII written as UTF-8 (json.dumps with
    ``ensure_ascii=False`` and orjson escape the same characters); ``tests/test_ingest_batch.py``
    checks it against the model's own dump.
    """
    return orjson.dumps(
        {
            "accepted": accepted,
            "duplicates": duplicates,
            "rejected": rejected,
            "results": [
                {
                    "index": r.index,
                    "event_id": r.event_id,
                    "result": r.result,
                    "errors": [e.model_dump() for e in r.errors] if r.errors else [],
                    "warnings": [w.model_dump() for w in (warnings or {}).get(r.index, ())],
                }
                for r in results
            ],
        }
    )
