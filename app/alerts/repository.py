"""Reading and writing subscriptions and their delivery log."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import crypto
from app.alerts.models import Alert, AlertScope, DeliveryAttempt, Subscription
from app.alerts.schemas import SubscriptionIn
from app.db import utcnow


async def create(
    session: AsyncSession, data: SubscriptionIn, *, server_secret: bytes
) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (returned once, stored sealed)."""
    sub_id = secrets.token_hex(16)
    secret = crypto.new_secret()
    sub = Subscription(
        id=sub_id,
        url=data.url,
        emails=list(data.emails),
        unit_code=data.unit,
        events=list(data.events),
        due_within_working_days=data.due_within_working_days,
        digest_time=data.digest_time,
        secret_sealed=crypto.seal(secret, server_secret=server_secret, subscription_id=sub_id),
        created_at=utcnow(),
    )
    session.add(sub)
    await session.flush()
    return sub, secret


async def list_all(session: AsyncSession) -> list[Subscription]:
    return list(
        (await session.execute(select(Subscription).order_by(Subscription.created_at))).scalars()
    )


def _well_formed(sub_id: str) -> bool:
    """Ids are 32 hex digits; anything else is simply not found (never sent to the database,
    where a NUL byte would be an error)."""
    return re.fullmatch(r"[0-9a-f]{32}", sub_id) is not None


async def get(session: AsyncSession, sub_id: str) -> Subscription | None:
    return await session.get(Subscription, sub_id) if _well_formed(sub_id) else None


async def remove(session: AsyncSession, sub_id: str) -> bool:
    """Delete the subscription with its alerts and log: nothing more is sent."""
    if not _well_formed(sub_id):
        return False
    await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.subscription_id == sub_id))
    await session.execute(delete(Alert).where(Alert.subscription_id == sub_id))
    await session.execute(delete(AlertScope).where(AlertScope.subscription_id == sub_id))
    result = await session.execute(delete(Subscription).where(Subscription.id == sub_id))
    return bool(getattr(result, "rowcount", 0))


async def summaries(session: AsyncSession, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per subscription: pending and dead counts, and its most recent attempt."""
    out: dict[str, dict[str, Any]] = {
        i: {"pending": 0, "dead": 0, "last_delivery": None} for i in ids
    }
    if not ids:
        return out
    counts = await session.execute(
        select(
            Alert.subscription_id,
            func.sum(case((Alert.status == "pending", 1), else_=0)),
            func.sum(case((Alert.status == "dead", 1), else_=0)),
        )
        .where(Alert.subscription_id.in_(ids), Alert.status.in_(["pending", "dead"]))
        .group_by(Alert.subscription_id)
    )
    for sub_id, pending, dead in counts:
        out[sub_id]["pending"] = int(pending or 0)
        out[sub_id]["dead"] = int(dead or 0)
    for sub_id in ids:
        row = (
            await session.execute(
                select(DeliveryAttempt, Alert.webhook_id, Alert.type)
                .join(Alert, Alert.id == DeliveryAttempt.alert_id)
                .where(DeliveryAttempt.subscription_id == sub_id)
                .order_by(DeliveryAttempt.at.desc(), DeliveryAttempt.id.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            attempt, webhook_id, kind = row
            out[sub_id]["last_delivery"] = {
                "at": attempt.at,
                "event_id": webhook_id,
                "type": kind,
                "status_code": attempt.status_code,
                "error": attempt.error,
            }
    return out


async def deliveries(session: AsyncSession, sub_id: str, *, limit: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(DeliveryAttempt, Alert)
        .join(Alert, Alert.id == DeliveryAttempt.alert_id)
        .where(DeliveryAttempt.subscription_id == sub_id)
        .order_by(DeliveryAttempt.at.desc(), DeliveryAttempt.id.desc())
        .limit(limit)
    )
    return [
        {
            "at": attempt.at,
            "event_id": alert.webhook_id,
            "type": alert.type,
            "channel": alert.channel,
            "dossier_code": alert.dossier_code or None,
            "attempt": attempt.attempt,
            "status_code": attempt.status_code,
            "error": attempt.error,
            "next_attempt_at": attempt.next_attempt_at,
            "state": alert.status,
            "duration_ms": attempt.duration_ms,
        }
        for attempt, alert in rows.all()
    ]
