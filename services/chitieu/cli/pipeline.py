"""`chitieu pipeline run|up|down`: the whole job on samples/ through real Airflow 3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from chitieu.settings import get_settings

app = typer.Typer(help="Toàn bộ quy trình / the whole pipeline.", no_args_is_help=True)
console = Console()


def _say(text: str) -> None:
    console.print(text)


EXECUTOR = typer.Option(
    None,
    "--executor",
    help="local (LocalExecutor) or celery (CeleryExecutor + Redis + workers); "
    "default CHITIEU_PIPELINE_EXECUTOR",
)
WORKERS = typer.Option(
    None, "--workers", min=1, help="Celery workers to start; default CHITIEU_PIPELINE_WORKERS"
)


@app.command()
def run(executor: str | None = EXECUTOR, workers: int | None = WORKERS) -> None:
    """Run every DAG once on the samples through real Airflow, wait, stop, print the statuses."""
    from chitieu.pipeline import orchestrate
    from chitieu.pipeline.airflow_env import airflow_home

    settings = get_settings()
    try:
        report = orchestrate.run(settings, _say, executor=executor, workers=workers)
    except orchestrate.PipelineError as exc:
        console.print(f"[bold red]pipeline run failed / quy trình lỗi:[/] {exc.both()}")
        console.print(f"Airflow logs: {airflow_home(settings) / 'logs'}")
        raise typer.Exit(1) from exc
    runs = Table(title="Airflow DAG runs / các lượt chạy DAG")
    for col in ("DAG", "run", "state"):
        runs.add_column(col)
    for (dag_id, run_id), state in sorted(report.states.items()):
        runs.add_row(dag_id, run_id, f"[{'green' if state == 'success' else 'red'}]{state}[/]")
    console.print(runs)
    _status_table()
    _summary()
    _where_to_look(running=False)
    if report.failures:
        console.print("[bold red]failed tasks / tác vụ lỗi:[/]")
        for line in report.failures:
            console.print(f"  {line}")
        raise typer.Exit(1)


def _status_table() -> None:
    chitieu = Path(sys.executable).parent / "chitieu"
    cmd = (
        [str(chitieu), "status"]
        if chitieu.exists()
        else [sys.executable, "-c", "from chitieu.cli import app; app()", "status"]
    )
    console.rule("chitieu status")
    sys.stdout.flush()
    res = subprocess.run(cmd, check=False)
    if res.returncode != 0:
        console.print(f"[yellow]`chitieu status` exited with {res.returncode}[/]")


def _summary() -> None:
    from chitieu.pipeline import orchestrate

    data = orchestrate.summary(get_settings())
    table = Table(title="Load batches / lô nạp")
    for col in ("source", "status", "batches", "loaded", "revised", "rejected rows"):
        table.add_column(col)
    for b in data["batches"]:
        table.add_row(
            *(str(b[k]) for k in ("source_id", "status", "batches", "loaded", "revised", "rejected"))
        )
    console.print(table)
    obs = data["observations"] or {}
    console.print(f"observations: {obs.get('figures')} figures, {obs.get('vintages')} vintages")
    alerts = ", ".join(f"{a['rule']}/{a['state']}: {a['n']}" for a in data["alerts"]) or "none"
    outbox = ", ".join(f"{o['status']}: {o['n']}" for o in data["outbox"]) or "empty"
    console.print(f"alerts / cảnh báo: {alerts}")
    console.print(
        f"outbox / hàng đợi thông báo: {outbox}; messages received by the local webhook: {data['received']} "
        "(a digest carries CHITIEU_NOTIFY_DIGEST_THRESHOLD or more notices)"
    )


def _where_to_look(*, running: bool) -> None:
    from chitieu.pipeline.airflow_env import airflow_home, api_url
    from chitieu.pipeline.orchestrate import notifications_file

    s = get_settings()
    root = Path(__file__).resolve().parents[3]
    state = "running now" if running else "start with `make up`"
    lines = [
        f"Airflow UI: {api_url(s)}  (login {s.airflow_admin_user} / CHITIEU_AIRFLOW_ADMIN_PASSWORD; {state})",
        f"API: http://{s.api_host}:{s.api_port}/api/v1/docs  ({state}; `chitieu serve`)",
        f"Dashboards: {root / 'dashboards' / 'build'} (JSON) and {root / 'infra' / 'grafana'} (provisioning)",
        f"Data: inbox/processed/rejected under {s.data_dir}; archived files in the database"
        + (f" and {s.archive_url}" if s.archive_url else ""),
        f"Notifications received: {notifications_file(s)}",
        f"Airflow logs: {airflow_home(s) / 'logs'}",
    ]
    console.print(Panel("\n".join(lines), title="Where to look / xem ở đâu"))


@app.command()
def up(executor: str | None = EXECUTOR, workers: int | None = WORKERS) -> None:
    """Start Airflow, the API, the fake publishers and the webhook receiver; keep them running."""
    from chitieu.pipeline import orchestrate
    from chitieu.pipeline.airflow_client import AirflowError

    settings = get_settings()
    try:
        orchestrate.up(settings, _say, executor=executor, workers=workers)
    except (orchestrate.PipelineError, AirflowError) as exc:
        console.print(f"[bold red]pipeline up failed / khởi động lỗi:[/] {exc.both()}")
        raise typer.Exit(1) from exc
    _where_to_look(running=True)
    console.print("Stop with `make down` (chitieu pipeline down).")


@app.command()
def down() -> None:
    """Stop what `pipeline up` started (pid files under CHITIEU_LOCAL_DIR/run)."""
    from chitieu.pipeline import orchestrate

    orchestrate.down(get_settings(), _say)
