"""Settings: read under the CHITIEU_ prefix (a setting under its old name is refused, never silently
ignored), the environment is one of three words, and no secret whose default is public leaves
development."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from chitieu.settings import DEVELOPMENT_SECRETS, SHARED_KEYS, Settings, SettingsRefused, env_name

STRONG = {
    "readonly_db_password": "r-0d9f8a7c",
    "airflow_admin_password": "a-5e4d3c2b",
    "airflow_secret_key": "k-1",
    "airflow_jwt_secret": "k-2",
    "airflow_fernet_key": "k-3",
}


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# Names other tools read too, kept as they are: Airflow's home, Celery's broker, the platforms' database.
SHARED_NAMES = {"airflow_home": "AIRFLOW_HOME", "celery_broker_url": "CELERY_BROKER_URL"}


def _unprefixed(field: str) -> str:
    """A setting's name before the prefix, spelled from its field so no rename of the tree touches it."""
    return field.upper()


def test_every_setting_of_ours_has_the_prefix() -> None:
    for field in Settings.model_fields:
        expected = SHARED_NAMES.get(field, "CHITIEU_" + _unprefixed(field))
        assert env_name(field) == expected, field


def test_settings_are_read_under_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHITIEU_API_PORT", "8123")
    monkeypatch.setenv("CHITIEU_API_PUBLIC_READ", "true")
    s = _settings()
    assert s.api_port == 8123
    assert s.api_public_read is True


@pytest.mark.parametrize("field", ["api_port", "environment", "local_pg_password"])
def test_an_old_name_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.setenv(_unprefixed(field), "production")
    with pytest.raises(SettingsRefused) as refused:
        _settings()
    assert f"{_unprefixed(field)} -> CHITIEU_{_unprefixed(field)}" in refused.value.en
    assert f"CHITIEU_{_unprefixed(field)}" in refused.value.vi
    assert "environment" in refused.value.en
    assert refused.value.en != refused.value.vi


def test_an_old_name_in_the_env_file_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"CHITIEU_API_PORT=8123\n{_unprefixed('local_pg_port')}=55999\n", encoding="utf-8")
    with pytest.raises(SettingsRefused) as refused:
        Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert str(env_file) in refused.value.en
    assert "CHITIEU_LOCAL_PG_PORT" in refused.value.en
    assert "CHITIEU_API_PORT" not in refused.value.en  # only the stale name is named
    env_file.write_text("CHITIEU_API_PORT=8123\nCHITIEU_LOCAL_PG_PORT=55999\n", encoding="utf-8")
    s = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert (s.api_port, s.local_pg_port) == (8123, 55999)


def test_shared_names_are_read_as_the_other_tools_spell_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://broker.example:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@platform.example/db")
    s = _settings()
    assert s.airflow_home == tmp_path / "airflow"
    assert s.celery_broker_url == "redis://broker.example:6379/0"
    assert s.database_url == "postgresql://u@platform.example/db"
    # Where a host's DATABASE_URL belongs to another application, ours wins.
    monkeypatch.setenv("CHITIEU_DATABASE_URL", "postgresql://u@ours.example/chitieu")
    assert _settings().database_url == "postgresql://u@ours.example/chitieu"


def test_an_argument_that_is_no_setting_is_refused() -> None:
    with pytest.raises(SettingsRefused, match="chitieu_data_dir"):
        _settings(chitieu_data_dir="/tmp/x")
    assert _settings(database_url="postgresql://u@h/db", airflow_home="/tmp/a").database_url


def test_environment_is_one_of_three_words() -> None:
    with pytest.raises(ValidationError, match="environment"):
        _settings(environment="prod")
    assert _settings().environment == "development"


def test_development_accepts_the_defaults() -> None:
    s = _settings(environment="development")
    assert s.readonly_db_password.get_secret_value() == DEVELOPMENT_SECRETS["readonly_db_password"]


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize("secret", sorted(DEVELOPMENT_SECRETS.keys() - {"local_pg_password"}))
def test_each_default_secret_is_refused_outside_development(environment: str, secret: str) -> None:
    values: dict[str, object] = {**STRONG, "database_url": "postgresql://u:p@db.example/chitieu"}
    del values[secret]
    with pytest.raises(SettingsRefused) as refused:
        _settings(environment=environment, **values)
    assert secret.upper() in refused.value.en
    assert secret.upper() in refused.value.vi
    assert refused.value.en != refused.value.vi


@pytest.mark.parametrize("key", SHARED_KEYS)
def test_unset_airflow_keys_are_refused_outside_development(key: str) -> None:
    values: dict[str, object] = {**STRONG, "database_url": "postgresql://u:p@db.example/chitieu"}
    del values[key]
    with pytest.raises(SettingsRefused, match=key.upper()):
        _settings(environment="production", **values)


def test_local_password_counts_only_for_the_embedded_database() -> None:
    with pytest.raises(SettingsRefused, match="CHITIEU_LOCAL_PG_PASSWORD"):
        _settings(environment="test", **STRONG)
    assert _settings(environment="test", local_pg_password="l-77", **STRONG).embedded
    # Beside DATABASE_URL the local password is never used, so its default is harmless.
    _settings(environment="production", database_url="postgresql://u:p@db.example/chitieu", **STRONG)


def test_production_needs_a_database_url() -> None:
    with pytest.raises(SettingsRefused, match="DATABASE_URL") as refused:
        _settings(environment="production", local_pg_password="l-77", **STRONG)
    assert "DATABASE_URL" in refused.value.vi


def test_cli_says_why_in_both_languages(tmp_path: Path) -> None:
    env = {"CHITIEU_ENVIRONMENT": "production", "PATH": "/usr/bin:/bin"}
    res = subprocess.run(
        [sys.executable, "-c", "from chitieu.cli import main; main()", "db", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=str(tmp_path),
    )
    assert res.returncode == 2, res.stderr
    assert "DATABASE_URL" in res.stderr
    assert "Phải đặt DATABASE_URL" in res.stderr
    assert "Traceback" not in res.stderr
