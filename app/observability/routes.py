"""``GET /metrics``: the Prometheus scrape endpoint (open unless ONESTOP_METRICS_TOKEN is set)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.auth.keys import same
from app.errors import Unauthorized, responses
from app.observability.prometheus import exposition, observe_write_pool

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Samples in the Prometheus text format: `onestop_events_total` by source and "
    "result, `onestop_http_request_duration_seconds` by method, route template and status, "
    "`onestop_db_pool_connections` and `onestop_db_pool_capacity` by engine (`primary`, "
    "`read`, and `write`: the PostgreSQL write path's own pool, read at scrape time; 0 on "
    "SQLite). Open by default (fence it "
    "at the proxy); when `ONESTOP_METRICS_TOKEN` is set, it requires "
    "`Authorization: Bearer <that token>`.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "OK"},
        **responses(Unauthorized),
    },
)
async def metrics(request: Request) -> Response:
    token: str | None = request.app.state.settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same(given.strip(), token):
            raise Unauthorized("/metrics needs the metrics token")
    observe_write_pool(request.app.state.db.storage.write_pool_stats())
    body, content_type = exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
