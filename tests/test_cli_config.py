"""Every setting is documented, and the deployment files name only settings that exist."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _configuration_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Configuration")
    return readme[start : readme.index("\n## ", start + 1)]


def test_every_setting_has_a_row_in_the_readme_table() -> None:
    section = _configuration_section()
    missing = [n for n in Settings.model_fields if f"`ONESTOP_{n.upper()}`" not in section]
    assert missing == []


def test_the_readme_table_names_no_setting_that_does_not_exist() -> None:
    known = {f"ONESTOP_{n.upper()}" for n in Settings.model_fields}
    table = [line for line in _configuration_section().splitlines() if line.startswith("| `")]
    named = {
        part.strip("` ")
        for line in table
        for part in line.split("|")[1].split("/")
        if part.strip("` ").startswith("ONESTOP_")
    }
    assert named - known == set()


def test_compose_sets_only_real_settings_and_waits_for_a_healthy_database() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app = compose["services"]["app"]
    known = {f"ONESTOP_{n.upper()}" for n in Settings.model_fields}
    onestop_vars = {k for k in app["environment"] if k.startswith("ONESTOP_")}
    assert onestop_vars - known == set()
    assert app["environment"]["ONESTOP_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in app["environment"]["ONESTOP_DATABASE_URL"]
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert "healthcheck" in compose["services"]["db"]
    assert compose["services"]["db"]["image"].startswith("postgres:15")
