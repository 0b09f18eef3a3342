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
    due_at: datetime | None = Field(
        description="NgayHenTra: the last due_at the events set; without one, when the "
        "procedure has a duration_working_days N, 17:00 local time on the (N + W)-th working "
        "day after the day of receipt (W = wait_days; due_derived true); else null."
    )
    due_derived: bool = Field(
        False, description="True when due_at comes from the procedure's statutory duration."
    )
    wait_days: int = Field(
        0,
        description="W: working days the dossier waited on the citizen (ended waits from a "
        "supplement_requested or payment_requested event to the next event of another status, "
        "counted like processing days, within receipt … resolution).",
    )
    paused_at: datetime | None = Field(
        None,
        description="While waiting on the citizen (last status supplement_requested or "
        "payment_requested): when the outstanding request was made.",
    )
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
    supplement_count: int = Field(
        description="Supplement requests: events entering `supplement_requested` from another "
        "status (a repeat of the same status is the same request)."
    )
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
