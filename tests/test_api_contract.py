"""The HTTP API against its own OpenAPI document: schemathesis over every operation on a
loaded database, the document itself (`chitieu api openapi`, no database needed), keyset pagination,
ETags and the response cache, and one smoke test on a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import psycopg
import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from psycopg import sql
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from chitieu.api.keys import create_key
from chitieu.settings import Settings, get_settings
from conftest import bearer, eventually, load_samples

# The stateful test's state machine keeps schemathesis's method signatures, unused arguments and all:
# hypothesis seeds its derandomized run from that class's source text, so the class is left as it is.
# ruff: noqa: ARG002

OPENAPI = "/api/v1/openapi.json"
BASE_URL = "http://testserver"
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inbox"
# What the answers of real rows are held to.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Schemathesis' checks that re-send a request themselves cannot reach an in-process app;
# test_api_auth.py covers authentication the same way (every operation without and with each key).
RESENDING = [ignored_auth]


class Fuzz:
    """What the fuzzed calls need: the client (its lifespan runs), the admin token, the database."""

    def __init__(self, client: TestClient, admin: str, admin_id: int, db: psycopg.Connection) -> None:
        self.client = client
        self.admin = admin
        self.admin_id = admin_id
        self.db = db


@pytest.fixture(scope="module")
def fuzz(
    base_settings: Settings, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzz]:
    """One loaded database and one app for every operation's fuzz. Module scope: loading the samples
    per operation would make this file slow, and schemathesis' loader for a schema built by a
    fixture (`schemathesis.pytest.from_fixture`) fails under pytest 9 (it sets `Function._nodeid`)."""
    name = f"chitieu_fuzz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_settings.dsn("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    dsn = base_settings.dsn(name)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DATABASE_URL", dsn)
            env.setenv("CHITIEU_DATA_DIR", str(tmp_path_factory.mktemp("fuzz") / "data"))
            # Thousands of calls with one key: the rate limit is not what this run is about.
            env.setenv("CHITIEU_API_RATE_LIMIT", "1000000/minute")
            env.setenv("CHITIEU_API_ANONYMOUS_RATE_LIMIT", "1000000/minute")
            get_settings.cache_clear()
            load_samples(dsn)
            from chitieu.api import create_app

            with (
                psycopg.connect(dsn, autocommit=True) as db,
                TestClient(create_app(), raise_server_exceptions=False) as client,
            ):
                token, row = create_key(db, role="admin", name="fuzz admin")
                yield Fuzz(client, token, row["id"], db)
    finally:
        get_settings.cache_clear()
        with psycopg.connect(base_settings.dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _document() -> dict[str, Any]:
    from chitieu.api import create_app

    return create_app().openapi()


# Built without a database, like `chitieu api openapi`: the document is the contract under test.
# A fixed seed: the same cases on every run and machine (a CI failure replays locally).
# A request that is valid by the document may still break a rule the document cannot express (a
# cursor we did not make, an empty file, an expiry already past, a filter of another dataset): that
# is the documented 422 problem, or 413/415 for a file too large or not a spreadsheet. Any other
# refusal of valid data (a 400, a 405) is still a failure.
CONFIG = {
    "seed": 57,
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "413", "415", "422", "429"]
        }
    },
}
schema = schemathesis.openapi.from_dict(_document(), config=schemathesis.Config.from_dict(CONFIG))
schema.config.update(base_url=BASE_URL)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any, fuzz: Fuzz) -> None:
    """No 5xx, and every answer (status, media type, body) is one the document declares."""
    response = _call(fuzz, case)
    # Every check schemathesis has (status codes, media types, bodies, headers, negative data
    # rejected, positive data accepted, unsupported methods answered 405 with Allow, ...).
    case.validate_response(response, excluded_checks=RESENDING)


def _call(fuzz: Fuzz, case: Any) -> Any:
    """Send a generated case through the app's test client with a real key (httpx.Response)."""
    token = fuzz.admin
    revoking = case.method == "DELETE" and case.path.startswith("/api/v1/apikeys/")
    if revoking:
        # A revocation may hit its caller's key: each is made with a key of its own.
        token = create_key(fuzz.db, role="admin", name="fuzz revoker")[0]
    # The case's own bearer token is replaced with a real one; a negative case sent without the
    # header or with a malformed one (the checks that a key is required) goes as generated.
    generated = (case.headers or {}).get("Authorization", "")
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    real_key = not negative or generated.startswith("Bearer ")
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=bearer(token) if real_key else None)
    # Schemathesis serialises for `requests` (its multipart `files` are not httpx's): let requests
    # encode the request, then send exactly those bytes through the app's test client.
    sent = requests.Request(**kwargs).prepare()
    response = fuzz.client.request(
        sent.method or case.method, sent.url or "", headers=dict(sent.headers), content=sent.body
    )
    if revoking:
        # ...and the key every other call uses (id 1, the example of `key_id`) is given back.
        fuzz.db.execute("UPDATE api_keys SET revoked_at = NULL WHERE id = %s", (fuzz.admin_id,))
    # The coverage phase also sends requests stripped of their credentials; with the admin key, an
    # auth refusal would mean the fuzz exercised nothing.
    if sent.headers.get("Authorization") == f"Bearer {token}":
        assert response.status_code not in (401, 403), (case.method, case.path, response.text)
    return response


# In the serial pass, after the operations' fuzz in the same process: its chains follow the ids the rows
# of the module's database hold after that fuzz, which is what they were chosen against.
@pytest.mark.serial
def test_sequences_of_calls_keep_the_contract(fuzz: Fuzz) -> None:
    """Stateful: chains that follow the links schemathesis infers from the document (create a
    silence → remove it, create a key → revoke it, upload → read the job, list → read one), every
    answer held to every check, also those that compare a step with the ones before it."""
    workflow = schema.as_state_machine()
    seen: set[tuple[str, str, int]] = set()

    class InProcess(workflow):  # type: ignore[misc, valid-type]
        def call(self, case: Any, **kwargs: Any) -> Any:
            response = _call(fuzz, case)
            seen.add((case.method, case.operation.path, response.status_code))
            return Response.from_any(response)

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=RESENDING, recorder=self.recorder)

    run_state_machine_as_test(
        InProcess,
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    # The chains ran: something created by one step was removed or read by a later one, with the id
    # it returned (which chain depends on the rows earlier tests left).
    followed = {
        ("DELETE", "/api/v1/apikeys/{key_id}", 200),
        ("DELETE", "/api/v1/silences/{silence_id}", 204),
        ("GET", "/api/v1/uploads/{job_id}", 200),
    }
    assert seen & followed, sorted(seen)


def _documented(method: str, path: str, status: int) -> bool:
    return str(status) in schema[path][method].definition.raw["responses"]


def test_what_a_probe_found_stays_conformant(fuzz: Fuzz) -> None:
    """The fuzz above covers these by its checks; here each is pinned down on its own."""
    admin = bearer(fuzz.admin)
    # A broken multipart body: a documented problem.
    broken = fuzz.client.post(
        "/api/v1/uploads",
        headers={**admin, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b"--xyz\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\nno end",
    )
    assert broken.status_code < 500
    assert _documented("POST", "/api/v1/uploads", broken.status_code)
    assert broken.headers["content-type"] == "application/problem+json"
    # A method a path does not serve: 405 naming every method it does.
    for method in ("OPTIONS", "PATCH", "TRACE"):
        answer = fuzz.client.request(method, "/api/v1/silences", headers=admin)
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "GET, POST", method
    # A number is no date: not 1970.
    for path, query in (("/api/v1/jurisdictions", {"on": "0"}), ("/api/v1/statuses", {"as_of": "0"})):
        answer = fuzz.client.get(path, params=query, headers=admin)
        assert answer.status_code == 422, (path, answer.text)
    keys_before = fuzz.db.execute("SELECT count(*) FROM api_keys").fetchone()
    for expires in (0, "0", "2000-01-01T00:00:00Z"):
        body = {"role": "viewer", "name": "probe", "expires_at": expires}
        answer = fuzz.client.post("/api/v1/apikeys", json=body, headers=admin)
        assert answer.status_code == 422, (expires, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert fuzz.db.execute("SELECT count(*) FROM api_keys").fetchone() == keys_before
    # A NUL in a string: the documented 422 problem, wherever it is sent.
    for path, query in (("/api/v1/targets", {"plan": "a\x00b"}), ("/api/v1/alerts", {"rule": "\x00"})):
        answer = fuzz.client.get(path, params=query, headers=admin)
        assert answer.status_code == 422, path
        assert _documented("GET", path, 422), path
        assert answer.headers["content-type"] == "application/problem+json"
    silence = {"matchers": {"rule": "a\x00"}, "duration": "1d"}
    answer = fuzz.client.post("/api/v1/silences", json=silence, headers=admin)
    assert answer.status_code == 422, answer.text
    assert _documented("POST", "/api/v1/silences", 422), answer.text


# --- every read, on real rows --------------------------------------------------------------------------

# A real value for each path parameter and required query parameter (by name). Fuzzing rarely hits a
# real id, so without these the 200 answers of the single-item reads would never meet their schemas.
REAL_SQL = {
    "ref": "SELECT 'old-58'",
    "jurisdiction": "SELECT 'old-58'",
    "code": "SELECT 'digital_economy_share_grdp'",
    "indicator": "SELECT 'digital_economy_share_grdp'",
    "plan_id": "SELECT 'ninh-thuan-319-ctr-tu'",
    "target_id": "SELECT min(id) FROM targets WHERE plan_id = 'ninh-thuan-319-ctr-tu'",
    "alert_id": "SELECT min(id) FROM alerts",
    "job_id": "SELECT id::text FROM upload_jobs ORDER BY created_at LIMIT 1",
}
GETS = [
    op.path
    for op in (result.ok() for result in schema.get_all_operations())
    if op.method.upper() == "GET" and op.path != OPENAPI
]


@pytest.fixture(scope="module")
def real(fuzz: Fuzz) -> Fuzz:
    """The fuzz database with rows in every list, each made the ordinary way, through the API: a
    silence, and upload jobs (dry runs of the samples)."""
    silence = fuzz.client.post(
        "/api/v1/silences",
        headers=bearer(fuzz.admin),
        json={"matchers": {"rule": "behind_trajectory"}, "duration": "7d", "comment": "kiểm thử"},
    )
    assert silence.status_code == 201, silence.text
    for sample in sorted(SAMPLES.glob("*.xlsx"))[:3]:
        upload = fuzz.client.post(
            "/api/v1/uploads",
            headers=bearer(fuzz.admin),
            files={"file": (sample.name, sample.read_bytes())},
            data={"dry_run": "true"},
        )
        assert upload.status_code < 300, upload.text
    return fuzz


def _real_values(fuzz: Fuzz, params: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in params:
        assert name in REAL_SQL, f"add a real value for parameter '{name}' to REAL_SQL"
        row = fuzz.db.execute(REAL_SQL[name]).fetchone()
        assert row is not None, name
        assert row[0] is not None, name
        values[name] = row[0]
    return values


def _real_case(fuzz: Fuzz, path: str) -> Any:
    operation = schema[path]["GET"]
    definition = operation.definition.raw
    path_names = [p["name"] for p in definition.get("parameters", []) if p["in"] == "path"]
    required_query = [
        p["name"] for p in definition.get("parameters", []) if p["in"] == "query" and p.get("required")
    ]
    path_values = _real_values(fuzz, [n for n in path_names if n != "dataset"])
    if "dataset" in path_names:
        path_values["dataset"] = "targets"
    return operation.Case(path_parameters=path_values, query=_real_values(fuzz, required_query))


def _send(fuzz: Fuzz, case: Any, headers: dict[str, str] | None = None) -> Any:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers={**bearer(fuzz.admin), **(headers or {})})
    sent = requests.Request(**kwargs).prepare()
    return fuzz.client.request(
        sent.method or "GET", sent.url or "", headers=dict(sent.headers), content=sent.body
    )


@pytest.mark.parametrize("path", GETS)
def test_every_read_of_real_rows_matches_its_schema(path: str, real: Fuzz) -> None:
    case = _real_case(real, path)
    response = _send(real, case)
    assert response.status_code == 200, (path, case.path_parameters, response.text[:500])
    case.validate_response(response, checks=CHECKS)
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        # A list that came back empty would have checked no row against the schema.
        rows = body.get("items", body.get("observations")) if isinstance(body, dict) else body
        assert rows is None or rows, (path, "no rows to check")


def _answers_json(path: str) -> bool:
    ok = schema[path]["GET"].definition.raw["responses"]["200"]
    return "application/json" in ok.get("content", {})


# Probes answer about this moment, and the key list is an admin's tool, not a published read.
UNCACHED = {"/api/v1/healthz", "/api/v1/readyz", "/api/v1/apikeys"}
JSON_READS = [path for path in GETS if _answers_json(path) and path not in UNCACHED]


@pytest.mark.parametrize("path", JSON_READS)
def test_every_read_answers_304_to_its_etag(path: str, real: Fuzz) -> None:
    case = _real_case(real, path)
    first = _send(real, case)
    assert first.status_code == 200, first.text[:300]
    etag = first.headers.get("etag")
    assert etag, (path, first.headers)
    assert etag.startswith('"'), (path, first.headers)
    assert etag.endswith('"'), (path, first.headers)
    again = _send(real, case, {"If-None-Match": etag})
    assert again.status_code == 304, (path, again.status_code)
    assert again.content == b""
    assert again.headers["etag"] == etag
    # A proxy's weak form and a list of tags match too; another tag does not.
    assert _send(real, case, {"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    other = _send(real, case, {"If-None-Match": '"0123"'})
    assert other.status_code == 200
    assert other.content == first.content


# --- the response cache follows the database ------------------------------------------------------------


def test_a_change_made_in_the_database_reaches_cached_reads(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    viewer = bearer(api_keys["viewer"])
    alert_id = loaded_db.execute("SELECT min(id) FROM alerts").fetchone()[0]
    url = f"/api/v1/alerts/{alert_id}"
    before = api.get(url, headers=viewer)
    assert api.get(url, headers=viewer).content == before.content
    assert api.app.state.cache.hits >= 1  # the second answer came from memory

    # Not through the API: as the pipeline or a psql session would.
    loaded_db.execute("UPDATE alerts SET summary_en = 'changed behind the API' WHERE id = %s", (alert_id,))
    after = eventually(
        lambda: api.get(url, headers=viewer), lambda a: a.json()["summary_en"] == "changed behind the API"
    )
    assert after.json()["summary_en"] == "changed behind the API"
    assert after.headers["etag"] != before.headers["etag"]
    # The old tag no longer matches: the client gets the new body, not 304.
    stale = api.get(url, headers={**viewer, "If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200
    assert stale.json()["summary_en"] == "changed behind the API"


def test_a_new_evaluation_run_reaches_the_cached_statuses(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    from chitieu.dashboards.views import refresh
    from chitieu.evaluate.engine import evaluate

    viewer = bearer(api_keys["viewer"])
    url = "/api/v1/statuses?limit=5"
    before = api.get(url, headers=viewer)
    (old_run,) = {row["run_id"] for row in before.json()["items"]}
    # A later evaluation whose results differ (a newer figure for an evaluated target), as the
    # pipeline would run it.
    added = loaded_db.execute(
        """INSERT INTO observations (jurisdiction_id, indicator_code, period_type, period_start, value,
                                     status, source_id, fetched_at)
           SELECT l.data_jurisdiction_id, l.indicator_code, 'Y', make_date(l.current_year + 1, 1, 1),
                  l.current_value + 1, 'final', o.source_id, now()
           FROM dash_evaluations_latest l
           JOIN observations o ON o.jurisdiction_id = l.data_jurisdiction_id
                              AND o.indicator_code = l.indicator_code
           WHERE l.current_value IS NOT NULL AND l.current_year < 2025
           LIMIT 1"""
    )
    assert added.rowcount == 1
    summary = evaluate(loaded_db, as_of=datetime.now(UTC))
    assert not summary.reused
    assert summary.run_id != old_run
    refresh(loaded_db)
    after = eventually(
        lambda: api.get(url, headers=viewer), lambda a: a.json()["items"][0]["run_id"] != old_run
    )
    assert {row["run_id"] for row in after.json()["items"]} == {summary.run_id}
    assert after.headers["etag"] != before.headers["etag"]


@pytest.mark.usefixtures("api_data_dir")
def test_without_the_cache_every_read_goes_to_the_database(
    loaded_db: psycopg.Connection,
    api_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chitieu.api import create_app

    monkeypatch.setenv("CHITIEU_API_CACHE", "false")
    get_settings.cache_clear()
    viewer = bearer(api_keys["viewer"])
    alert_id = loaded_db.execute("SELECT min(id) FROM alerts").fetchone()[0]
    url = f"/api/v1/alerts/{alert_id}"
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        first = client.get(url, headers=viewer)
        assert client.get(url, headers={**viewer, "If-None-Match": first.headers["etag"]}).status_code == 304
        loaded_db.execute("UPDATE alerts SET summary_en = 'seen at once' WHERE id = %s", (alert_id,))
        # No waiting: nothing was kept, so the very next request reads the new row.
        assert client.get(url, headers=viewer).json()["summary_en"] == "seen at once"
        cache = client.app.state.cache
        assert (cache.hits, cache.misses) == (0, 3)


# --- keyset pagination ------------------------------------------------------------------------------


def _follow(client: TestClient, url: str, headers: dict[str, str]) -> tuple[list[Any], int]:
    """Every item reached by following `next` from url, and the number of pages."""
    items: list[Any] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        answer = client.get(next_url, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= body["limit"]
        assert (body["next"] is None) == (body["next_cursor"] is None)
        items += body["items"]
        pages += 1
        next_url = body["next"]
        assert pages < 1000, "next never ends"
    return items, pages


def test_following_next_visits_every_target_exactly_once(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    expected = [row[0] for row in loaded_db.execute("SELECT id FROM targets ORDER BY id")]
    assert len(expected) > 7 * 3
    items, pages = _follow(api, "/api/v1/targets?limit=7", bearer(api_keys["viewer"]))
    assert [item["id"] for item in items] == expected
    assert pages == -(-len(expected) // 7)


PAGED = [
    path
    for path in GETS
    if any(p["name"] == "cursor" for p in schema[path]["GET"].definition.raw.get("parameters", []))
]


@pytest.mark.parametrize("path", PAGED)
def test_every_list_pages_to_what_one_page_holds(path: str, real: Fuzz) -> None:
    whole = real.client.get(f"{path}?limit=1000", headers=bearer(real.admin)).json()
    assert whole["next"] is None, (path, len(whole["items"]))
    assert len(whole["items"]) >= 3, (path, len(whole["items"]))
    items, pages = _follow(real.client, f"{path}?limit=2", bearer(real.admin))
    assert items == whole["items"]
    assert pages == -(-len(items) // 2)


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", PAGED)
def test_a_cursor_we_did_not_make_is_a_422_problem(path: str, real: Fuzz) -> None:
    # Our own cursor tells the shape of this list's key (its length and the type of each part).
    first = real.client.get(f"{path}?limit=1", headers=bearer(real.admin)).json()
    key = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=" * (-len(first["next_cursor"]) % 4)))
    wrong_types = [[1.5] if isinstance(part, str) else ["x"] for part in key]
    garbage = [
        "not a cursor!",
        "e30",  # {}
        _cursor([]),
        _cursor([*key, key[-1]]),  # one part too many
        _cursor([part for parts in wrong_types for part in parts]),  # right length, wrong types
    ]
    for cursor in garbage:
        answer = real.client.get(path, params={"cursor": cursor}, headers=bearer(real.admin))
        assert answer.status_code == 422, (path, cursor, answer.status_code, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"] == "urn:chitieu:problem:invalid-cursor"
        assert problem["detail_vi"] != problem["detail"]


# --- the document, without a database ----------------------------------------------------------------

OPEN = {"/api/v1/healthz", "/api/v1/readyz"}  # probes: no key, and no problem answers


def _schema_is_described(node: dict[str, Any]) -> bool:
    return any(k in node for k in ("type", "$ref", "anyOf", "oneOf", "allOf", "const", "enum"))


def test_the_openapi_command_prints_the_document_without_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from chitieu.cli import app

    # Nothing listens on the discard port: any attempt to connect would fail the command.
    monkeypatch.setenv("DATABASE_URL", "postgresql://chitieu@127.0.0.1:9/nowhere?connect_timeout=1")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["api", "openapi"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)

    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert "problem+json" in doc["info"]["description"]
    # Schemathesis reads every operation of it (a malformed one would be an error here).
    operations = [result.ok() for result in schemathesis.openapi.from_dict(doc).get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in doc["paths"].values()) >= 20
    ids = [op["operationId"] for methods in doc["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids))

    components = doc["components"]["schemas"]
    problem = components["ProblemDetail"]
    assert {"title", "detail", "title_vi", "detail_vi", "status", "type"} <= set(problem["required"])
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert op.get("tags"), where
            assert op.get("description"), where
            errors = {code: r for code, r in op["responses"].items() if int(code) >= 400}
            if path in OPEN:
                assert "security" not in op, where
            else:
                assert op["security"] == [{"HTTPBearer": []}], where
                # Every guarded operation can answer 401 (no key), 422 (bad parameters), 429 (rate).
                assert {"401", "422", "429"} <= set(errors), (where, sorted(errors))
            for code, answer in errors.items():
                if (path, code) == ("/api/v1/readyz", "503"):
                    continue  # not ready is the probe's own answer, with its own schema
                assert answer["description"], (where, code)
                ref = answer["content"]["application/problem+json"]["schema"]["$ref"]
                # ProblemDetail, or an extension of it (the same required members, and more).
                shape = components[ref.rsplit("/", 1)[-1]]
                assert set(problem["required"]) <= set(shape["required"]) & set(shape["properties"]), ref

    for name, component in components.items():
        jsonschema.Draft202012Validator.check_schema(component)
        if "enum" in component:
            continue
        properties = component.get("properties")
        assert properties, f"component {name} documents no properties"
        for prop, definition in properties.items():
            assert _schema_is_described(definition), f"{name}.{prop} has no type"
    # Every reference points at a component that exists.
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs <= set(components), refs - set(components)


# --- a real server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_chitieu_serve_answers_on_loopback(
    loaded_db: psycopg.Connection, db_dsn: str, api_keys: dict[str, str], tmp_path: Path
) -> None:
    first_target = loaded_db.execute("SELECT min(id) FROM targets").fetchone()[0]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w+b")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("chitieu")), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": db_dsn},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            ready = None
            while ready is None or ready.status_code != 200:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "not ready within 60 s"
                time.sleep(0.2)
                with contextlib.suppress(httpx.TransportError):
                    ready = client.get("/readyz")
            assert ready.json()["status"] == "ready"
            assert ready.json()["migrations_current"] is True

            targets = client.get("/api/v1/targets", params={"limit": 1}, headers=bearer(api_keys["viewer"]))
            assert targets.status_code == 200
            assert [t["id"] for t in targets.json()["items"]] == [first_target]
            assert targets.headers["etag"]
            refused = client.get("/api/v1/targets")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")

            document = client.get("/api/v1/openapi.json")
            assert document.status_code == 200
            assert "/api/v1/statuses" in document.json()["paths"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    assert "Application startup complete" in output, output[-2000:]
    assert "Application shutdown complete" in output, output[-2000:]  # pools closed, feed stopped
