"""The dashboard in a real headless Chromium: the report's figures on the tiles, the ranking,
the overdue list, the language, the key, the CSV (fixtures in conftest.py)."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from app.demo import DISTRICT
from tests.browser.conftest import (
    PERIOD,
    LiveService,
    _expected_tile,
    _open,
    _query,
    _tile,
    _vi_int,
)


async def test_digitization_tiles_show_the_reports_q1_figures(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    report = live_service.demo.expected["q1_digitization"]
    page = await _open(visitor, live_service, _query(report))
    shown = [await _tile(page, "fully_digitized_rate"), await _tile(page, "result_digitized_rate")]
    figures = report["figures"]
    assert shown == [
        _expected_tile(figures["fully_digitized"], figures["received"]),  # 99,76%
        _expected_tile(figures["result_digitized"], figures["resolved"]),  # 100%
    ]
    await page.close()


@pytest.mark.parametrize("report_name", ["district_desk_online", "commune_online"])
async def test_online_tile_shows_the_reports_intake_by_level(
    visitor: BrowserContext, live_service: LiveService, report_name: str
) -> None:
    report = live_service.demo.expected[report_name]
    page = await _open(visitor, live_service, _query(report))
    figures = report["figures"]
    assert await _tile(page, "online_rate") == _expected_tile(
        figures["received_online"], figures["received"]
    )
    await page.close()


async def test_ranking_lists_the_communes_of_the_district(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    rows = page.locator("#ranking-table tbody tr")
    codes = [await rows.nth(i).get_attribute("data-unit") for i in range(await rows.count())]
    communes = [u["code"] for u in live_service.demo.units if u["parent_code"] == DISTRICT]
    assert sorted(c for c in codes if c) == sorted(communes)
    await page.close()


async def test_ranking_by_overdue_rate_puts_the_lowest_first(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    await page.select_option("#indicator-select", "overdue_rate")
    await page.wait_for_selector("body[data-state=ready]")
    await page.wait_for_selector("#ranking-note:not([hidden])")
    ranks = page.locator("#ranking-table tbody tr td.rank")
    shown = [int(await ranks.nth(i).inner_text()) for i in range(await ranks.count())]
    async with httpx.AsyncClient(base_url=live_service.base_url) as client:
        answer = await client.get(
            "/api/v1/rankings",
            params={
                "indicator": "overdue_rate",
                "level": "commune",
                "unit": DISTRICT,
                "from": "2024-01-01",
                "to": "2024-03-31",
            },
            headers={"Authorization": f"Bearer {live_service.read_key}"},
        )
    ranking = answer.json()
    assert ranking["lower_is_better"] is True
    assert shown == [row["rank"] for row in ranking["rows"]]
    assert "overdue_rate" in page.url
    await page.close()


async def test_overdue_list_shows_what_the_api_lists(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    cells = page.locator("#overdue-table tbody tr td:first-child .mono")
    shown = [await cells.nth(i).inner_text() for i in range(await cells.count())]
    async with httpx.AsyncClient(base_url=live_service.base_url) as client:
        answer = await client.get(
            "/api/v1/dossiers",
            params={"state": "overdue", "unit": DISTRICT, "page_size": 50},
            headers={"Authorization": f"Bearer {live_service.read_key}"},
        )
    listed = answer.json()
    assert listed["total"] > 0  # the demo keeps some dossiers open past their due date
    assert (shown, await page.locator("#overdue-count").inner_text()) == (
        [item["dossier_code"] for item in listed["items"]],
        _vi_int(listed["total"]),
    )
    await page.close()


async def test_language_toggle_switches_to_english(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service)
    await page.click('button[data-lang="en"]')
    title = await page.locator('.tile[data-indicator="online_rate"] .tile-title').inner_text()
    assert (title, await page.get_attribute("html", "lang")) == ("Received online", "en")
    await page.close()


async def test_first_visit_asks_for_the_key_once(
    browser: Browser, live_service: LiveService
) -> None:
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()
    await page.goto(f"{live_service.base_url}/?{PERIOD}")
    await page.wait_for_selector("body[data-state=needs-token]")
    asked = await page.locator("#notice").inner_text()
    await page.fill("#token-input", live_service.read_key)
    await page.click("#token-form button[type=submit]")
    await page.wait_for_selector("body[data-state=ready]")
    await page.reload()
    await page.wait_for_selector("body[data-state=ready]")  # remembered: no second paste
    assert "Nhập khóa API có quyền đọc" in asked
    assert live_service.read_key not in page.url
    await context.close()


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
    visitor: BrowserContext, live_service: LiveService, tmp_path: Path
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    await page.wait_for_selector("body[data-charts=ready]")
    target = tmp_path / "dashboard.png"
    await page.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wanted = os.environ.get("ONESTOP_DASHBOARD_SCREENSHOT")
    if wanted:
        shutil.copyfile(target, wanted)
    await page.close()


async def _downloaded(page: Page, button: str, tmp_path: Path) -> list[list[str]]:
    async with page.expect_download() as waiting:
        await page.click(button)
    download = await waiting.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    return list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))


async def test_monthly_figures_download_as_csv(
    visitor: BrowserContext, live_service: LiveService, tmp_path: Path
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    machine = await _downloaded(page, "#csv-machine", tmp_path)
    leaders = await _downloaded(page, "#csv-download", tmp_path)
    rate = leaders[0].index("Tỷ lệ số hóa toàn bộ hồ sơ")
    assert (machine[0][0], len(machine)) == ("period", 1 + 3)  # header, Jan, Feb, Mar
    assert (leaders[0][0], leaders[1][0], len(leaders)) == ("Kỳ", "T1/2024", 1 + 3)
    assert re.fullmatch(r"\d{1,3}(,\d{1,2})?%", leaders[1][rate])
    await page.close()
