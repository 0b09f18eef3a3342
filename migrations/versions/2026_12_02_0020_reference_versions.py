"""reference versions: a token the unit table's triggers change with every change of a unit

Revision ID: 0020_reference_versions
Revises: 0019_rollup_years
Create Date: 2026-12-02 07:00:00

``reference_versions`` holds one row per reference table (``units`` for now) whose ``token``
is set to a new random number by a trigger on each insert, update or delete of a row (and a
TRUNCATE on PostgreSQL), in the writing transaction. A worker keeps the unit graph it read
with the token it read first, and reads the table again only when the token has moved
(``app/reference/lineage.py``, ``load_graph``). Row triggers, not statement triggers: the
ingest's insert of unknown unit codes runs on every event and inserts a row only the first
time a code is seen; a statement trigger would fire on every one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_reference_versions"
down_revision: str | None = "0019_rollup_years"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE FUNCTION units_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reference_versions SET token = floor(random() * 9.2e18)::bigint - 4600000000000000000
    WHERE name = 'units';
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "reference_versions",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_versions")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO reference_versions (name, token) "
            "VALUES ('units', floor(random() * 9.2e18)::bigint - 4600000000000000000)"
        )
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER units_changed AFTER INSERT OR UPDATE OR DELETE ON units "
            "FOR EACH ROW EXECUTE FUNCTION units_changed()"
        )
        op.execute(
            "CREATE TRIGGER units_truncated AFTER TRUNCATE ON units "
            "FOR EACH STATEMENT EXECUTE FUNCTION units_changed()"
        )
    else:
        op.execute("INSERT INTO reference_versions (name, token) VALUES ('units', random())")
        for change in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER units_{change.lower()} AFTER {change} ON units BEGIN "
                "UPDATE reference_versions SET token = random() WHERE name = 'units'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS units_truncated ON units")
        op.execute("DROP TRIGGER IF EXISTS units_changed ON units")
        op.execute("DROP FUNCTION IF EXISTS units_changed()")
    else:
        for change in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS units_{change}")
    op.drop_table("reference_versions")
