"""alerts: subscriptions, the alert outbox, its delivery log, and the open-by-due index

Revision ID: 0015_alerts
Revises: 0016_unit_lineage
Create Date: 2026-12-01 22:00:00

``ix_dossiers_open_due`` holds only the open dossiers that have a due date, keyed by unit and
due date: the alert scan (app/alerts/service.py) of a commune's subscription is a range probe
per unit, a province-wide one a scan of this small index, never reading closed dossiers. On
PostgreSQL it INCLUDEs the rest of what the scan reads (an index-only scan).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_alerts"
down_revision: str | None = "0016_unit_lineage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("due_within_working_days", sa.Integer(), nullable=False),
        sa.Column("digest_time", sa.String(5), nullable=False),
        sa.Column("secret_sealed", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_subscriptions"),
    )
    op.create_table(
        "alert_scopes",
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("want_overdue", sa.Boolean(), nullable=False),
        sa.Column("want_due_soon", sa.Boolean(), nullable=False),
        sa.Column("within", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "unit_code", name="pk_alert_scopes"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["alert_subscriptions.id"],
            name="fk_alert_scopes_subscription_id_alert_subscriptions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["alert_subscriptions.id"],
            name="fk_alerts_subscription_id_alert_subscriptions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "subscription_id",
            "type",
            "dossier_code",
            "due_at",
            "channel",
            name="uq_alerts_subscription_id_type_dossier_code_due_at_channel",
        ),
        sa.UniqueConstraint("webhook_id", name="uq_alerts_webhook_id"),
    )
    op.create_index("ix_alerts_subscription_created", "alerts", ["subscription_id", "created_at"])
    op.create_index(
        "ix_alerts_pending",
        "alerts",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "alert_attempts",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("alert_id", BigIntPK, nullable=False),
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(512), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_attempts"),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name="fk_alert_attempts_alert_id_alerts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["alert_subscriptions.id"],
            name="fk_alert_attempts_subscription_id_alert_subscriptions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_alert_attempts_subscription_at", "alert_attempts", ["subscription_id", "at"]
    )
    op.create_index("ix_alert_attempts_alert_id", "alert_attempts", ["alert_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_dossiers_open_due ON dossiers (unit_code, due_at) "
            "INCLUDE (code, received_at, procedure_code) "
            "WHERE ended_at IS NULL AND due_at IS NOT NULL"
        )
    else:
        op.execute(
            "CREATE INDEX ix_dossiers_open_due ON dossiers (unit_code, due_at) "
            "WHERE ended_at IS NULL AND due_at IS NOT NULL"
        )


def downgrade() -> None:
    op.execute("DROP INDEX ix_dossiers_open_due")
    op.drop_table("alert_attempts")
    op.drop_table("alerts")
    op.drop_table("alert_scopes")
    op.drop_table("alert_subscriptions")
