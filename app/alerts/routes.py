"""Alert subscriptions (admin): create, list, delete, and the delivery log."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import repository
from app.alerts.delivery import host_allowed
from app.alerts.models import Subscription
from app.alerts.schemas import (
    DeliveryList,
    DeliveryOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
)
from app.auth.deps import RequireAdmin
from app.config import Settings
from app.db import SessionDep
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.reference.models import Unit

router = APIRouter(prefix="/api/v1/subscriptions", tags=["alerts"], dependencies=[RequireAdmin])


def _out(sub: Subscription, summary: Mapping[str, object]) -> SubscriptionOut:
    return SubscriptionOut.model_validate(
        {
            "id": sub.id,
            "url": sub.url,
            "unit": sub.unit_code,
            "events": sub.events,
            "due_within_working_days": sub.due_within_working_days,
            "digest_time": sub.digest_time,
            "emails": sub.emails,
            "created_at": sub.created_at,
            **summary,
        }
    )


async def _check(session: AsyncSession, settings: Settings, data: SubscriptionIn) -> None:
    if data.url is not None and not host_allowed(data.url, settings.webhook_allowed_hosts):
        host = urlsplit(data.url).hostname
        raise Unprocessable(
            f"host {host!r} is not in ONESTOP_WEBHOOK_ALLOWED_HOSTS", ["body", "url"]
        )
    if data.unit is not None and await session.get(Unit, data.unit) is None:
        raise Unprocessable(f"no unit with code {data.unit!r}", ["body", "unit"])
    if data.emails and not settings.smtp_host:
        raise Unprocessable(
            "email needs an SMTP server: ONESTOP_SMTP_HOST is not set", ["body", "emails"]
        )


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionCreated,
    summary="Subscribe to due-soon, overdue and daily-digest alerts",
    description="Announces, once per dossier, type and due date, each open dossier of the "
    "unit's subtree that is overdue or due within `due_within_working_days` working days, "
    "and a daily digest at `digest_time` (local) on working days. Dossiers already in that "
    "state are announced too. Webhooks are signed per Standard Webhooks with the returned "
    "`secret`, shown only here. See docs/alerts.md.",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def create_subscription(
    request: Request, data: SubscriptionIn, session: AsyncSession = SessionDep
) -> SubscriptionCreated:
    settings: Settings = request.app.state.settings
    await _check(session, settings, data)
    sub, secret = await repository.create(
        session, data, server_secret=request.app.state.hashing_secret
    )
    # TODO(i13 audit): record subscription.create here once app's audit record function lands
    await session.commit()
    worker = getattr(request.app.state, "alerts", None)
    if worker is not None:
        worker.wake()
    summary = {"pending": 0, "dead": 0, "last_delivery": None}
    return SubscriptionCreated(**_out(sub, summary).model_dump(), secret=secret)


@router.get(
    "",
    response_model=SubscriptionList,
    summary="List subscriptions (without secrets)",
    description="Each with its undelivered and dead alert counts and its latest attempt.",
    responses=AUTH_RESPONSES,
)
async def list_subscriptions(session: AsyncSession = SessionDep) -> SubscriptionList:
    subs = await repository.list_all(session)
    summary = await repository.summaries(session, [s.id for s in subs])
    return SubscriptionList(items=[_out(s, summary[s.id]) for s in subs])


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    summary="One subscription (without its secret)",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def get_subscription(
    subscription_id: str, session: AsyncSession = SessionDep
) -> SubscriptionOut:
    sub = await repository.get(session, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription with id '{subscription_id}'")
    summary = await repository.summaries(session, [sub.id])
    return _out(sub, summary[sub.id])


@router.delete(
    "/{subscription_id}",
    status_code=204,
    summary="Delete a subscription",
    description="Gone from the listing at once; nothing more is sent for it, retries "
    "included (its alerts and delivery log are deleted with it).",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def delete_subscription(subscription_id: str, session: AsyncSession = SessionDep) -> Response:
    if not await repository.remove(session, subscription_id):
        raise NotFound(f"no subscription with id '{subscription_id}'")
    # TODO(i13 audit): record subscription.delete here once the audit record function lands
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveryList,
    summary="The delivery log of a subscription",
    description="Every attempt, newest first: when, the `webhook-id` (`event_id`, the same on "
    "every retry), the type, the receiver's status code or the error, and when it is retried. "
    "Attempts are kept for ONESTOP_ALERT_RETENTION_DAYS.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def list_deliveries(
    subscription_id: str,
    limit: int = Query(100, ge=1, le=1000, description="Most attempts returned."),
    session: AsyncSession = SessionDep,
) -> DeliveryList:
    if await repository.get(session, subscription_id) is None:
        raise NotFound(f"no subscription with id '{subscription_id}'")
    rows = await repository.deliveries(session, subscription_id, limit=limit)
    return DeliveryList(items=[DeliveryOut.model_validate(r) for r in rows])
