"""dossiers: the partial index of indicator 4.2's end-of-period correction

Revision ID: 0018_resolved_later
Revises: 0013_access_by_unit
Create Date: 2026-12-02 04:10:00

``ix_dossiers_resolved_later`` holds only the dossiers with a digitized component that were
resolved without an electronic result, keyed by receipt and resolution date: the
``digitized_resolved_later`` count of a period that has ended (received in it, resolved after
it) reads this small index instead of every dossier received in the period (a year at 1M
dossiers: 184 ms of the summary answer, docs/performance.md, "Read side"). On PostgreSQL it
INCLUDEs what the count reads, so the scan is index-only: with the index alone the planner
still preferred ``ix_dossiers_resolved_cover``, misjudging how few dossiers both date ranges
leave (40,000 estimated, 925 found; 207 ms against 3.6 ms).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018_resolved_later"
down_revision: str | None = "0013_access_by_unit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "components_digitized >= 1 AND result_digitized IS NOT TRUE AND resolved_date IS NOT NULL"


def upgrade() -> None:
    include = (
        " INCLUDE (unit_code, components_digitized, result_digitized)"
        if op.get_bind().dialect.name == "postgresql"
        else ""
    )
    op.execute(
        "CREATE INDEX ix_dossiers_resolved_later ON dossiers (received_date, resolved_date)"
        f"{include} WHERE {WHERE}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_dossiers_resolved_later")
