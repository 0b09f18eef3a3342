"""The models and the migrations describe the same schema (``alembic check``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from app.migrate import alembic_config, upgrade


def test_autogenerate_finds_nothing_to_change_after_the_migrations(tmp_path: Path) -> None:
    # On a freshly migrated SQLite database: every table is registered in app/models.py and
    # matches its migration, so a newcomer's autogenerate proposes only their own change.
    url = f"sqlite+aiosqlite:///{tmp_path / 'check.db'}"
    upgrade(url)
    command.check(alembic_config(url))  # raises when it detects an upgrade operation
