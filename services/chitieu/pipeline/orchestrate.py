"""`chitieu pipeline run|up|down`: the whole job on samples/ through real Airflow 3 components.

run: DB migrated, catalog loaded, fake publishers + webhook receiver started, sample spreadsheets
     dropped into the inbox, Airflow (api-server, scheduler, dag-processor, triggerer; metadata in
     database `airflow`) started — with the LocalExecutor, or the CeleryExecutor plus Redis (installed
     from Debian when absent) and N workers with distinct host names —, every ingestion DAG and the
     inbox DAG triggered and awaited, then the evaluation once, the notifications, the deadlines and
     maintenance DAGs; then everything this command started is stopped, by pid. Bounded by
     CHITIEU_PIPELINE_TIMEOUT_SECONDS.
up:  the same services plus the API, left running (pid files under CHITIEU_LOCAL_DIR/run); down stops them.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chitieu.errors import ChitieuError
from chitieu.pipeline import inbox, processes
from chitieu.pipeline.airflow_client import TERMINAL, AirflowClient, AirflowError
from chitieu.pipeline.airflow_env import (
    COMPONENTS,
    airflow_env,
    airflow_home,
    api_url,
    run_dir,
    write_passwords,
)
from chitieu.settings import PROJECT_ROOT, Settings

FIXED_DAGS = ("inbox", "evaluate", "notify", "deadlines", "maintenance")
Say = Callable[[str], None]


class PipelineError(ChitieuError):
    code = "pipeline_failed"


@dataclass
class Started:
    names: list[str] = field(default_factory=list)  # processes this command started (and will stop)


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def notifications_file(settings: Settings) -> Path:
    return run_dir(settings) / "notifications.jsonl"


def _publisher_port(settings: Settings) -> int:
    return urlparse(settings.publisher_base_url).port or 8765


def worker_name(index: int) -> str:
    """The Celery and task-instance host name of local worker `index`: distinct per worker."""
    return f"worker-{index}@{socket.getfqdn()}"


def redis_command(settings: Settings, run: Path) -> list[str]:
    return [
        "redis-server", "--bind", settings.redis_host, "--port", str(settings.redis_port),
        "--save", "", "--appendonly", "no", "--dir", str(run), "--protected-mode", "no",
    ]  # fmt: skip


def worker_command(settings: Settings, index: int) -> list[str]:
    # --skip-serve-logs: the workers of `pipeline run|up` share AIRFLOW_HOME/logs with the api-server
    # (and N log servers on one host would fight over one port); other hosts use remote logging.
    return [
        _bin("airflow"), "celery", "worker", "--celery-hostname", worker_name(index),
        "--queues", f"default,{settings.pipeline_inbox_queue}",
        "--concurrency", str(settings.pipeline_worker_concurrency), "--skip-serve-logs",
    ]  # fmt: skip


def ensure_redis(settings: Settings, say: Say) -> None:
    """Redis from Debian when no broker is configured and it is not installed (like TimescaleDB)."""
    if settings.celery_broker_url or shutil.which("redis-server"):
        return
    script = PROJECT_ROOT / "infra" / "local" / "install-redis.sh"
    say(f"installing Redis ({script})")
    if subprocess.run(["bash", str(script)], check=False).returncode != 0:
        raise PipelineError(
            f"{script} failed; install redis-server or set CELERY_BROKER_URL",
            f"{script} thất bại; hãy cài redis-server hoặc đặt CELERY_BROKER_URL",
        )


def service_commands(
    settings: Settings, *, with_api: bool, executor: str = "local", workers: int = 0
) -> dict[str, list[str]]:
    cmds: dict[str, list[str]] = {}
    if executor == "celery" and not settings.celery_broker_url:
        cmds["redis"] = redis_command(settings, run_dir(settings))
    if importlib.util.find_spec("chitieu.demo.publishers") is not None:
        cmds["publishers"] = [
            sys.executable, "-m", "chitieu.demo.publishers",
            "--root", str(settings.samples_dir / "publishers"), "--port", str(_publisher_port(settings)),
            "--host", settings.demo_services_host,
        ]  # fmt: skip
    cmds["webhook"] = [
        sys.executable, "-m", "chitieu.pipeline.receiver",
        "--out", str(notifications_file(settings)), "--port", str(settings.demo_webhook_port),
        "--host", settings.demo_services_host,
    ]  # fmt: skip
    for component in COMPONENTS:
        cmds[f"airflow-{component}"] = [_bin("airflow"), component]
    if executor == "celery":
        for index in range(1, workers + 1):
            cmds[f"worker-{index}"] = worker_command(settings, index)
    if with_api:
        cmds["api"] = [
            _bin("chitieu"), "serve", "--host", settings.api_host, "--port", str(settings.api_port),
        ]  # fmt: skip
    return cmds


def prepare(settings: Settings, say: Say) -> None:
    """Database up and migrated, catalog and source specs loaded, Airflow's metadata DB migrated."""
    from chitieu.db import local, migrate
    from chitieu.db.connect import connect

    say(local.up(settings))
    try:  # the embedded cluster gets it from `db up`; on a DATABASE_URL server we may have to create it
        if local.ensure_database(settings, settings.airflow_database):
            say(f"created database {settings.airflow_database} (Airflow's metadata)")
    except Exception as exc:
        say(f"[yellow]could not check/create database {settings.airflow_database}: {exc}[/]")
    with connect() as conn:
        applied = migrate.migrate(conn)
        migrate.ensure_readonly_login(conn, settings)
    say(f"migrations: {applied}")
    with connect() as conn:
        try:
            from chitieu.catalog.loader import load_catalog
        except ImportError:
            say("[yellow]catalog loader not available: catalog not loaded[/]")
        else:
            say(f"catalog: {json.dumps(load_catalog(conn), default=str, ensure_ascii=False)[:300]}")
        from chitieu.ingest.specs import upsert_sources

        say(f"sources: {upsert_sources(conn)} rows")
        conn.commit()
    env = airflow_env(settings)
    write_passwords(settings)
    log = airflow_home(settings) / "db-migrate.log"
    with log.open("ab") as out:
        res = subprocess.run(
            [_bin("airflow"), "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if res.returncode != 0:
        raise PipelineError(
            f"airflow db migrate failed (exit {res.returncode}); see {log}",
            f"airflow db migrate thất bại (mã {res.returncode}); xem {log}",
        )
    say(f"Airflow metadata database migrated (log: {log})")


def _ports(settings: Settings) -> dict[str, tuple[int, str]]:
    return {
        "redis": (settings.redis_port, "CHITIEU_REDIS_PORT"),
        "publishers": (_publisher_port(settings), "CHITIEU_PUBLISHER_BASE_URL"),
        "webhook": (settings.demo_webhook_port, "CHITIEU_DEMO_WEBHOOK_PORT"),
        "airflow-api-server": (settings.airflow_port, "CHITIEU_AIRFLOW_PORT"),
        "api": (settings.api_port, "CHITIEU_API_PORT"),
    }


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_services(
    settings: Settings, say: Say, *, with_api: bool, executor: str = "local", workers: int = 0
) -> Started:
    rd = run_dir(settings)
    env = airflow_env(settings, executor=executor)
    logs = airflow_home(settings) / "logs"
    if executor == "celery":
        ensure_redis(settings, say)
    commands = service_commands(settings, with_api=with_api, executor=executor, workers=workers)
    ports = _ports(settings)
    busy = [
        f"127.0.0.1:{ports[name][0]} ({ports[name][1]}) for {name}"
        for name in commands
        if name in ports and processes.running(rd, name) is None and not _port_free(ports[name][0])
    ]
    if busy:
        ports_busy = ", ".join(busy)
        raise PipelineError(
            f"ports in use by another program: {ports_busy}; stop it or choose other ports in .env",
            f"cổng đang bị chương trình khác chiếm: {ports_busy}; hãy dừng nó hoặc chọn cổng khác trong .env",
        )
    started = Started()
    for name, cmd in commands.items():
        if processes.running(rd, name) is not None:
            say(f"{name}: already running")
            continue
        own = (
            {**env, "CHITIEU_AIRFLOW_HOSTNAME": worker_name(int(name.split("-")[1]))}
            if name.startswith("worker-")
            else env
        )
        processes.start(rd, name, cmd, env=own, log=logs / f"{name}.log", cwd=PROJECT_ROOT)
        started.names.append(name)
        say(f"{name}: started (log {logs / f'{name}.log'})")
    return started


def stop_services(settings: Settings, names: list[str] | None, say: Say) -> None:
    rd = run_dir(settings)
    # Stop the scheduler first (nothing more is queued), then the workers, then the api-server their
    # task runners report to, and the broker last.
    order = [
        "airflow-scheduler",
        "worker",
        "airflow-triggerer",
        "airflow-dag-processor",
        "api",
        "airflow-api-server",
        "publishers",
        "webhook",
        "redis",
    ]

    def rank(name: str) -> int:
        key = "worker" if name.startswith("worker-") else name
        return order.index(key) if key in order else len(order)

    wanted = processes.managed_names(rd) if names is None else names
    for name in sorted(wanted, key=rank):
        if processes.stop(rd, name):
            say(f"{name}: stopped")


def place_samples(settings: Settings) -> list[Path]:
    """The sample spreadsheets into the inbox, except those a source spec already reads: one file
    reaching the database through two routes (two sources) would be two claims for each figure."""
    from chitieu.ingest.specs import load_source_specs

    by_spec = {
        (PROJECT_ROOT / s.path).resolve()
        for s in load_source_specs(settings.sources_dir)
        if s.path and not s.url
    }
    placed = []
    for path in sorted((settings.samples_dir / "inbox").glob("*")):
        if path.is_file() and not path.name.startswith(".") and path.resolve() not in by_spec:
            placed.append(inbox.place(settings.data_dir, path.name, path.read_bytes()))
    return placed


def expected_dags(settings: Settings) -> set[str]:
    from chitieu.pipeline.dag_specs import source_dag_entries

    return {e.dag_id for e in source_dag_entries(settings.sources_dir)} | set(FIXED_DAGS)


def _wait_runs(
    client: AirflowClient, runs: list[tuple[str, str]], deadline: float, say: Say
) -> dict[tuple[str, str], str]:
    states: dict[tuple[str, str], str] = {}
    while True:
        for dag_id, run_id in runs:
            if states.get((dag_id, run_id)) not in TERMINAL:
                state = client.run(dag_id, run_id)["state"]
                if state in TERMINAL and states.get((dag_id, run_id)) != state:
                    say(f"  {dag_id} {run_id}: {state}")
                states[(dag_id, run_id)] = state
        if all(s in TERMINAL for s in states.values()):
            return states
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{d}:{r}" for (d, r), s in states.items() if s not in TERMINAL)
            raise PipelineError(f"timed out waiting for {waiting}", f"hết thời gian chờ {waiting}")
        time.sleep(3.0)


def _await_follow_up(
    client: AirflowClient, dag_id: str, since: datetime, deadline: float, say: Say, grace: float = 30.0
) -> list[tuple[str, str]]:
    """Runs of an asset-scheduled DAG created since `since`; triggered by hand if none comes within
    `grace` seconds (e.g. a re-run that loaded nothing new emits no asset event)."""
    until = min(time.monotonic() + grace, deadline)
    while time.monotonic() < until:
        runs = client.runs(dag_id, since=since)
        if runs:
            return [(dag_id, r["dag_run_id"]) for r in runs]
        time.sleep(3.0)
    say(f"  {dag_id}: no asset-triggered run (nothing new): triggering it by hand")
    return [(dag_id, client.trigger(dag_id))]


def _settle(
    client: AirflowClient, dag_ids: set[str], since: datetime, deadline: float
) -> dict[tuple[str, str], str]:
    """Every run of `dag_ids` since `since`, once none is queued or running (seen twice, 5 s apart)."""
    quiet = 0
    while True:
        states = {
            (d, r["dag_run_id"]): str(r["state"])
            for d in sorted(dag_ids)
            for r in client.runs(d, since=since)
        }
        busy = [k for k, v in states.items() if v not in TERMINAL]
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return states
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{d}:{r}" for d, r in busy)
            raise PipelineError(f"timed out waiting for {waiting}", f"hết thời gian chờ {waiting}")
        time.sleep(5.0)


def _evaluation_behind_data(settings: Settings) -> bool:
    """True when some figure was loaded after the as_of of the latest evaluation run."""
    from chitieu.db import connect

    with connect(settings.dsn()) as conn:
        row = conn.execute(
            """SELECT (SELECT max(loaded_at) FROM observations)
                      > coalesce((SELECT max(as_of) FROM evaluation_runs), '-infinity')"""
        ).fetchone()
    return bool(row and row[0])


@dataclass
class RunReport:
    states: dict[tuple[str, str], str]
    failures: list[str]


def drive_dags(client: AirflowClient, settings: Settings, say: Say) -> RunReport:
    deadline = time.monotonic() + settings.pipeline_timeout_seconds
    expected = expected_dags(settings)
    say(f"waiting for the dag-processor to register {len(expected)} DAGs...")
    client.wait_dags(expected, timeout=max(60.0, min(300.0, deadline - time.monotonic())))
    # The evaluation stays paused while the loads run (a paused DAG queues no asset-triggered run):
    # evaluated on part of the figures, targets would open alerts the rest of the figures close.
    client.pause("evaluate")
    for dag_id in sorted(expected - {"evaluate"}):
        client.unpause(dag_id)
    since = datetime.now(UTC) - timedelta(seconds=5)
    first = [*sorted(d for d in expected if d.startswith("ingest_")), "inbox"]
    say("triggering: " + ", ".join(first))
    runs = [(d, client.trigger(d)) for d in first]
    states = _wait_runs(client, runs, deadline, say)
    # Unpausing also started each DAG's latest scheduled run (catchup=False): wait for those too.
    states |= _settle(client, set(first), since, deadline)
    say("every load done: evaluating once")
    client.unpause("evaluate")
    evaluation = [("evaluate", client.trigger("evaluate"))]
    states |= _wait_runs(client, evaluation, deadline, say)
    say("waiting for the notifications (alerts Asset)...")
    notify = _await_follow_up(client, "notify", since, deadline, say)
    states |= _wait_runs(client, notify, deadline, say)
    last = [(d, client.trigger(d)) for d in ("deadlines", "maintenance")]
    states |= _wait_runs(client, last, deadline, say)
    # Unpausing also lets the scheduler start each DAG's latest scheduled run (catchup=False), and
    # the deadlines run emits the alerts Asset: wait until every run of ours has finished.
    states |= _settle(client, expected, since, deadline)
    # The scheduler creates asset-triggered runs some seconds after the event, so the last loads
    # can land after the last evaluation's as_of with no run yet to cover them: catch up by hand.
    if _evaluation_behind_data(settings):
        say("  figures loaded after the last evaluation: evaluating and notifying again")
        for dag_id in ("evaluate", "notify"):
            states |= _wait_runs(client, [(dag_id, client.trigger(dag_id))], deadline, say)
        states |= _settle(client, expected, since, deadline)
    failures = []
    home = airflow_home(settings)
    for (dag_id, run_id), state in sorted(states.items()):
        if state != "success":
            for ti in client.task_instances(dag_id, run_id):
                if ti.get("state") in ("failed", "upstream_failed"):
                    mi = ti.get("map_index", -1)
                    part = f"/map_index={mi}" if mi is not None and mi >= 0 else ""
                    log = (
                        home
                        / "logs"
                        / f"dag_id={dag_id}"
                        / f"run_id={run_id}"
                        / f"task_id={ti['task_id']}{part}"
                    )
                    failures.append(f"{dag_id} / {ti['task_id']}{part}: {ti['state']} — logs: {log}")
    return RunReport(states, failures)


def run(
    settings: Settings, say: Say, *, executor: str | None = None, workers: int | None = None
) -> RunReport:
    executor = executor or settings.pipeline_executor
    workers = settings.pipeline_workers if workers is None else workers
    prepare(settings, say)
    placed = place_samples(settings)
    say(f"{len(placed)} sample spreadsheets placed in {settings.data_dir / 'inbox'}")
    started = start_services(settings, say, with_api=False, executor=executor, workers=workers)
    client = AirflowClient(
        api_url(settings), settings.airflow_admin_user, settings.airflow_admin_password.get_secret_value()
    )
    try:
        client.wait_healthy(timeout=180)
        return drive_dags(client, settings, say)
    except AirflowError as exc:
        logs = airflow_home(settings) / "logs"
        raise PipelineError(
            f"{exc.en}\ncomponent logs: {logs}", f"{exc.vi}\nnhật ký các thành phần: {logs}", code=exc.code
        ) from exc
    finally:
        client.close()
        stop_services(settings, started.names, say)


def up(settings: Settings, say: Say, *, executor: str | None = None, workers: int | None = None) -> None:
    prepare(settings, say)
    start_services(
        settings,
        say,
        with_api=True,
        executor=executor or settings.pipeline_executor,
        workers=settings.pipeline_workers if workers is None else workers,
    )
    client = AirflowClient(
        api_url(settings), settings.airflow_admin_user, settings.airflow_admin_password.get_secret_value()
    )
    try:
        client.wait_healthy(timeout=180)
        for dag_id in sorted(client.wait_dags(expected_dags(settings), timeout=300)):
            client.unpause(dag_id)
    finally:
        client.close()


def down(settings: Settings, say: Say) -> None:
    stop_services(settings, None, say)


def summary(settings: Settings) -> dict[str, Any]:
    """What the run left in the database, for the closing report."""
    from chitieu.db.connect import connect

    out: dict[str, Any] = {}
    with connect(dict_rows=True) as conn:
        out["batches"] = conn.execute(
            """SELECT source_id, status, count(*) AS batches, sum(rows_loaded) AS loaded,
                      sum(rows_revised) AS revised, sum(rows_rejected) AS rejected
               FROM load_batches GROUP BY source_id, status ORDER BY source_id, status"""
        ).fetchall()
        out["observations"] = conn.execute(
            """SELECT count(*) AS vintages,
                      count(DISTINCT (jurisdiction_id, indicator_code, period_type, period_start)) AS figures
               FROM observations"""
        ).fetchone()
        out["alerts"] = conn.execute(
            "SELECT rule, state, count(*) AS n FROM alerts GROUP BY rule, state ORDER BY rule, state"
        ).fetchall()
        out["outbox"] = conn.execute(
            "SELECT status, count(*) AS n FROM notification_outbox GROUP BY status ORDER BY status"
        ).fetchall()
    path = notifications_file(settings)
    out["received"] = sum(1 for _ in path.open(encoding="utf-8")) if path.exists() else 0
    return out
