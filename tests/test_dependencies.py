"""What FastAPI resolves around every handler: the scope dependency is a single step over the
bearer scheme (docs/performance.md, "Single POST")."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant

from app.auth.deps import require_scope
from app.auth.keys import Scope


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _tree(sub)


def test_a_scope_dependency_resolves_only_the_bearer_scheme() -> None:
    for scope in Scope:
        dependant = get_dependant(path="", call=require_scope(scope))
        assert [type(d.call).__name__ for d in _tree(dependant)] == ["HTTPBearer"]
