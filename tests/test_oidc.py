"""Single sign-on: JWTs checked against a JWKS the test serves over real HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.metrics_helpers import put_unit

AUDIENCE = "onestop-metrics"
REFETCH = 2.0  # ONESTOP_OIDC_JWKS_REFETCH_SECONDS for these tests (default 30)


@dataclass
class Provider:
    """An OpenID provider's discovery document and JWKS, served on 127.0.0.1."""

    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    published: list[dict[str, Any]] = field(default_factory=list)
    jwks_fetches: int = 0
    issuer: str = ""

    def add_rsa(self, kid: str) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = private
        self.published.append(
            {
                **RSAAlgorithm.to_jwk(private.public_key(), as_dict=True),
                "kid": kid,
                "use": "sig",
                "alg": "RS256",
            }
        )

    def add_ec(self, kid: str) -> None:
        private = ec.generate_private_key(ec.SECP256R1())
        self.keys[kid] = private
        self.published.append(
            {
                **ECAlgorithm.to_jwk(private.public_key(), as_dict=True),
                "kid": kid,
                "use": "sig",
                "alg": "ES256",
            }
        )

    def token(self, kid: str = "k1", alg: str = "RS256", key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "u-42",
            "iat": now,
            "exp": now + 300,
            "preferred_username": "lanh.dao",
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.keys[kid], algorithm=alg, headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()
    state.add_rsa("k1")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                body: Any = {"issuer": state.issuer, "jwks_uri": f"{state.issuer}/certs"}
            elif self.path == "/certs":
                state.jwks_fetches += 1
                body = {"keys": state.published}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def sso(
    provider: Provider, database_url: str, db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """An app that accepts the provider's tokens, with units P > D1 > C1 and XOUT."""
    app = create_app(
        make_settings(
            database_url,
            oidc_issuer=provider.issuer,
            oidc_audience=AUDIENCE,
            oidc_jwks_refetch_seconds=REFETCH,
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sso") as c,
    ):
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for code, level, parent in (
            ("P", "province", None),
            ("D1", "district", "P"),
            ("C1", "commune", "D1"),
            ("XOUT", "district", "P"),
        ):
            await put_unit(c, admin, code, level, parent)
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_district_token_sees_its_district_only(
    sso: httpx.AsyncClient, provider: Provider
) -> None:
    token = provider.token(scope="openid profile read", onestop_units=["D1"])
    units = await sso.get("/api/v1/units", params={"flat": "true"}, headers=bearer(token))
    assert units.status_code == 200, units.text
    assert sorted(u["code"] for u in units.json()["units"]) == ["C1", "D1"]
    params = {"from": "2024-03-01", "to": "2024-03-31", "unit": "XOUT"}
    outside = await sso.get("/api/v1/metrics/online", params=params, headers=bearer(token))
    assert outside.status_code == 403


async def test_units_and_scopes_may_be_space_separated_strings(
    sso: httpx.AsyncClient, provider: Provider
) -> None:
    token = provider.token(scope=None, roles="read", onestop_units="C1 XOUT")
    no_scope = await sso.get("/api/v1/units", headers=bearer(token))
    assert no_scope.status_code == 403  # 'roles' is not the configured claim
    token = provider.token(scope="read", onestop_units="C1 XOUT")
    units = await sso.get("/api/v1/units", params={"flat": "true"}, headers=bearer(token))
    assert sorted(u["code"] for u in units.json()["units"]) == ["C1", "XOUT"]


async def test_a_read_token_without_units_is_403_and_an_admin_token_needs_none(
    sso: httpx.AsyncClient, provider: Provider
) -> None:
    reader = await sso.get("/api/v1/units", headers=bearer(provider.token(scope="read")))
    assert (reader.status_code, reader.json()["reason"]) == (403, "units_claim")
    admin = await sso.get("/api/v1/admin/api-keys", headers=bearer(provider.token(scope="admin")))
    assert admin.status_code == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -600}, "expired"),  # seconds from now
        ({"aud": "another-service"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"nbf": 600}, "not_before"),
        ({"exp": None}, "claims"),  # exp is required
    ],
)
async def test_bad_claims_are_401(
    sso: httpx.AsyncClient, provider: Provider, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())
    timed = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in claims.items()}
    token = provider.token(scope="read", onestop_units=["D1"], **timed)
    response = await sso.get("/api/v1/units", headers=bearer(token))
    assert (response.status_code, response.json()["reason"]) == (401, reason)


async def test_a_forged_signature_and_a_symmetric_algorithm_are_401(
    sso: httpx.AsyncClient, provider: Provider
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = provider.token(key=stranger, scope="read", onestop_units=["D1"])
    response = await sso.get("/api/v1/units", headers=bearer(forged))
    assert (response.status_code, response.json()["reason"]) == (401, "signature")
    hs = provider.token(alg="HS256", key="a-shared-secret-of-32-bytes-or-more!!", scope="admin")
    response = await sso.get("/api/v1/units", headers=bearer(hs))
    assert (response.status_code, response.json()["reason"]) == (401, "algorithm")


async def test_a_new_kid_refetches_the_jwks_and_a_made_up_one_does_not_hammer_it(
    sso: httpx.AsyncClient, provider: Provider
) -> None:
    first = provider.token(scope="read", onestop_units=["D1"])
    for _ in range(3):
        assert (await sso.get("/api/v1/units", headers=bearer(first))).status_code == 200
    assert provider.jwks_fetches == 1  # cached
    provider.add_ec("k2")  # the provider rotates to a new (EC) key
    rotated = provider.token(kid="k2", alg="ES256", scope="read", onestop_units=["D1"])
    early = await sso.get("/api/v1/units", headers=bearer(rotated))
    assert (early.status_code, provider.jwks_fetches) == (401, 1)  # fetched too recently
    await asyncio.sleep(REFETCH + 0.1)
    assert (await sso.get("/api/v1/units", headers=bearer(rotated))).status_code == 200
    assert provider.jwks_fetches == 2
    for i in range(5):  # a signing key the provider never published
        provider.keys[f"nope-{i}"] = provider.keys["k1"]
        unknown = provider.token(kid=f"nope-{i}", scope="read", onestop_units=["D1"])
        response = await sso.get("/api/v1/units", headers=bearer(unknown))
        assert (response.status_code, response.json()["reason"]) == (401, "kid")
    assert provider.jwks_fetches == 2  # at most one fetch every REFETCH seconds


def test_the_issuer_must_be_https_unless_on_loopback() -> None:
    with pytest.raises(ValidationError):
        Settings(oidc_issuer="http://idp.example.org/realms/nghe-an")
    assert Settings(oidc_issuer="https://idp.example.org/realms/x").oidc_issuer
    assert Settings(oidc_issuer="http://127.0.0.1:8080/realms/x").oidc_issuer
