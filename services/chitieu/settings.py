"""All configuration in one pydantic-settings class, read at run time (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from chitieu.errors import ChitieuError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Environment = Literal["development", "test", "production"]
# Secrets whose default is written in this file (and in .env.example): anyone can read them, so they
# are for a developer's own machine only.
DEVELOPMENT_SECRETS = {
    "local_pg_password": "chitieu-local",
    "readonly_db_password": "grafana-reader-local",
    "airflow_admin_password": "admin",
}
# Keys every Airflow component must share; unset, each host generates its own, which only a single
# development machine can live with.
SHARED_KEYS = ("airflow_secret_key", "airflow_jwt_secret", "airflow_fernet_key")


class SettingsRefused(ChitieuError):
    """Settings that must not run in this environment (a development default outside development)."""

    code = "settings_refused"


# Every setting is read from CHITIEU_<NAME> (environment or .env), except the few below whose name is
# shared with a tool that reads it too: Airflow (AIRFLOW_HOME), Celery (CELERY_BROKER_URL, which a
# Celery worker prefers to its own configuration) and hosting platforms (DATABASE_URL).
ENV_PREFIX = "CHITIEU_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_by_name=True,  # Settings(database_url=...) beside the aliases
    )

    environment: Environment = "development"

    # --- database -----------------------------------------------------------------------------
    # Unset: the embedded TimescaleDB cluster under CHITIEU_LOCAL_DIR is used (`chitieu db up`).
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CHITIEU_DATABASE_URL", "DATABASE_URL")
    )
    local_dir: Path = PROJECT_ROOT / ".local"
    local_pg_port: int = 55432
    local_pg_user: str = "chitieu"
    local_pg_password: SecretStr = SecretStr(DEVELOPMENT_SECRETS["local_pg_password"])
    local_pg_database: str = "chitieu"
    # Where clients reach the embedded cluster, and what it listens on / accepts (set at `db up`
    # initialisation): loopback unless workers on other hosts connect to it.
    local_pg_host: str = "127.0.0.1"
    local_pg_listen_addresses: str = "127.0.0.1"
    local_pg_allowed_networks: str = "127.0.0.1/32"
    pg_major: int = 15
    readonly_db_user: str = "grafana_reader"
    readonly_db_password: SecretStr = SecretStr(DEVELOPMENT_SECRETS["readonly_db_password"])

    # --- catalog, data and archives -------------------------------------------------------------
    catalog_dir: Path = PROJECT_ROOT / "catalog"
    samples_dir: Path = PROJECT_ROOT / "samples"
    data_dir: Path = PROJECT_ROOT / ".local" / "data"  # inbox/, processed/, rejected/ (this host's)
    # Where received files are archived: empty = in the database (shared by every worker and the
    # API); or an fsspec URL (s3://bucket/prefix, gs://..., file:///srv/archive) every reader reaches.
    archive_url: str = ""

    # --- ingestion ----------------------------------------------------------------------------------
    # Replaces '{publisher_base_url}' in source specs' URLs; the demo's local publisher server.
    publisher_base_url: str = "http://127.0.0.1:8765"
    sources_dir: Path = PROJECT_ROOT / "catalog" / "sources"

    # --- API -------------------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8057
    api_workers: int = 1  # uvicorn worker processes of `chitieu serve`
    # The programmes require results to be published: true opens every read endpoint without a key.
    api_public_read: bool = False
    # Requests per key (per client address without a key), per API process, in `limits` notation.
    api_rate_limit: str = "600/minute"
    api_anonymous_rate_limit: str = "120/minute"
    api_max_upload_mb: float = 50.0
    # Every other request body (the JSON of silences and keys), refused beyond this as it streams.
    api_max_body_kb: float = 64.0
    # Uploads above this size are loaded in the background, by the upload worker process; the answer
    # is 202 with a status URL. Smaller ones are loaded in the API process while the client waits.
    api_background_upload_mb: float = 2.0
    # true: the API starts the upload worker as its child process when there is a job for it;
    # false: run `chitieu api upload-worker` yourself (one or more, anywhere with the database).
    api_upload_worker: bool = True
    # xlsx and ods are zip archives: refuse one that would inflate beyond this (a zip bomb).
    api_max_unzipped_mb: float = 500.0
    api_pool_max_size: int = 10
    # Responses of read endpoints are kept in memory until the data they read changes (the
    # database NOTIFYs every committed change); false = every request reads the database.
    api_cache: bool = True
    api_cache_entries: int = 2048

    # --- ingestion: caps on what one file may hold, checked before its cells are read --------------
    # Excel's own limit for one cell is 32,767 characters.
    ingest_max_cell_chars: int = 32_767
    ingest_max_rows: int = 2_000_000
    ingest_max_columns: int = 1_000
    ingest_max_cells: int = 20_000_000

    # --- alerts and notifications -----------------------------------------------------------------
    routes_file: Path = PROJECT_ROOT / "catalog" / "routes.yaml"
    alert_repeat_interval_days: int = 7
    deadline_warning_days: int = 14
    dashboard_base_url: str = "http://127.0.0.1:3000"
    notify_max_attempts: int = 8
    notify_backoff_seconds: int = 60
    # Connect and read timeout of one send, and per channel kind (URL scheme: json, mailto, tgram…),
    # e.g. CHITIEU_NOTIFY_TIMEOUTS='{"mailto": 30}'. A channel URL's own cto=/rto= wins.
    notify_timeout_seconds: float = 10.0
    notify_timeouts: dict[str, float] = Field(default_factory=dict)
    # A send that timed out waiting for the answer may have arrived: wait at least this long before
    # sending it again (a slow receiver is not hammered with copies).
    notify_unknown_backoff_seconds: int = 1800
    # This many due notices (or more) for one channel go out as one digest (a first sync, a backlog
    # after an outage), not one message each; 0 = never digest.
    notify_digest_threshold: int = 10

    # --- Grafana ----------------------------------------------------------------------------------
    grafana_url: str = "http://127.0.0.1:3000"
    grafana_token: SecretStr | None = None
    grafana_folder: str = "Chỉ Tiêu"
    # The datasource `chitieu dashboards push` creates: our DB as Grafana reaches it (host:port) and
    # its name; unset = taken from DATABASE_URL / the embedded cluster.
    grafana_db_host: str | None = None
    grafana_db_name: str | None = None

    # --- Airflow (local runs) ---------------------------------------------------------------------
    airflow_port: int = 8080
    airflow_admin_user: str = "admin"
    airflow_admin_password: SecretStr = SecretStr(DEVELOPMENT_SECRETS["airflow_admin_password"])
    # Where every component (scheduler, workers on other hosts, the CLI) reaches the Airflow API
    # server, and the address it binds.
    airflow_database: str = "airflow"  # Airflow's metadata database, on our PostgreSQL server
    airflow_host: str = "127.0.0.1"
    airflow_bind_host: str = "127.0.0.1"
    # Keys every Airflow component must share (api-server, scheduler, workers on every host): set
    # them for more than one host; unset, each is generated once into AIRFLOW_HOME (one host only).
    airflow_secret_key: SecretStr | None = None
    airflow_jwt_secret: SecretStr | None = None
    airflow_fernet_key: SecretStr | None = None
    # Task logs in a shared store (e.g. s3://bucket/logs with an Airflow connection id); empty =
    # each worker keeps its own under AIRFLOW_HOME/logs.
    airflow_remote_log_folder: str = ""
    airflow_remote_log_conn_id: str = ""
    # A task whose runner stops heartbeating this long is failed and retried (Airflow's default is
    # 300 s: a lost worker would stall its tasks for five minutes).
    airflow_task_heartbeat_timeout_seconds: int = 60
    # The name this process's Airflow components record on task instances; empty = the machine's
    # FQDN. `pipeline run|up` gives each Celery worker its own.
    airflow_hostname: str = ""

    # --- pipeline: DAG runs, `chitieu pipeline run|up|down`, maintenance -----------------------------
    # default CHITIEU_LOCAL_DIR/airflow
    airflow_home: Path | None = Field(default=None, validation_alias="AIRFLOW_HOME")
    pipeline_timeout_seconds: int = 1200  # `pipeline run` gives up (and says where the logs are) after this
    # maintenance drops evaluation chunks older than this (never the latest run's)
    evaluation_retention_days: int = 730
    pipeline_retry_delay_seconds: int = 30  # first retry delay of DAG tasks (doubles each retry, max 30 min)
    # The Celery queue of the inbox DAG's import and move tasks: only workers on the host with
    # CHITIEU_DATA_DIR/inbox serve it (`pipeline run|up` workers serve it and the default queue).
    pipeline_inbox_queue: str = "inbox"
    # `pipeline run|up`: 'local' (LocalExecutor) or 'celery' (CeleryExecutor, Redis broker, workers)
    pipeline_executor: str = "local"
    pipeline_workers: int = 2  # Celery workers `pipeline run|up --executor celery` starts
    pipeline_worker_concurrency: int = 2  # task slots of each worker
    # The Celery broker: empty = the Redis that `pipeline run|up` starts on
    # CHITIEU_REDIS_HOST:CHITIEU_REDIS_PORT.
    celery_broker_url: str = Field(default="", validation_alias="CELERY_BROKER_URL")
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    # the local JSON webhook receiver of `pipeline run|up` (catalog/routes.yaml's defaults point at it)
    demo_webhook_port: int = 8099
    # the address the demo's fake publishers and webhook receiver bind (CHITIEU_PUBLISHER_BASE_URL and the
    # routes name it): loopback unless workers on other hosts must reach them
    demo_services_host: str = "127.0.0.1"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 (the hook's signature)
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # pydantic-settings ignores names it does not know: a setting under its old, unprefixed name
        # (a stale .env, a deployment's environment) would silently stop applying. Refuse it instead.
        for source in (env_settings, dotenv_settings):
            if isinstance(source, EnvSettingsSource):
                _refuse_old_names(source)
        if isinstance(init_settings, InitSettingsSource):
            _refuse_unknown_arguments(init_settings.init_kwargs)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @model_validator(mode="after")
    def _no_development_secrets_elsewhere(self) -> Settings:
        # Raised as is (not a ValueError), so the caller sees both sentences, not pydantic's wrapper.
        if self.environment == "development":
            return self
        if self.environment == "production" and self.database_url is None:
            raise SettingsRefused(
                "DATABASE_URL (or CHITIEU_DATABASE_URL) must be set in production (the embedded database "
                "is for development)",
                "Phải đặt DATABASE_URL (hoặc CHITIEU_DATABASE_URL) khi chạy production (cơ sở dữ liệu nhúng "
                "chỉ dành cho phát triển)",
            )
        defaults = [
            env_name(name)
            for name, default in DEVELOPMENT_SECRETS.items()
            if getattr(self, name).get_secret_value() == default
            and (name != "local_pg_password" or self.embedded)  # unused beside DATABASE_URL
        ]
        unset = [env_name(name) for name in SHARED_KEYS if getattr(self, name) is None]
        if defaults or unset:
            names = ", ".join(defaults + unset)
            raise SettingsRefused(
                f"{env_name('environment')}={self.environment} refuses development secrets: set {names} "
                "(default values are public; unset Airflow keys differ from host to host)",
                f"{env_name('environment')}={self.environment} không chấp nhận bí mật dành cho phát triển: "
                f"hãy đặt {names} "
                "(giá trị mặc định ai cũng biết; khóa Airflow để trống thì mỗi máy một khác)",
            )
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def dsn(self, database: str | None = None) -> str:
        """Connection string for our database (or another database on the same server)."""
        if self.database_url is not None:
            if database is None:
                return self.database_url
            from psycopg.conninfo import conninfo_to_dict, make_conninfo

            params = conninfo_to_dict(self.database_url)
            params["dbname"] = database
            return make_conninfo(**params)  # type: ignore[arg-type]
        password = self.local_pg_password.get_secret_value()
        db = database or self.local_pg_database
        return f"postgresql://{self.local_pg_user}:{password}@{self.local_pg_host}:{self.local_pg_port}/{db}"


def env_name(field: str) -> str:
    """The environment variable (and .env name) a setting is read from."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return alias if isinstance(alias, str) else ENV_PREFIX + field.upper()


def _refuse_old_names(source: EnvSettingsSource) -> None:
    present = {name.lower() for name in source.env_vars}  # field names are lower case, like the sources'
    stale = sorted(
        env_name(field)
        for field, info in Settings.model_fields.items()
        if info.validation_alias is None and field in present
    )
    if not stale:
        return
    pairs = ", ".join(f"{new.removeprefix(ENV_PREFIX)} -> {new}" for new in stale)
    if isinstance(source, DotEnvSettingsSource):
        where_en = where_vi = str(source.env_file)
    else:
        where_en, where_vi = "the environment", "biến môi trường"
    raise SettingsRefused(
        f"settings are read with the {ENV_PREFIX} prefix; rename in {where_en}: {pairs}",
        f"thiết lập được đọc với tiền tố {ENV_PREFIX}; hãy đổi tên trong {where_vi}: {pairs}",
    )


def _refuse_unknown_arguments(arguments: dict[str, object]) -> None:
    known = {name.lower() for name in Settings.model_fields}
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias] if alias else []
        known.update(str(choice).lower() for choice in choices)
    unknown = sorted(name for name in arguments if name.lower() not in known)
    if unknown:
        raise SettingsRefused(
            f"not settings: {', '.join(unknown)} (arguments are field names, e.g. data_dir)",
            f"không phải thiết lập: {', '.join(unknown)} (tham số là tên trường, ví dụ data_dir)",
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
