"""``--help`` of every command reads as plain usage: no ``<bool>``, ``<str>`` or ``{file}``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from app.cli import cli, serve_banner


def _commands() -> list[list[str]]:
    root: Any = get_command(cli)
    paths: list[list[str]] = [[]]
    for name, command in root.commands.items():
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "onestop")
def test_help_has_no_stray_placeholders(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], env={"COLUMNS": "120"})
    stray = re.findall(r"<(?:bool|str|int|path|file)[^>]*>|\{[a-z_]+\}", result.output)
    assert (result.exit_code, stray) == (0, [])


def test_serve_banner_names_the_dashboard_and_the_docs() -> None:
    banner = serve_banner("0.0.0.0", 8080)
    assert "http://127.0.0.1:8080/\n" in banner
    assert "http://127.0.0.1:8080/docs" in banner and "/redoc" in banner
