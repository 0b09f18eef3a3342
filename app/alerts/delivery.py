"""Delivering the outbox: claim due alerts, send them, log each attempt, retry or dead-letter.

Claiming takes a lease: the claimed rows' ``next_attempt_at`` moves past the attempt's
timeout (and ``attempts`` counts the attempt) in one short transaction, so a row is sent by
one worker at a time and the HTTP call holds no transaction open. On PostgreSQL the claim
reads with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take different rows; SQLite has a
single writer. A worker that dies mid-send leaves the lease to expire: the alert is then sent
again, with the same ``webhook-id`` and body (Standard Webhooks deliveries are at least once;
receivers deduplicate on the id).

A webhook is signed per Standard Webhooks with the ``standardwebhooks`` library: headers
``webhook-id``, ``webhook-timestamp`` (the attempt's time) and ``webhook-signature``. A 2xx
answer delivers it; anything else, a timeout or a connection error is retried after
``base · 2^(k-1)`` seconds (k = attempts made, at most an hour), until the last attempt, after
which the alert is dead (the dead letter, kept with its body for the retention period).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook

from app.alerts import crypto
from app.alerts import email as mail
from app.alerts.models import Alert, DeliveryAttempt, Subscription
from app.alerts.service import EMAIL
from app.config import Settings
from app.db import Database
from app.observability import prometheus

log = logging.getLogger("onestop.alerts")

CLAIM_BATCH = 50
CONCURRENCY = 8
MAX_RETRY_DELAY = 3600.0
USER_AGENT = "onestop-metrics-webhooks/1"


@dataclass(frozen=True)
class Claimed:
    id: int
    subscription_id: str
    channel: str
    type: str
    webhook_id: str
    body: str
    attempt: int


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None
    duration_ms: int
    retryable: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempts_made: int, base: float) -> float:
    """Seconds before the next attempt after ``attempts_made`` failed ones."""
    return float(min(base * 2 ** (attempts_made - 1), MAX_RETRY_DELAY))


def host_allowed(url: str, allowed: list[str]) -> bool:
    if not allowed:
        return True
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host in allowed


async def claim(db: Database, settings: Settings, *, now: datetime) -> list[Claimed]:
    lease = now + timedelta(seconds=settings.webhook_timeout_seconds + 60)
    due = (
        select(Alert.id)
        .where(Alert.status == "pending", Alert.next_attempt_at <= now)
        .order_by(Alert.next_attempt_at, Alert.id)
        .limit(CLAIM_BATCH)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Alert)
        .where(Alert.id.in_(due.scalar_subquery()))
        .values(attempts=Alert.attempts + 1, next_attempt_at=lease)
        .returning(
            Alert.id,
            Alert.subscription_id,
            Alert.channel,
            Alert.type,
            Alert.webhook_id,
            Alert.body,
            Alert.attempts,
        )
    )
    async with db.write_guard(), db.sessionmaker() as session, session.begin():
        rows = (await session.execute(stmt)).all()
    return [Claimed(*row) for row in rows]


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return (type(exc).__name__ + (f": {text}" if text else ""))[:300]


async def send_webhook(
    client: httpx.AsyncClient, settings: Settings, sub: Subscription, secret: str, item: Claimed
) -> Outcome:
    start = time.perf_counter()

    def done(status: int | None, error: str | None, retryable: bool = True) -> Outcome:
        ms = int((time.perf_counter() - start) * 1000)
        return Outcome(item, status, error, ms, retryable)

    url = sub.url or ""
    if not host_allowed(url, settings.webhook_allowed_hosts):
        return done(None, "host not in ONESTOP_WEBHOOK_ALLOWED_HOSTS", retryable=False)
    sent_at = datetime.fromtimestamp(int(time.time()), UTC)
    signature = Webhook(secret).sign(item.webhook_id, sent_at, item.body)
    headers = {
        "webhook-id": item.webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        async with client.stream(
            "POST", url, content=item.body.encode(), headers=headers
        ) as response:
            status = response.status_code  # the answer's body is never read
    except httpx.TimeoutException as exc:
        return done(None, f"timeout ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return done(None, _error_text(exc))
    return done(status, None if 200 <= status < 300 else f"HTTP {status}")


async def send_email(settings: Settings, sub: Subscription, item: Claimed) -> Outcome:
    start = time.perf_counter()
    error: str | None = None
    try:
        message = mail.digest_message(
            item.body, webhook_id=item.webhook_id, settings=settings, to=list(sub.emails)
        )
        await asyncio.to_thread(mail.send, settings, message)
    except Exception as exc:  # any SMTP or network failure is a failed attempt
        error = _error_text(exc)
    ms = int((time.perf_counter() - start) * 1000)
    return Outcome(item, 250 if error is None else None, error, ms)


async def record(
    db: Database, settings: Settings, outcomes: list[Outcome], *, now: datetime
) -> None:
    """Log each attempt and move its alert on: delivered, retried later, or dead."""
    if not outcomes:
        return
    async with db.write_guard(), db.sessionmaker() as session, session.begin():
        for outcome in outcomes:
            item = outcome.claimed
            values: dict[str, object]
            next_at: datetime | None = None
            if outcome.ok:
                values = {"status": "delivered", "finished_at": now, "last_error": None}
                result = "delivered"
            elif outcome.retryable and item.attempt < settings.webhook_max_attempts:
                delay = retry_delay(item.attempt, settings.webhook_retry_base_seconds)
                next_at = now + timedelta(seconds=delay)
                values = {"next_attempt_at": next_at, "last_error": outcome.error}
                result = "failed"
            else:
                values = {
                    "status": "dead",
                    "finished_at": now,
                    "next_attempt_at": None,
                    "last_error": outcome.error,
                }
                result = "dead"
            await session.execute(update(Alert).where(Alert.id == item.id).values(**values))
            session.add(
                DeliveryAttempt(
                    alert_id=item.id,
                    subscription_id=item.subscription_id,
                    at=now,
                    attempt=item.attempt,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    next_attempt_at=next_at,
                    duration_ms=outcome.duration_ms,
                )
            )
            prometheus.ALERT_DELIVERIES.labels(item.channel, result).inc()
            prometheus.ALERT_DELIVERY_DURATION.labels(item.channel).observe(
                outcome.duration_ms / 1000
            )
            if result != "delivered":
                log.warning(
                    "alert delivery %s",
                    result,
                    extra={
                        "webhook_id": item.webhook_id,
                        "subscription_id": item.subscription_id,
                        "attempt": item.attempt,
                        "error": outcome.error,
                    },
                )


async def deliver(
    db: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    server_secret: bytes,
    *,
    now: datetime | None = None,
) -> int:
    """Claim and send what is due; returns the attempts made."""
    claimed = await claim(db, settings, now=now or datetime.now(UTC))
    if not claimed:
        return 0
    ids = {c.subscription_id for c in claimed}
    async with db.sessionmaker() as session:
        subs = {
            s.id: s
            for s in (
                await session.execute(select(Subscription).where(Subscription.id.in_(ids)))
            ).scalars()
        }
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Claimed) -> Outcome | None:
        sub = subs.get(item.subscription_id)
        if sub is None:  # deleted meanwhile: its alerts went with it
            return None
        async with gate:
            if item.channel == EMAIL:
                return await send_email(settings, sub, item)
            try:
                secret = crypto.unseal(
                    sub.secret_sealed, server_secret=server_secret, subscription_id=sub.id
                )
            except crypto.SealError as exc:
                return Outcome(item, None, str(exc), 0, retryable=False)
            return await send_webhook(client, settings, sub, secret, item)

    outcomes = [o for o in await asyncio.gather(*(one(c) for c in claimed)) if o is not None]
    await record(db, settings, outcomes, now=now or datetime.now(UTC))
    return len(outcomes)


async def observe_queue(db: Database, *, now: datetime) -> tuple[int, float]:
    """Set the queue gauges: undelivered alerts and the age of the oldest one."""
    async with db.sessionmaker() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(Alert.created_at)).where(Alert.status == "pending")
            )
        ).one()
    age = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite's min() of the column comes back as text-less naive
            oldest = oldest.replace(tzinfo=UTC)
        age = max((now - oldest).total_seconds(), 0.0)
    prometheus.ALERT_QUEUE_PENDING.set(int(count))
    prometheus.ALERT_QUEUE_AGE.set(age)
    return int(count), age
