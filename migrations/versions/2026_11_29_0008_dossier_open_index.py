"""dossier open index: the still-open dossiers, for the backlog basis

Revision ID: 0008_dossier_open_index
Revises: 0007_dossier_cover_indexes
Create Date: 2026-11-29 10:30:00

The backlog (dossiers received before a period's end and not ended before it) is counted as
two disjoint parts (app/metrics/queries.py ``backlog_branches``): dossiers ended at or after
the end (``ix_dossiers_ended_cover``) and dossiers not ended at all. This partial index holds
only the latter, keyed by receipt date; on PostgreSQL it INCLUDEs the columns the backlog
counts read, so that part is an index-only scan of a small index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_dossier_open_index"
down_revision: str | None = "0007_dossier_cover_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_dossiers_open_cover ON dossiers (received_date) "
            "INCLUDE (received_at, due_at, unit_code, procedure_code, sector_code) "
            "WHERE ended_at IS NULL"
        )
    else:
        op.execute(
            "CREATE INDEX ix_dossiers_open_cover ON dossiers (received_date, received_at) "
            "WHERE ended_at IS NULL"
        )


def downgrade() -> None:
    op.execute("DROP INDEX ix_dossiers_open_cover")
