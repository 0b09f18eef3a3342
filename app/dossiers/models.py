"""The append-only event store and the folded dossier table the metrics count."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.tables import Base, UTCDateTime, utcnow

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class DossierEvent(Base):
    """One status change of one dossier, as pushed; never updated or deleted."""

    __tablename__ = "dossier_events"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_dossier_events_dossier_order", "dossier_code", "occurred_at", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(128))
    dossier_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unit_code: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    sector_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(8))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    components_total: Mapped[int | None] = mapped_column(Integer)
    components_digitized: Mapped[int | None] = mapped_column(Integer)
    result_digitized: Mapped[bool | None] = mapped_column(Boolean)
    result_signed: Mapped[bool | None] = mapped_column(Boolean)
    fee_required: Mapped[bool | None] = mapped_column(Boolean)
    paid_online: Mapped[bool | None] = mapped_column(Boolean)
    body_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSON
    )  # json, not jsonb: keeps \u0000 and key order
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


RESOLVED_LATER_WHERE = (
    "components_digitized >= 1 AND result_digitized IS NOT TRUE AND resolved_date IS NOT NULL"
)


class Dossier(Base):
    """The current state of a dossier: the fold of its events (see ``fold.py``).

    Everything the metrics filter or count on is a plain column; local calendar dates are
    precomputed in the configured zone so period filters are simple date ranges.
    """

    __tablename__ = "dossiers"
    __table_args__ = (
        Index("ix_dossiers_unit_received", "unit_code", "received_date"),
        Index("ix_dossiers_unit_resolved", "unit_code", "resolved_date"),
        Index("ix_dossiers_received_date", "received_date"),
        Index("ix_dossiers_resolved_date", "resolved_date"),
        Index("ix_dossiers_ended_at", "ended_at"),
        Index("ix_dossiers_due_at", "due_at"),
        # the still-open dossiers, for the backlog basis (migration 0008; on PostgreSQL its
        # key is received_date alone, with the backlog's columns INCLUDEd)
        Index(
            "ix_dossiers_open_cover",
            "received_date",
            "received_at",
            sqlite_where=text("ended_at IS NULL"),
        ),
        # the dossiers that indicator 4.2's end-of-period correction counts (resolved without
        # an electronic result, with a digitized component): ``digitized_resolved_later``
        # (migration 0018; on PostgreSQL it INCLUDEs unit_code and the two counted columns)
        Index(
            "ix_dossiers_resolved_later",
            "received_date",
            "resolved_date",
            sqlite_where=text(RESOLVED_LATER_WHERE),
            postgresql_where=text(RESOLVED_LATER_WHERE),
        ),
        # the open dossiers with a due date, by unit and due date: the alert scan (migration
        # 0015; on PostgreSQL it INCLUDEs code, received_at, procedure_code)
        Index(
            "ix_dossiers_open_due",
            "unit_code",
            "due_at",
            sqlite_where=text("ended_at IS NULL AND due_at IS NOT NULL"),
            postgresql_where=text("ended_at IS NULL AND due_at IS NOT NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    sector_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    # raw fold inputs (kept so a new event can be folded onto the row without a replay)
    received_at_field: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at_field: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the events' due_at
    # waiting on the citizen: the ended waits ("start end;…", ISO instants; NULL: folded
    # before waits were recorded), the start of the outstanding one and its local date
    waits: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_date: Mapped[date | None] = mapped_column(Date)
    # derived instants and local dates
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_date: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_date: Mapped[date | None] = mapped_column(Date)
    # effective due date: due_at_field, else derived from the procedure's statutory duration
    # (app/dossiers/derive.py: due_derived), with wait_days the working days waited
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_date: Mapped[date | None] = mapped_column(Date)
    due_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    wait_days: Mapped[int] = mapped_column(Integer, default=0)
    # overdue by the national portal's rules after this instant (app/dossiers/derive.py)
    portal_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    portal_due_date: Mapped[date | None] = mapped_column(Date)
    components_total: Mapped[int | None] = mapped_column(Integer)
    components_digitized: Mapped[int | None] = mapped_column(Integer)
    result_digitized: Mapped[bool | None] = mapped_column(Boolean)
    result_signed: Mapped[bool | None] = mapped_column(Boolean)
    fee_required: Mapped[bool | None] = mapped_column(Boolean)
    paid_online: Mapped[bool | None] = mapped_column(Boolean)
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    first_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_id: Mapped[str] = mapped_column(String(128))
    last_event_source: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
