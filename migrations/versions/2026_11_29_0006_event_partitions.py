"""event partitions: dossier_events by month on PostgreSQL, idempotency in dossier_event_keys

Revision ID: 0006_event_partitions
Revises: 0005_request_signing
Create Date: 2026-11-29 09:40:00

PostgreSQL only (SQLite keeps its single table with the unique (source, event_id)):

- ``dossier_events`` becomes ``PARTITION BY RANGE (occurred_at)``: one partition per UTC month
  for 36 months back and 12 ahead of the migration, and a DEFAULT partition for the rest;
  ``onestop_event_partition(month)`` adds a month later (moving its rows out of DEFAULT).
- A unique index on a partitioned table must contain the partition key, so (source,
  event_id) can no longer be unique there. Idempotency moves to a small table
  ``dossier_event_keys`` (source, event_id, body_hash) with that primary key, kept by a
  BEFORE INSERT trigger on ``dossier_events``: a row whose key exists is skipped (it does not
  appear in RETURNING), so exactly-once holds for every writer, COPY included, and under
  concurrency (the key insert waits for a concurrent one to commit or roll back).
  DELETE and TRUNCATE of events remove their keys. See docs/scaling.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_event_partitions"
down_revision: str | None = "0005_request_signing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE dossier_event_keys (
        source varchar(128) NOT NULL,
        event_id varchar(128) NOT NULL,
        body_hash varchar(64) NOT NULL,
        CONSTRAINT pk_dossier_event_keys PRIMARY KEY (source, event_id)
    )
    """,
    """
    INSERT INTO dossier_event_keys (source, event_id, body_hash)
    SELECT source, event_id, body_hash FROM dossier_events
    """,
    "ALTER TABLE dossier_events RENAME TO dossier_events_flat",
    "ALTER TABLE dossier_events_flat RENAME CONSTRAINT pk_dossier_events TO pk_dossier_events_flat",
    "ALTER TABLE dossier_events_flat DROP CONSTRAINT uq_dossier_events_source_event_id",
    "DROP INDEX ix_dossier_events_dossier_order",
    """
    CREATE TABLE dossier_events (LIKE dossier_events_flat INCLUDING DEFAULTS)
    PARTITION BY RANGE (occurred_at)
    """,
    "ALTER TABLE dossier_events ADD CONSTRAINT pk_dossier_events PRIMARY KEY (id, occurred_at)",
    """
    CREATE INDEX ix_dossier_events_dossier_order
    ON dossier_events (dossier_code, occurred_at, event_id)
    """,
    "CREATE INDEX ix_dossier_events_source_event_id ON dossier_events (source, event_id)",
    "CREATE TABLE dossier_events_default PARTITION OF dossier_events DEFAULT",
    """
    CREATE FUNCTION onestop_event_partition(month date) RETURNS text
    LANGUAGE plpgsql AS $$
    DECLARE
        first_day date := date_trunc('month', month)::date;
        next_day date := (date_trunc('month', month) + interval '1 month')::date;
        part text := format('dossier_events_%s', to_char(first_day, 'YYYY_MM'));
        low text := first_day::text || ' 00:00:00+00';
        high text := next_day::text || ' 00:00:00+00';
    BEGIN
        IF to_regclass(part) IS NOT NULL THEN
            RETURN part;
        END IF;
        EXECUTE format('CREATE TABLE %I (LIKE dossier_events INCLUDING DEFAULTS)', part);
        -- rows of that month already in DEFAULT move to the new partition (keys stay)
        PERFORM set_config('onestop.moving_events', 'on', true);
        EXECUTE format(
            'WITH moved AS (DELETE FROM dossier_events_default '
            'WHERE occurred_at >= %L AND occurred_at < %L RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', low, high, part);
        PERFORM set_config('onestop.moving_events', 'off', true);
        EXECUTE format(
            'ALTER TABLE dossier_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            part, low, high);
        RETURN part;
    END
    $$
    """,
    """
    SELECT onestop_event_partition(m::date) FROM generate_series(
        date_trunc('month', now() AT TIME ZONE 'UTC') - interval '36 months',
        date_trunc('month', now() AT TIME ZONE 'UTC') + interval '12 months',
        interval '1 month') AS m
    """,
    """
    CREATE FUNCTION onestop_event_key_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO dossier_event_keys (source, event_id, body_hash)
        VALUES (NEW.source, NEW.event_id, NEW.body_hash)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN NULL;  -- this (source, event_id) is stored already: skip the row
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION onestop_event_key_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF coalesce(current_setting('onestop.moving_events', true), 'off') <> 'on' THEN
            DELETE FROM dossier_event_keys
            WHERE source = OLD.source AND event_id = OLD.event_id;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION onestop_event_keys_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE dossier_event_keys;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER tr_dossier_events_key BEFORE INSERT ON dossier_events
    FOR EACH ROW EXECUTE FUNCTION onestop_event_key_insert()
    """,
    """
    CREATE TRIGGER tr_dossier_events_key_delete AFTER DELETE ON dossier_events
    FOR EACH ROW EXECUTE FUNCTION onestop_event_key_delete()
    """,
    """
    CREATE TRIGGER tr_dossier_events_truncate AFTER TRUNCATE ON dossier_events
    FOR EACH STATEMENT EXECUTE FUNCTION onestop_event_keys_truncate()
    """,
    # the stored rows: their keys exist already, so the trigger must not skip them
    "ALTER TABLE dossier_events DISABLE TRIGGER tr_dossier_events_key",
    "INSERT INTO dossier_events SELECT * FROM dossier_events_flat",
    "ALTER TABLE dossier_events ENABLE TRIGGER tr_dossier_events_key",
    "ALTER SEQUENCE dossier_events_id_seq OWNED BY dossier_events.id",
    "DROP TABLE dossier_events_flat",
]

DOWNGRADE = [
    "ALTER TABLE dossier_events RENAME TO dossier_events_parted",
    """
    ALTER TABLE dossier_events_parted
    RENAME CONSTRAINT pk_dossier_events TO pk_dossier_events_parted
    """,
    "ALTER INDEX ix_dossier_events_dossier_order RENAME TO ix_dossier_events_parted_order",
    "CREATE TABLE dossier_events (LIKE dossier_events_parted INCLUDING DEFAULTS)",
    "ALTER TABLE dossier_events ADD CONSTRAINT pk_dossier_events PRIMARY KEY (id)",
    """
    ALTER TABLE dossier_events ADD CONSTRAINT uq_dossier_events_source_event_id
    UNIQUE (source, event_id)
    """,
    """
    CREATE INDEX ix_dossier_events_dossier_order
    ON dossier_events (dossier_code, occurred_at, event_id)
    """,
    "INSERT INTO dossier_events SELECT * FROM dossier_events_parted",
    "ALTER SEQUENCE dossier_events_id_seq OWNED BY dossier_events.id",
    "DROP TABLE dossier_events_parted CASCADE",
    "DROP FUNCTION onestop_event_partition(date)",
    "DROP FUNCTION onestop_event_key_insert()",
    "DROP FUNCTION onestop_event_key_delete()",
    "DROP FUNCTION onestop_event_keys_truncate()",
    "DROP TABLE dossier_event_keys",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one table, unique (source, event_id) as before
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
