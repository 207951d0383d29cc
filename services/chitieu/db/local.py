"""The embedded TimescaleDB cluster used when DATABASE_URL is unset.

A PostgreSQL cluster under CHITIEU_LOCAL_DIR/pg, bound to 127.0.0.1 on a non-standard port, with the
TimescaleDB extension (built from Debian's source package by infra/local/install-timescaledb.sh).
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import psycopg

from chitieu.errors import ChitieuError
from chitieu.settings import PROJECT_ROOT, Settings


class LocalDbError(ChitieuError):
    """The embedded cluster could not be created, started or reached."""

    code = "local_db_failed"


@dataclass(frozen=True)
class Cluster:
    settings: Settings

    @property
    def bindir(self) -> Path:
        return Path(f"/usr/lib/postgresql/{self.settings.pg_major}/bin")

    @cached_property
    def root(self) -> Path:
        """Where the cluster lives. Under CHITIEU_LOCAL_DIR unless the server's user cannot reach it."""
        local = self.settings.local_dir / "pg"
        if _is_root() and not _postgres_can_reach(self.settings.local_dir.parent):
            digest = hashlib.sha256(str(self.settings.local_dir).encode()).hexdigest()[:12]
            return Path("/var/lib/chitieu") / digest
        return local

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if _is_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        res = self._run(str(self.bindir / "pg_ctl"), "status", "-D", str(self.data_dir), check=False)
        return res.returncode == 0

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if _is_root():
            shutil.chown(self.root, "postgres", "postgres")
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.root, suffix=".pw") as pw:
            pw.write(self.settings.local_pg_password.get_secret_value() + "\n")
        if _is_root():
            shutil.chown(pw.name, "postgres", "postgres")
        try:
            res = self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.settings.local_pg_user,
                "--auth=scram-sha-256",
                f"--pwfile={pw.name}",
                "--encoding=UTF8",
                "--locale=C",
                check=False,
            )
        finally:
            os.unlink(pw.name)
        if res.returncode != 0:
            out = f"\n{res.stdout}\n{res.stderr}"
            raise LocalDbError(f"initdb failed:{out}", f"initdb thất bại:{out}")
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                "\n# --- chitieu embedded cluster ---\n"
                f"listen_addresses = '{self.settings.local_pg_listen_addresses}'\n"
                f"port = {self.settings.local_pg_port}\n"
                "unix_socket_directories = ''\n"
                "shared_preload_libraries = 'timescaledb'\n"
                "timescaledb.telemetry_level = off\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
                "max_wal_size = 2GB\n"
                "timezone = 'UTC'\n"
            )
        networks = [n.strip() for n in self.settings.local_pg_allowed_networks.split(",") if n.strip()]
        (self.data_dir / "pg_hba.conf").write_text(
            "# chitieu embedded cluster: CHITIEU_LOCAL_PG_ALLOWED_NETWORKS only, passwords required\n"
            + "".join(f"host all all {n} scram-sha-256\n" for n in networks)
        )

    def start(self) -> None:
        res = self._run(
            str(self.bindir / "pg_ctl"),
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            check=False,
        )
        if res.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            out = f"\n{res.stdout}{res.stderr}\n{tail}"
            raise LocalDbError(f"could not start PostgreSQL:{out}", f"không khởi động được PostgreSQL:{out}")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir))


def _is_root() -> bool:
    return os.geteuid() == 0


def _postgres_can_reach(path: Path) -> bool:
    res = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)], check=False)
    return res.returncode == 0


def extension_installed(pg_major: int) -> bool:
    share = Path(f"/usr/share/postgresql/{pg_major}/extension/timescaledb.control")
    return share.exists() and any(Path(f"/usr/lib/postgresql/{pg_major}/lib").glob("timescaledb*.so"))


def install_extension(settings: Settings) -> None:
    """Build and install TimescaleDB from Debian's source package (skipped when present)."""
    if extension_installed(settings.pg_major):
        return
    script = PROJECT_ROOT / "infra" / "local" / "install-timescaledb.sh"
    env = {**os.environ, "CHITIEU_PG_MAJOR": str(settings.pg_major)}
    res = subprocess.run(["bash", str(script)], env=env, check=False)
    if res.returncode != 0:
        raise LocalDbError(
            f"{script} failed with exit code {res.returncode}",
            f"{script} thất bại, mã thoát {res.returncode}",
        )


def ensure_database(settings: Settings, name: str) -> bool:
    """Create database `name` on the server if missing. True when it was created."""
    with psycopg.connect(settings.dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return True


def wait_ready(settings: Settings, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(settings.dsn("postgres"), connect_timeout=3):
                return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.3)
    raise LocalDbError(f"database not reachable: {last}", f"không kết nối được cơ sở dữ liệu: {last}")


def up(settings: Settings, *, extra_databases: tuple[str, ...] = ("airflow",)) -> str:
    """Make sure a TimescaleDB server is running and our databases exist. Idempotent.

    Returns a one-line description of what was done.
    """
    if not settings.embedded:
        wait_ready(settings)
        return "using DATABASE_URL"
    install_extension(settings)
    cluster = Cluster(settings)
    actions = []
    if not cluster.is_initialised():
        cluster.init()
        actions.append("initialised")
    if not cluster.is_running():
        cluster.start()
        actions.append("started")
    wait_ready(settings)
    for db in (settings.local_pg_database, *extra_databases):
        if ensure_database(settings, db):
            actions.append(f"created database {db}")
    state = ", ".join(actions) if actions else "already running"
    where = f"{settings.local_pg_host}:{settings.local_pg_port}"
    return f"embedded TimescaleDB on {where} ({state}); data in {cluster.root}"


def down(settings: Settings) -> str:
    if not settings.embedded:
        return "DATABASE_URL is set: nothing to stop"
    cluster = Cluster(settings)
    if not cluster.is_running():
        return "embedded TimescaleDB is not running"
    cluster.stop()
    return "embedded TimescaleDB stopped"
