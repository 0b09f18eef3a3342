"""Per-request context: an id (``X-Request-ID`` honoured or generated), a latency sample, and
an optional JSON access-log line. Headers are never logged; paths are logged without query."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logs import request_id_var
from app.observability.prometheus import REQUEST_DURATION, UNMATCHED_ROUTE

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
access_log = logging.getLogger("onestop.access")


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/dossiers/{code}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContext:
    """Outermost app middleware: request id in and out, timing, access log."""

    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = False) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Starlette's outermost error middleware logs a crash after this one has let go:
            # the id stays set (the context belongs to this request's task) so that line has it.
            self._observe(scope, status, started)
            raise
        self._observe(scope, status, started)
        request_id_var.reset(token)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = route_template(scope)
        REQUEST_DURATION.labels(scope["method"], route, str(status)).observe(elapsed)
        if self.access_log_enabled:
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _VALID_ID.match(text) else None
    return None
