"""The `chitieu` command line. Each area registers its own sub-commands from its module."""

from __future__ import annotations

import typer

from chitieu.cli import alerts, api, assess, catalog, dashboards, db, evaluate, ingest, pipeline

app = typer.Typer(
    name="chitieu",
    help="Chỉ Tiêu: theo dõi chỉ tiêu Nghị quyết 57-NQ/TW / monitoring of Resolution 57 indicator targets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(catalog.app, name="catalog")
app.add_typer(alerts.app, name="alerts")
app.add_typer(dashboards.app, name="dashboards")
app.add_typer(pipeline.app, name="pipeline")
for module in (ingest, assess, evaluate, api):
    module.register(app)

__all__ = ["app"]
