"""backlog rollups: dossiers' local end date, backlog entries and exits per unit and day

Revision ID: 0010_backlog_rollups
Revises: 0009_metric_rollups
Create Date: 2026-11-29 11:40:00

``dossiers.ended_date`` is the local date of ``ended_at`` (written by the fold; filled for
existing rows by ``app.migrate`` after upgrading, in the configured zone). ``metric_rollups``
gains the running-total columns of the backlog (``app/metrics/rollups.py``); the rollups are
emptied here so that ``app.migrate`` recounts them with those columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_backlog_rollups"
down_revision: str | None = "0009_metric_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKLOG_SUMS = ("backlog_out", "overdue_in", "overdue_out")


def upgrade() -> None:
    op.add_column("dossiers", sa.Column("ended_date", sa.Date(), nullable=True))
    for name in BACKLOG_SUMS:
        op.add_column(
            "metric_rollups", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("DELETE FROM metric_rollups")
    op.execute("DELETE FROM metric_rollup_days")


def downgrade() -> None:
    with op.batch_alter_table("metric_rollups") as batch:
        for name in BACKLOG_SUMS:
            batch.drop_column(name)
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("ended_date")
