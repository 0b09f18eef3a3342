"""Alert subscriptions, the alert outbox and its delivery log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Subscription(Base):
    """Who is told, about which unit subtree, of which events.

    ``secret_sealed`` is the signing secret encrypted with a key derived from the server
    secret (``app.alerts.crypto``): it must be recoverable to sign, so it cannot be hashed.
    """

    __tablename__ = "alert_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    events: Mapped[list[str]] = mapped_column(JSON)
    due_within_working_days: Mapped[int] = mapped_column(Integer, default=1)
    digest_time: Mapped[str] = mapped_column(String(5), default="07:30")
    secret_sealed: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertScope(Base):
    """The units a subscription's dossier alerts cover, with what it wants: a copy of its
    subtree (all units when it has none) that each scan brings up to date with the unit tree,
    so one query finds the candidates of every subscription at once."""

    __tablename__ = "alert_scopes"

    subscription_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("alert_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    want_overdue: Mapped[bool] = mapped_column(Boolean)
    want_due_soon: Mapped[bool] = mapped_column(Boolean)
    within: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """One announcement decided by the scheduler: the outbox row a worker delivers.

    Unique per subscription, channel, type, dossier and due date (for a digest: the dossier
    code is empty and ``due_at`` is the instant the digest was due), so however many
    schedulers run, or however often, an alert is recorded once. ``body`` is the exact JSON
    sent on every attempt; ``webhook_id`` its ``webhook-id``.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("subscription_id", "type", "dossier_code", "due_at", "channel"),
        Index("ix_alerts_subscription_created", "subscription_id", "created_at"),
        # the delivery queue: only undelivered rows, by when they are next due
        Index(
            "ix_alerts_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("alert_subscriptions.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(8))  # webhook | email
    type: Mapped[str] = mapped_column(String(32))
    dossier_code: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """One attempt to deliver an alert: the delivery log (pruned after the retention)."""

    __tablename__ = "alert_attempts"
    __table_args__ = (
        Index("ix_alert_attempts_subscription_at", "subscription_id", "at"),
        Index("ix_alert_attempts_alert_id", "alert_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("alerts.id", ondelete="CASCADE"))
    subscription_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("alert_subscriptions.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(512))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
