"""Liveness and readiness probes (no authentication: they reveal nothing)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db import Database, get_database
from app.migrate import head_revision

router = APIRouter(tags=["health"])
_HEAD = head_revision()


@router.get("/healthz", summary="The process is up", response_model=dict[str, str])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database reachable and migrations applied",
    description="200 when the database answers and is at the latest migration; 503 otherwise, "
    "with the reason.",
    responses={503: {"description": "Not ready."}},
)
async def readyz(db: Database = Depends(get_database)) -> Any:
    try:
        async with asyncio.timeout(db.settings.db_timeout_seconds), db.engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # any failure to reach or read the database means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "reason": type(exc).__name__},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    if current != _HEAD:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migration": current, "expected": _HEAD},
            status_code=503,
        )
    return {"status": "ok", "database": "ok", "migration": current}
