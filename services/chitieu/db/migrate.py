"""Numbered SQL migrations (NNN-name.sql), applied once each, in order.

They ship inside the package (chitieu/db/migrations/, read with importlib.resources), so an installed
chitieu migrates without a checkout. An advisory lock keeps two migrators apart; a table records each
file's sha256 so that a file edited after it landed is an error, not a silent drift. Files in
migrations/views/ hold idempotent definitions (views, functions) and are re-applied on every run,
after the numbered ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import psycopg
from psycopg import sql

from chitieu import statuses
from chitieu.errors import ChitieuError
from chitieu.settings import Settings

MIGRATION_RE = re.compile(r"^(\d{3})-[a-z0-9][a-z0-9-]*\.sql$")
LOCK_KEY = 5_700_057  # arbitrary, constant: the advisory lock id of chitieu migrations
# A directory on disk: wheels are installed unpacked, and the checkout is one too.
MIGRATIONS_DIR = Path(str(files("chitieu.db") / "migrations"))


class MigrationError(ChitieuError):
    """The migrations on disk and those recorded in the database disagree."""

    code = "migration_refused"


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(migrations_dir: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: dict[str, Migration] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        m = MIGRATION_RE.match(path.name)
        if not m:
            raise MigrationError(
                f"{path.name}: migration files must be named NNN-kebab-name.sql",
                f"{path.name}: tệp migration phải có tên dạng NNN-ten-gach-noi.sql",
            )
        if m.group(1) in found:
            pair = f"{found[m.group(1)].name}, {path.name}"
            raise MigrationError(
                f"two migrations share number {m.group(1)}: {pair}",
                f"hai migration trùng số {m.group(1)}: {pair}",
            )
        found[m.group(1)] = Migration(m.group(1), path)
    return [found[k] for k in sorted(found)]


def migrate(conn: psycopg.Connection, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = discover(migrations_dir)
    applied: list[str] = []
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            v: (n, c) for v, n, c in conn.execute("SELECT version, name, checksum FROM schema_migrations")
        }
        for mig in migrations:
            if mig.version in done:
                name, checksum = done[mig.version]
                if checksum != mig.checksum:
                    raise MigrationError(
                        f"{mig.name} changed after it was applied (recorded as {name}); "
                        "landed migrations are never edited: add a new numbered file",
                        f"{mig.name} đã bị sửa sau khi áp dụng (ghi là {name}); "
                        "không sửa migration đã áp dụng: hãy thêm một tệp đánh số mới",
                    )
                continue
            with conn.transaction():
                conn.execute(sql.SQL(mig.sql))
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.checksum),
                )
            applied.append(mig.name)
        unknown = sorted(set(done) - {m.version for m in migrations})
        if unknown:
            raise MigrationError(
                f"database has migrations this code does not: {', '.join(unknown)}",
                f"cơ sở dữ liệu có migration mà mã này không có: {', '.join(unknown)}",
            )
        views_dir = migrations_dir / "views"
        if views_dir.is_dir():
            with conn.transaction():
                for path in sorted(views_dir.glob("*.sql")):
                    conn.execute(sql.SQL(path.read_text(encoding="utf-8")))
        if conn.execute("SELECT to_regclass('status_vocabulary')").fetchone() != (None,):
            with conn.transaction():
                statuses.sync_vocabulary(conn)
        if conn.execute("SELECT to_regprocedure('dash_refresh()')").fetchone() != (None,):
            with conn.transaction():
                # A migration may empty the dashboards' latest statuses (derived data) to change their
                # shape: rebuilt here, not left blank until the next evaluation.
                conn.execute(
                    """SELECT dash_refresh() WHERE NOT EXISTS (SELECT 1 FROM dash_latest_run)
                                               AND EXISTS (SELECT 1 FROM evaluation_runs_latest)"""
                )
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied


def ensure_readonly_login(conn: psycopg.Connection, settings: Settings) -> None:
    """The dashboards' login, member of chitieu_readonly; its password comes from settings."""
    user = settings.readonly_db_user
    password = settings.readonly_db_password.get_secret_value()
    conn.autocommit = True
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password))
    )
    conn.execute(sql.SQL("GRANT chitieu_readonly TO {}").format(sql.Identifier(user)))


def status(conn: psycopg.Connection) -> dict[str, object]:
    version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    hypertables = conn.execute(
        """SELECT h.hypertable_name, d.time_interval::text
           FROM timescaledb_information.hypertables h
           JOIN timescaledb_information.dimensions d
             ON d.hypertable_schema = h.hypertable_schema AND d.hypertable_name = h.hypertable_name
           ORDER BY 1"""
    ).fetchall()
    pg = conn.execute("SHOW server_version").fetchone()
    return {
        "postgresql": pg[0] if pg else None,
        "timescaledb": version[0] if version else None,
        "hypertables": {name: interval for name, interval in hypertables},
    }
