"""Only the storage modules (``app/storage/``) ask which database they run on (issue #15).

Read from the source: a comparison against a database's name (``== "postgresql"``), a
``.startswith("sqlite")`` on a URL, a read of ``.dialect`` (``session.bind.dialect.name``,
``Database.dialect``) or of ``Settings.is_sqlite``, anywhere in ``app`` outside
``app/storage/``, is a branch on the database unless allowlisted below with its reason.
Declaring a column type's variant (``with_variant(Integer(), "sqlite")``) is not a branch: the
type is the same declaration on every database.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
NAMES = {"postgresql", "sqlite"}

# (module path under app/, enclosing function, dotted when nested) -> why it may ask.
ALLOWED = {
    # Migrations run on a URL before any Database (and its storage) exists, and the event
    # partitions they keep ahead of time exist on PostgreSQL only.
    ("migrate.py", "ensure_event_partitions"): "partitions are PostgreSQL's own",
    # Deployment, not SQL: SQLite has one writer, so one server process and one import job.
    ("config.py", "is_sqlite"): "the setting the CLI reads",
    ("cli/__init__.py", "serve"): "SQLite refuses --workers > 1",
    ("cli/__init__.py", "import_file.work"): "SQLite imports with one job",
}


def _is_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def _branches(tree: ast.AST) -> list[tuple[str, int, str]]:
    """(enclosing function, line, what) for each place the source asks for the database."""
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name if function == "<module>" else f"{function}.{node.name}"
        if isinstance(node, ast.Compare) and any(
            _is_name(n) for n in (node.left, *node.comparators)
        ):
            found.append((function, node.lineno, "compares with a database name"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"startswith", "endswith"}
            and any(_is_name(a) for a in node.args)
        ):
            found.append((function, node.lineno, "matches a URL against a database name"))
        elif isinstance(node, ast.Attribute) and node.attr in {"dialect", "is_sqlite"}:
            found.append((function, node.lineno, f"reads .{node.attr}"))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def branches_outside_storage() -> list[str]:
    out = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP).as_posix()
        if rel.startswith("storage/"):
            continue
        for function, line, what in _branches(ast.parse(path.read_text(encoding="utf-8"))):
            if (rel, function) not in ALLOWED:
                out.append(f"app/{rel}:{line} ({function}) {what}")
    return out


def test_the_check_sees_each_kind_of_branch() -> None:
    source = (
        "def f(session, db, url, settings):\n"
        "    if session.bind.dialect.name == 'postgresql': pass\n"
        "    if db.dialect != 'sqlite': pass\n"
        "    if url.startswith('postgresql'): pass\n"
        "    if settings.is_sqlite: pass\n"
        "x = Integer().with_variant(BigInteger(), 'sqlite')\n"
    )
    assert [line for _, line, _ in _branches(ast.parse(source))] == [2, 2, 3, 3, 4, 5]


def test_no_module_outside_storage_branches_on_the_database() -> None:
    assert branches_outside_storage() == []
