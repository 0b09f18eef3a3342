"""The ``onestop`` command line: serve, migrate, keys, imports, the demo province, reports.

Every command that touches the database works directly on ``ONESTOP_DATABASE_URL`` (no HTTP),
through the same service code as the API, and applies pending migrations first (skip with
``--no-migrate``). Keys created here are hashed with the same server secret as the API's:
run the CLI with the same ``ONESTOP_SECRET_KEY`` (or from the same directory, whose
``var/secret_key`` is used when it is unset).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.config import Settings, get_settings

if TYPE_CHECKING:  # imported lazily at run time: `onestop --help` stays quick
    from app.auth.models import ApiKey
    from app.db import Database


def _tidy_help() -> None:
    """Help without stray placeholders: the typer in use prints ``<bool>`` beside every flag
    (``--help <bool>``), ``<str>`` beside every text and ``{file}`` for a required argument.
    Flags get no type, values the classic upper-case names (TEXT, INTEGER, PATH, a choice as
    ``[a|b]``), arguments their upper-case name."""
    from typer.core import TyperArgument, TyperOption

    names = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "file": "FILE"}

    def value_type(param: TyperArgument | TyperOption, ctx: Any) -> str | None:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            return None
        if param.metavar is not None:
            return param.metavar
        label = param.display_type(ctx).strip("<>")
        if label.startswith("list[") and label.endswith("]"):
            label = label[5:-1]
        if "|" in label:
            return f"[{label}]"
        if label.endswith(" range"):
            return names.get(label.removesuffix(" range"), label.upper())
        return names.get(label, label.upper())

    def option_type(self: TyperOption, ctx: Any) -> str | None:
        return value_type(self, ctx)

    def argument_type(self: TyperArgument, ctx: Any) -> str | None:
        return None  # its name (FILE) already says what it is

    def argument_usage(self: TyperArgument, ctx: Any) -> list[str]:
        name = (self.metavar or self.name or "").upper()
        return [name if self.required else f"[{name}]"]

    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign,assignment]
    TyperArgument.get_usage_pieces = argument_usage  # type: ignore[method-assign]


_tidy_help()

cli = typer.Typer(
    help="onestop-metrics: dossier events in, one-stop metrics out.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
keys_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
cli.add_typer(keys_cli, name="api-key")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

PLAIN_PROGRESS_SECONDS = 10.0
NO_MIGRATE = typer.Option(False, "--no-migrate", help="Do not apply pending migrations first.")


def _settings(migrate: bool) -> Settings:
    from sqlalchemy.exc import SQLAlchemyError

    settings = get_settings()
    if migrate:
        from app.migrate import upgrade

        try:
            upgrade(settings.database_url)
        except (SQLAlchemyError, OSError) as exc:
            raise _fail(f"cannot migrate ONESTOP_DATABASE_URL: {exc!r}") from None
    return settings


def _with_database(
    settings: Settings,
    work: Callable[[Database], Awaitable[T]],
    *,
    after_failure: Callable[[], str] | None = None,
) -> T:
    """Run ``work(db)`` on a Database built from the settings, and dispose of it after.

    A database failure or Ctrl-C ends the command with a one-line reason (and
    ``after_failure()``, e.g. how to resume), not a traceback.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import Database

    async def main() -> T:
        db = Database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except (SQLAlchemyError, OSError, KeyboardInterrupt) as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped: {exc!r}"
        hint = after_failure() if after_failure else ""
        raise _fail(f"{reason}\n{hint}" if hint else reason) from None


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


# ------------------------------------------------------------------------------ serve, migrate


@cli.command()
def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply database migrations to ONESTOP_DATABASE_URL."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL only for more than 1)."),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Apply migrations, then serve the API (docs at /docs, dashboard at /)."""
    import uvicorn

    from app.observability.logs import uvicorn_log_config
    from app.observability.prometheus import MULTIPROC_ENV

    settings = get_settings()
    if settings.is_sqlite and workers > 1:
        raise typer.BadParameter("SQLite has a single writer: use --workers 1 or PostgreSQL")
    if not no_migrate:
        from app.migrate import upgrade

        upgrade(settings.database_url)
    err.print(serve_banner(host, port), highlight=False, soft_wrap=True)
    prom_dir = os.environ.get(MULTIPROC_ENV)
    if prom_dir:  # samples of a previous run would be added to this one's
        shutil.rmtree(prom_dir, ignore_errors=True)
        Path(prom_dir).mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app writes its own access line (ONESTOP_ACCESS_LOG), with ids
        log_config=uvicorn_log_config(level=settings.log_level, fmt=settings.log_format),
        proxy_headers=True,
    )


def serve_banner(host: str, port: int) -> str:
    """Where to go once the server is up: the dashboard and the API reference."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    lines = [
        f"dashboard:     {base}/",
        f"API reference: {base}/docs (Swagger UI) · {base}/redoc · {base}/openapi.json",
    ]
    if shown != host:
        lines.append(f"(listening on every address of this machine, port {port})")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ api keys


class ScopeName(StrEnum):
    ingest = "ingest"
    read = "read"
    admin = "admin"


@keys_cli.command("create")
def key_create(
    name: str = typer.Option(..., "--name", help="Who the key is for, e.g. igate-sync."),
    scope: list[ScopeName] = typer.Option(
        ..., "--scope", help="ingest, read or admin; repeat for several."
    ),
    source: str | None = typer.Option(
        None, help="The pushing system the key belongs to (default: the name)."
    ),
    signing: bool = typer.Option(False, help="Require signed ingest requests."),
    unit: list[str] = typer.Option(
        [], "--unit", help="Limit the key to this unit's subtree; repeat for several."
    ),
    expires_at: str | None = typer.Option(
        None, "--expires-at", help="When the key stops working (RFC 3339; local time if naive)."
    ),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Create a key and print its secret: the only time it is shown."""
    from pydantic import ValidationError

    from app.auth import audit, service
    from app.auth.schemas import ApiKeyIn
    from app.auth.signing import signing_secret
    from app.errors import AppError

    try:
        data = ApiKeyIn.model_validate(
            {
                "name": name,
                "scopes": [s.value for s in scope],
                "source": source,
                "signing": signing,
                "units": unit or None,
                "expires_at": expires_at,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(problems) from None
    settings = _settings(not no_migrate)
    server_secret = settings.hashing_secret()

    async def work(db: Database) -> tuple[ApiKey, str]:
        async with db.sessionmaker() as session, session.begin():
            created = await service.create(
                session=session, data=data, server_secret=server_secret, zone=settings.zone
            )
            key = created[0]
            audit.record_cli(
                session, "api_key.create", target=key.id, details=audit.key_details(key)
            )
            return created

    try:
        key, secret = _with_database(settings, work)
    except AppError as exc:  # units not registered, expiry in the past
        raise _fail(exc.message) from None
    err.print(
        f"created key [bold]{key.id}[/] ({key.name}, source {key.source}, scopes "
        f"{', '.join(key.scopes)}). The secret below is shown only now:",
        highlight=False,
    )
    typer.echo(secret)
    if key.signing:
        err.print("signing secret (shown only now):")
        typer.echo(signing_secret(server_secret, key.id))


@keys_cli.command("list")
def key_list(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """List keys (never their secrets)."""
    from app.auth import service

    settings = _settings(not no_migrate)

    async def work(db: Database) -> list[ApiKey]:
        async with db.sessionmaker() as session:
            return await service.list_all(session=session, include_revoked=all_keys)

    table = Table()
    # the full id, never cut short however narrow the terminal: `revoke` and `rotate` take it
    table.add_column("id", no_wrap=True, overflow="ignore", min_width=32)
    titles = ("name", "source", "scopes", "units", "prefix", "signing", "created", "expires")
    for title in (*titles, "last used", "revoked"):
        table.add_column(title, overflow="fold")

    def stamp(moment: datetime) -> str:  # in ONESTOP_TIMEZONE
        return f"{moment.astimezone(settings.zone):%Y-%m-%d %H:%M}"

    for key in _with_database(settings, work):
        table.add_row(
            key.id,
            key.name,
            key.source,
            ",".join(key.scopes),
            ",".join(key.units) if key.units else "all",
            key.prefix + "…",
            "yes" if key.signing else "",
            stamp(key.created_at),
            stamp(key.expires_at) if key.expires_at else "",
            stamp(key.last_used_at) if key.last_used_at else "",
            stamp(key.revoked_at) if key.revoked_at else "",
        )
    out.print(table)


@keys_cli.command("rotate")
def key_rotate(
    key_id: str = typer.Argument(..., help="The key's id (see `onestop api-key list`)."),
    grace_seconds: int = typer.Option(
        0, "--grace-seconds", min=0, max=30 * 86400, help="How long the old secret still works."
    ),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Give a key a new secret (printed once); the old one stops now or after the grace."""
    from app.auth import audit, service

    settings = _settings(not no_migrate)
    server_secret = settings.hashing_secret()

    async def work(db: Database) -> str | None:
        async with db.sessionmaker() as session, session.begin():
            rotated = await service.rotate(
                session=session,
                key_id=key_id,
                server_secret=server_secret,
                grace_seconds=grace_seconds,
            )
            if rotated is None:
                return None
            details = {"grace_seconds": grace_seconds}
            audit.record_cli(session, "api_key.rotate", target=key_id, details=details)
            return rotated[1]

    secret = _with_database(settings, work)
    if secret is None:
        raise _fail(f"no live API key with id '{key_id}'")
    err.print(f"rotated {key_id}; the new secret below is shown only now:", highlight=False)
    typer.echo(secret)


@keys_cli.command("revoke")
def key_revoke(
    key_id: str = typer.Argument(
        ..., metavar="ID", help="The key's id, or a prefix of it that only one key has."
    ),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Revoke a key; it stops working at once, on every worker."""
    from app.auth import audit, service

    settings = _settings(not no_migrate)

    async def work(db: Database) -> tuple[list[ApiKey], ApiKey | None, bool]:
        async with db.sessionmaker() as session, session.begin():
            keys = await service.list_all(session=session, include_revoked=True)
            exact = [k for k in keys if k.id == key_id]
            matches = exact or [k for k in keys if k.id.startswith(key_id)]
            if len(matches) != 1:
                return matches, None, False
            revoked = await service.revoke(session=session, key_id=matches[0].id)
            if revoked is None:  # gone since the listing: answer as for an unknown id
                return [], None, False
            key, now = revoked
            if now:  # a key revoked before: nothing changes, nothing is recorded
                details = {"name": key.name}
                audit.record_cli(session, "api_key.revoke", target=key.id, details=details)
            return matches, key, not now

    matches, key, already = _with_database(settings, work)
    if not matches:
        raise _fail(
            f"no API key with id '{key_id}' nor one starting with it "
            "(see `onestop api-key list --all`)"
        )
    if key is None:
        listed = ", ".join(f"{k.id} ({k.name})" for k in matches)
        raise _fail(f"'{key_id}' is the start of {len(matches)} key ids: {listed}; give more of it")
    if already and key.revoked_at is not None:
        err.print(
            f"key {key.id} ({key.name}) was already revoked on {key.revoked_at:%Y-%m-%d %H:%M} "
            "UTC; nothing changed",
            highlight=False,
        )
        return
    err.print(f"revoked {key.id} ({key.name})", highlight=False)


# ------------------------------------------------------------------------------ import


class FileFormat(StrEnum):
    auto = "auto"
    jsonl = "jsonl"
    national = "national"


@cli.command("import")
def import_file(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="The file to import (may be gzip)."
    ),
    source: str = typer.Option(
        "import", help="Source the events are stored under (event ids are unique per source)."
    ),
    file_format: FileFormat = typer.Option(
        FileFormat.auto,
        "--format",
        help="jsonl: one canonical event per line; national: a national-format JSON export "
        "(array of dossier records or {service, data}); auto: decided from the first bytes.",
    ),
    batch_size: int = typer.Option(2000, min=1, max=50_000, help="Events per transaction."),
    checkpoint: Path | None = typer.Option(
        None, help="Checkpoint file (default: FILE.checkpoint.json)."
    ),
    rejects: Path | None = typer.Option(
        None, help="Where rejected lines are written as JSON Lines (default: FILE.rejects.jsonl)."
    ),
    restart: bool = typer.Option(False, help="Ignore an existing checkpoint and start over."),
    jobs: int | None = typer.Option(
        None,
        min=1,
        max=16,
        help="Batches in flight at once (default: 2 on PostgreSQL, 1 on SQLite).",
    ),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Import events straight into the database, resumably, with a progress bar."""
    from app.cli.importer import Format, ImportAborted, Importer, Totals, detect_format

    chosen: dict[FileFormat, Format] = {FileFormat.jsonl: "jsonl", FileFormat.national: "national"}
    fmt = chosen.get(file_format) or detect_format(file)
    checkpoint_path = checkpoint or file.with_name(file.name + ".checkpoint.json")
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    settings = _settings(not no_migrate)
    started = time.perf_counter()

    async def work(db: Database) -> tuple[Totals, bool]:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            TextColumn("{task.fields[events]:>9,} events {task.fields[rate]:>6,.0f}/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            try:
                importer = Importer(
                    db,
                    path=file,
                    source=source,
                    fmt=fmt,
                    batch_size=batch_size,
                    checkpoint_path=checkpoint_path,
                    rejects_path=rejects_path,
                    restart=restart,
                    jobs=jobs or (1 if settings.is_sqlite else 2),
                )
            except ImportAborted as exc:
                raise _fail(str(exc)) from None
            done_before = importer.position()
            task = progress.add_task(
                file.name, total=importer.size, completed=done_before, events=0, rate=0.0
            )
            if importer.resumed:
                err.print(
                    f"resuming after record {importer.checkpoint.records:,} "
                    f"(byte {importer.checkpoint.offset:,}) from {checkpoint_path}",
                    highlight=False,
                )
            first_events = importer.checkpoint.totals.events
            resumed = importer.resumed
            clock = time.perf_counter()

            last_line = [clock]

            def on_progress(offset: int, totals: Totals) -> None:
                now = time.perf_counter()
                rate = (totals.events - first_events) / max(now - clock, 1e-9)
                progress.update(task, completed=offset, events=totals.events, rate=rate)
                if not err.is_terminal and now - last_line[0] >= PLAIN_PROGRESS_SECONDS:
                    last_line[0] = now  # logs and pipes get a plain line now and then
                    err.print(
                        f"{100 * offset / max(importer.size, 1):.1f}% {totals.events:,} events "
                        f"{rate:,.0f}/s accepted {totals.accepted:,} duplicate "
                        f"{totals.duplicates:,} rejected {totals.rejected:,}",
                        highlight=False,
                    )

            importer.on_progress = on_progress
            try:
                totals = await importer.run()
            except ImportAborted as exc:
                raise _fail(str(exc)) from None
            progress.update(task, completed=importer.size)
            return totals, resumed

    totals, resumed = _with_database(
        settings, work, after_failure=lambda: _resume_hint(checkpoint_path)
    )
    elapsed = time.perf_counter() - started
    table = Table(title=f"{file.name} → source '{source}' ({fmt})", show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    table.add_row("lines read" if fmt == "jsonl" else "records read", f"{totals.records:,}")
    table.add_row("events", f"{totals.events:,}")
    table.add_row("[green]accepted", f"{totals.accepted:,}")
    table.add_row("duplicate", f"{totals.duplicates:,}")
    table.add_row("[red]invalid", f"{totals.invalid:,}")
    table.add_row("[red]conflict", f"{totals.conflicts:,}")
    table.add_row("time", f"{elapsed:,.1f} s{' (this run)' if resumed else ''}")
    out.print(table)
    if totals.rejected:
        err.print(
            f"{totals.rejected:,} rejected, with line numbers and reasons, in {rejects_path}",
            highlight=False,
        )


def _resume_hint(checkpoint_path: Path) -> str:
    from app.cli.importer import Checkpoint

    saved = Checkpoint.load(checkpoint_path)
    if saved is None or saved.records == 0:
        return "nothing was committed; run the same command again to start over"
    return (
        f"records up to {saved.records:,} are committed; run the same command again to resume "
        "after them"
    )


# ------------------------------------------------------------------------------ demo, report


@cli.command()
def demo(
    seed: int = typer.Option(0, help="Seed of the generated province."),
    source: str = typer.Option("demo", help="Source the demo events are stored under."),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Load the demo province: units, procedures and dossier events matching its report."""
    from app.cli.demo_loader import DemoRejected, load_demo

    settings = _settings(not no_migrate)
    started = time.perf_counter()
    try:
        summary = _with_database(settings, lambda db: load_demo(db, seed=seed, source=source))
    except DemoRejected as exc:
        raise _fail(str(exc)) from None
    out.print(
        f"demo loaded in {time.perf_counter() - started:.1f} s: {summary.units} units, "
        f"{summary.procedures} procedures, {summary.events:,} events "
        f"({summary.accepted:,} new, {summary.duplicates:,} already there).",
        highlight=False,
    )
    query = "&".join(f"{k}={v}" for k, v in summary.report_query.items())
    out.print(
        "Next:\n"
        "  1. serve it (if it is not running yet):  onestop serve\n"
        "  2. make a key the dashboard can read with (its secret is printed once):\n"
        "       onestop api-key create --name dashboard --scope read\n"
        f"  3. open http://127.0.0.1:8000/?{query}\n"
        "     (Đô Lương district, Q1 2024, as in its report) and paste the key into the "
        "page's top bar.",
        highlight=False,
        soft_wrap=True,
    )


@cli.command()
def refold(no_migrate: bool = NO_MIGRATE) -> None:
    """Rebuild every dossier from its stored events (after changing ONESTOP_TIMEZONE), and
    recount the metric rollups."""
    from app.dossiers.service import refold_all

    settings = _settings(not no_migrate)

    async def work(db: Database) -> int:
        async with db.storage.write() as tx:
            return await refold_all(tx, zone=settings.zone)

    count = _with_database(settings, work)
    out.print(f"refolded {count:,} dossiers in zone {settings.timezone}", highlight=False)


class ReportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


@cli.command()
def report(
    date_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (inclusive)."),
    date_to: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (inclusive)."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write (.csv or .xlsx)."),
    unit: str | None = typer.Option(None, help="Root unit of the report (default: all)."),
    group_by: str = typer.Option("sector", help="One row per `sector` or per `procedure`."),
    report_format: ReportFormat | None = typer.Option(
        None, "--format", help="csv or xlsx (default: from the output's extension)."
    ),
    no_migrate: bool = NO_MIGRATE,
) -> None:
    """Write the II.06a processing report for a period to CSV or XLSX."""
    from app.cli.reporting import write_report
    from app.errors import AppError
    from app.reports.processing import ReportGroup

    if group_by not in {g.value for g in ReportGroup}:
        raise _fail("--group-by is sector or procedure")
    try:
        first, last = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError as exc:
        raise _fail(f"dates are YYYY-MM-DD: {exc}") from None
    if last < first:
        raise _fail("--to is before --from")
    fmt = report_format.value if report_format else output.suffix.lstrip(".").lower()
    if fmt not in ("csv", "xlsx"):
        raise _fail("pass --format csv|xlsx or an output ending in .csv or .xlsx")
    settings = _settings(not no_migrate)
    try:
        body, rows = _with_database(
            settings,
            lambda db: write_report(
                db, first=first, last=last, unit=unit, group_by=ReportGroup(group_by), fmt=fmt
            ),
        )
    except AppError as exc:
        raise _fail(exc.message) from None
    output.write_bytes(body)
    err.print(f"wrote {rows} rows to {output}", highlight=False)


def _reference_commands() -> None:
    from app.cli.reference_io import procedures_cli, units_cli

    cli.add_typer(units_cli, name="units")
    cli.add_typer(procedures_cli, name="procedures")


_reference_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
