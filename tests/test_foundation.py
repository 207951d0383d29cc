"""Foundation: migrations, hypertables, vintages and as-of, the embedded cluster."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import chitieu
from chitieu.cli import app
from chitieu.db import local, migrate

pytestmark = pytest.mark.db


def test_migrations_apply_to_empty_database_and_rerun_is_noop(empty_db):
    first = migrate.migrate(empty_db)
    # Expected from the directory itself, not from the discovery code under test.
    expected = sorted(p.name for p in migrate.MIGRATIONS_DIR.glob("*.sql"))
    assert len(expected) > 1
    assert first == expected
    assert first[0] == "001-foundation.sql"
    recorded = empty_db.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in recorded] == expected
    assert migrate.migrate(empty_db) == []


def test_edited_landed_migration_is_an_error(empty_db, tmp_path):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    shutil.copy(migrate.MIGRATIONS_DIR / "001-foundation.sql", schemas)
    migrate.migrate(empty_db, schemas)
    with (schemas / "001-foundation.sql").open("a") as fh:
        fh.write("\n-- edited\n")
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.migrate(empty_db, schemas)


def test_migrations_ship_inside_the_package():
    # Package data, so an installed chitieu migrates without a checkout of this repository.
    package = Path(chitieu.__file__).resolve().parent
    assert migrate.MIGRATIONS_DIR.resolve() == package / "db" / "migrations"
    assert migrate.discover()[0].name == "001-foundation.sql"
    assert sorted((migrate.MIGRATIONS_DIR / "views").glob("*.sql"))


def test_badly_named_migration_is_refused(tmp_path: Path):
    (tmp_path / "1_init.sql").write_text("SELECT 1")
    with pytest.raises(migrate.MigrationError, match="NNN-kebab-name"):
        migrate.discover(tmp_path)


def test_hypertables_have_year_scale_chunks(db):
    info = migrate.status(db)
    assert info["timescaledb"]
    assert str(info["timescaledb"]).startswith("2.")
    rows = dict(
        db.execute(
            """SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions
               WHERE hypertable_name IN ('observations', 'evaluations')"""
        ).fetchall()
    )
    assert rows["observations"].days >= 4 * 365  # "5 years" is stored as 1800 days
    assert rows["evaluations"].days >= 30


def _observe(db, value: float, loaded_at: datetime, status: str = "final") -> None:
    db.execute(
        """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,
                                     status, source_id, fetched_at, loaded_at)
           VALUES ('old-58', 'digital_economy_share_grdp', '2024-01-01', 'Y', %s, %s, 'test', %s, %s)""",
        (value, status, loaded_at, loaded_at),
    )


def test_revision_is_a_new_vintage_and_as_of_shows_what_was_known(db):
    t1 = datetime(2025, 3, 1, tzinfo=UTC)
    t2 = datetime(2025, 9, 1, tzinfo=UTC)
    _observe(db, 12.5, t1, "provisional")
    _observe(db, 13.1, t2)
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 2
    current = db.execute("SELECT value, status FROM observations_current").fetchall()
    assert current == [(13.1, "final")]
    before = db.execute(
        "SELECT value FROM observations_as_of(%s)", (datetime(2025, 6, 1, tzinfo=UTC),)
    ).fetchall()
    assert before == [(12.5,)]
    after = db.execute("SELECT value FROM observations_as_of(%s)", (t2,)).fetchall()
    assert after == [(13.1,)]
    assert db.execute("SELECT count(*) FROM observations_as_of('2025-01-01')").fetchone()[0] == 0


def test_same_vintage_twice_is_refused(db):
    t1 = datetime(2025, 3, 1, tzinfo=UTC)
    _observe(db, 12.5, t1)
    with pytest.raises(psycopg.errors.UniqueViolation):
        _observe(db, 12.6, t1)


def test_readonly_role_can_read_but_not_write(db_dsn, base_settings):
    params = psycopg.conninfo.conninfo_to_dict(db_dsn)
    params["user"] = base_settings.readonly_db_user
    params["password"] = base_settings.readonly_db_password.get_secret_value()
    with psycopg.connect(psycopg.conninfo.make_conninfo(**params)) as ro:
        assert ro.execute("SELECT count(*) FROM observations_current").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            ro.execute("DELETE FROM observations")


def test_db_up_twice_is_harmless(base_settings):
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["db", "up"])
        assert result.exit_code == 0, result.output
    with psycopg.connect(base_settings.dsn("postgres")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    if base_settings.embedded:
        assert local.Cluster(base_settings).is_running()
