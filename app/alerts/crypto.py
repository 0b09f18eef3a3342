"""Webhook signing secrets: made, sealed at rest, and opened again to sign.

A signing secret must be recoverable (the service signs with it), so it cannot be hashed like
an API key. It is sealed with AES-256-GCM (``cryptography``'s AEAD) under a key derived from
the server secret (``ONESTOP_SECRET_KEY``, else ``var/secret_key``) with HKDF-SHA256; the
subscription's id is the associated data, so a sealed secret copied onto another row does not
open. A database dump alone reveals no secret; the server secret and the dump together do.
Changing the server secret makes every stored secret unreadable (the subscriptions must then
be created again), as it already invalidates every API key.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the contract asks for at least 24
SEAL_VERSION = "v1"
_INFO = b"onestop-metrics webhook signing secrets v1"


class SealError(Exception):
    """A sealed secret that does not open (another server secret, or tampered)."""


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes, the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(server_secret: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(server_secret)


def seal(secret: str, *, server_secret: bytes, subscription_id: str) -> str:
    """The secret encrypted for storage: ``v1:`` + base64(nonce ‖ ciphertext ‖ tag)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(server_secret)).encrypt(nonce, secret.encode(), subscription_id.encode())
    return f"{SEAL_VERSION}:" + base64.b64encode(nonce + sealed).decode()


def unseal(stored: str, *, server_secret: bytes, subscription_id: str) -> str:
    version, _, payload = stored.partition(":")
    if version != SEAL_VERSION:
        raise SealError(f"unknown seal version {version!r}")
    raw = base64.b64decode(payload)
    try:
        plain = AESGCM(_key(server_secret)).decrypt(raw[:12], raw[12:], subscription_id.encode())
    except InvalidTag as exc:
        raise SealError("the stored secret does not open with this server secret") from exc
    return plain.decode()
