"""(b) The framework ceiling: FastAPI + pydantic + asyncpg, endpoints that only insert.

``/batch`` and ``/event`` (one event per request, the single-event POST's ceiling).

It validates each event with the same ``EventIn`` model and writes the same columns in one
``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, but keeps no fold, no reference
registration, no per-item answer and no auth. Served by uvicorn: ``bench.bare_app:app`` with
``BENCH_DSN`` set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.ingest.schemas import EventIn, ValidationContext

INSERT = """
INSERT INTO dossier_events (source, event_id, dossier_code, status, occurred_at, unit_code,
    procedure_code, sector_code, channel, received_at, due_at, components_total,
    components_digitized, result_digitized, result_signed, fee_required, paid_online,
    body_hash, payload, ingested_at)
SELECT 'bare', e, d, s, o, u, p, sc, ch, r, du, ct, cd, rd, rs, fr, po, h, pl::json, $19
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::int[], $12::int[],
    $13::bool[], $14::bool[], $15::bool[], $16::bool[], $17::text[], $18::text[])
    AS t(e, d, s, o, u, p, sc, ch, r, du, ct, cd, rd, rs, fr, po, h, pl)
ON CONFLICT DO NOTHING
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=4)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/batch")
async def batch(request: Request) -> Response:
    body = orjson.loads(await request.body())
    ctx = ValidationContext.make(ZONE, 86400)
    cols: list[list[Any]] = [[] for _ in range(18)]
    rejected = 0
    for item in body["events"]:
        try:
            ev = EventIn.model_validate(item, context=ctx)
        except ValidationError:
            rejected += 1
            continue
        values = (
            ev.event_id,
            ev.dossier_code,
            ev.status.value,
            ev.occurred_at,
            ev.unit_code,
            ev.procedure_code,
            ev.sector_code,
            ev.channel.value if ev.channel else None,
            ev.received_at,
            ev.due_at,
            ev.components_total,
            ev.components_digitized,
            ev.result_digitized,
            ev.result_signed,
            ev.fee_required,
            ev.paid_online,
            ev.body_hash(),
            orjson.dumps(item).decode(),
        )
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    async with app.state.pool.acquire() as conn:
        await conn.execute(INSERT, *cols, datetime.now(UTC))
    return Response(orjson.dumps({"stored": len(cols[0]), "rejected": rejected}))


@app.post("/event", status_code=201)
async def event(request: Request) -> Response:
    """One event: validated, inserted, acknowledged (no key look-up, no fold)."""
    item = orjson.loads(await request.body())
    try:
        ev = EventIn.model_validate(item, context=ValidationContext.make(ZONE, 86400))
    except ValidationError:
        return Response(b'{"result":"invalid"}', status_code=422)
    values = [
        [ev.event_id],
        [ev.dossier_code],
        [ev.status.value],
        [ev.occurred_at],
        [ev.unit_code],
        [ev.procedure_code],
        [ev.sector_code],
        [ev.channel.value if ev.channel else None],
        [ev.received_at],
        [ev.due_at],
        [ev.components_total],
        [ev.components_digitized],
        [ev.result_digitized],
        [ev.result_signed],
        [ev.fee_required],
        [ev.paid_online],
        [ev.body_hash()],
        [orjson.dumps(item).decode()],
    ]
    async with app.state.pool.acquire() as conn:
        await conn.execute(INSERT, *values, datetime.now(UTC))
    body = orjson.dumps({"event_id": ev.event_id, "result": "accepted"})
    return Response(body, status_code=201, media_type="application/json")


from zoneinfo import ZoneInfo  # noqa: E402

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
