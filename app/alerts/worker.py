"""The alert worker of one service process: scan, deliver, prune, on a timer.

Started from the app's lifespan when ``ONESTOP_ALERTS_ENABLED`` (default true). Every process
runs one; the scan is done by one of them at a time (an advisory lock on PostgreSQL) and each
alert is claimed by one (``FOR UPDATE SKIP LOCKED``). Tests disable the loop and call
:meth:`AlertWorker.run_once` to run one scan-and-delivery round at a chosen time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from app.alerts import delivery, service
from app.config import Settings
from app.db import Database

log = logging.getLogger("onestop.alerts")

PRUNE_EVERY_SECONDS = 3600.0


@dataclass
class RoundResult:
    scan: service.ScanResult | None
    attempts: int


class AlertWorker:
    def __init__(self, db: Database, settings: Settings, server_secret: bytes) -> None:
        self.db = db
        self.settings = settings
        self.server_secret = server_secret
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.webhook_timeout_seconds),
            follow_redirects=False,
            trust_env=False,
        )
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._last_scan = float("-inf")
        self._last_prune = float("-inf")

    def wake(self) -> None:
        """Scan at once (a subscription was created)."""
        self._last_scan = float("-inf")
        self._wake.set()

    async def run_once(self, *, now: datetime | None = None, scan: bool = True) -> RoundResult:
        """One round: a scan (unless ``scan`` is false), then every delivery that is due,
        until nothing due is left (at most a few batches)."""
        at = now or datetime.now(UTC)
        scanned = await service.scan(self.db, self.settings, now=at) if scan else None
        attempts = 0
        for _ in range(20):
            made = await delivery.deliver(
                self.db, self.settings, self.client, self.server_secret, now=now
            )
            attempts += made
            if made < delivery.CLAIM_BATCH:
                break
        await delivery.observe_queue(self.db, now=now or datetime.now(UTC))
        return RoundResult(scanned, attempts)

    async def _tick(self) -> None:
        clock = time.monotonic()
        scan_due = clock - self._last_scan >= self.settings.alert_interval_seconds
        if scan_due:
            self._last_scan = clock
        await self.run_once(scan=scan_due)
        if clock - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._last_prune = clock
            await service.prune(self.db, self.settings, now=datetime.now(UTC))

    async def _loop(self) -> None:
        # deliveries are looked at more often than scans, for the retries' short delays
        settings = self.settings
        tick = max(
            min(settings.alert_interval_seconds, settings.webhook_retry_base_seconds, 5.0), 0.2
        )
        while not self._stopping:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round (database down…) is retried next tick
                log.exception("alert round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=tick)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="onestop-alerts")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()
