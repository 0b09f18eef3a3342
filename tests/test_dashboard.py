"""The dashboard page and its static files, as served over HTTP (the browser test is separate)."""

from __future__ import annotations

import re

import httpx
import pytest

from app.dashboard import plotly_bundle_path

pytestmark = pytest.mark.usefixtures("db")


def _asset_urls(html: str) -> dict[str, str]:
    """name -> versioned URL of every asset the page links."""
    return {m.group(1): m.group(0) for m in re.finditer(r"/static/([\w./-]+)\?v=\w+", html)}


async def test_page_is_public_html_in_vietnamese(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="vi">' in response.text
    assert "Chỉ số giải quyết thủ tục hành chính" in response.text


async def test_page_links_only_its_own_origin(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    external = re.findall(r"""(?:src|href)=["'](?:https?:)?//""", html)
    assert external == []
    assert set(_asset_urls(html)) == {
        "favicon.svg",
        "styles.css",
        "app.js",
        "alerts.js",
        "vendor/plotly.min.js",
    }


async def test_page_is_revalidated_and_locked_down(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp


async def test_plotly_bundle_comes_from_the_installed_package(client: httpx.AsyncClient) -> None:
    url = _asset_urls((await client.get("/")).text)["vendor/plotly.min.js"]
    response = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.content == plotly_bundle_path().read_bytes()


async def test_versioned_assets_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    urls = _asset_urls((await client.get("/")).text)
    headers = {name: (await client.get(url)).headers["cache-control"] for name, url in urls.items()}
    assert headers == {name: "public, max-age=31536000, immutable" for name in urls}


async def test_an_asset_asked_without_its_version_is_revalidated(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/static/app.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


async def test_assets_are_gzipped_for_browsers_that_accept_it(client: httpx.AsyncClient) -> None:
    url = _asset_urls((await client.get("/")).text)["vendor/plotly.min.js"]
    response = await client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < plotly_bundle_path().stat().st_size // 2
    assert response.content == plotly_bundle_path().read_bytes()  # httpx decompressed it


async def test_a_known_etag_gets_304_without_a_body(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/styles.css")
    again = await client.get("/static/styles.css", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_page_answers_304_to_its_own_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/")
    again = await client.get("/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/static/nothing.js",
        "/static/../dashboard.py",
        "/static/%2e%2e/dashboard.py",
        "/static/index.html",
        "/static/vendor/widgetbundle.js",
    ],
)
async def test_only_shipped_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_script_has_the_english_labels_too(client: httpx.AsyncClient) -> None:
    url = _asset_urls((await client.get("/")).text)["app.js"]
    script = (await client.get(url)).text
    assert '"tile.online_rate": "Received online"' in script
    assert '"tile.online_rate": "Tiếp nhận trực tuyến"' in script


async def test_page_tells_the_script_the_service_zone(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert '<meta name="onestop-timezone" content="Asia/Ho_Chi_Minh">' in html


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_api_docs_link_only_their_own_origin(client: httpx.AsyncClient, path: str) -> None:
    html = (await client.get(path)).text
    external = re.findall(r"""(?:src|href)=["'](?:https?:)?//""", html)
    scripts = re.findall(r"""src=["'](/static/docs/[^"']+)""", html)
    bundles = [await client.get(src) for src in scripts]
    assert (external, len(scripts)) == ([], 1)
    assert [(b.status_code, b.headers["cache-control"]) for b in bundles] == [
        (200, "public, max-age=31536000, immutable")
    ]
