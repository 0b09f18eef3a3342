"""``onestop demo``: the generated province, loaded once, answers the report's figures."""

from __future__ import annotations

import httpx

from app.demo import build_demo
from tests.cli_helpers import run_cli


async def test_demo_loads_the_province_and_its_figures(
    database_url: str, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    data = build_demo(seed=0)
    result = await run_cli(database_url, ["demo"])
    assert result.exit_code == 0, result.output
    assert f"{len(data.units)} units" in result.stdout
    assert f"{len(data.events):,} events ({len(data.events):,} new" in result.stdout

    expected = data.expected["commune_online"]
    r = await client.get(
        f"/api/v1/metrics/{expected['family']}", params=expected["query"], headers=read_headers
    )
    row = r.json()["rows"][0]
    assert {k: row[k] for k in expected["figures"]} == expected["figures"]
    units = (await client.get("/api/v1/units", headers=read_headers)).json()["units"]
    assert units and units[0]["name"]  # registered with names, not codes seen in events
