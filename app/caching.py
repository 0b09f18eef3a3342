"""HTTP caching of metric responses: ``Cache-Control`` and a strong ``ETag``, 304 on a match.

Metric, ranking and report answers are pure functions of the query and the stored events, and
dashboards poll them. Each successful GET under the cached prefixes gets
``Cache-Control: private, max-age=<ONESTOP_CACHE_MAX_AGE_SECONDS>`` (a route's own
Cache-Control wins) and ``ETag: "<sha-256 of the body>"``; a request whose ``If-None-Match``
holds that tag gets ``304 Not Modified`` without the body. ``private``: the figures are behind
a key, so shared proxies must not keep them. A streamed answer (no ``Content-Length``) is
passed through untagged rather than held in memory.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHED_PREFIXES = ("/api/v1/metrics", "/api/v1/rankings", "/api/v1/reports")
_DROP_ON_304 = {b"content-length", b"content-type", b"content-disposition", b"content-encoding"}


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match uses: ``W/"x"`` matches ``"x"``."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


def is_cached_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in CACHED_PREFIXES)


class MetricCaching:
    """Buffer successful GET answers under ``CACHED_PREFIXES`` to tag them (they are small)."""

    def __init__(self, app: ASGIApp, *, max_age: int) -> None:
        self.app = app
        self.cache_control = f"private, max-age={max_age}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not is_cached_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if_none_match = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"if-none-match"),
            None,
        )
        start: Message | None = None
        passthrough = False
        parts: list[bytes] = []

        async def tagging_send(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                streamed = not any(k.lower() == b"content-length" for k, _ in message["headers"])
                if message["status"] != 200 or streamed:  # streams are not held back
                    passthrough = True
                    await send(message)
                else:
                    start = message
                return
            if passthrough or message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(send, start, b"".join(parts), if_none_match)

        await self.app(scope, receive, tagging_send)

    async def _finish(
        self, send: Send, start: Message, body: bytes, if_none_match: str | None
    ) -> None:
        etag = strong_etag(body)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"etag"]
        if not any(k.lower() == b"cache-control" for k, _ in headers):
            headers.append((b"cache-control", self.cache_control))
        headers.append((b"etag", etag.encode()))
        if if_none_match is not None and etag_matches(if_none_match, etag):
            kept = [(k, v) for k, v in headers if k.lower() not in _DROP_ON_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
