"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

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
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from app.migrate import upgrade_async
from tests.browser.demo_fixture import DemoFigures, small_district
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
class LiveService:
    base_url: str
    read_key: str
    figures: DemoFigures


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


async def _load(client: httpx.AsyncClient) -> tuple[str, DemoFigures]:
    """Demo data in through the API; returns a read key and the figures the page must show."""
    admin = {"Authorization": f"Bearer {ADMIN}"}

    async def key(scope: str, name: str) -> str:
        body = {"name": name, "scopes": [scope]}
        response = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
        assert response.status_code == 201, response.text
        secret: str = response.json()["key"]
        return secret

    demo = small_district()
    for unit in demo.units:
        body = {k: unit[k] for k in ("name", "level", "parent_code")}
        response = await client.put(f"/api/v1/units/{unit['code']}", json=body, headers=admin)
        assert response.status_code in (200, 201), response.text
    ingest = {"Authorization": f"Bearer {await key('ingest', 'demo-loader')}"}
    for start in range(0, len(demo.events), 5000):
        batch = {"events": demo.events[start : start + 5000]}
        response = await client.post("/api/v1/events/batch", json=batch, headers=ingest)
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == 0, response.text
    return await key("read", "dashboard"), demo.figures


@pytest.fixture(scope="module", params=BACKENDS)
async def live_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """The service in its own process on a free port, over a fresh database holding the demo."""
    workdir = tmp_path_factory.mktemp("live")
    pg_name = None
    if request.param == "sqlite":
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
            read_key, figures = await _load(client)
        yield LiveService(base_url, read_key, figures)
    finally:
        process.terminate()
        await process.wait()
        if pg_name:
            await _drop_pg_database(pg_name)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = _chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _open(browser: Browser, live: LiveService, query: str = PERIOD) -> Page:
    """The page as a first-time visitor sees it, after pasting the read key into the header."""
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{live.base_url}/?{query}")
    await page.wait_for_selector("body[data-state=needs-token]")
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


async def test_tiles_show_the_demo_figures(browser: Browser, live_service: LiveService) -> None:
    page = await _open(browser, live_service)
    shown = {ind: await _tile(page, ind) for ind in live_service.figures.tiles}
    expected = {
        ind: {"value": _vi_pct(num, den), "numerator": _vi_int(num), "denominator": _vi_int(den)}
        for ind, (num, den) in live_service.figures.tiles.items()
    }
    assert shown == expected
    await page.context.close()


async def test_ranking_lists_the_child_units(browser: Browser, live_service: LiveService) -> None:
    page = await _open(browser, live_service)
    rows = page.locator("#ranking-table tbody tr")
    codes = [await rows.nth(i).get_attribute("data-unit") for i in range(await rows.count())]
    assert sorted(c for c in codes if c) == sorted(live_service.figures.child_units)
    await page.context.close()


async def test_overdue_list_shows_the_dossiers_overdue_now(
    browser: Browser, live_service: LiveService
) -> None:
    page = await _open(browser, live_service)
    cells = page.locator("#overdue-table tbody tr td:first-child .mono")
    codes = [await cells.nth(i).inner_text() for i in range(await cells.count())]
    assert sorted(codes) == sorted(live_service.figures.overdue_now)
    await page.context.close()


async def test_language_toggle_switches_to_english(
    browser: Browser, live_service: LiveService
) -> None:
    page = await _open(browser, live_service)
    await page.click('button[data-lang="en"]')
    title = await page.locator('.tile[data-indicator="online_rate"] .tile-title').inner_text()
    assert (title, await page.get_attribute("html", "lang")) == ("Received online", "en")
    await page.context.close()


async def test_a_revoked_or_wrong_key_is_explained(
    browser: Browser, live_service: LiveService
) -> None:
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()
    await page.goto(f"{live_service.base_url}/?{PERIOD}")
    await page.fill("#token-input", "osk_not-a-key")
    await page.click("#token-form button[type=submit]")
    await page.wait_for_selector("body[data-state=error]")
    assert "Khóa API không hợp lệ" in await page.locator("#notice").inner_text()
    await context.close()


async def test_screenshot_is_saved(
    browser: Browser, live_service: LiveService, tmp_path: Path
) -> None:
    page = await _open(browser, live_service)
    await page.wait_for_selector("#chart-rates .main-svg")
    target = tmp_path / "dashboard.png"
    await page.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wanted = os.environ.get("ONESTOP_DASHBOARD_SCREENSHOT")
    if wanted:
        shutil.copyfile(target, wanted)
    await page.context.close()


async def test_monthly_figures_download_as_csv(
    browser: Browser, live_service: LiveService, tmp_path: Path
) -> None:
    page = await _open(browser, live_service)
    async with page.expect_download() as waiting:
        await page.click("#csv-download")
    download = await waiting.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert (lines[0].split(",")[0], len(lines)) == ("period", 1 + 3)  # header, Jan, Feb, Mar
    await page.context.close()
