#!/usr/bin/env python3
"""The two Quickstart commands, needing nothing but Python and pip.

    python3 scripts/dev.py serve   # set up .venv, migrate the SQLite default, serve on :8000
    python3 scripts/dev.py test    # set up .venv, run the whole suite (SQLite and PostgreSQL)
    python3 scripts/dev.py check   # ruff and mypy

The virtual environment is (re)installed only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".onestop-installed"


def ensure_venv() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing onestop-metrics and its test tools into .venv …", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(digest)


def run(args: list[str]) -> int:
    return subprocess.run(args, cwd=ROOT).returncode


def main() -> int:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in {"serve", "test", "check"}:
        print(__doc__)
        return 2
    ensure_venv()
    if command == "serve":
        os.execv(str(BIN / "onestop"), [str(BIN / "onestop"), "serve", *rest])
    if command == "test":
        return run([str(BIN / "python"), "-m", "pytest", *rest])
    linted = ["app", "tests", "migrations", "scripts", "bench", "reliability"]
    code = run([str(BIN / "ruff"), "check", *linted])
    return code or run([str(BIN / "mypy"), "app"])


if __name__ == "__main__":
    sys.exit(main())
