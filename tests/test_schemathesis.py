"""Schemathesis against the app's own OpenAPI schema, in process, on both backends.

Cases are generated from the schema (valid ones, then deliberately invalid ones) and sent with
the admin token through the app's ASGI transport. Every answer must be a documented status with
a body matching the documented schema, and never a 5xx. The long run against a live server is
``reliability/schemathesis_run.sh`` (docs/reliability.md).
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN_TOKEN

EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


_generated: dict[GenerationMode, list[Case]] = {}


def generate_cases(app: FastAPI, mode: GenerationMode) -> list[Case]:
    """A bounded, deterministic set of cases per documented operation (made once per run:
    generation costs more than sending, and both backends share the schema)."""
    if mode in _generated:
        return _generated[mode]
    schema = schemathesis.openapi.from_dict(app.openapi())
    cases: list[Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION[mode],
            database=None,
            derandomize=True,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy(generation_mode=mode))
        def collect(case: Case) -> None:
            cases.append(case)

        try:
            collect()
        except Unsatisfiable:  # nothing to make invalid (an operation without inputs)
            continue
    _generated[mode] = cases
    return cases


async def send(client: httpx.AsyncClient, case: Case) -> httpx.Response:
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=str(client.base_url))
    headers = {k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "authorization"}
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params") or None,
        headers={**headers, **AUTH},
        cookies=kwargs.get("cookies") or None,
        **body,
    )


async def run(client: httpx.AsyncClient, cases: list[Case]) -> list[str]:
    failures = []
    for case in cases:
        response = await send(client, case)
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except Exception as exc:  # collect every failing case, then report them together
            failures.append(f"{case.operation.label} -> {response.status_code}: {exc}")
    return failures


async def test_generated_valid_requests_get_documented_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cases = generate_cases(app, GenerationMode.POSITIVE)
    assert await run(client, cases) == []


async def test_generated_invalid_requests_get_documented_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cases = generate_cases(app, GenerationMode.NEGATIVE)
    assert await run(client, cases) == []
