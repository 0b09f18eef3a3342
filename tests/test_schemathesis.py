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

from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings

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


def null_only_schemas(node: Any, path: str = "") -> list[str]:
    """Where the document allows nothing but null outside a union (``anyOf``/``oneOf``)."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "null" and not path.endswith(("/anyOf", "/oneOf")):
            found.append(path)
        for key, value in node.items():
            found += null_only_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            # a union's branches keep the union's path: a null branch is fine there
            found += null_only_schemas(value, path if isinstance(value, dict) else f"{path}/{i}")
    return found


def test_no_documented_value_can_only_be_null() -> None:
    """A schema that admits only null is a model annotated by a name its own field shadowed
    (``TaiLieuNop: list[TaiLieuNop]``): generated cases then carry nothing but nulls there."""
    schema = create_app(make_settings("sqlite+aiosqlite://")).openapi()
    assert null_only_schemas(schema) == []
