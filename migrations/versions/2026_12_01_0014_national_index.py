"""national index: statutory durations, waits on the citizen, portal rollups

Revision ID: 0014_national_index
Revises: 0017_sectors
Create Date: 2026-12-01 22:10:00

``procedures.duration_working_days`` (statutory time N). ``dossiers`` gains the raw due date
the events gave (``due_at_field``; ``due_at`` becomes the effective one, derived from N when
the events give none: ``due_derived``), the waits on the citizen (``waits``, ``paused_at``,
``paused_date``, ``wait_days``) and the instant after which it is overdue by the national
portal's rules (``portal_due_at``, ``portal_due_date``). ``waits`` is left NULL on existing
rows: ``app.migrate`` refolds those dossiers from their events after upgrading, which also
recounts the rollups.
``metric_rollups`` gains the new counts and running totals, and the net processing-day
histogram gets its table; the rollups are emptied here so that they are recounted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_national_index"
down_revision: str | None = "0017_sectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUP_SUMS = (
    "received_channel_unknown",
    "dossiers_digitized",
    "progress_resolved_on_time",
    "paused_in",
    "paused_out",
    "progress_overdue_in",
    "progress_overdue_out",
)


def upgrade() -> None:
    op.add_column("procedures", sa.Column("duration_working_days", sa.Integer(), nullable=True))
    op.add_column("dossiers", sa.Column("due_at_field", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dossiers", sa.Column("waits", sa.Text(), nullable=True))
    op.add_column("dossiers", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dossiers", sa.Column("paused_date", sa.Date(), nullable=True))
    op.add_column(
        "dossiers",
        sa.Column("due_derived", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "dossiers", sa.Column("wait_days", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("dossiers", sa.Column("portal_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dossiers", sa.Column("portal_due_date", sa.Date(), nullable=True))
    op.execute("UPDATE dossiers SET due_at_field = due_at")
    for name in ROLLUP_SUMS:
        op.add_column(
            "metric_rollups", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "metric_rollup_net_days",
        sa.Column("span", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "span", "day", "unit_code", "days", name=op.f("pk_metric_rollup_net_days")
        ),
    )
    op.execute("DELETE FROM metric_rollups")
    op.execute("DELETE FROM metric_rollup_days")


def downgrade() -> None:
    op.drop_table("metric_rollup_net_days")
    with op.batch_alter_table("metric_rollups") as batch:
        for name in ROLLUP_SUMS:
            batch.drop_column(name)
    with op.batch_alter_table("dossiers") as batch:
        for name in (
            "portal_due_date",
            "portal_due_at",
            "wait_days",
            "due_derived",
            "paused_date",
            "paused_at",
            "waits",
        ):
            batch.drop_column(name)
        batch.drop_column("due_at_field")
    with op.batch_alter_table("procedures") as batch:
        batch.drop_column("duration_working_days")
