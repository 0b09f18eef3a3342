"""unit lineage: a unit's life (valid_from, valid_to) and its successor

Revision ID: 0016_unit_lineage
Revises: 0012_dvcqg_sessions
Create Date: 2026-12-01 22:10:00

Units are reorganised (in 2025 districts were abolished and communes merged): a unit lives
from ``valid_from`` to ``valid_to`` (both inclusive, null: unbounded) and names the unit that
took over its dossiers (``successor_code``). Existing units keep null dates: always valid.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_unit_lineage"
down_revision: str | None = "0012_dvcqg_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("successor_code", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_units_successor_code_units", "units", ["successor_code"], ["code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_constraint("fk_units_successor_code_units", type_="foreignkey")
        batch.drop_column("successor_code")
        batch.drop_column("valid_to")
        batch.drop_column("valid_from")
