"""The dashboard with units that change: the date-aware unit picker and the lineage switch."""

from __future__ import annotations

import httpx
from playwright.async_api import BrowserContext

from app.demo import NEW_COMMUNES, commune_code, new_commune_code
from tests.browser.conftest import ADMIN, PERIOD, LiveService, _expected_tile, _open, _tile

ADMIN_H = {"Authorization": f"Bearer {ADMIN}"}


async def test_a_new_commune_shows_its_predecessors_with_lineage_and_lists_them_under_it(
    visitor: BrowserContext, live_service: LiveService
) -> None:
    """The shared service's units get their lives (the 2025 reorganisation) for this test, and
    lose them after it."""
    async with httpx.AsyncClient(base_url=live_service.base_url) as client:
        response = await client.put("/api/v1/units", json=live_service.demo.units, headers=ADMIN_H)
        assert response.status_code == 200, response.text
        try:
            await _check_the_picker_and_the_switch(visitor, live_service, client)
        finally:
            lifeless = [
                {**u, "valid_from": None, "valid_to": None, "successor_code": None}
                for u in live_service.demo.units
            ]
            response = await client.put("/api/v1/units", json=lifeless, headers=ADMIN_H)
            assert response.status_code == 200, response.text


async def _check_the_picker_and_the_switch(
    visitor: BrowserContext, live_service: LiveService, client: httpx.AsyncClient
) -> None:
    merged = [commune_code(i) for i in NEW_COMMUNES[0][1]]
    own = []
    for code in merged:
        answer = await client.get(
            "/api/v1/metrics/online",
            params={"unit": code, "from": "2024-01-01", "to": "2024-03-31"},
            headers={"Authorization": f"Bearer {live_service.read_key}"},
        )
        own.append(answer.json()["rows"][0])
    new = new_commune_code(1)
    page = await _open(visitor, live_service, f"unit={new}&{PERIOD}")
    received = sum(r["received"] for r in own)
    online = sum(r["received_online"] for r in own)
    assert await _tile(page, "online_rate") == _expected_tile(online, received)
    # the former communes are listed right under the one that took them over
    labels = await page.locator("#unit-select option").all_inner_texts()
    values = [
        await o.get_attribute("value") for o in await page.locator("#unit-select option").all()
    ]
    at = values.index(new)
    assert set(values[at + 1 : at + 1 + len(merged)]) == set(merged)
    assert "đơn vị cũ, đến 30/06/2025" in labels[at + 1]
    # without lineage: it did not exist in Q1 2024
    await page.uncheck("#lineage-toggle")
    await page.wait_for_selector("body[data-state=ready]")
    await page.wait_for_function("() => new URL(location.href).searchParams.get('lineage') === '0'")
    tile = page.locator('.tile[data-indicator="online_rate"] [data-role="denominator"]')
    assert (await tile.inner_text()).strip() == "0"
    await page.close()
