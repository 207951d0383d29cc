"""The compose file against the Compose Specification's own JSON Schema (no engine needed), and its
health checks against the routes our API really serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from chitieu.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "infra" / "compose" / "docker-compose.yml"
SCHEMA = PROJECT_ROOT / "infra" / "compose" / "compose-spec.schema.json"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_refuses_what_compose_refuses() -> None:
    """The schema is not vacuous: a misspelt key and a wrong type are errors."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    bad = {"services": {"api": {"image": "x", "helthcheck": {}}}}
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(bad))
    bad = {"services": {"api": {"image": "x", "ports": [{"target": "not a number"}]}}}
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(bad))


def _paths(app: Any) -> set[str]:
    return {getattr(r, "path", "") for r in app.routes}


@pytest.mark.parametrize("service", ["api"])
def test_api_healthcheck_calls_a_route_the_api_serves(service: str) -> None:
    from chitieu.api.main import create_app

    test = _compose()["services"][service]["healthcheck"]["test"]
    url = next(part for part in test if part.startswith("http"))
    path = re.sub(r"^https?://[^/]+", "", url)
    assert path in _paths(create_app()), f"{service} healthcheck calls {path}, which the API does not serve"


def test_every_worker_serves_the_default_queue_and_one_the_inbox_with_the_inbox_mounted() -> None:
    services = _compose()["services"]
    workers = {n: s for n, s in services.items() if "celery" in s.get("command", [])}
    assert len(workers) >= 2
    queues = {n: s["command"][s["command"].index("--queues") + 1].split(",") for n, s in workers.items()}
    assert all("default" in q for q in queues.values())
    inbox = [n for n, q in queues.items() if "inbox" in q]
    assert len(inbox) == 1
    assert any(str(v).endswith(":/data") for v in workers[inbox[0]]["volumes"])


def test_schema_file_matches_its_recorded_source() -> None:
    import hashlib

    note = (SCHEMA.parent / "SCHEMA-SOURCE.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(Path(SCHEMA).read_bytes()).hexdigest()
    assert f"file sha256:    `{digest}`" in note
