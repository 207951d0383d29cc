"""`chitieu dashboards build|push|refresh|preview`: Grafana dashboards and alert rules as code."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(
    help="Grafana: bảng điều khiển và quy tắc cảnh báo / dashboards and alert rules", no_args_is_help=True
)
console = Console()


@app.command()
def build(
    check: bool = typer.Option(
        False, "--check", help="Only compare with the committed files; exit 1 if stale."
    ),
) -> None:
    """Build dashboards/build/*.json and the alert-rule provisioning file (deterministic)."""
    from chitieu.dashboards import build as builder

    if check:
        stale = builder.stale()
        for path in stale:
            console.print(f"[red]lỗi thời / stale:[/red] {path}")
        raise typer.Exit(1 if stale else 0)
    changed = builder.write()
    for path in changed:
        console.print(f"đã ghi / written: {path}")
    if not changed:
        console.print("không có thay đổi / up to date")


@app.command()
def push(
    annotations: bool = typer.Option(True, help="Also write annotations for alerts and data revisions."),
) -> None:
    """Push folder, datasource, dashboards and alert rules to CHITIEU_GRAFANA_URL (idempotent)."""
    from chitieu.dashboards import push as pusher
    from chitieu.db.connect import connect
    from chitieu.settings import get_settings

    settings = get_settings()
    api = pusher.client(settings)
    if annotations:
        with connect() as conn:
            summary = pusher.push(api, settings, conn)
    else:
        summary = pusher.push(api, settings)
    console.print_json(json.dumps(summary.to_json(), ensure_ascii=False))


@app.command()
def refresh() -> None:
    """Refresh the dashboards' materialized views (the pipeline does this after each evaluation)."""
    from chitieu.dashboards.views import refresh as refresh_views
    from chitieu.db.connect import connect

    with connect(autocommit=True) as conn:
        timings = refresh_views(conn)
    for name, seconds in timings.items():
        console.print(f"{name}: {seconds:.2f} s")


@app.command()
def preview(
    out: Path = typer.Option(Path(".local") / "preview", help="Directory for the PNG files."),
) -> None:
    """Draw every panel from the live database to PNG (no Grafana needed): same SQL, same config."""
    from chitieu.dashboards.preview import render
    from chitieu.db.connect import connect

    with connect() as conn:
        results = render(conn, out)
    empty = 0
    for r in results:
        state = (
            f"[red]{r.error}[/red]"
            if r.error
            else ("[yellow]không có dữ liệu / no data[/yellow]" if not r.rows else f"{r.rows} dòng / rows")
        )
        empty += not r.rows
        console.print(f"{r.dashboard_uid} #{r.panel_id} {r.title}: {state}")
    console.print(f"{len(results)} panels -> {out.resolve()} ({empty} without data)")
    raise typer.Exit(1 if any(r.error for r in results) else 0)
