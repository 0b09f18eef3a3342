"""The framework's share of a request, in process: ``python -m bench.framework``.

Calls the ASGI app directly (no HTTP, no database work) with requests it answers before any
statement: ``POST /healthz`` (405), ``GET /healthz``, the single-event POST with a body that
is not an event object (422 after every middleware, the router and the ingest route's
dependencies, admin token), and a metric request with ``from`` after ``to`` (422 from the
metric query dependency). Prints the CPU µs per request of each, the lowest of ``--rounds``
rounds of ``--requests`` requests sent 32 at a time (the machine may be shared: compare
minima), and with ``--calls`` the Python function calls per request (cProfile: exact).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

ADMIN = "bench-admin-token"
Call = Callable[[], Awaitable[int]]


def _request(
    app: Any, method: str, path: str, *, query: bytes = b"", body: bytes = b"", token: bool
) -> Call:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    if token:
        headers.append((b"authorization", f"Bearer {ADMIN}".encode()))

    async def call() -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


async def _batches(call: Call, requests: int) -> None:
    for _ in range(requests // 32):
        await asyncio.gather(*(call() for _ in range(32)))


async def _measure(app: Any, args: argparse.Namespace) -> None:
    cases = {
        "POST /healthz (405)": (_request(app, "POST", "/healthz", body=b"{}", token=False), 405),
        "GET /healthz (200)": (_request(app, "GET", "/healthz", token=False), 200),
        "POST /api/v1/events, not an object (422)": (
            _request(app, "POST", "/api/v1/events", body=b"[]", token=True),
            422,
        ),
        "GET /api/v1/metrics/delay, from > to (422)": (
            _request(
                app,
                "GET",
                "/api/v1/metrics/delay",
                query=b"from=2026-03-31&to=2026-01-01",
                token=True,
            ),
            422,
        ),
    }
    for name, (call, expected) in cases.items():
        status = await call()
        assert status == expected, (name, status)
        await _batches(call, 320)  # warm: the router builds its route contexts lazily
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            await _batches(call, args.requests)
            best = min(best, (time.process_time() - started) / args.requests * 1e6)
        line = f"| {name} | {best:.1f} µs |"
        if args.calls:
            profile = cProfile.Profile()
            profile.enable()
            await _batches(call, 320)
            profile.disable()
            calls = sum(entry.callcount for entry in profile.getstats())
            line += f" {calls / 320:.0f} calls |"
        print(line, flush=True)


async def _run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-framework-") as tmp:
        os.environ.update(
            {
                "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/framework.db",
                "ONESTOP_ADMIN_TOKEN": ADMIN,
                "ONESTOP_SECRET_KEY": "bench-secret",
                "ONESTOP_LOG_LEVEL": "WARNING",
                "ONESTOP_ALERTS_ENABLED": "false",
            }
        )
        from app.config import get_settings
        from app.main import create_app

        app = create_app(get_settings())
        async with app.router.lifespan_context(app):
            await _measure(app, args)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.framework", description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", action="store_true", help="also count Python calls")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
