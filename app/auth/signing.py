"""Optional request signing per API key, in the Standard Webhooks style.

A key created with ``"signing": true`` must sign every ingest request:

- ``webhook-id``: a unique id for the request (at most 128 printable characters);
- ``webhook-timestamp``: Unix seconds; refused when more than five minutes from the server clock;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, several
  space-separated signatures allowed (any one matching is enough, which eases rotation).

The signing secret is ``whsec_`` + base64 of HMAC-SHA256(server secret, ``"signing:" + key id``):
it is derived, never stored, and shown once when the key is created. An id is accepted once per
source: it is recorded in the same transaction as the events it carried, so a request that
failed (5xx) may be resent with the same id, and a request that succeeded cannot be replayed.
Recorded ids are pruned once they are older than the tolerance window (a replay that old is
refused by its timestamp anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import Request

from app.db import utcnow
from app.errors import Unauthorized

TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
_ID_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")

if TYPE_CHECKING:
    from app.storage.base import WriteTx


class BadSignature(Unauthorized):
    """The key requires signed requests and this one is unsigned, badly signed or replayed."""

    code = "bad_signature"


def signing_secret(server_secret: bytes, key_id: str) -> str:
    """The key's signing secret, derived from the server secret (nothing is stored)."""
    raw = hmac.new(server_secret, b"signing:" + key_id.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of a request (what a client computes)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str, body: bytes, msg_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers that sign ``body`` (for clients and tests)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(secret, msg_id, ts, body),
    }


@dataclass(frozen=True)
class VerifiedRequest:
    source: str
    msg_id: str

    async def claim(self, tx: WriteTx) -> None:
        """Record the id inside the ingest transaction ``tx`` (ids older than twice the
        tolerance are forgotten); a replayed id is refused."""
        before = utcnow() - timedelta(seconds=2 * TOLERANCE_SECONDS)
        if not await tx.record_request(self.source, self.msg_id, prune_before=before):
            raise BadSignature(f"{ID_HEADER} '{self.msg_id}' was already used: replay refused")


def verify(
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    source: str,
    now: float | None = None,
) -> VerifiedRequest:
    """Check the three headers against the body; raises ``BadSignature`` with the reason."""
    msg_id = headers.get(ID_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    signatures = headers.get(SIGNATURE_HEADER)
    missing = [
        name
        for name, value in (
            (ID_HEADER, msg_id),
            (TIMESTAMP_HEADER, timestamp),
            (SIGNATURE_HEADER, signatures),
        )
        if not value
    ]
    if missing or msg_id is None or timestamp is None or signatures is None:
        raise BadSignature(f"this key requires signed requests; missing {', '.join(missing)}")
    if not _ID_PATTERN.match(msg_id):
        raise BadSignature(f"{ID_HEADER} must be 1-128 printable ASCII characters")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature(f"{TIMESTAMP_HEADER} must be Unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        raise BadSignature(
            f"{TIMESTAMP_HEADER} is more than {TOLERANCE_SECONDS} seconds from the server clock"
        )
    expected = sign(secret, msg_id, int(timestamp), body)
    offered = [s for s in signatures.split(" ") if s.startswith("v1,")]
    # Compare against every offered signature, each in constant time.
    if not any([hmac.compare_digest(expected.encode(), s.encode()) for s in offered]):
        raise BadSignature(f"{SIGNATURE_HEADER} does not match the body")
    return VerifiedRequest(source=source, msg_id=msg_id)


async def enforce(request: Request, *, key_id: str | None, source: str) -> VerifiedRequest | None:
    """For a signing key (``key_id``; None for a key without signing), verify the request
    for its ``source`` (401 ``bad_signature`` if it fails).

    Runs in the ``ingest`` scope dependency, so every ingest route (canonical or national
    format) is covered. The verified request comes back on the ``Principal``
    (``signed_request``), and the route hands it to the ingest transaction, which claims
    its id.
    """
    if key_id is None:
        return None
    return verify(
        headers=request.headers,
        body=await request.body(),
        secret=signing_secret(request.app.state.hashing_secret, key_id),
        source=source,
    )
