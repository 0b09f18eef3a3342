"""ASGI middleware: the request-body size limit, and NUL characters refused in every input."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes with 413, before any handler sees them.

    Checks ``Content-Length`` up front and counts streamed (chunked) bodies as they arrive.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = orjson.dumps(
            {"detail": f"request body exceeds {self.limit} bytes", "code": "payload_too_large"}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --- NUL: the one character PostgreSQL cannot store in text ---------------------------------

NUL_MESSAGE = "must not contain the NUL character (U+0000): it cannot be stored"


def nul_location(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path to the first string holding a NUL inside a JSON value (keys included)."""
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*loc, key)
            found = nul_location(item, (*loc, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_location(item, (*loc, index))
            if found is not None:
                return found
    return None


class RefuseNul:
    """Answer 422, with the field's location, to a request holding a NUL character in a path
    parameter, a query parameter or a JSON body, before any route sees it.

    PostgreSQL cannot store NUL in text, so such a value would otherwise fail deep inside a
    query (a 500); one check here covers every route and every input. ``verbatim`` names the
    routes whose bodies are judged item by item and kept verbatim as JSON (the canonical
    event routes: each item's fields refuse control characters in ``EventIn``, an unknown
    field is stored in the JSON payload, where a NUL is storable, and one bad item must not
    refuse its neighbours): their bodies are not checked here. ``portal`` names the path
    prefixes that answer in the national portal's shape: their refusal carries its
    ``error_code`` (``"1"``, unreadable) and ``message`` beside the same ``detail``, as their
    other 422 answers do, so a vendor's client reads it as a failure.
    """

    def __init__(
        self,
        app: ASGIApp,
        verbatim: frozenset[str] = frozenset(),
        portal: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.verbatim = verbatim
        self.portal = portal
        self._paths: list[re.Pattern[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        portal = scope["path"].startswith(self.portal) if self.portal else False
        loc = self._in_path(scope) or self._in_query(scope)
        if loc is not None:
            await _refuse(send, loc, portal=portal)
            return
        if scope.get("method") in ("GET", "HEAD", "DELETE") or scope["path"] in self.verbatim:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:  # the body is read whole (BodySizeLimit, outside, bounds it)
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        # A NUL in JSON text is the escape \u0000: parse only a body that may hold one.
        if b"\\u0000" in body:
            try:
                found = nul_location(orjson.loads(body))
            except orjson.JSONDecodeError:
                found = None  # not JSON: the route answers that
            if found is not None:
                await _refuse(send, ("body", *found), portal=portal)
                return
        replay = iter(messages)

        async def replayed() -> Message:
            message = next(replay, None)
            return message if message is not None else await receive()

        await self.app(scope, replayed, send)

    def _in_path(self, scope: Scope) -> tuple[str | int, ...] | None:
        path: str = scope["path"]
        if "\x00" not in path:
            return None
        if self._paths is None and "app" in scope:  # the routes' templates, from OpenAPI
            templates = scope["app"].openapi().get("paths", {})
            self._paths = [compile_path(template)[0] for template in templates]
        for pattern in self._paths or ():
            match = pattern.match(path)
            if match is not None:
                for name, value in match.groupdict().items():
                    if "\x00" in value:
                        return ("path", name)
        return ("path",)

    def _in_query(self, scope: Scope) -> tuple[str | int, ...] | None:
        raw: bytes = scope.get("query_string", b"")
        if b"%00" not in raw and b"\x00" not in raw:
            return None
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ("query", name.replace("\x00", ""))
        return None


async def _refuse(send: Send, loc: tuple[str | int, ...], *, portal: bool) -> None:
    error = {"loc": list(loc), "msg": NUL_MESSAGE, "type": "string_nul"}
    answer: dict[str, Any] = {"detail": [error]}
    if portal:
        answer = {"error_code": "1", "message": f"Dữ liệu không hợp lệ: {NUL_MESSAGE}", **answer}
    body = orjson.dumps(answer)
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
