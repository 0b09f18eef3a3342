"""request signing: api_keys.signing, signed_requests (seen webhook ids)

Revision ID: 0005_request_signing
Revises: 0003_work_days
Create Date: 2026-11-29 09:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_request_signing"
down_revision: str | None = "0003_work_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The signing secret is derived from the server secret: a flag replaces the stored secret.
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("signing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_column("signing_secret")
    op.create_table(
        "signed_requests",
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("msg_id", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "msg_id", name=op.f("pk_signed_requests")),
    )
    with op.batch_alter_table("signed_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signed_requests_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signed_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signed_requests_seen_at"))
    op.drop_table("signed_requests")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_secret", sa.String(length=128), nullable=True))
        batch_op.drop_column("signing")
