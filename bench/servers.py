"""Start and stop uvicorn servers for the benchmark, and watch their memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psutil

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    peak_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss(self) -> int:
        """Resident memory of the server: the master plus its worker processes."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server's processes."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    def reset_peak(self) -> None:
        self.peak_rss = self.rss()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_rss = max(self.peak_rss, self.rss())


@contextlib.contextmanager
def uvicorn(
    app: str, env: dict[str, str], *, workers: int = 1, ready_path: str = "/healthz"
) -> Iterator[Server]:
    """uvicorn with uvloop + httptools and no access log, stopped (its group) on exit."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", app,
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, start_new_session=True)
    server = Server(proc, port)
    watcher = threading.Thread(target=server._watch, daemon=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server {app} exited with {proc.returncode}")
            try:
                if httpx.get(server.base + ready_path, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server {app} did not become ready")
            time.sleep(0.2)
        if workers > 1:
            time.sleep(1.5)  # let every worker finish its startup
        watcher.start()
        yield server
    finally:
        server._stop.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def backend_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each live PostgreSQL backend (readable from /proc as any user)."""
    out: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            out[pid] = times.user + times.system
    return out
