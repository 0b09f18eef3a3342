"""``onestop units import|export`` and ``onestop procedures import``: a province's lists.

A file is CSV (UTF-8, a BOM allowed, a header row) or JSON (an array of objects, or
``{"units": [...]}`` / ``{"procedures": [...]}`` as ``GET`` answers). Unit columns: ``code,
name, level, parent, valid_from, valid_to, successor`` (``parent_code``, ``successor_code``
accepted too); procedure columns: ``code, name, level, online_service, sector``
(``sector_code`` too). Empty cells are null. The rows go through the same bulk upsert as
``PUT /api/v1/units`` (all-or-nothing: a bad row changes nothing and is reported with its
row number and field), and are audited as that route audits them: one ``unit.put`` /
``procedure.put`` per row, the actor ``cli:<OS user>``, in the import's transaction.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.db import Database
    from app.reference.schemas import ProcedureItem, UnitItem

units_cli = typer.Typer(help="Import and export the unit list.", no_args_is_help=True)
procedures_cli = typer.Typer(help="Import the procedure catalogue.", no_args_is_help=True)

UNIT_COLUMNS = ["code", "name", "level", "parent", "valid_from", "valid_to", "successor"]
UNIT_ALIASES = {"parent_code": "parent", "successor_code": "successor"}
UNIT_FIELDS = {"parent": "parent_code", "successor": "successor_code"}
PROCEDURE_ALIASES = {"sector_code": "sector"}
PROCEDURE_FIELDS = {"sector": "sector_code"}
M = TypeVar("M", bound=BaseModel)
OnProgress = Callable[[int, int], None]
T = TypeVar("T")


out = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def _run(no_migrate: bool, work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate first (unless told not to), then ``work(db)`` on ONESTOP_DATABASE_URL; a
    database failure ends the command with a one-line reason."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.config import get_settings
    from app.db import Database

    settings = get_settings()

    async def main() -> T:
        db = Database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        if not no_migrate:
            from app.migrate import upgrade

            upgrade(settings.database_url)
        return asyncio.run(main())
    except (SQLAlchemyError, OSError, KeyboardInterrupt) as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped: {exc!r}"
        raise _fail(reason) from None


class FileRejected(Exception):
    """The file cannot be imported; the message says where and why."""


def read_rows(path: Path, key: str) -> list[dict[str, Any]]:
    """The file's rows as dicts (CSV or JSON, told apart by the first character)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileRejected(f"cannot read {path}: {exc}") from None
    if text.lstrip()[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileRejected(f"{path}: not valid JSON ({exc})") from None
        if isinstance(data, dict):
            data = data.get(key)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise FileRejected(f"{path}: expected an array of objects (or {{'{key}': [...]}})")
        return data
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "code" not in [f.strip().lower() for f in reader.fieldnames]:
        raise FileRejected(f"{path}: a CSV file needs a header row with at least 'code'")
    return [
        {(k or "").strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in r.items()}
        for r in reader
    ]


def to_items(
    rows: Sequence[dict[str, Any]],
    model: type[M],
    aliases: dict[str, str],
    fields: dict[str, str],
) -> list[M]:
    """Validate every row; all problems at once, each with its row number (1 = first row)."""
    items: list[M] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        clean: dict[str, Any] = {}
        for name, value in row.items():
            name = aliases.get(name, name)
            clean[fields.get(name, name)] = None if value == "" else value
        try:
            items.append(model.model_validate(clean))
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"]) or "row"
                problems.append(f"row {number}, {where}: {e['msg']}")
    if problems:
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise FileRejected("; ".join(problems[:20]) + more)
    return items


def _audit(
    session: AsyncSession,
    action: str,
    items: Sequence[UnitItem | ProcedureItem],
    created: Sequence[bool],
) -> None:
    """One entry per item, as the bulk ``PUT`` route writes (same action, target and
    ``details``), with the CLI as its actor, in the import's own transaction."""
    from app.auth import audit
    from app.reference.service import put_details

    for item, new in zip(items, created, strict=True):
        audit.record_cli(session, action, target=item.code, details=put_details(item, new))


@dataclass
class ImportSummary:
    rows: int
    created: int
    seconds: float


def _run_import(
    path: Path,
    label: str,
    upsert: Callable[[Any, Callable[[int, int], None]], Any],
    rows: int,
    no_migrate: bool,
) -> ImportSummary:
    from app.errors import Unprocessable

    started = time.perf_counter()

    async def work(db: Database) -> int:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            TextColumn("{task.completed:>7,.0f}/{task.total:,.0f} " + label),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(path.name, total=rows)

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            async with db.sessionmaker() as session, session.begin():
                created = await upsert(session, on_progress)
                return sum(created)

    try:
        created = _run(no_migrate, work)
    except Unprocessable as exc:
        problems = "; ".join(
            f"row {e['loc'][1] + 1}, {e['loc'][2]}: {e['msg']}"
            if len(e["loc"]) == 3 and isinstance(e["loc"][1], int)
            else f"{e['loc']}: {e['msg']}"
            for e in exc.errors[:20]
        )
        raise _fail(f"nothing imported: {problems}") from None
    return ImportSummary(rows, created, time.perf_counter() - started)


def _summary(title: str, summary: ImportSummary, extra: list[tuple[str, str]]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    table.add_row("rows", f"{summary.rows:,}")
    table.add_row("[green]created", f"{summary.created:,}")
    table.add_row("updated", f"{summary.rows - summary.created:,}")
    for name, value in extra:
        table.add_row(name, value)
    table.add_row("time", f"{summary.seconds:,.1f} s")
    out.print(table)


FILE_ARG = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="A CSV (header row) or JSON file."
)
NO_MIGRATE = typer.Option(False, "--no-migrate", help="Do not apply pending migrations first.")


@units_cli.command("import")
def units_import(file: Path = FILE_ARG, no_migrate: bool = NO_MIGRATE) -> None:
    """Create or update units from a file (code, name, level, parent, valid_from, valid_to,
    successor), all or nothing; parents and successors may come in any order."""
    from app.reference import service
    from app.reference.schemas import UnitItem

    try:
        items = to_items(read_rows(file, "units"), UnitItem, UNIT_ALIASES, UNIT_FIELDS)
    except FileRejected as exc:
        raise _fail(f"nothing imported: {exc}") from None

    async def upsert(session: AsyncSession, progress: OnProgress) -> list[bool]:
        created = await service.put_units(session=session, items=items, on_progress=progress)
        _audit(session, "unit.put", items, created)
        return created

    summary = _run_import(file, "units", upsert, len(items), no_migrate)
    ended = sum(1 for i in items if i.valid_to is not None)
    succeeded = sum(1 for i in items if i.successor_code is not None)
    _summary(
        f"{file.name} → units",
        summary,
        [("with an end (valid_to)", f"{ended:,}"), ("with a successor", f"{succeeded:,}")],
    )


@units_cli.command("export")
def units_export(
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Write every unit (former ones too) in the import's columns: CSV or JSON."""
    from app.reference import service

    if fmt not in ("csv", "json"):
        raise _fail("--format is csv or json")

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read_sessionmaker() as session:
            units = await service.list_units(session=session, at=None)
            return [
                {
                    "code": u.code,
                    "name": u.name,
                    "level": u.level,
                    "parent": u.parent_code,
                    "valid_from": u.valid_from.isoformat() if u.valid_from else None,
                    "valid_to": u.valid_to.isoformat() if u.valid_to else None,
                    "successor": u.successor_code,
                }
                for u in units
                if u.registered
            ]

    rows = _run(no_migrate, work)
    if fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=UNIT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        text = buffer.getvalue()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(rows):,} units to {output}", highlight=False)


@procedures_cli.command("import")
def procedures_import(file: Path = FILE_ARG, no_migrate: bool = NO_MIGRATE) -> None:
    """Create or update procedures from a file (code, name, level, online_service, sector),
    all or nothing."""
    from app.reference import service
    from app.reference.schemas import ProcedureItem

    try:
        rows = read_rows(file, "procedures")
        items = to_items(rows, ProcedureItem, PROCEDURE_ALIASES, PROCEDURE_FIELDS)
    except FileRejected as exc:
        raise _fail(f"nothing imported: {exc}") from None

    async def upsert(session: AsyncSession, progress: OnProgress) -> list[bool]:
        created = await service.put_procedures(session=session, items=items, on_progress=progress)
        _audit(session, "procedure.put", items, created)
        return created

    summary = _run_import(file, "procedures", upsert, len(items), no_migrate)
    _summary(f"{file.name} → procedures", summary, [])
