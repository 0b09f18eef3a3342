"""dossier cover indexes: index-only scans for the metric bases on PostgreSQL

Revision ID: 0007_dossier_cover_indexes
Revises: 0006_event_partitions
Create Date: 2026-11-29 09:50:00

The metric queries filter the dossiers table on one date or instant per basis (intake:
``received_date``; resolution: ``resolved_date``; backlog: ``ended_at``) and read a handful of
columns. At 1M dossiers the heap reads dominated (docs/performance.md). The plain indexes on
those three columns are replaced by the same keys with the read columns INCLUDEd, so the
planner can answer from the index (index-only scans where the visibility map allows). Same
number of indexes to maintain on ingest. PostgreSQL only (SQLite has no INCLUDE).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_dossier_cover_indexes"
down_revision: str | None = "0006_event_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERS = {
    "ix_dossiers_received_date": (
        "ix_dossiers_received_cover",
        "received_date",
        "unit_code, procedure_code, sector_code, channel, fee_required, paid_online, "
        "components_total, components_digitized",
    ),
    "ix_dossiers_resolved_date": (
        "ix_dossiers_resolved_cover",
        "resolved_date",
        "unit_code, procedure_code, sector_code, resolved_at, closed_at, due_at, due_date, "
        "received_date, result_digitized, result_signed",
    ),
    "ix_dossiers_ended_at": (
        "ix_dossiers_ended_cover",
        "ended_at",
        "received_at, received_date, due_at, unit_code, procedure_code, sector_code",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for plain, (cover, key, included) in COVERS.items():
        op.execute(f"CREATE INDEX {cover} ON dossiers ({key}) INCLUDE ({included})")
        op.execute(f"DROP INDEX {plain}")
    # the calendar is bulk-filled by 0003: plan with real row counts from the start
    op.execute("ANALYZE work_days")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for plain, (cover, key, _included) in COVERS.items():
        op.execute(f"CREATE INDEX {plain} ON dossiers ({key})")
        op.execute(f"DROP INDEX {cover}")
