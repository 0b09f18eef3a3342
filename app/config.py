"""Service settings: every knob is an environment variable with the ``ONESTOP_`` prefix."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.reference.unit_map import UnitMapValue

VAR_DIR = Path("var")
DEFAULT_SQLITE_URL = f"sqlite+aiosqlite:///{VAR_DIR / 'onestop.db'}"


class Settings(BaseSettings):
    """Configuration read from the environment (and ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_SQLITE_URL,
        description="SQLAlchemy async URL; postgresql+asyncpg://… in production.",
    )
    read_database_url: str | None = Field(
        default=None, description="Optional read replica used by metric queries."
    )
    admin_token: str | None = Field(
        default=None, description="Bootstrap bearer token with every scope; unset closes admin."
    )
    secret_key: str | None = Field(
        default=None,
        description="Server secret for HMAC-hashing API keys. Unset: generated once into var/.",
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh")
    max_batch: int = Field(default=5000, ge=1)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_future_skew_seconds: int = Field(
        default=86400, ge=0, description="How far in the future occurred_at may lie."
    )
    strict_fields: bool = Field(
        default=False,
        description="An event field the contract does not define makes the item invalid "
        "(default: ignored, and named in the answer's warnings).",
    )
    db_pool_size: int = Field(default=4, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    db_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long a request waits for a database connection."
    )
    log_level: str = Field(default="INFO")
    log_format: Literal["json", "text"] = Field(
        default="json", description="Log lines as JSON objects (with request_id) or plain text."
    )
    access_log: bool = Field(default=False)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser: comma-separated or a "
        "JSON array; empty: no CORS headers.",
    )
    source_stale_seconds: int = Field(
        default=3600, ge=1, description="A source silent this long is flagged stale."
    )
    metrics_token: str | None = Field(
        default=None, description="Bearer token /metrics requires; unset: /metrics is open."
    )
    cache_max_age_seconds: int = Field(
        default=60, ge=0, description="max-age of Cache-Control on metric and report responses."
    )
    dvcqg_unit_source: Literal["prefix", "donvixuly"] = Field(
        default="prefix",
        description="National format: unit from the MaHoSo prefix (else DonViXuLy) or the "
        "other way round.",
    )
    dvcqg_unit_map: dict[str, UnitMapValue] = Field(
        default_factory=dict,
        description="National format: JSON object mapping a MaHoSo prefix or DonViXuLy value "
        'to a unit code, or to dated steps [{"unit": code, "from": "YYYY-MM-DD"}] '
        "chosen by the dossier's receipt day (app/reference/unit_map.py).",
    )
    dvcqg_success_code: str = Field(
        default="0",
        description="National format: error_code answered on success (some clients expect 00).",
    )

    oidc_issuer: str | None = Field(
        default=None,
        description="Single sign-on: the OpenID Connect issuer (https, or http on loopback). "
        "With oidc_audience set, bearer JWTs it signed are accepted.",
    )
    oidc_audience: str | None = Field(
        default=None, description="Single sign-on: the `aud` a token must carry."
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="Single sign-on: the JWKS address (default: from the issuer's "
        "/.well-known/openid-configuration).",
    )
    oidc_scopes_claim: str = Field(
        default="scope", description="Single sign-on: the claim holding read/ingest/admin."
    )
    oidc_units_claim: str = Field(
        default="onestop_units", description="Single sign-on: the claim holding unit codes."
    )
    oidc_jwks_refetch_seconds: float = Field(
        default=30.0,
        ge=0.1,
        description="Single sign-on: the JWKS is fetched again on an unknown kid at most this "
        "often.",
    )

    @field_validator("oidc_issuer", "oidc_jwks_url")
    @classmethod
    def _secure_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_url(value.strip())

    dvcqg_session_ttl_seconds: int = Field(
        default=3600,
        ge=60,
        description="National format: how long a session from POST /api/v1/dvcqg/login lasts "
        "(it also ends when its key is revoked or expires).",
    )
    dvcqg_trusted_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="National format, opt-in: `<cidr>=<key id>` pairs, comma-separated; a push "
        "to the national routes without any credential from an address in the range acts as "
        "that key. Empty (default): a credential is always required.",
    )

    @field_validator("dvcqg_trusted_networks", mode="before")
    @classmethod
    def _trusted_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("dvcqg_trusted_networks")
    @classmethod
    def _trusted_pairs(cls, value: list[str]) -> list[str]:
        for pair in value:
            cidr, sep, key_id = pair.partition("=")
            if not sep or not key_id.strip():
                raise ValueError(f"expected <cidr>=<key id>, got {pair!r}")
            ipaddress.ip_network(cidr.strip(), strict=False)  # raises on a bad range
        return value

    @property
    def dvcqg_trusted(self) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
        """The trusted ranges and the key each one acts as, in configuration order."""
        out = []
        for pair in self.dvcqg_trusted_networks:
            cidr, _, key_id = pair.partition("=")
            out.append((ipaddress.ip_network(cidr.strip(), strict=False), key_id.strip()))
        return out

    # alerts (app/alerts, docs/alerts.md)
    alerts_enabled: bool = Field(
        default=True,
        description="Run the alert scheduler and webhook/email deliveries in this process.",
    )
    alert_interval_seconds: float = Field(
        default=60, gt=0, description="How often the service looks for due-soon/overdue dossiers."
    )
    webhook_retry_base_seconds: float = Field(
        default=5, gt=0, description="Delay before the first retry; each next one is twice as late."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts before a delivery is dead-lettered."
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="Connect + answer timeout of one webhook attempt."
    )
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names or addresses webhooks may target (comma-separated); empty: any.",
    )
    alert_retention_days: int = Field(
        default=30, ge=1, description="Finished alerts and delivery attempts are pruned after this."
    )
    alert_max_pending: int = Field(
        default=10000,
        ge=1,
        description="Most undelivered alerts per subscription; beyond it new alerts wait.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for digest email.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="onestop-metrics@localhost")
    smtp_starttls: bool = Field(default=False)
    smtp_username: str | None = Field(default=None)
    smtp_password: str | None = Field(default=None)
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=120)

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises on an unknown zone
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def hashing_secret(self) -> bytes:
        """The HMAC key for API keys: configured, else created once under ``var/``."""
        if self.secret_key:
            return self.secret_key.encode()
        path = VAR_DIR / "secret_key"
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """An issuer or JWKS address must be https, except on a loopback address."""
    scheme = urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and is_loopback(url)):
        return url
    raise ValueError("must be an https URL (http only on a loopback address)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
