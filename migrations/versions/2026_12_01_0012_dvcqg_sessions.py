"""dvcqg_sessions: sessions of the national portal's login call, backed by API keys

Revision ID: 0012_dvcqg_sessions
Revises: 0010_backlog_rollups
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_dvcqg_sessions"
down_revision: str | None = "0010_backlog_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dvcqg_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_dvcqg_sessions_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_dvcqg_sessions")),
    )
    with op.batch_alter_table("dvcqg_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dvcqg_sessions_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dvcqg_sessions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dvcqg_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dvcqg_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_dvcqg_sessions_key_id"))
    op.drop_table("dvcqg_sessions")
