"""metric rollups: year rows beside the day and month rows

Revision ID: 0019_rollup_years
Revises: 0018_resolved_later
Create Date: 2026-12-02 09:00:00

The three rollup tables (``metric_rollups``, ``metric_rollup_days``,
``metric_rollup_net_days``) gain rows of span ``y`` per (unit[, days]) and year, ``day`` being
1 January: a metric over whole calendar years (``period=year`` or none) reads one row per unit
and year instead of twelve month rows (``app/metrics/rollups.py``, ``queries.rollup_ranges``).
They are filled here from the month rows: a year is the sum of its months, rows whose sums are
all zero left out (as the app writes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_rollup_years"
down_revision: str | None = "0018_resolved_later"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES: dict[str, list[str]] = {  # table: its key columns after (span, day, unit_code)
    "metric_rollups": [],
    "metric_rollup_days": ["days"],
    "metric_rollup_net_days": ["days"],
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        year = "CAST(date_trunc('year', day) AS DATE)"
    else:
        year = "date(day, 'start of year')"
    inspector = sa.inspect(bind)
    for table, keys in TABLES.items():
        key_names = ["span", "day", "unit_code", *keys]
        sums = [c["name"] for c in inspector.get_columns(table) if c["name"] not in key_names]
        group = ", ".join([year, "unit_code", *keys])
        totals = [f"SUM({s})" for s in sums]
        op.execute(
            f"INSERT INTO {table} ({', '.join([*key_names, *sums])}) "
            f"SELECT 'y', {group}, {', '.join(totals)} FROM {table} WHERE span = 'm' "
            f"GROUP BY {group} HAVING {' OR '.join(f'{t} <> 0' for t in totals)}"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE span = 'y'")
