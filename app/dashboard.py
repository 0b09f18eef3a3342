"""The dashboard page at ``/`` and the static files it needs, served by the service itself.

No CDN and no npm step: the page is plain HTML/CSS/JS from ``app/static/``, and the chart library
is the plotly.js bundle that the ``plotly`` Python package ships inside itself. The page is
public; every figure on it comes from the read-scoped API, called with the key the user enters.

Caching: ``/`` is revalidated on every load (``no-cache`` + ETag) and links each asset with a
content hash (``/static/app.js?v=<hash>``), so assets can be cached for a year and a new release
is still picked up at once. Text assets are sent gzip-compressed when the browser accepts it
(the plotly bundle drops from ~4.8 MB to ~1.4 MB).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from html import escape
from importlib import resources
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.config import Settings, get_settings
from app.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_NAME = "vendor/plotly.min.js"
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}
# The page talks only to its own origin; plotly injects <style> elements, hence 'unsafe-inline'
# for styles only. Scripts are only our files and the bundle: no inline script, no eval.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_ASSET_REF = re.compile(r"\{\{asset:([A-Za-z0-9_./-]+)\}\}")

router = APIRouter(tags=["dashboard"])


@dataclass
class Asset:
    """One static file held in memory, with its validator and (for text) a gzip copy."""

    body: bytes
    media_type: str
    version: str = field(init=False)
    _gzipped: bytes | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.version = hashlib.sha256(self.body).hexdigest()[:16]

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def plotly_bundle_path() -> Path:
    """The minified plotly.js that the installed ``plotly`` package carries."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@cache
def load_asset(name: str) -> Asset:
    """The named static file; NotFound for anything not shipped (no path tricks possible)."""
    if name == PLOTLY_NAME:
        path = plotly_bundle_path()
    elif name in _shipped_names():
        path = STATIC_DIR / name
    else:
        raise NotFound(f"no static file {name!r}")
    return Asset(path.read_bytes(), MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


@cache
def _shipped_names() -> frozenset[str]:
    return frozenset(
        p.relative_to(STATIC_DIR).as_posix()
        for p in STATIC_DIR.rglob("*")
        if p.is_file() and p.suffix in MEDIA_TYPES and p.name != "index.html"
    )


def asset_url(name: str) -> str:
    return f"/static/{name}?v={load_asset(name).version}"


@cache
def render_index(timezone: str) -> Asset:
    """index.html with every ``{{asset:NAME}}`` replaced by its versioned URL, and the
    service's zone (``ONESTOP_TIMEZONE``), in which the page shows timestamps as dates."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    html = _ASSET_REF.sub(lambda m: asset_url(m.group(1)), template)
    html = html.replace("{{timezone}}", escape(timezone))
    return Asset(html.encode("utf-8"), MEDIA_TYPES[".html"])


async def send_asset(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if asset.etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    compressible = asset.media_type.startswith(("text/", "image/svg"))
    if compressible and "gzip" in request.headers.get("accept-encoding", "").lower():
        body = await anyio.to_thread.run_sync(asset.gzipped)
        headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The dashboard page",
    description="A page for leaders and staff: pick a period and a unit to see the online, "
    "on-time, overdue and digitization rates, monthly trends, a ranking of the child units "
    "and the overdue dossiers. Public; the page asks for a read-scoped API key and sends it "
    "as a bearer token to the metric routes. Vietnamese and English labels.",
    responses={200: {"content": {"text/html": {}}, "description": "The HTML page."}},
)
async def dashboard_page(request: Request) -> Response:
    settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
    response = await send_asset(request, render_index(settings.timezone), REVALIDATE)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@router.get("/static/{name:path}", include_in_schema=False)
async def static_file(request: Request, name: str) -> Response:
    """A file of the page, or the plotly bundle; cached for a year when asked by its hash."""
    asset = load_asset(name)
    current = request.query_params.get("v") == asset.version
    return await send_asset(request, asset, LONG_CACHE if current else REVALIDATE)
