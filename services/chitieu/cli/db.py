"""`chitieu db up|down|migrate|status`."""

from __future__ import annotations

import typer
from rich.console import Console

from chitieu.db import local, migrate
from chitieu.db.connect import connect
from chitieu.settings import get_settings

app = typer.Typer(help="Cơ sở dữ liệu / the TimescaleDB database.", no_args_is_help=True)
console = Console()


@app.command()
def up() -> None:
    """Start the embedded TimescaleDB (or check DATABASE_URL) and create our databases. Idempotent."""
    settings = get_settings()
    try:
        console.print(local.up(settings))
    except local.LocalDbError as exc:
        console.print(f"[red]{exc.both()}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def down() -> None:
    """Stop the embedded TimescaleDB. Idempotent."""
    console.print(local.down(get_settings()))


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending numbered migrations and re-apply the views (both ship in the package)."""
    settings = get_settings()
    with connect(autocommit=True) as conn:
        try:
            applied = migrate.migrate(conn)
        except migrate.MigrationError as exc:
            console.print(f"[red]{exc.both()}[/red]")
            raise typer.Exit(1) from exc
        migrate.ensure_readonly_login(conn, settings)
    console.print(f"applied: {', '.join(applied)}" if applied else "schema up to date")


@app.command()
def status() -> None:
    """Print the PostgreSQL and TimescaleDB versions and the hypertables."""
    with connect() as conn:
        info = migrate.status(conn)
    console.print(f"PostgreSQL {info['postgresql']}, TimescaleDB {info['timescaledb']}")
    for name, interval in info["hypertables"].items():  # type: ignore[attr-defined]
        console.print(f"  hypertable {name}: chunk interval {interval}")
