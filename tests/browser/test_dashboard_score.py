"""The Decision 766 score beside the rate tiles, in headless Chromium, over the worked example
of docs/metrics.md (``tests/worked_example.py``): March 2024 of unit U1 scores 36.833 of 52
points by hand (2.1: 5/8 × 20 = 12.5; 3.3: 5/9 ≥ 50 %, 12; 3.6: 2/3 × 10; 4.1: 2/3 × 6 = 4;
4.2: 3/9 × 4 / 0.8), and the page must show that figure for that unit and month.

Its own service and database (only the worked example in it), in the shared harness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser.conftest import ADMIN, BROWSER_BACKENDS, Served, _open, api_key, serve
from tests.metrics_helpers import push, put_unit
from tests.worked_example import month_events, put_p3

MARCH = "unit=U1&from=2024-03-01&to=2024-03-31"
# by hand, indicator by indicator (docs/metrics.md, "Worked example"): (points, max points)
BY_HAND = {
    "progress": (5 / 8 * 20, 20),
    "online_submission": (12.0, 12),
    "online_payment": (2 / 3 * 10, 10),
    "electronic_result": (2 / 3 * 6, 6),
    "dossiers_digitized": (3 / 9 * 4 / 0.8, 4),
}
TOTAL = sum(points for points, _ in BY_HAND.values())  # 36.8333…


@pytest.fixture(scope="module", params=BROWSER_BACKENDS)
async def worked_month(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """A service holding only the worked example: province T, its commune U1, procedure P3
    (3 working days), the month's events through the public API."""
    async with serve(request.param, tmp_path_factory.mktemp("worked")) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            await put_unit(client, admin, "T", "province", name="Tỉnh mẫu")
            await put_unit(client, admin, "U1", "commune", parent="T", name="Xã mẫu")
            await put_p3(client, admin, 3)
            ingest = {"Authorization": f"Bearer {await api_key(client, 'ingest', 'loader')}"}
            await push(client, ingest, month_events())
            read_key = await api_key(client, "read", "dashboard")
        yield Served(base_url, read_key)


@pytest.fixture(scope="module")
async def person(browser: Browser, worked_month: Served) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    try:
        yield context
    finally:
        await context.close()


def _shown(points: float, lang: str) -> str:
    """Points as the page writes them: at most two decimals, the language's decimal mark."""
    text = f"{points:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "vi" else text


async def _score(page: Page) -> tuple[str, str]:
    tile = page.locator('.tile[data-indicator="score"]')
    points = (await tile.locator('[data-role="total"]').inner_text()).strip()
    maximum = (await tile.locator('[data-role="maximum"]').inner_text()).strip()
    return points, maximum


async def test_the_score_beside_the_rates_is_the_hand_computed_one(
    person: BrowserContext, worked_month: Served
) -> None:
    page = await _open(person, worked_month, MARCH)
    raw = await page.locator('.tile-score [data-role="total"]').get_attribute("data-points")
    assert raw is not None and float(raw) == pytest.approx(TOTAL)
    assert await _score(page) == (_shown(TOTAL, "vi"), "52")  # "36,83" of "52"
    # in the row of the rate tiles, after them
    tiles = page.locator("#tiles > .tile")
    count = await tiles.count()
    indicators = [await tiles.nth(i).get_attribute("data-indicator") for i in range(count)]
    assert indicators[-1] == "score" and "online_rate" in indicators
    await page.click('button[data-lang="en"]')
    title = page.locator('.tile[data-indicator="score"] .tile-title')
    assert (await title.inner_text(), await _score(page)) == (
        "Decision 766 score",
        (_shown(TOTAL, "en"), "52"),  # "36.83"
    )
    await page.close()


async def test_each_indicator_shows_its_hand_computed_points(
    person: BrowserContext, worked_month: Served
) -> None:
    page = await _open(person, worked_month, MARCH)
    rows = page.locator('.tile[data-indicator="score"] tbody tr')
    shown = {}
    for i in range(await rows.count()):
        row = rows.nth(i)
        key = await row.get_attribute("data-key")
        shown[key] = (await row.locator('[data-role="points"]').inner_text()).strip()
    assert shown == {
        key: f"{_shown(points, 'vi')} / {maximum}" for key, (points, maximum) in BY_HAND.items()
    }  # 12,5 / 20 · 12 / 12 · 6,67 / 10 · 4 / 6 · 1,67 / 4
    digitized = page.locator('.tile-score tr[data-key="dossiers_digitized"] [data-role="rate"]')
    assert (await digitized.inner_text()).strip() == "33,33% (3/9)"  # A, D, J of 9 received
    await page.close()
