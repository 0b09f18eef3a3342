"""The dashboard's first run and navigation in headless Chromium: the default period, empty
periods, drill-down into units and dossiers, Back, stale figures, dates, a phone's width."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page

from app.demo import DISTRICT
from tests.browser.conftest import ADMIN, PERIOD, LiveService, _open, _tile


def _read(live: LiveService) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.read_key}"}


async def _api(live: LiveService, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        answer = await client.get(f"/api/v1{path}", params=params, headers=_read(live))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _ready(page: Page) -> None:
    await page.wait_for_selector("body[data-state=ready]")


async def _query_of(page: Page) -> dict[str, str]:
    return dict(re.findall(r"[?&]([^=&]+)=([^&]*)", page.url))


async def test_without_a_period_the_page_opens_on_the_latest_data(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    coverage = await _api(live_service, "/metrics/coverage", unit=DISTRICT)
    page = await _open(visitor, live_service, f"unit={DISTRICT}")
    query = await _query_of(page)
    received = await page.locator('[data-total="received"] dd').inner_text()
    summary = await _api(
        live_service,
        "/metrics/summary",
        unit=DISTRICT,
        **{"from": query["from"], "to": query["to"]},
    )
    assert (query["from"], query["to"]) == (coverage["suggested_from"], coverage["suggested_to"])
    # the demo's district received dossiers until it ended (30 June 2025)
    assert coverage["suggested_from"] == coverage["last_received"][:4] + "-01-01" == "2025-01-01"
    assert received == f"{summary['rows'][0]['received']:,}".replace(",", ".") != "0"
    await page.close()


async def test_an_empty_period_says_so_and_offers_the_latest_data(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&from=2021-01-01&to=2021-03-31")
    await page.wait_for_selector("#chart-intake[data-empty=true]")
    notice = await page.locator("#notice").inner_text()
    rate_ticks = await page.locator("#chart-rates .ytick").count()
    coverage = await _api(live_service, "/metrics/coverage", unit=DISTRICT)
    await page.click("#notice .notice-action")
    await page.wait_for_url(re.compile(f"from={coverage['suggested_from']}"))
    await _ready(page)
    tile = await _tile(page, "online_rate")
    last = "/".join(reversed(coverage["last_received"].split("-")))
    assert "Không có hồ sơ nào" in notice and last in notice
    assert rate_ticks == 0  # no axis drawn around nothing
    assert tile["denominator"] != "0"
    await page.close()


async def test_a_ranking_row_opens_that_unit_and_back_returns(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    row = page.locator("#ranking-table tbody tr").first
    commune = await row.get_attribute("data-unit")
    name = await row.locator(".unit-name").inner_text()
    await row.click()
    await page.wait_for_url(re.compile(f"unit={re.escape(commune or '')}"))
    await _ready(page)
    scope_after_click = await page.locator("#scope-line").inner_text()
    selected = await page.locator("#unit-select").input_value()
    await page.go_back()
    await page.wait_for_url(re.compile(f"unit={re.escape(DISTRICT)}"))
    await _ready(page)
    back_rows = await page.locator("#ranking-table tbody tr").count()
    assert (selected, scope_after_click.startswith(name)) == (commune, True)
    assert back_rows > 1 and await page.locator("#unit-select").input_value() == DISTRICT
    await page.close()


async def test_an_overdue_row_opens_the_dossiers_timeline(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    row = page.locator("#overdue-table tbody tr").first
    code = await row.get_attribute("data-dossier")
    await row.locator("a").click()
    await page.wait_for_selector("#dossier-panel[data-state=ready]")
    statuses = await page.locator("#dossier-events tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    dossier = await _api(live_service, f"/dossiers/{code}")
    assert f"dossier={code}" in page.url
    assert statuses == [event["status"] for event in dossier["events"]]
    await page.go_back()
    await page.wait_for_selector("#dossier-panel", state="hidden")
    assert "dossier=" not in page.url
    await page.close()


async def test_a_timeline_shows_due_date_moves_and_waits(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    """A dossier of its own: received, a supplement requested and the due date moved."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    code = "TEST-TIMELINE-0001"
    base = {"dossier_code": code, "unit_code": DISTRICT}
    events = [
        {"event_id": "tl-1", "status": "received", "occurred_at": "2024-02-01T08:00:00+07:00",
         "due_at": "2024-02-08T17:00:00+07:00"},
        {"event_id": "tl-2", "status": "supplement_requested",
         "occurred_at": "2024-02-02T09:00:00+07:00"},
        {"event_id": "tl-3", "status": "processing", "occurred_at": "2024-02-06T10:00:00+07:00",
         "due_at": "2024-02-14T17:00:00+07:00"},
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=live_service.base_url, timeout=30) as client:
        made = await client.post(
            "/api/v1/admin/api-keys", json={"name": "tl", "scopes": ["ingest"]}, headers=admin
        )
        ingest = {"Authorization": f"Bearer {made.json()['key']}"}
        sent = await client.post(
            "/api/v1/events/batch",
            json={"events": [{**base, **e} for e in events]},
            headers=ingest,
        )
        assert sent.json()["accepted"] == 3, sent.text
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}&dossier={code}")
    await page.wait_for_selector("#dossier-panel[data-state=ready]")
    moves = await page.locator('[data-role="due-moves"]').inner_text()
    waits = await page.locator('[data-role="waits"]').inner_text()
    assert "08/02/2024 17:00" in moves and "14/02/2024 17:00" in moves
    assert "02/02/2024 09:00 – 06/02/2024 10:00" in waits and "(4 ngày)" in waits
    await page.close()


async def test_an_error_takes_the_previous_figures_off_the_screen(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    before = await _tile(page, "online_rate")
    await page.fill("#from-date", "01/06/2024")  # after To (31/03/2024)
    await page.press("#from-date", "Enter")
    await page.wait_for_selector("body[data-state=invalid]")
    after = await _tile(page, "online_rate")
    ranking_rows = await page.locator("#ranking-table tbody tr").count()
    await page.fill("#from-date", "31/02/2024")
    await page.dispatch_event("#from-date", "change")
    notice = await page.locator("#notice").inner_text()
    assert before["denominator"] != "0"
    assert (after["value"], after["denominator"], ranking_rows) == ("—", "0", 0)
    assert "31/02/2024" in notice
    await page.close()


async def test_dates_are_dd_mm_yyyy_whatever_the_browser_locale(
    browser: Browser, live_service: LiveService
) -> None:
    context = await browser.new_context(locale="en-US", timezone_id="America/New_York")
    page = await context.new_page()
    await page.goto(f"{live_service.base_url}/?unit={DISTRICT}&{PERIOD}&lang=en")
    await page.fill("#token-input", live_service.read_key)
    await page.click("#token-form button[type=submit]")
    await _ready(page)
    shown = await page.input_value("#from-date")
    await page.fill("#to-date", "15/02/2024")
    await page.dispatch_event("#to-date", "change")
    await page.wait_for_url(re.compile(r"to=2024-02-15"))
    await _ready(page)
    scope = await page.locator("#scope-line").inner_text()
    assert (shown, scope.endswith("01/01/2024 – 15/02/2024")) == ("01/01/2024", True)
    await context.close()


async def test_tables_fit_a_phone(browser: Browser, live_service: LiveService) -> None:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True
    )
    page = await context.new_page()
    await page.goto(f"{live_service.base_url}/?unit={DISTRICT}&{PERIOD}")
    await page.fill("#token-input", live_service.read_key)
    await page.click("#token-form button[type=submit]")
    await _ready(page)
    await page.click(".data-details summary")
    widths = await page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            tables: [...document.querySelectorAll('.table-wrap')]
                .filter(w => w.offsetParent !== null)
                .map(w => w.scrollWidth - w.clientWidth),
        })"""
    )
    label = await page.locator("#ranking-table tbody tr td").nth(2).get_attribute("data-label")
    assert widths["page"] <= 390
    assert widths["tables"] and max(widths["tables"]) <= 0
    assert label == "Tỷ lệ"
    await context.close()


async def test_rate_lines_are_told_apart(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    await page.wait_for_selector("body[data-charts=ready]")
    traces = await page.evaluate(
        """() => document.getElementById('chart-rates').data.map(
            t => [t.meta, t.line.dash, t.marker.symbol, t.line.width])"""
    )
    styles = {(dash, symbol) for _, dash, symbol, _ in traces}
    order = [meta for meta, *_ in traces]
    assert len(styles) == len(traces) == 5
    # drawn last, thinnest: on top of the digitized-results line at the same height
    assert order[-1] == "fully_digitized_rate"
    assert traces[-1][3] < traces[0][3]
    await page.close()


async def test_unregistered_unit_codes_are_listed_apart(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    event = {
        "event_id": "unreg-1",
        "dossier_code": "TEST-UNREG-0001",
        "status": "received",
        "occurred_at": "2023-06-01T08:00:00+07:00",
        "unit_code": "TEST.UNREGISTERED",
    }
    async with httpx.AsyncClient(base_url=live_service.base_url, timeout=30) as client:
        made = await client.post(
            "/api/v1/admin/api-keys", json={"name": "unreg", "scopes": ["ingest"]}, headers=admin
        )
        headers = {"Authorization": f"Bearer {made.json()['key']}"}
        sent = await client.post("/api/v1/events", json=event, headers=headers)
        assert sent.status_code == 201, sent.text
    page = await _open(visitor, live_service, f"unit={DISTRICT}&{PERIOD}")
    apart = await page.locator(
        '#unit-select optgroup[data-role="unregistered"] option'
    ).evaluate_all("options => options.map(o => o.value)")
    in_tree = await page.locator("#unit-select > option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert "TEST.UNREGISTERED" in apart and "TEST.UNREGISTERED" not in in_tree
    await page.close()
