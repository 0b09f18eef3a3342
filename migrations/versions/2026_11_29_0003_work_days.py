"""work_days: the materialised working-day calendar

Revision ID: 0003_work_days
Revises: 0001
Create Date: 2026-11-29 08:50:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

from app.reference.workdays import calendar_rows

revision: str = "0003_work_days"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    work_days = op.create_table(
        "work_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("default_working", sa.Boolean(), nullable=False),
        sa.Column("holiday", sa.String(length=128), nullable=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_work_days")),
    )
    assert work_days is not None
    stored = op.get_bind().execute(sa.text("SELECT day, working FROM calendar_overrides"))
    overrides = {
        (d if isinstance(d, date) else date.fromisoformat(str(d))): bool(w) for d, w in stored
    }
    rows = calendar_rows(overrides)
    for start in range(0, len(rows), 5000):
        op.bulk_insert(work_days, rows[start : start + 5000])


def downgrade() -> None:
    op.drop_table("work_days")
