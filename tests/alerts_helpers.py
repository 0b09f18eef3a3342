"""A real HTTP receiver for webhook tests, and small builders for the alert tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.factories import event


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers the queued statuses
    (then ``default``)."""

    answers: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextlib.contextmanager
def receiving(**kwargs: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def put_units(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """H40 (province) > H40.31 (district) > H40.31.05 (commune); H40 > H40.32."""
    tree = [
        ("H40", "Tỉnh Thử", "province", None),
        ("H40.31", "Huyện Một", "district", "H40"),
        ("H40.31.05", "Xã Phú Mỹ", "commune", "H40.31"),
        ("H40.32", "Huyện Hai", "district", "H40"),
    ]
    for code, name, level, parent in tree:
        response = await client.put(
            f"/api/v1/units/{code}",
            json={"name": name, "level": level, "parent_code": parent},
            headers=admin,
        )
        assert response.status_code in (200, 201), response.text


async def push(client: httpx.AsyncClient, headers: dict[str, str], *events: dict[str, Any]) -> None:
    response = await client.post(
        "/api/v1/events/batch", json={"events": list(events)}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events), response.text


def received(code: str, unit: str, due: str, at: str = "2026-11-16T08:00:00+07:00") -> Any:
    return event(dossier=code, status="received", at=at, unit=unit, due_at=due)
