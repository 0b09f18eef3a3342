"""Fixtures of the browser tests: a live service holding the demo, and headless Chromium.

Shared by every module of tests/browser (package scope: the demo loads once per run).

The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The service runs as its own process (uvicorn, a fresh migrated database), demo data goes in
through the public API, and the page is used as a person would: open it, paste a read key into
the header bar, read the tiles. Chromium missing: a skip on a workstation, a failure in CI
(``CI=true``), because then nothing would have tested the page at all.

``ONESTOP_DASHBOARD_SCREENSHOT=docs/dashboard.png`` also writes the README's screenshot.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from app.demo import DemoData, build_demo
from app.migrate import upgrade_async
from tests.conftest import BACKENDS, _create_pg_database, _drop_pg_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN = "browser-test-admin-token"
ROOT = Path(__file__).resolve().parents[2]
PERIOD = "from=2024-01-01&to=2024-03-31"
# The page is the same over either database, so one backend keeps the suite fast: the demo's
# ~30k events load through the API in ~11 s on PostgreSQL and ~50 s on SQLite (2 cores).
# PostgreSQL when the run includes it; ONESTOP_BROWSER_BACKENDS=sqlite,postgresql runs both.
BROWSER_BACKENDS = [
    b
    for b in os.environ.get(
        "ONESTOP_BROWSER_BACKENDS", "postgresql" if "postgresql" in BACKENDS else "sqlite"
    ).split(",")
    if b
]


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = "chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message}: CI must test the dashboard, not skip it", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """A running service and a read key of it."""

    base_url: str
    read_key: str


@dataclass(frozen=True)
class LiveService(Served):
    """The shared service, holding the demo province."""

    demo: DemoData


async def _wait_ready(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    """Poll /readyz until the process answers 200 (it fails fast if the process died)."""
    for _ in range(600):
        if process.returncode is not None:
            raise RuntimeError(f"the service exited with {process.returncode}")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the service did not become ready")


async def api_key(client: httpx.AsyncClient, scope: str, name: str) -> str:
    """A new API key of ``scope``, made by the admin through the public API."""
    body = {"name": name, "scopes": [scope]}
    admin = {"Authorization": f"Bearer {ADMIN}"}
    response = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
    assert response.status_code == 201, response.text
    secret: str = response.json()["key"]
    return secret


async def _load(client: httpx.AsyncClient, demo: DemoData) -> str:
    """The demo province in through the public API, as a pushing system would; a read key."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for unit in demo.units:
        body = {k: unit[k] for k in ("name", "level", "parent_code")}
        response = await client.put(f"/api/v1/units/{unit['code']}", json=body, headers=admin)
        assert response.status_code in (200, 201), response.text
    ingest = {"Authorization": f"Bearer {await api_key(client, 'ingest', 'demo-loader')}"}
    for start in range(0, len(demo.events), 5000):
        batch = {"events": demo.events[start : start + 5000]}
        response = await client.post("/api/v1/events/batch", json=batch, headers=ingest)
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == 0, response.text
    return await api_key(client, "read", "dashboard")


@asynccontextmanager
async def serve(backend: str, workdir: Path) -> AsyncIterator[str]:
    """The service in its own process on a free port, over a fresh migrated database of
    ``backend`` (files in ``workdir``): its base URL, once it answers /readyz."""
    pg_name = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'onestop.db'}"
    else:
        pg_name, url = await _create_pg_database()
    await upgrade_async(url)
    port = _free_port()
    env = {
        **os.environ,
        "ONESTOP_DATABASE_URL": url,
        "ONESTOP_ADMIN_TOKEN": ADMIN,
        "ONESTOP_SECRET_KEY": "browser-test-secret",
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"),
        *("--port", str(port), "--log-level", "warning"),
        cwd=workdir,
        env=env,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            await _wait_ready(client, process)
        yield base_url
    finally:
        process.terminate()
        await process.wait()
        if pg_name:
            await _drop_pg_database(pg_name)


@pytest.fixture(scope="package", params=BROWSER_BACKENDS)
async def live_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """The service in its own process on a free port, over a fresh database holding the demo."""
    async with serve(request.param, tmp_path_factory.mktemp("live")) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            demo = build_demo(seed=0)
            read_key = await _load(client, demo)
        yield LiveService(base_url, read_key, demo)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    executable = _chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(scope="package")
async def visitor(browser: Browser, live_service: LiveService) -> AsyncIterator[BrowserContext]:
    """One person's browser session: the key is pasted on the first visit, then remembered,
    and the plotly bundle comes from the HTTP cache after the first page, as in real use."""
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    try:
        yield context
    finally:
        await context.close()


async def _open(visitor: BrowserContext, live: Served, query: str = PERIOD) -> Page:
    """The page at ``/?query``, with figures loaded (pasting the key if not yet remembered)."""
    page = await visitor.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # one test switches to English; the figures do not wait for the chart library
    await page.goto(f"{live.base_url}/?{query}&lang=vi", wait_until="domcontentloaded")
    await page.wait_for_selector("body[data-state=needs-token], body[data-state=ready]")
    if await page.get_attribute("body", "data-state") == "needs-token":
        await page.fill("#token-input", live.read_key)
        await page.click("#token-form button[type=submit]")
        await page.wait_for_selector("body[data-state=ready]")
    assert errors == []
    return page


async def _tile(page: Page, indicator: str) -> dict[str, str]:
    tile = page.locator(f'.tile[data-indicator="{indicator}"]')
    return {
        role: (await tile.locator(f'[data-role="{role}"]').inner_text()).strip()
        for role in ("value", "numerator", "denominator")
    }


def _vi_int(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _vi_pct(numerator: int, denominator: int) -> str:
    text = f"{100 * numerator / denominator:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def _query(report: dict[str, Any]) -> str:
    """The page's URL query for one figure of the report (same parameters as the API)."""
    return "&".join(f"{k}={v}" for k, v in report["query"].items())


def _expected_tile(numerator: int, denominator: int) -> dict[str, str]:
    return {
        "value": _vi_pct(numerator, denominator),
        "numerator": _vi_int(numerator),
        "denominator": _vi_int(denominator),
    }
