"""/docs and /redoc in headless Chromium with every other host cut off: a closed network."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route

from tests.browser.conftest import LiveService


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", "#swagger-ui .information-container .title"),
        ("/redoc", "[role=main] h1, .api-content h1"),
    ],
)
async def test_api_docs_render_with_the_network_cut(
    browser: Browser, live_service: LiveService, path: str, rendered: str
) -> None:
    own = urlsplit(live_service.base_url).netloc
    context = await browser.new_context()
    outside: list[str] = []

    async def only_the_service(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_the_service)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{live_service.base_url}{path}")
    title = page.locator(rendered).first
    await title.wait_for(timeout=30000)
    text = await title.inner_text()
    operations = await page.get_by_text("/api/v1/events/batch").count()
    assert ("onestop-metrics" in text, operations > 0) == (True, True)
    assert (outside, errors) == ([], [])
    await context.close()
