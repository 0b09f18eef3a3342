from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.keys import Scope

UnitCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"name": "igate-sync", "scopes": ["ingest"], "source": "igate"},
                {
                    "name": "do-luong-dashboard",
                    "scopes": ["read"],
                    "units": ["D1"],
                    "expires_at": "2027-06-30T23:59:59+07:00",
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    scopes: list[Scope] = Field(min_length=1, max_length=3)
    source: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The pushing system this key belongs to (default: the name). Event ids "
        "are unique per source, so a rotated key keeps its source and its history.",
    )
    signing: bool = Field(
        default=False,
        description="Require signed ingest requests (webhook-id, webhook-timestamp, "
        "webhook-signature; see docs/signing.md). The signing secret is shown once.",
    )
    units: list[UnitCode] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Subtree roots the key is limited to (registered unit codes). A read key "
        "sees only their dossiers; an ingest key may push events only for them. Not allowed "
        "with the admin scope (an admin is never scoped). Default: every unit.",
    )
    expires_at: datetime | None = Field(
        default=None,
        description="When the key stops working (401 after it); must lie in the future. "
        "Without an offset: ONESTOP_TIMEZONE. Default: never.",
    )


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[Scope]
    source: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    signing: bool = Field(description="Whether ingest requests must be signed.")
    created_at: datetime
    revoked_at: datetime | None = None
    units: list[str] | None = Field(
        default=None, description="Subtree roots the key is limited to; null: every unit."
    )
    expires_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None,
        description="When the key was last used (written at most once a minute, so up to a "
        "minute behind).",
    )
    previous_expires_at: datetime | None = Field(
        default=None,
        description="After a rotation with a grace period: until when the old secret works.",
    )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown only in this response; store it now.")
    signing_secret: str | None = Field(
        default=None,
        description="For a signing key: the HMAC secret (`whsec_…`) to sign requests with. "
        "Shown only in this response.",
    )


class ApiKeyList(BaseModel):
    keys: list[ApiKeyOut]


class RotateIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"grace_seconds": 3600}]})

    grace_seconds: int = Field(
        default=0,
        ge=0,
        le=30 * 86400,
        description="How long the old secret keeps working (default 0: it stops at once).",
    )


class AuditActor(BaseModel):
    kind: str = Field(description="`admin_token`, `api_key`, `oidc` (or `anonymous`, `system`).")
    id: str | None = Field(description="The key's id, or the token's subject.")
    name: str | None


class AuditItem(BaseModel):
    id: int
    at: datetime
    action: str
    actor: AuditActor
    target: str | None
    request_id: str | None = Field(description="The X-Request-ID of the request.")
    client_ip: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditItem] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")
