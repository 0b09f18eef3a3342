"""A small HTTP/1.1 load generator, run in its own process: ``python -m bench.loadgen SPEC``.

Keep-alive connections over asyncio streams (uvloop), one request in flight per connection:
far cheaper per request than a full client, so the 2 cores go to the server. ``SPEC`` is a
JSON file: host, port, path, token, bodies (a file with one request body per line),
concurrency. Prints one JSON line: requests, seconds, statuses, latencies p50/p99 (ms).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(parts)
    return status, await reader.readexactly(length or 0)


async def run(spec: dict[str, Any], bodies: list[bytes]) -> dict[str, Any]:
    host, port, path = spec["host"], int(spec["port"]), spec["path"]
    assert host == "127.0.0.1", "the benchmark only talks to 127.0.0.1"
    prefix = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {spec['token']}\r\nContent-Type: application/json\r\n"
    ).encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sample: list[str] = []
    queue = iter(range(len(bodies)))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in queue:
                body = bodies[i]
                t0 = time.perf_counter()
                writer.write(prefix + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, payload = await _read_response(reader)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 300 and len(sample) < 3:
                    sample.append(payload[:300].decode(errors="replace"))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "statuses": {str(k): v for k, v in statuses.items()},
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "errors_sample": sample,
    }


def main() -> None:
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    with open(spec["bodies"], "rb") as fh:
        bodies = [line.rstrip(b"\n") for line in fh if line.strip()]
    import uvloop

    print(json.dumps(uvloop.run(run(spec, bodies))))


if __name__ == "__main__":
    main()
