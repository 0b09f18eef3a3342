"""The ASGI app: ``app.main:app``, or ``create_app(settings)`` for tests and workers."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from app import apidocs, dashboard, health
from app.alerts.routes import router as alerts_router
from app.alerts.worker import AlertWorker
from app.auth import audit
from app.auth.routes import audit_router
from app.auth.routes import router as auth_router
from app.caching import MetricCaching
from app.config import Settings, get_settings
from app.db import Database
from app.dossiers.routes import router as dossiers_router
from app.dvcqg.routes import DOC_MODELS as DVCQG_DOC_MODELS
from app.dvcqg.routes import portal_router as dvcqg_portal_router
from app.dvcqg.routes import router as dvcqg_router
from app.errors import install_handlers
from app.exports import router as exports_router
from app.ingest.routes import DOC_MODELS
from app.ingest.routes import router as ingest_router
from app.metrics.coverage import router as coverage_router
from app.metrics.list_routes import router as dossier_lists_router
from app.metrics.routes import router as metrics_router
from app.middleware import BodySizeLimit, RefuseNul
from app.observability import prometheus
from app.observability.logs import configure_logging
from app.observability.middleware import REQUEST_ID_HEADER, RequestContext
from app.observability.routes import router as observability_router
from app.reference.calendar_routes import router as calendar_router
from app.reference.routes import router as reference_router
from app.reference.sectors import router as sectors_router
from app.reports.routes import router as reports_router
from app.status.routes import router as status_router

DESCRIPTION = """
Receives the dossier status events a provincial one-stop system pushes, stores them exactly
once, folds them into each dossier's current state, and answers delay, digitization and
online-rate metrics per unit.

Authenticate with `Authorization: Bearer <key>`. Scopes: `ingest`, `read`, `admin`.
"""


GC_YOUNG_THRESHOLD = 20_000  # new containers between two collections of the youngest generation


def settle_heap() -> None:
    """Move what start-up built (routes, schemas, models, the OpenAPI document: ~170,000
    objects) out of the garbage collector's reach, once per worker.

    Python's oldest generation is collected when enough objects survive, and each such
    collection walked all of them: ~100 ms, every few metric answers or ingest batches,
    12 ms per answer on average and most of the p95 of a 500-unit answer (measured,
    docs/performance.md, findings 7 and 16). Frozen objects are never walked; what requests
    allocate is collected as before, but the youngest generation is collected after 20,000
    new containers rather than 700: a 500-row metric answer allocates ~10,000 (its rows, their
    histograms), which were walked ~10 times and partly carried into the older generations
    before they were freed (3.7 ms of collections per answer, measured; ~0 after)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        app.state.db = db
        app.state.settings = settings
        app.state.hashing_secret = settings.hashing_secret()
        prometheus.observe_engine(db.engine, "primary")
        if db.read_engine is not db.engine:
            prometheus.observe_engine(db.read_engine, "read")
        alerts = AlertWorker(db, settings, app.state.hashing_secret)
        app.state.alerts = alerts
        if settings.alerts_enabled:
            alerts.start()
        settle_heap()
        try:
            yield
        finally:
            await alerts.stop()
            await db.dispose()
            prometheus.forget_engine(db.engine, "primary")
            if db.read_engine is not db.engine:
                prometheus.forget_engine(db.read_engine, "read")
            prometheus.worker_exited(os.getpid())

    app = FastAPI(
        title="onestop-metrics",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # /docs and /redoc with their assets served here (app/apidocs.py), not from a CDN
        docs_url=None,
        redoc_url=None,
    )
    install_handlers(app, on_denied=audit.denied)
    # inside the size limit: it reads bodies whole
    app.add_middleware(
        RefuseNul,
        verbatim=frozenset({"/api/v1/events", "/api/v1/events/batch"}),
        portal=(dvcqg_router.prefix, dvcqg_portal_router.prefix),
    )
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(MetricCaching, max_age=settings.cache_max_age_seconds)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", REQUEST_ID_HEADER],
            expose_headers=["ETag", REQUEST_ID_HEADER, "Content-Disposition"],
            max_age=600,
        )
    app.add_middleware(RequestContext, access_log_enabled=settings.access_log)
    for router in (
        health.router,
        auth_router,
        ingest_router,
        reference_router,
        dossier_lists_router,  # GET /api/v1/dossiers, before /api/v1/dossiers/{code}
        dossiers_router,
    ):
        app.include_router(router)
    app.include_router(audit_router)
    app.include_router(calendar_router)
    app.include_router(sectors_router)
    app.include_router(status_router)
    app.include_router(observability_router)
    app.include_router(dvcqg_router)
    app.include_router(dvcqg_portal_router)
    app.include_router(reports_router)  # before metrics: /metrics/scorecard vs /{family}
    app.include_router(coverage_router)  # before metrics: /metrics/coverage vs /{family}
    app.include_router(metrics_router)
    app.include_router(exports_router)
    app.include_router(alerts_router)
    app.include_router(apidocs.router)  # before the dashboard's /static/{name}
    app.include_router(dashboard.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema, plus the models of bodies that routes validate item by item."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (*DOC_MODELS, *DVCQG_DOC_MODELS):
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(doc.pop("$defs", {}))
        components[model.__name__] = doc
    app.openapi_schema = schema
    return schema


app = create_app()
