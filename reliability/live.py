"""Live pieces for the long runs: databases, a private PostgreSQL cluster, uvicorn workers.

Everything started here is stopped here, by its own process id. The shared PostgreSQL on
5432 is only ever asked to create and drop uniquely named databases; the fault run stops and
kills a private cluster it created under /tmp on another port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from app.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("ONESTOP_PG_BIN", "/usr/lib/postgresql/15/bin"))
SHARED_PG = os.environ.get("ONESTOP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN_TOKEN = "reliability-admin-" + uuid.uuid4().hex[:12]
SECRET_KEY = "reliability-secret-" + uuid.uuid4().hex[:12]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def asyncpg_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def create_database(admin_dsn: str, prefix: str) -> tuple[str, str]:
    """A new, migrated database; returns (name, SQLAlchemy URL)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = asyncpg_url(admin_dsn.rsplit("/", 1)[0] + f"/{name}")
    await asyncio.to_thread(upgrade, url)
    return name, url


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class Uvicorn:
    """``uvicorn app.main:app`` with N workers, in its own process group."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 2,
        access_log: bool = False,
        log_path: Path | None = None,
        **settings: Any,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ONESTOP_DATABASE_URL": database_url,
            "ONESTOP_ADMIN_TOKEN": ADMIN_TOKEN,
            "ONESTOP_SECRET_KEY": SECRET_KEY,
            "ONESTOP_LOG_LEVEL": "WARNING",
            **{f"ONESTOP_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.args = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--access-log" if access_log else "--no-access-log",
        ]
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="uvicorn-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            while time.monotonic() < deadline:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"uvicorn not ready; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the group this object started, by its id
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class PrivateCluster:
    """A throw-away PostgreSQL 15 cluster under /tmp, run as the ``postgres`` user."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="onestop-fault-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.admin_dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "start",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown; ``immediate``: every process quits at once, like a crash."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and its children (read from postmaster.pid and /proc)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self, frozen: bool) -> None:
        """SIGSTOP (or SIGCONT) every process of this cluster: alive but answering nothing."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


async def create_key(base_url: str, source: str, scopes: list[str]) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        r = await client.post(
            "/api/v1/admin/api-keys",
            json={"name": source, "scopes": scopes, "source": source},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        r.raise_for_status()
        key: str = r.json()["key"]
        return key
