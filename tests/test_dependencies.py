"""What FastAPI resolves around every handler: each dependency awaited on the event loop, and
the scope dependency a single step over the bearer scheme (docs/performance.md, "Single POST")."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase

from app.auth.deps import require_scope
from app.auth.keys import Scope


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _tree(sub)


def _awaited(call: object) -> bool:
    """Called on the event loop: FastAPI runs any other callable in a thread."""
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or isinstance(call, SecurityBase)  # their __call__ is a coroutine function
    )


async def test_no_dependency_runs_in_a_thread(app: FastAPI) -> None:
    checked = 0
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        for dependant in _tree(context.dependant):
            assert _awaited(dependant.call), (context.path, dependant.call)
            checked += 1
    assert checked > 100  # every route's tree was walked


def test_a_scope_dependency_resolves_only_the_bearer_scheme() -> None:
    for scope in Scope:
        dependant = get_dependant(path="", call=require_scope(scope))
        assert [type(d.call).__name__ for d in _tree(dependant)] == ["HTTPBearer"]
