"""Single sign-on: bearer JWTs from the province's OpenID Connect provider (e.g. Keycloak).

With ``ONESTOP_OIDC_ISSUER`` and ``ONESTOP_OIDC_AUDIENCE`` set, a bearer token that is a JWT
is checked with PyJWT against the issuer's JWKS: the signature (asymmetric algorithms only,
the one the key itself names), ``iss``, ``aud``, ``exp`` and ``nbf`` (30 s leeway for clock
skew). The JWKS comes from ``ONESTOP_OIDC_JWKS_URL`` or else the issuer's
``/.well-known/openid-configuration``; it is cached and fetched again when a token names a
``kid`` it does not hold (the provider rotated its keys), at most once every 30 seconds, so a
flood of tokens with made-up ``kid``s cannot make the service hammer the provider.

Scopes come from ``ONESTOP_OIDC_SCOPES_CLAIM`` (default ``scope``: a space-separated string or a
list; only ``read``, ``ingest`` and ``admin`` mean anything here), units from
``ONESTOP_OIDC_UNITS_CLAIM`` (default ``onestop_units``: a list or a space-separated string). A
token without ``admin`` and without that claim is refused with 403: a provider that forgot to
map the claim must not hand out the whole province.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from app.auth.keys import KEY_PREFIX, Scope
from app.config import Settings, check_url
from app.errors import Forbidden, ServiceUnavailable, Unauthorized

REFETCH_SECONDS = 30.0
LEEWAY_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 5.0
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


def configured(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_audience)


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts, and not one of our own keys."""
    return token.count(".") == 2 and not token.startswith(KEY_PREFIX)


@dataclass(frozen=True)
class SigningKey:
    jwk: jwt.PyJWK
    algorithm: str | None  # the JWK's own ``alg``, when it names one


@dataclass
class JwksCache:
    """The provider's signing keys by ``kid``, fetched lazily and again on an unknown one."""

    issuer: str
    jwks_url: str | None
    refetch_seconds: float = REFETCH_SECONDS
    keys: dict[str, SigningKey] = field(default_factory=dict)
    fetched_at: float | None = None  # monotonic time of the last fetch attempt
    fetches: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def key(self, kid: str | None) -> SigningKey:
        found = self._lookup(kid)
        if found is not None:
            return found
        async with self._lock:
            found = self._lookup(kid)
            if found is None and self._may_fetch():
                await self._fetch()
                found = self._lookup(kid)
        if found is None:
            raise Unauthorized("the token's signing key is not in the issuer's JWKS", reason="kid")
        return found

    def _may_fetch(self) -> bool:
        return self.fetched_at is None or time.monotonic() - self.fetched_at >= self.refetch_seconds

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid is None:
            return next(iter(self.keys.values())) if len(self.keys) == 1 else None
        return self.keys.get(kid)

    async def _fetch(self) -> None:
        self.fetched_at = time.monotonic()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
                url = self.jwks_url
                if url is None:
                    discovery = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                    response = await client.get(discovery)
                    response.raise_for_status()
                    url = check_url(str(response.json()["jwks_uri"]))
                response = await client.get(url)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if self.keys:
                return  # keep the keys we have; try again after REFETCH_SECONDS
            raise ServiceUnavailable(
                f"the identity provider's keys could not be fetched ({type(exc).__name__})"
            ) from None
        keys: dict[str, SigningKey] = {}
        for index, data in enumerate(document.get("keys", [])):
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue
            try:
                parsed = jwt.PyJWK(data)
            except jwt.PyJWTError:
                continue  # a key type or curve this service does not use
            alg = data.get("alg")
            keys[str(data.get("kid", f"#{index}"))] = SigningKey(
                parsed, alg if isinstance(alg, str) else None
            )
        self.keys = keys


def cache_of(app: Any, settings: Settings) -> JwksCache:
    cache: JwksCache | None = getattr(app.state, "oidc_jwks", None)
    if cache is None:
        assert settings.oidc_issuer is not None
        cache = JwksCache(
            settings.oidc_issuer, settings.oidc_jwks_url, settings.oidc_jwks_refetch_seconds
        )
        app.state.oidc_jwks = cache
    return cache


def _words(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


async def claims(app: Any, settings: Settings, token: str) -> dict[str, Any]:
    """The verified claims of ``token`` (401 with the reason when it does not verify)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("malformed token", reason="malformed") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise Unauthorized("the token's algorithm is not accepted", reason="algorithm")
    kid = header.get("kid")
    key = await cache_of(app, settings).key(kid if isinstance(kid, str) else None)
    if key.algorithm is not None and key.algorithm != algorithm:
        # a key published for one algorithm must not verify another
        raise Unauthorized("the token's algorithm does not match its key", reason="algorithm")
    try:
        verified: dict[str, Any] = jwt.decode(
            token,
            key.jwk.key,
            algorithms=[algorithm],
            audience=settings.oidc_audience,
            issuer=settings.oidc_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired", reason="expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("the token is not valid yet", reason="not_before") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("the token is for another audience", reason="audience") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("the token is from another issuer", reason="issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"the token has no '{exc.claim}' claim", reason="claims") from None
    except jwt.PyJWTError:
        raise Unauthorized("the token does not verify", reason="signature") from None
    return verified


@dataclass(frozen=True)
class Identity:
    """Who a verified token names: its subject, scopes and units (None: an admin)."""

    subject: str
    name: str
    source: str
    scopes: frozenset[Scope]
    units: tuple[str, ...] | None


async def identity(app: Any, settings: Settings, token: str) -> Identity:
    """The caller a verified token names, with its scopes and units from the claims."""
    verified = await claims(app, settings, token)
    words = _words(verified.get(settings.oidc_scopes_claim)) or []
    scopes = frozenset(Scope(w) for w in words if w in Scope.__members__)
    subject = str(verified.get("sub") or "")
    name = str(verified.get("preferred_username") or verified.get("name") or subject)
    units: tuple[str, ...] | None = None
    if Scope.admin not in scopes:
        claimed = _words(verified.get(settings.oidc_units_claim))
        if claimed is None:
            raise Forbidden(
                f"this token has no '{settings.oidc_units_claim}' claim: a read or ingest "
                "token must name its units",
                reason="units_claim",
            )
        units = tuple(dict.fromkeys(claimed))
    client = str(verified.get("azp") or subject)
    return Identity(subject, name[:256], f"oidc:{client}"[:128], scopes, units)
