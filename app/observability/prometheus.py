"""Prometheus metrics: events per source and result, request latency, database pools.

Multi-worker servers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by every
worker *before* the workers start (``onestop serve`` empties it at start-up). Each worker then
writes its samples to files there and ``/metrics``, whichever worker answers, reads them all.
Pool gauges are summed over live workers; a worker that exits is marked dead.

The pools: the engines' (``primary``, ``read``) kept current from their own events, and on
PostgreSQL the write path's asyncpg pool (``write``), read when ``/metrics`` is scraped
(``observe_write_pool``; 0 on SQLite and before the first write opens it).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.storage.base import PoolStats

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: start times say nothing useful here
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "<unmatched>"
RESULTS = ("accepted", "duplicate", "conflict", "invalid")

EVENTS = Counter(
    "onestop_events",
    "Events pushed, by source and result (accepted, duplicate, conflict, invalid).",
    ["source", "result"],
)
REQUEST_DURATION = Histogram(
    "onestop_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POOL_CONNECTIONS = Gauge(
    "onestop_db_pool_connections",
    "Database connections of the pools, by engine (primary, read; write: the PostgreSQL "
    "write path's own pool) and state: open (held by the pool, idle or in use) and "
    "checked_out (in use by a request or a write transaction).",
    ["engine", "state"],
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "onestop_db_pool_capacity",
    "Most connections the pools may open (pool size plus overflow; for write, the pool's "
    "max size), by engine.",
    ["engine"],
    multiprocess_mode="livesum",
)

# alerts (app/alerts): what the scheduler recorded, what the workers delivered, the queue
ALERTS_CREATED = Counter(
    "onestop_alerts",
    "Alerts recorded by the scheduler, by type (dossier.overdue, dossier.due_soon, digest.daily).",
    ["type"],
)
ALERT_DELIVERIES = Counter(
    "onestop_alert_deliveries",
    "Alert delivery attempts, by channel (webhook, email) and result: delivered, failed "
    "(to be retried) or dead (the last attempt failed).",
    ["channel", "result"],
)
ALERT_DELIVERY_DURATION = Histogram(
    "onestop_alert_delivery_duration_seconds",
    "Time of one delivery attempt, by channel.",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ALERT_QUEUE_PENDING = Gauge(
    "onestop_alert_queue_pending",
    "Alerts recorded and not yet delivered nor dead.",
    multiprocess_mode="max",
)
ALERT_QUEUE_AGE = Gauge(
    "onestop_alert_queue_oldest_age_seconds",
    "Age of the oldest undelivered alert (0 when none).",
    multiprocess_mode="max",
)


def record_ingest(
    source: str, *, accepted: int, duplicates: int, conflicts: int, invalid: int
) -> None:
    """Count one ingested batch (called where ``app.ingest.service.ingest`` returns)."""
    for result, count in zip(RESULTS, (accepted, duplicates, conflicts, invalid), strict=True):
        if count:
            EVENTS.labels(source, result).inc(count)


def observe_engine(engine: AsyncEngine, name: str) -> None:
    """Keep the pool gauges of ``engine`` current from the pool's own events."""
    sync_engine = engine.sync_engine
    if getattr(sync_engine, "_onestop_observed", False):
        return
    sync_engine._onestop_observed = True  # type: ignore[attr-defined]
    pool = sync_engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if callable(size):
        POOL_CAPACITY.labels(name).inc(size() + max(overflow, 0))
    open_ = POOL_CONNECTIONS.labels(name, "open")
    checked_out = POOL_CONNECTIONS.labels(name, "checked_out")

    def on_connect(*_: Any) -> None:
        open_.inc()

    def on_close(*_: Any) -> None:
        open_.dec()

    # A checkout that fails (its pre-ping finds the database gone) still checks the slot
    # back in without a checkout event: count in-use connections by their pool record.
    in_use: set[int] = set()

    def on_checkout(_dbapi: Any, record: Any, *_: Any) -> None:
        in_use.add(id(record))
        checked_out.inc()

    def on_checkin(_dbapi: Any, record: Any, *_: Any) -> None:
        if id(record) in in_use:
            in_use.discard(id(record))
            checked_out.dec()

    event.listen(sync_engine, "connect", on_connect)
    event.listen(sync_engine, "close", on_close)
    event.listen(sync_engine, "close_detached", on_close)
    event.listen(sync_engine, "checkout", on_checkout)
    event.listen(sync_engine, "checkin", on_checkin)


def forget_engine(engine: AsyncEngine, name: str) -> None:
    """Take a disposed engine's capacity out of the gauge."""
    size = getattr(engine.sync_engine.pool, "size", None)
    if callable(size) and getattr(engine.sync_engine, "_onestop_observed", False):
        POOL_CAPACITY.labels(name).dec(
            size() + max(getattr(engine.sync_engine.pool, "_max_overflow", 0), 0)
        )


WRITE_POOL = "write"


def observe_write_pool(stats: PoolStats | None) -> None:
    """Set the write pool's gauges (engine ``write``) from its numbers read now, at scrape
    time; all 0 when there is no such pool (SQLite) or it is not open yet. With several
    workers, each sets its own when it answers a scrape, and the gauges sum over live workers
    (so another worker's part is as of the last scrape it answered)."""
    open_, in_use, capacity = (stats.open, stats.in_use, stats.capacity) if stats else (0, 0, 0)
    POOL_CONNECTIONS.labels(WRITE_POOL, "open").set(open_)
    POOL_CONNECTIONS.labels(WRITE_POOL, "checked_out").set(in_use)
    POOL_CAPACITY.labels(WRITE_POOL).set(capacity)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> tuple[bytes, str]:
    """The current samples in the Prometheus text format (all workers' in multiprocess mode)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Drop a finished worker's live gauges (multiprocess mode only)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
