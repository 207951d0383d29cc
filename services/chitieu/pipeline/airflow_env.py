"""The environment of the local Airflow components (and of `dag.test()` in tests).

LocalExecutor or CeleryExecutor (Redis broker, results in the metadata database), metadata in
database `airflow` on our own PostgreSQL server, DAGs from dags/, examples off, AIRFLOW_HOME under
CHITIEU_LOCAL_DIR/airflow, the simple auth manager with the login of CHITIEU_AIRFLOW_ADMIN_USER /
CHITIEU_AIRFLOW_ADMIN_PASSWORD. Every address comes from settings. The keys every component must share
(API secret, JWT secret, Fernet key) come from settings; unset, each is generated once into
AIRFLOW_HOME (git-ignored .local/), which serves one host only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from chitieu.settings import PROJECT_ROOT, Settings

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}


def airflow_home(settings: Settings) -> Path:
    return settings.airflow_home or settings.local_dir / "airflow"


def run_dir(settings: Settings) -> Path:
    path = settings.local_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sqlalchemy_url(settings: Settings, database: str | None = None, *, driver: str = "psycopg") -> str:
    """Airflow's metadata database through psycopg 3, the driver the rest of the project uses (the
    async form, `psycopg_async`, for Airflow's async engine), so no second PostgreSQL driver is needed."""
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    database = database or settings.airflow_database
    params = conninfo_to_dict(settings.dsn(database))
    return URL.create(
        f"postgresql+{driver}",
        username=str(params.get("user")) if params.get("user") else None,
        password=str(params.get("password")) if params.get("password") else None,
        host=str(params.get("host", settings.local_pg_host)),
        port=int(str(params["port"])) if params.get("port") else None,
        database=str(params.get("dbname", database)),
    ).render_as_string(hide_password=False)


def _secret(home: Path, name: str, configured: SecretStr | None) -> str:
    if configured is not None:
        return configured.get_secret_value()
    path = home / f".{name}"
    if path.exists():
        return path.read_text().strip()
    value = (
        base64.urlsafe_b64encode(os.urandom(32)).decode()
        if name == "fernet_key"
        else secrets.token_urlsafe(32)
    )
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def write_passwords(settings: Settings) -> Path:
    home = airflow_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "simple_auth_manager_passwords.json"
    path.write_text(
        json.dumps({settings.airflow_admin_user: settings.airflow_admin_password.get_secret_value()}) + "\n"
    )
    path.chmod(0o600)
    return path


def api_url(settings: Settings) -> str:
    return f"http://{settings.airflow_host}:{settings.airflow_port}"


def broker_url(settings: Settings) -> str:
    return settings.celery_broker_url or f"redis://{settings.redis_host}:{settings.redis_port}/0"


def airflow_env(
    settings: Settings, *, base: dict[str, str] | None = None, executor: str | None = None
) -> dict[str, str]:
    """os.environ plus our Airflow configuration (a value the caller already set wins)."""
    home = airflow_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if base is None else base)
    kind = executor or settings.pipeline_executor
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; one of {', '.join(EXECUTORS)}")
    ours = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[kind],
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": _secret(home, "fernet_key", settings.airflow_fernet_key),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url(settings)}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{settings.airflow_admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "simple_auth_manager_passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(settings),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": sqlalchemy_url(settings, driver="psycopg_async"),
        "AIRFLOW__API__HOST": settings.airflow_bind_host,
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": api_url(settings),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": _secret(home, "api_secret_key", settings.airflow_secret_key),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(home, "jwt_secret", settings.airflow_jwt_secret),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(
            settings.airflow_task_heartbeat_timeout_seconds
        ),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "chitieu.pipeline.airflow_env.hostname",
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "chitieu.pipeline.celery_worker.CELERY_CONFIG",
        # a worker's helper processes are plain forks, so they inherit the hook that makes them die
        # with the worker (a forkserver or spawn child, the default from Python 3.14, would not)
        "AIRFLOW__CELERY__MP_START_METHOD": "fork",
        "AIRFLOW__CELERY__BROKER_URL": broker_url(settings),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url(settings),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.pipeline_worker_concurrency),
        # a worker takes one task at a time from the broker: a worker that dies loses only what it runs
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
        **_remote_logs(settings),
        # Our tasks read the same settings as the CLI (DATABASE_URL or the embedded cluster).
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT_ROOT / "services"), env.get("PYTHONPATH")) if p
        ),
    }
    for key, value in ours.items():
        if key.startswith("AIRFLOW__") and key in env:
            continue  # an operator's explicit Airflow setting wins
        env[key] = value
    return env


def _remote_logs(settings: Settings) -> dict[str, str]:
    if not settings.airflow_remote_log_folder:
        return {}
    return {
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": settings.airflow_remote_log_folder,
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": settings.airflow_remote_log_conn_id,
    }


def hostname() -> str:
    """The name Airflow records for this process (`[core] hostname_callable`): CHITIEU_AIRFLOW_HOSTNAME when
    set (several workers on one machine, each its own name), else the FQDN."""
    import socket

    from chitieu.settings import get_settings

    return get_settings().airflow_hostname or socket.getfqdn()
