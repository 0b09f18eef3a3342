"""The README's API tour, run as written against a served instance (a fresh SQLite database,
``ONESTOP_ADMIN_TOKEN=change-me`` as the Quickstart sets it): every step answers as it says."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    "sqlite" not in BACKENDS or shutil.which("curl") is None, reason="needs curl and SQLite"
)


def _tour() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## API tour", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the API tour has a bash block"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_api_tour_works_from_the_quickstart(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    env |= {
        "ONESTOP_ADMIN_TOKEN": "change-me",
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'onestop.db'}",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.1)
        script = _tour().replace("localhost:8000", f"127.0.0.1:{port}")
        tour_env = {k: v for k, v in env.items() if k != "ONESTOP_ADMIN_TOKEN"}  # the default
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script + "\necho\necho TOUR-DONE"],
            cwd=tmp_path,
            env=tour_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    answers, text, decoder = [], done.stdout.split("TOUR-DONE")[0].strip(), json.JSONDecoder()
    while text:  # curl prints each answer without a newline after it
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    single, batch, dossier, delay, sources = answers
    assert single["result"] == "accepted"
    assert [r["result"] for r in batch["results"]] == ["accepted", "accepted"]
    assert [e["event_id"] for e in dossier["events"]] == ["tour-1", "tour-2", "tour-3"]
    assert sum(row["resolved"] for row in delay["rows"]) == 1
    assert "igate" in json.dumps(sources)
    assert (tmp_path / "summary.csv").stat().st_size > 0
    assert (tmp_path / "II06a.xlsx").read_bytes()[:2] == b"PK"
