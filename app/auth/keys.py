"""API key secrets: generation, HMAC hashing, constant-time checks. Secrets are never stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

KEY_PREFIX = "osk_"


class Scope(StrEnum):
    ingest = "ingest"
    read = "read"
    admin = "admin"


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str, server_secret: bytes) -> str:
    """HMAC-SHA256 of a key under the server secret: a stolen table alone reveals nothing."""
    return hmac.new(server_secret, secret.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def visible_prefix(secret: str) -> str:
    """The first characters of a key, safe to show so an admin can tell keys apart."""
    return secret[: len(KEY_PREFIX) + 6]
