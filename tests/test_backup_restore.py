"""The restore drill of docs/admin.md, run for real: back up, restore elsewhere, and the API
keys and the figures are still there.

SQLite: ``sqlite3 var/onestop.db ".backup …"`` plus ``var/secret_key`` (without that file every
key is lost: keys are stored as HMACs under it). PostgreSQL: ``pg_dump -Fc`` and
``pg_restore`` into a new database, with the same ``ONESTOP_SECRET_KEY``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.conftest import BACKENDS, _create_pg_database, _drop_pg_database

ROOT = Path(__file__).resolve().parents[1]
EVENT = {
    "event_id": "drill-1",
    "dossier_code": "DRILL-0001",
    "status": "received",
    "occurred_at": "2024-01-05T08:00:00+07:00",
    "unit_code": "DRILL.UNIT",
    "channel": "online",
}


def _onestop(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _run(args: list[str], cwd: Path | None = None) -> None:
    subprocess.run(args, cwd=cwd, check=True, timeout=300)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    return {**env, **extra}


def _load(workdir: Path, env: dict[str, str]) -> str:
    """A key and one event in the database, through the CLI; the key's secret."""
    _onestop(workdir, env, "migrate")
    secret = _onestop(workdir, env, "api-key", "create", "--name", "drill", "--scope", "read")
    events = workdir / "events.jsonl"
    events.write_text(json.dumps(EVENT) + "\n", encoding="utf-8")
    _onestop(workdir, env, "import", str(events), "--source", "drill")
    return secret.strip().splitlines()[-1]


async def _dossier_with(workdir: Path, settings: Settings, secret: str) -> int:
    """GET /dossiers/DRILL-0001 with the old key against the restored copy (cwd: its var/)."""
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://drill") as client:
                answer = await client.get(
                    "/api/v1/dossiers/DRILL-0001", headers={"Authorization": f"Bearer {secret}"}
                )
                return answer.status_code
    finally:
        os.chdir(previous)


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="needs the sqlite3 command")
async def test_sqlite_backup_with_its_secret_key_restores_keys_and_data(tmp_path: Path) -> None:
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir()
    env = _clean_env()  # no ONESTOP_SECRET_KEY: generated into var/secret_key
    secret = _load(live, env)
    # the drill of docs/admin.md, "Backups"
    backup = tmp_path / "backup"
    backup.mkdir()
    _run(["sqlite3", "var/onestop.db", f".backup '{backup / 'onestop.db'}'"], cwd=live)
    shutil.copy2(live / "var" / "secret_key", backup / "secret_key")
    (restored / "var").mkdir(parents=True)
    shutil.copy2(backup / "onestop.db", restored / "var" / "onestop.db")
    shutil.copy2(backup / "secret_key", restored / "var" / "secret_key")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{restored / 'var' / 'onestop.db'}")
    listed = _onestop(restored, env, "api-key", "list")
    assert (await _dossier_with(restored, settings, secret), "drill" in listed) == (200, True)
    # and without var/secret_key the same backup has lost every key
    (restored / "var" / "secret_key").unlink()
    assert await _dossier_with(restored, settings, secret) == 401


@pytest.mark.skipif(
    "postgresql" not in BACKENDS or shutil.which("pg_dump") is None,
    reason="needs PostgreSQL and pg_dump",
)
async def test_postgresql_dump_and_restore_keeps_keys_and_data(tmp_path: Path) -> None:
    live_name, live_url = await _create_pg_database()
    copy_name, copy_url = await _create_pg_database()
    try:
        env = _clean_env(ONESTOP_DATABASE_URL=live_url, ONESTOP_SECRET_KEY="drill-secret")
        secret = _load(tmp_path, env)
        dump = tmp_path / "onestop.dump"
        plain = live_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        _run(["pg_dump", "-Fc", "-f", str(dump), plain])
        target = copy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        _run(["pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(dump)])
        settings = Settings(database_url=copy_url, secret_key="drill-secret")
        assert await _dossier_with(tmp_path, settings, secret) == 200
    finally:
        await _drop_pg_database(live_name)
        await _drop_pg_database(copy_name)
