"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) with their assets served by the service.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a closed government network
they are blank. The same pages here link the copies that the ``fastapi-offline`` package
ships inside itself (``swagger-ui-bundle.js``, ``swagger-ui.css``, ``redoc.standalone.js``),
served from ``/static/docs/`` with the dashboard's caching (content hash, gzip). Nothing on
either page asks another host: no web fonts, no validator badge.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

from app.dashboard import LONG_CACHE, REVALIDATE, Asset, asset_url, send_asset
from app.errors import NotFound

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
OPENAPI_URL = "/openapi.json"
TITLE = "onestop-metrics"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}

# Only this origin: ReDoc's sidebar links a logo on cdn.redoc.ly, which the browser then
# never asks for. Swagger UI starts from an inline script; ReDoc runs a worker from a blob.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def _locked(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def assets_dir() -> Path:
    """The folder of the ``fastapi_offline`` package that holds the UI bundles."""
    return Path(str(resources.files("fastapi_offline") / "static"))


@cache
def load_doc_asset(name: str) -> Asset:
    if name not in ASSETS:
        raise NotFound(f"no documentation asset {name!r}")
    return Asset((assets_dir() / name).read_bytes(), ASSETS[name])


def doc_asset_url(name: str) -> str:
    return f"/static/docs/{name}?v={load_doc_asset(name).version}"


def _root(request: Request) -> str:
    return str(request.scope.get("root_path") or "")


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}{OPENAPI_URL}",
        title=f"{TITLE} · Swagger UI",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
        swagger_js_url=root + doc_asset_url("swagger-ui-bundle.js"),
        swagger_css_url=root + doc_asset_url("swagger-ui.css"),
        swagger_favicon_url=root + asset_url("favicon.svg"),
        # no badge that asks validator.swagger.io about the schema
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    )
    return _locked(page)


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL)
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_redoc_html(
        openapi_url=f"{root}{OPENAPI_URL}",
        title=f"{TITLE} · ReDoc",
        redoc_js_url=root + doc_asset_url("redoc.standalone.js"),
        redoc_favicon_url=root + asset_url("favicon.svg"),
        with_google_fonts=False,
    )
    return _locked(page)


@router.get("/static/docs/{name}")
async def doc_asset(request: Request, name: str) -> Response:
    asset = load_doc_asset(name)
    current = request.query_params.get("v") == asset.version
    return await send_asset(request, asset, LONG_CACHE if current else REVALIDATE)
