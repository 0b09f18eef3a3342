"""The ``onestop`` command line."""

from __future__ import annotations

import typer

from app.config import get_settings

cli = typer.Typer(
    help="onestop-metrics: dossier events in, one-stop metrics out.", no_args_is_help=True
)


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
    no_migrate: bool = typer.Option(False, "--no-migrate", help="Skip applying migrations."),
) -> None:
    """Apply migrations, then serve the API (docs at /docs)."""
    import uvicorn

    settings = get_settings()
    if not no_migrate:
        from app.migrate import upgrade

        upgrade(settings.database_url)
    if settings.is_sqlite and workers > 1:
        raise typer.BadParameter("SQLite has a single writer: use --workers 1 or PostgreSQL")
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        access_log=settings.access_log,
        proxy_headers=True,
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
