"""Running the ``onestop`` CLI in tests: in a thread (it runs its own event loop), on the
test's database, with the test server secret so keys it creates work against the test app."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from typer.testing import CliRunner, Result

from app.cli import cli
from app.config import get_settings


async def run_cli(
    database_url: str, args: Sequence[str], *, no_migrate: bool = True, **env: str
) -> Result:
    environment = {
        "ONESTOP_DATABASE_URL": database_url,
        "ONESTOP_SECRET_KEY": "test-server-secret",
        "ONESTOP_TIMEZONE": "Asia/Ho_Chi_Minh",
        "COLUMNS": "200",
        **env,
    }

    def invoke() -> Result:
        get_settings.cache_clear()
        try:
            extra = ["--no-migrate"] if no_migrate else []
            return CliRunner().invoke(cli, [*args, *extra], env=environment)
        finally:
            get_settings.cache_clear()

    return await asyncio.to_thread(invoke)
