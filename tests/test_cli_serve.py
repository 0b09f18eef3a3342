"""``onestop migrate`` and the guards of ``onestop serve`` (the server itself runs in the
dashboard's live browser test)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from app.migrate import head_revision
from tests.cli_helpers import run_cli


async def test_migrate_brings_an_empty_database_to_head(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    result = await run_cli(f"sqlite+aiosqlite:///{path}", ["migrate"], no_migrate=False)
    assert result.exit_code == 0, result.output
    assert "database at head" in result.stdout
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert version == head_revision()


async def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = await run_cli(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "SQLite has a single writer" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before migrating anything
