"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 08:30:18.045708
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("signing_secret", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_source"), ["source"], unique=False)

    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_overrides")),
    )
    op.create_table(
        "dossier_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("sector_code", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("components_total", sa.Integer(), nullable=True),
        sa.Column("components_digitized", sa.Integer(), nullable=True),
        sa.Column("result_digitized", sa.Boolean(), nullable=True),
        sa.Column("result_signed", sa.Boolean(), nullable=True),
        sa.Column("fee_required", sa.Boolean(), nullable=True),
        sa.Column("paid_online", sa.Boolean(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_events")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_dossier_events_source_event_id")),
    )
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dossier_events_dossier_order",
            ["dossier_code", "occurred_at", "event_id"],
            unique=False,
        )

    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("sector_code", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("received_at_field", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_date", sa.Date(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_date", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("components_total", sa.Integer(), nullable=True),
        sa.Column("components_digitized", sa.Integer(), nullable=True),
        sa.Column("result_digitized", sa.Boolean(), nullable=True),
        sa.Column("result_signed", sa.Boolean(), nullable=True),
        sa.Column("fee_required", sa.Boolean(), nullable=True),
        sa.Column("paid_online", sa.Boolean(), nullable=True),
        sa.Column("supplement_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_id", sa.String(length=128), nullable=False),
        sa.Column("last_event_source", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dossiers")),
    )
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index("ix_dossiers_due_at", ["due_at"], unique=False)
        batch_op.create_index("ix_dossiers_ended_at", ["ended_at"], unique=False)
        batch_op.create_index("ix_dossiers_received_date", ["received_date"], unique=False)
        batch_op.create_index("ix_dossiers_resolved_date", ["resolved_date"], unique=False)
        batch_op.create_index(
            "ix_dossiers_unit_received", ["unit_code", "received_date"], unique=False
        )
        batch_op.create_index(
            "ix_dossiers_unit_resolved", ["unit_code", "resolved_date"], unique=False
        )

    op.create_table(
        "procedures",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("online_service", sa.String(length=16), nullable=True),
        sa.Column("sector_code", sa.String(length=64), nullable=True),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_procedures")),
    )
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procedures_level"), ["level"], unique=False)

    op.create_table(
        "units",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["units.code"], name=op.f("fk_units_parent_code_units")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_units")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_units_parent_code"), ["parent_code"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_parent_code"))
        batch_op.drop_index(batch_op.f("ix_units_level"))

    op.drop_table("units")
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedures_level"))

    op.drop_table("procedures")
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_index("ix_dossiers_unit_resolved")
        batch_op.drop_index("ix_dossiers_unit_received")
        batch_op.drop_index("ix_dossiers_resolved_date")
        batch_op.drop_index("ix_dossiers_received_date")
        batch_op.drop_index("ix_dossiers_ended_at")
        batch_op.drop_index("ix_dossiers_due_at")

    op.drop_table("dossiers")
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_events_dossier_order")

    op.drop_table("dossier_events")
    op.drop_table("calendar_overrides")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_source"))

    op.drop_table("api_keys")
