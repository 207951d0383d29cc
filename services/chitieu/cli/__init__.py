"""The `chitieu` command line. Each area registers its own sub-commands from its module.

`app` is built on first use: `chitieu assess FILE` (see `main`) must start fast enough to check many
cases, so it imports neither typer nor the other areas (database, pandas, settings).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


def _build() -> typer.Typer:
    import typer

    from chitieu.cli import alerts, api, assess, catalog, dashboards, db, evaluate, ingest, pipeline

    root = typer.Typer(
        name="chitieu",
        help="Chỉ Tiêu: theo dõi chỉ tiêu Nghị quyết 57-NQ/TW / "
        "monitoring of Resolution 57 indicator targets.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    root.add_typer(db.app, name="db")
    root.add_typer(catalog.app, name="catalog")
    root.add_typer(alerts.app, name="alerts")
    root.add_typer(dashboards.app, name="dashboards")
    root.add_typer(pipeline.app, name="pipeline")
    for module in (ingest, assess, evaluate, api):
        module.register(root)
    return root


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        built = _build()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The console script."""
    if sys.argv[1:2] == ["assess"]:
        from chitieu.cli.assess import run_alone

        code = run_alone(sys.argv[2:])
        if code is not None:
            sys.exit(code)
    from chitieu.settings import SettingsRefused

    try:
        __getattr__("app")()
    except SettingsRefused as exc:
        print(exc.both(), file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
