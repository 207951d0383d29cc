"""The environment of the local Airflow components (and of `dag.test()` in tests).

LocalExecutor, metadata in database `airflow` on our own PostgreSQL server, DAGs from dags/,
examples off, AIRFLOW_HOME under LOCAL_DIR/airflow, the simple auth manager with the login of
AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD. Secrets shared by the components (JWT, Fernet) are
generated once and kept in AIRFLOW_HOME (git-ignored .local/).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from chitieu.settings import PROJECT_ROOT, Settings

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def airflow_home(settings: Settings) -> Path:
    return settings.airflow_home or settings.local_dir / "airflow"


def run_dir(settings: Settings) -> Path:
    path = settings.local_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sqlalchemy_url(settings: Settings, database: str = "airflow") -> str:
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    params = conninfo_to_dict(settings.dsn(database))
    return URL.create(
        "postgresql+psycopg2",
        username=str(params.get("user")) if params.get("user") else None,
        password=str(params.get("password")) if params.get("password") else None,
        host=str(params.get("host", "127.0.0.1")),
        port=int(str(params["port"])) if params.get("port") else None,
        database=str(params.get("dbname", database)),
    ).render_as_string(hide_password=False)


def _secret(home: Path, name: str) -> str:
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
    return f"http://127.0.0.1:{settings.airflow_port}"


def airflow_env(settings: Settings, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ plus our Airflow configuration (a value the caller already set wins)."""
    home = airflow_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if base is None else base)
    ours = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": _secret(home, "fernet_key"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url(settings)}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{settings.airflow_admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "simple_auth_manager_passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(settings),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": api_url(settings),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": _secret(home, "api_secret_key"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(home, "jwt_secret"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
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
