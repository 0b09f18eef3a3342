"""Request and response bodies of the subscription routes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.errors import FieldRuleError

EventType = Literal["dossier.due_soon", "dossier.overdue", "digest.daily"]
_EMAIL = re.compile(r"^[^@\s<>,;\"\x00-\x1f\x7f]{1,64}@([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://xa-phu-my.example.vn/hooks/onestop",
                    "unit": "H40.31.05",
                    "events": ["dossier.due_soon", "dossier.overdue", "digest.daily"],
                    "due_within_working_days": 1,
                    "digest_time": "07:30",
                    "emails": ["vanphong@xa-phu-my.example.vn"],
                }
            ]
        },
    )

    url: str | None = Field(
        default=None,
        max_length=2048,
        description="The webhook target (http or https). May be omitted only for a digest by "
        "email alone. Its host must be in ONESTOP_WEBHOOK_ALLOWED_HOSTS when that is set.",
    )
    unit: str | None = Field(
        default=None,
        max_length=64,
        description="Root of the unit subtree announced (the unit and every unit below it); "
        "null: all units.",
    )
    events: list[EventType] = Field(
        min_length=1,
        max_length=3,
        description="What to announce: `dossier.due_soon`, `dossier.overdue`, `digest.daily`.",
    )
    due_within_working_days: int = Field(
        default=1,
        ge=0,
        le=60,
        description="`dossier.due_soon` covers dossiers due today or within this many working "
        "days (local dates).",
    )
    digest_time: str = Field(
        default="07:30",
        description="Local time of day (HH:MM, ONESTOP_TIMEZONE) of `digest.daily`; no digest "
        "is sent on days off.",
    )
    emails: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Addresses that also receive `digest.daily` by email (Vietnamese text), "
        "through the SMTP server of ONESTOP_SMTP_HOST.",
    )

    @field_validator("events")
    @classmethod
    def _unique_events(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("events must not repeat")
        return value

    @field_validator("digest_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("digest_time must be HH:MM (00:00 … 23:59)")
        return value

    @field_validator("emails")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.match(address):
                raise ValueError(f"not an email address: {address!r}")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        message = "url must be an absolute http:// or https:// URL"
        if not value.isprintable() or any(c.isspace() for c in value):
            raise ValueError(message)
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises on a port that is not a number in range
        except ValueError as exc:
            raise ValueError(message) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(message)
        return value

    @field_validator("unit")
    @classmethod
    def _printable_unit(cls, value: str | None) -> str | None:
        if value is not None and (not value or not value.isprintable()):
            raise ValueError("unit must be a unit code (printable characters)")
        return value

    @model_validator(mode="after")
    def _targets(self) -> SubscriptionIn:
        dossier_events = {"dossier.due_soon", "dossier.overdue"} & set(self.events)
        if self.url is None and (dossier_events or not self.emails):
            raise FieldRuleError(
                "url", "url is required (only a digest.daily can go by email alone)"
            )
        if self.emails and "digest.daily" not in self.events:
            raise FieldRuleError("events", "emails receive digest.daily only: add it to events")
        return self


class LastDelivery(BaseModel):
    at: datetime
    event_id: str
    type: str
    status_code: int | None
    error: str | None


class SubscriptionOut(BaseModel):
    id: str
    url: str | None
    unit: str | None
    events: list[str]
    due_within_working_days: int
    digest_time: str
    emails: list[str]
    created_at: datetime
    pending: int = Field(description="Alerts recorded and not yet delivered (nor dead).")
    dead: int = Field(description="Alerts whose last attempt failed (kept for the retention).")
    last_delivery: LastDelivery | None = Field(description="The most recent attempt, if any.")


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(
        description="`whsec_` + base64 of 32 random bytes: the Standard Webhooks signing "
        "secret. Shown only in this answer."
    )


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    at: datetime = Field(description="When the attempt was made.")
    event_id: str = Field(description="The `webhook-id`: the same on every retry.")
    type: str
    channel: str = Field(description="`webhook` or `email`.")
    dossier_code: str | None
    attempt: int = Field(description="1 for the first attempt, 2 for the first retry, …")
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    error: str | None = Field(description="Why the attempt failed (timeout, connection, HTTP).")
    next_attempt_at: datetime | None = Field(
        description="When it is retried; null once delivered or dead."
    )
    state: str = Field(description="The alert's state now: pending, delivered or dead.")
    duration_ms: int | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut] = Field(description="Newest first.")
