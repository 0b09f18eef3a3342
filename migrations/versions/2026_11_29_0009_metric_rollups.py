"""metric rollups: intake and resolution counts per unit and day / month

Revision ID: 0009_metric_rollups
Revises: 0008_dossier_open_index
Create Date: 2026-11-29 11:30:00

Sums of the intake and resolution counts of ``app/metrics/formulas.py`` per (unit, local day)
and per (unit, month), and the processing-time histogram per (unit, day, working days), kept
in step with ``dossiers`` by the app (``app/metrics/rollups.py``). Created empty: ``onestop
migrate`` / ``serve`` fill them from the dossiers after upgrading (``app.migrate``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_metric_rollups"
down_revision: str | None = "0008_dossier_open_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = (
    "received",
    "received_online",
    "received_direct",
    "received_postal",
    "fee_required",
    "paid_online",
    "with_digitized_component",
    "fully_digitized",
    "resolved",
    "result_digitized",
    "result_signed",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "lateness_days_total",
)


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column("span", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in SUMS),
        sa.PrimaryKeyConstraint("span", "day", "unit_code", name=op.f("pk_metric_rollups")),
    )
    op.create_table(
        "metric_rollup_days",
        sa.Column("span", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "span", "day", "unit_code", "days", name=op.f("pk_metric_rollup_days")
        ),
    )


def downgrade() -> None:
    op.drop_table("metric_rollup_days")
    op.drop_table("metric_rollups")
