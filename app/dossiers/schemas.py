from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.dossiers.fold import Status


class DossierStateOut(BaseModel):
    """The folded state, named as in the event table, plus what the fold derives."""

    model_config = ConfigDict(from_attributes=True)

    status: Status
    unit_code: str
    procedure_code: str | None
    sector_code: str | None
    channel: str | None
    received_at: datetime | None = Field(
        description="NgayTiepNhan: the latest received_at sent, else the first `received` event."
    )
    due_at: datetime | None
    components_total: int | None
    components_digitized: int | None
    result_digitized: bool | None
    result_signed: bool | None
    fee_required: bool | None
    paid_online: bool | None
    resolved_at: datetime | None = Field(
        description="The first `resolved` event, else the first `returned` one."
    )
    closed_at: datetime | None = Field(
        description="The first `withdrawn`, `stopped` or `refused` event."
    )
    refused_at: datetime | None
    supplement_count: int = Field(description="Number of `supplement_requested` events.")
    event_count: int
    first_event_at: datetime
    last_event_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    event_id: str
    status: Status
    occurred_at: datetime
    unit_code: str
    procedure_code: str | None
    sector_code: str | None
    channel: str | None
    received_at: datetime | None
    due_at: datetime | None
    components_total: int | None
    components_digitized: int | None
    result_digitized: bool | None
    result_signed: bool | None
    fee_required: bool | None
    paid_online: bool | None
    ingested_at: datetime


class DossierOut(BaseModel):
    dossier_code: str
    state: DossierStateOut
    events: list[EventOut] = Field(description="All events, in fold order.")
