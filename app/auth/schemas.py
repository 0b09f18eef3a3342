from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.auth.keys import Scope


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"name": "igate-sync", "scopes": ["ingest"], "source": "igate"}]
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


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[Scope]
    source: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    signing: bool = Field(description="Whether ingest requests must be signed.")
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown only in this response; store it now.")
    signing_secret: str | None = Field(
        default=None,
        description="For a signing key: the HMAC secret (`whsec_…`) to sign requests with. "
        "Shown only in this response.",
    )


class ApiKeyList(BaseModel):
    keys: list[ApiKeyOut]
