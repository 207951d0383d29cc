"""`chitieu pipeline run|up|down`: the main job (issue 6 makes it run the DAGs through Airflow)."""

from __future__ import annotations

import typer
from rich.console import Console

from chitieu.db import migrate
from chitieu.db.connect import connect

app = typer.Typer(help="Toàn bộ quy trình / the whole pipeline.", no_args_is_help=True)
console = Console()


@app.command()
def run() -> None:
    """Run the main job and print its status."""
    with connect() as conn:
        info = migrate.status(conn)
    console.print(f"PostgreSQL {info['postgresql']}, TimescaleDB {info['timescaledb']}")
    for name, interval in info["hypertables"].items():  # type: ignore[attr-defined]
        console.print(f"  hypertable {name}: chunk interval {interval}")


@app.command()
def up() -> None:
    """Start the local services and keep them running."""


@app.command()
def down() -> None:
    """Stop the local services."""
