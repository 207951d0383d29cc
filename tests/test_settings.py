"""Settings: the environment is one of three words, and no secret whose default is public leaves
development."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from chitieu.settings import DEVELOPMENT_SECRETS, SHARED_KEYS, Settings, SettingsRefused

STRONG = {
    "readonly_db_password": "r-0d9f8a7c",
    "airflow_admin_password": "a-5e4d3c2b",
    "airflow_secret_key": "k-1",
    "airflow_jwt_secret": "k-2",
    "airflow_fernet_key": "k-3",
}


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


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
    with pytest.raises(SettingsRefused, match="LOCAL_PG_PASSWORD"):
        _settings(environment="test", **STRONG)
    assert _settings(environment="test", local_pg_password="l-77", **STRONG).embedded
    # Beside DATABASE_URL the local password is never used, so its default is harmless.
    _settings(environment="production", database_url="postgresql://u:p@db.example/chitieu", **STRONG)


def test_production_needs_a_database_url() -> None:
    with pytest.raises(SettingsRefused, match="DATABASE_URL") as refused:
        _settings(environment="production", local_pg_password="l-77", **STRONG)
    assert "DATABASE_URL" in refused.value.vi


def test_cli_says_why_in_both_languages(tmp_path: Path) -> None:
    env = {"ENVIRONMENT": "production", "PATH": "/usr/bin:/bin"}
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
