"""Who may call what (docs/api.md): the auth matrix over every operation of the OpenAPI document,
public reads, revocation and expiry, request rates, and the shape of every refusal."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from psycopg import sql

from chitieu.api.keys import create_key, revoke_key
from chitieu.settings import get_settings
from conftest import bearer, eventually

V1 = "/api/v1"
OPEN = None  # no key needed

# The role each operation needs, written out: a new operation fails the matrix until it is added here.
EXPECTED_ROLE: dict[tuple[str, str], str | None] = {
    ("GET", f"{V1}/jurisdictions"): "viewer",
    ("GET", f"{V1}/jurisdictions/{{ref}}"): "viewer",
    ("GET", f"{V1}/indicators"): "viewer",
    ("GET", f"{V1}/indicators/{{code}}"): "viewer",
    ("GET", f"{V1}/plans"): "viewer",
    ("GET", f"{V1}/plans/{{plan_id}}"): "viewer",
    ("GET", f"{V1}/targets"): "viewer",
    ("GET", f"{V1}/targets/{{target_id}}"): "viewer",
    ("GET", f"{V1}/series/{{jurisdiction}}/{{indicator}}"): "viewer",
    ("GET", f"{V1}/statuses"): "viewer",
    ("GET", f"{V1}/alerts"): "viewer",
    ("GET", f"{V1}/alerts/{{alert_id}}"): "viewer",
    ("GET", f"{V1}/silences"): "viewer",
    ("GET", f"{V1}/uploads"): "viewer",
    ("GET", f"{V1}/uploads/{{job_id}}"): "viewer",
    ("GET", f"{V1}/exports/{{dataset}}"): "viewer",
    ("GET", f"{V1}/template"): "viewer",
    ("POST", f"{V1}/alerts/{{alert_id}}/silence"): "engineer",
    ("POST", f"{V1}/silences"): "engineer",
    ("DELETE", f"{V1}/silences/{{silence_id}}"): "engineer",
    ("POST", f"{V1}/uploads"): "engineer",
    ("POST", f"{V1}/rejections/{{rejection_id}}/accept"): "engineer",
    ("GET", f"{V1}/apikeys"): "admin",
    ("POST", f"{V1}/apikeys"): "admin",
    ("DELETE", f"{V1}/apikeys/{{key_id}}"): "admin",
    ("GET", f"{V1}/healthz"): OPEN,
    ("GET", f"{V1}/readyz"): OPEN,
}
RANK = {"viewer": 0, "engineer": 1, "admin": 2}
# Reads of what engineers handle: a key even with CHITIEU_API_PUBLIC_READ.
PRIVATE_READS = {f"{V1}/silences", f"{V1}/uploads", f"{V1}/uploads/{{job_id}}"}
# Ready again this soon after the database accepts connections (bounded wait, not a benchmark).
RECOVERY_S = 5.0

# Parameter values that reach real rows where they can. Writes get ids that match nothing and no
# body, so the matrix changes nothing (an authorised write answers 404 or 422).
VALUES = {
    "ref": "old-58",
    "jurisdiction": "old-58",
    "code": "digital_economy_share_grdp",
    "indicator": "digital_economy_share_grdp",
    "plan_id": "ninh-thuan-319-ctr-tu",
    "dataset": "targets",
}


def _value(name: str, spec: dict[str, Any]) -> Any:
    if name in VALUES:
        return VALUES[name]
    kinds = [spec, *spec.get("anyOf", [])]
    if any(k.get("format") == "uuid" for k in kinds):
        return str(uuid.UUID(int=7))
    if any(k.get("type") == "integer" for k in kinds):
        return 999_999
    enum = next((k["enum"] for k in kinds if "enum" in k), None)
    return enum[0] if enum else "khong-co"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path template, concrete url, required query) for every operation of the document."""
    out = []
    for template, methods in document["paths"].items():
        if template == f"{V1}/openapi.json":
            continue
        for method, op in methods.items():
            url = template
            query = {}
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", str(_value(param["name"], param["schema"])))
                elif param["in"] == "query" and param.get("required"):
                    query[param["name"]] = _value(param["name"], param["schema"])
            out.append((method.upper(), template, url, query))
    return out


def _assert_problem(answer: httpx.Response, status: int, where: str) -> dict[str, Any]:
    assert answer.status_code == status, (where, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"] == "application/problem+json", where
    problem = answer.json()
    for member in ("type", "title", "detail", "title_vi", "detail_vi"):
        assert isinstance(problem.get(member), str), (where, member)
        assert problem[member], (where, member)
    assert problem["status"] == status
    # Two languages, not one message twice.
    assert problem["detail_vi"] != problem["detail"], where
    assert problem["title_vi"] != problem["title"], where
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer"), where
    return problem


@pytest.fixture
def tokens(loaded_db: psycopg.Connection, api_keys: dict[str, str]) -> dict[str, str | None]:
    """Every kind of caller: none, each role, a revoked key, an expired key, and garbage."""
    revoked, row = create_key(loaded_db, role="admin", name="revoked admin")
    assert revoke_key(loaded_db, row["prefix"]) is not None
    expired, row = create_key(
        loaded_db, role="admin", name="expired admin", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    # Only time makes a key expire: one cannot be created already expired.
    loaded_db.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE id = %s", (row["id"],)
    )
    return {
        "none": None,
        **api_keys,
        "revoked": revoked,
        "expired": expired,
        "garbage": "ct_00000000_not-a-key-we-made",
    }


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else bearer(token)


def _app(monkeypatch: pytest.MonkeyPatch, **env: str) -> FastAPI:
    """A new app with these settings (read when it is created and started)."""
    from chitieu.api import create_app

    # The matrix sends a few hundred refused requests from one address within a minute.
    monkeypatch.setenv("CHITIEU_API_ANONYMOUS_RATE_LIMIT", "100000/minute")
    monkeypatch.setenv("CHITIEU_API_RATE_LIMIT", "100000/minute")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return create_app()


def test_every_operation_has_an_expected_role(api: TestClient) -> None:
    document = api.get(f"{V1}/openapi.json").json()
    operations = {(m, t) for m, t, _, _ in _operations(document)}
    assert operations - set(EXPECTED_ROLE) == set(), "operations without an expected role"
    assert set(EXPECTED_ROLE) - operations == set(), "expected roles of operations that are gone"
    # ...and every route the app serves is in the document, but for the probes' root aliases.
    served = {(m, r.path) for r in api.app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert served - operations == {("GET", "/healthz"), ("GET", "/readyz")}


@pytest.mark.usefixtures("api_data_dir")
def test_the_auth_matrix(tokens: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(_app(monkeypatch), raise_server_exceptions=False) as client:
        document = client.get(f"{V1}/openapi.json").json()
        for method, template, url, query in _operations(document):
            role = EXPECTED_ROLE[(method, template)]
            for who, token in tokens.items():
                where = f"{who}: {method} {url}"
                answer = client.request(method, url, params=query, headers=_headers(token))
                if role is OPEN:
                    assert answer.status_code == 200, (where, answer.text[:300])
                elif who in ("none", "revoked", "expired", "garbage"):
                    _assert_problem(answer, 401, where)
                elif RANK[who] < RANK[role]:
                    problem = _assert_problem(answer, 403, where)
                    assert role in problem["detail"], where
                    assert role in problem["detail_vi"], where
                else:
                    assert answer.status_code not in (401, 403), (where, answer.status_code)
                    assert answer.status_code < 500, (where, answer.status_code, answer.text[:300])
        for probe in ("/healthz", "/readyz"):
            assert client.get(probe).status_code == 200


def test_refusals_say_why(tokens: dict[str, str | None], api: TestClient) -> None:
    url = f"{V1}/targets"
    expired = _assert_problem(api.get(url, headers=_headers(tokens["expired"])), 401, "expired")
    assert "expired" in expired["detail"]
    assert "hết hạn" in expired["detail_vi"]
    revoked = _assert_problem(api.get(url, headers=_headers(tokens["revoked"])), 401, "revoked")
    assert "revoked" in revoked["detail"]
    assert "thu hồi" in revoked["detail_vi"]
    missing = _assert_problem(api.get(url), 401, "none")
    assert "required" in missing["detail"]
    # Another scheme than Bearer is no key at all.
    basic = api.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    _assert_problem(basic, 401, "basic")


@pytest.mark.usefixtures("api_data_dir")
def test_public_reads_need_no_key_but_writes_do(
    tokens: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(
        _app(monkeypatch, CHITIEU_API_PUBLIC_READ="true"), raise_server_exceptions=False
    ) as client:
        document = client.get(f"{V1}/openapi.json").json()
        reads = 0
        for method, template, url, query in _operations(document):
            role = EXPECTED_ROLE[(method, template)]
            answer = client.request(method, url, params=query)
            where = f"{method} {url}"
            if role == "viewer" and template in PRIVATE_READS:
                _assert_problem(answer, 401, where)
            elif role == "viewer":
                reads += 1
                assert answer.status_code not in (401, 403), (where, answer.text[:200])
                assert answer.status_code < 500, (where, answer.text[:200])
                # A key that is wrong is still refused: the caller meant to use it.
                _assert_problem(
                    client.request(method, url, params=query, headers=_headers(tokens["garbage"])), 401, where
                )
            elif role is not OPEN:
                _assert_problem(answer, 401, where)
                assert (
                    client.request(method, url, params=query, headers=_headers(tokens["viewer"])).status_code
                    == 403
                )
        assert reads >= 14
        page = client.get(f"{V1}/targets", params={"limit": 3})
        assert page.status_code == 200
        assert len(page.json()["items"]) == 3


def test_a_revocation_through_the_api_applies_at_once(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    token, row = create_key(loaded_db, role="viewer", name="to revoke")
    url = f"{V1}/plans"
    assert api.get(url, headers=bearer(token)).status_code == 200  # now remembered as valid
    # Hold back the database's change notices (the feed stops, still counted as listening), so
    # that only the API's own invalidation can explain a refusal.
    assert api.portal is not None
    api.portal.call(api.app.state.feed.stop)
    assert api.app.state.feed.listening
    revoked = api.delete(f"{V1}/apikeys/{row['id']}", headers=bearer(api_keys["admin"]))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    # The very next request, without waiting for the database's change notice.
    _assert_problem(api.get(url, headers=bearer(token)), 401, "after revocation")
    # Revoking it again: no active key by that id.
    _assert_problem(api.delete(f"{V1}/apikeys/{row['id']}", headers=bearer(api_keys["admin"])), 404, "twice")
    assert api.get(url, headers=bearer(api_keys["viewer"])).status_code == 200


def test_a_revocation_outside_the_api_applies_within_seconds(
    loaded_db: psycopg.Connection, api: TestClient
) -> None:
    token, row = create_key(loaded_db, role="viewer", name="to revoke by the CLI")
    url = f"{V1}/plans"
    assert api.get(url, headers=bearer(token)).status_code == 200
    assert revoke_key(loaded_db, row["prefix"]) is not None  # what `chitieu apikey revoke` does
    deadline = time.monotonic() + 5  # the change notice arrives asynchronously: poll, bounded
    while api.get(url, headers=bearer(token)).status_code == 200:
        assert time.monotonic() < deadline, "a key revoked in the database still works after 5 s"
        time.sleep(0.05)
    _assert_problem(api.get(url, headers=bearer(token)), 401, "revoked in the database")


def test_a_key_created_through_the_api_works_at_once(api_keys: dict[str, str], api: TestClient) -> None:
    created = api.post(
        f"{V1}/apikeys",
        json={"role": "engineer", "name": "Sở KH&CN — nhập liệu"},
        headers=bearer(api_keys["admin"]),
    )
    assert created.status_code == 201
    body = created.json()
    assert body["role"] == "engineer"
    assert body["created_by"] == "api:test admin"
    token = body["token"]
    assert token.startswith(f"ct_{body['prefix']}_")
    assert api.get(f"{V1}/silences", headers=bearer(token)).status_code == 200
    listed = api.get(f"{V1}/apikeys", headers=bearer(api_keys["admin"])).json()
    assert token not in str(listed)  # the token is never shown again
    assert body["prefix"] in {k["prefix"] for k in listed}


# --- request rates ---------------------------------------------------------------------------------


@asynccontextmanager
async def _running(app: FastAPI) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield


def _client(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client calling from this address (the rate limits count per key, or per address)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _assert_limited(answer: httpx.Response, where: str) -> None:
    problem = _assert_problem(answer, 429, where)
    assert "5 per 1 minute" in problem["detail"]
    retry = int(answer.headers["retry-after"])
    assert 1 <= retry <= 60, retry


@pytest.fixture
def limited_app(
    api_data_dir: Path,  # noqa: ARG001 (set up for its side effect: the API's data directory)
    db_dsn: str,  # noqa: ARG001 (set up for its side effect: the test database)
    monkeypatch: pytest.MonkeyPatch,
) -> FastAPI:
    from chitieu.api import create_app

    monkeypatch.setenv("CHITIEU_API_RATE_LIMIT", "5/minute")
    monkeypatch.setenv("CHITIEU_API_ANONYMOUS_RATE_LIMIT", "5/minute")
    get_settings.cache_clear()
    return create_app()


def test_each_key_has_its_own_request_rate(limited_app: FastAPI, api_keys: dict[str, str]) -> None:
    async def scenario() -> None:
        async with _running(limited_app), _client(limited_app, "10.0.0.1") as client:
            url = f"{V1}/plans"
            for _ in range(5):
                assert (await client.get(url, headers=bearer(api_keys["viewer"]))).status_code == 200
            _assert_limited(await client.get(url, headers=bearer(api_keys["viewer"])), "6th viewer request")
            # Another key from the same address is counted on its own.
            assert (await client.get(url, headers=bearer(api_keys["engineer"]))).status_code == 200
            # A refused request counts too: the admin's five are spent on 404s and the sixth is held.
            for _ in range(5):
                assert (
                    await client.get(f"{url}/khong-co", headers=bearer(api_keys["admin"]))
                ).status_code == 404
            _assert_limited(await client.get(url, headers=bearer(api_keys["admin"])), "6th admin request")

    asyncio.run(scenario())


def test_requests_without_a_valid_key_are_counted_per_address(
    limited_app: FastAPI, api_keys: dict[str, str]
) -> None:
    async def scenario() -> None:
        async with (
            _running(limited_app),
            _client(limited_app, "10.0.0.1") as guesser,
            _client(limited_app, "10.0.0.2") as other,
        ):
            url = f"{V1}/targets"
            # Guessing keys costs as much as having none.
            for token in (None, "ct_1_a", None, "ct_2_b", "ct_3_c"):
                _assert_problem(await guesser.get(url, headers=_headers(token)), 401, "guess")
            _assert_limited(await guesser.get(url, headers=_headers("ct_4_d")), "6th guess")
            _assert_limited(await guesser.get(url), "6th without a key")
            # Another address is not held back by this one's failures...
            _assert_problem(await other.get(url), 401, "other address")
            # ...and a valid key from the guessing address is counted against the key, not the address.
            assert (await guesser.get(url, headers=bearer(api_keys["viewer"]))).status_code == 200

    asyncio.run(scenario())


# --- every refusal is a bilingual problem ---------------------------------------------------------------


@pytest.mark.usefixtures("loaded_db")
def test_every_kind_of_error_is_a_bilingual_problem(api_keys: dict[str, str], api: TestClient) -> None:
    engineer = bearer(api_keys["engineer"])
    cases = [
        (api.get(f"{V1}/no-such-thing", headers=engineer), 404),
        (api.get(f"{V1}/plans/khong-co", headers=engineer), 404),
        (api.get(f"{V1}/jurisdictions/Atlantis", headers=engineer), 404),
        (api.put(f"{V1}/plans", headers=engineer), 405),
        (api.get(f"{V1}/targets", params={"limit": 0}, headers=engineer), 422),
        (api.get(f"{V1}/alerts/abc", headers=engineer), 422),
        (api.get(f"{V1}/statuses", params={"status": "great"}, headers=engineer), 422),
        (api.post(f"{V1}/silences", json={"matchers": {}, "duration": "soon"}, headers=engineer), 422),
        (
            api.post(
                f"{V1}/silences", content=b'"\x80"', headers={**engineer, "Content-Type": "application/json"}
            ),
            400,
        ),
        (api.get(f"{V1}/targets", params={"plan": "a\x00b"}, headers=engineer), 422),
    ]
    for answer, status in cases:
        problem = _assert_problem(answer, status, str(answer.request.url))
        assert problem["instance"] == answer.request.url.path
    invalid = cases[7][0].json()
    # Each field at fault is named, in both languages' sentences and in `errors`.
    assert {tuple(e["location"]) for e in invalid["errors"]} == {("body", "matchers"), ("body", "duration")}
    assert "matchers" in invalid["detail_vi"]
    assert "duration" in invalid["detail"]


def test_a_refusal_by_the_core_is_a_problem_in_its_two_languages(
    api_keys: dict[str, str], api: TestClient
) -> None:
    """What the core refuses (a ChitieuError) reaches the client as a problem with the error's own
    English and Vietnamese sentences: never a 500, never one joined "vi / en" string."""
    past = api.post(
        f"{V1}/apikeys",
        json={"role": "viewer", "name": "probe", "expires_at": "2000-01-01T00:00:00Z"},
        headers=bearer(api_keys["admin"]),
    )
    problem = _assert_problem(past, 422, "an expiry already past")
    assert "already past" in problem["detail"]
    assert "đã qua" in problem["detail_vi"]
    matcher = api.post(
        f"{V1}/silences",
        json={"matchers": {"Not A Label": "x"}, "duration": "1d"},
        headers=bearer(api_keys["engineer"]),
    )
    problem = _assert_problem(matcher, 422, "a matcher that is no label")
    assert "Not A Label" in problem["detail"]
    assert "Not A Label" in problem["detail_vi"]
    for refused in (past, matcher):
        detail = refused.json()
        assert detail["detail_vi"] not in detail["detail"]
        assert detail["detail"] not in detail["detail_vi"]


@pytest.mark.usefixtures("api_data_dir")
def test_with_the_database_down_reads_answer_503_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    from chitieu.api import create_app

    monkeypatch.setenv("CHITIEU_API_CACHE", "false")  # no change feed to wait for at start
    get_settings.cache_clear()
    # Nothing listens on the discard port.
    app = create_app("postgresql://chitieu@127.0.0.1:9/nowhere?connect_timeout=1")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] is False
        started = time.monotonic()
        answer = client.get(f"{V1}/plans", headers=bearer("ct_00000000_any-key"))
        _assert_problem(answer, 503, "database down")
        assert answer.headers["retry-after"]
        assert time.monotonic() - started < 15  # refused promptly, not after the pool's 30 s wait


def test_a_silence_beyond_the_calendar_is_a_422(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    # Found by schemathesis: a duration too long for a date was a 500.
    body = {"matchers": {"rule": "behind_trajectory"}, "duration": "23452902105743m"}
    answer = api.post(f"{V1}/silences", json=body, headers=bearer(api_keys["engineer"]))
    problem = _assert_problem(answer, 422, "long silence")
    assert "too long" in problem["detail"]
    assert "quá dài" in problem["detail_vi"]
    assert loaded_db.execute("SELECT count(*) FROM alert_silences").fetchone() == (0,)


# --- bodies: the key first, then a bounded body ---------------------------------------------------------

MB = 1024 * 1024


def _raw(client: TestClient, path: str, headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[int, int]:
    """POST a body chunk by chunk straight into the app, as a server hands it over, and count how much
    of it the app pulled: (status, bytes read). TestClient would build the whole body first."""
    pulled = 0
    status = 0

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            nonlocal pulled
            chunk = next(chunks, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
            "state": {},
        }
        await client.app(scope, receive, send)

    assert client.portal is not None
    client.portal.call(run)
    return status, pulled


def _megabytes(n: int) -> Iterator[bytes]:
    block = b" " * MB  # whitespace: valid JSON padding, so only the size can refuse it
    return (block for _ in range(n))


@pytest.mark.parametrize(
    "path", [f"{V1}/silences", f"{V1}/alerts/1/silence", f"{V1}/apikeys", f"{V1}/uploads"]
)
@pytest.mark.usefixtures("catalog_db")
def test_an_anonymous_body_is_refused_before_a_byte_of_it_is_read(path: str, api: TestClient) -> None:
    form = path.endswith("/uploads")
    kind = {"Content-Type": "multipart/form-data; boundary=b" if form else "application/json"}
    status, pulled = _raw(api, path, kind, _megabytes(40))  # chunked: no declared length
    assert (status, pulled) == (401, 0)
    status, pulled = _raw(api, path, {**kind, "Authorization": "Bearer ct_0_wrong"}, _megabytes(40))
    assert (status, pulled) == (401, 0)


@pytest.mark.usefixtures("catalog_db")
def test_a_key_holder_s_body_is_cut_off_at_its_limit_as_it_streams(
    api_keys: dict[str, str], api: TestClient
) -> None:
    engineer = {**bearer(api_keys["engineer"]), "Content-Type": "application/json"}
    limit = int(get_settings().api_max_body_kb * 1024)
    status, pulled = _raw(api, f"{V1}/silences", engineer, _megabytes(40))
    assert status == 413
    assert pulled <= limit + MB  # the chunk that crossed the limit, and nothing after it
    # A declared length over the limit: refused before reading.
    status, pulled = _raw(
        api, f"{V1}/silences", {**engineer, "Content-Length": str(300 * MB)}, _megabytes(300)
    )
    assert (status, pulled) == (413, 0)
    # A viewer may not silence: refused as such before the body, whatever its size.
    viewer = {**bearer(api_keys["viewer"]), "Content-Type": "application/json"}
    assert _raw(api, f"{V1}/silences", viewer, _megabytes(40)) == (403, 0)
    assert _raw(api, f"{V1}/uploads", viewer, _megabytes(40)) == (403, 0)
    # The answer is a bilingual problem naming the limit, and a body within it still works.
    big = api.post(f"{V1}/apikeys", headers=bearer(api_keys["admin"]), content=b" " * (limit + 1))
    problem = _assert_problem(big, 413, "large JSON")
    assert "KB" in problem["detail"]
    assert "KB" in problem["detail_vi"]
    ok = api.post(
        f"{V1}/silences",
        headers=bearer(api_keys["engineer"]),
        json={"matchers": {"rule": "x"}, "duration": "1d"},
    )
    assert ok.status_code == 201, ok.text


# --- public read is for published results ----------------------------------------------------------------


@pytest.mark.usefixtures("api_data_dir")
def test_public_read_shows_published_results_only(
    tokens: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(
        _app(monkeypatch, CHITIEU_API_PUBLIC_READ="true"), raise_server_exceptions=False
    ) as client:
        for path in PRIVATE_READS:
            url = path.replace("{job_id}", str(uuid.UUID(int=7)))
            _assert_problem(client.get(url), 401, path)
            assert client.get(url, headers=_headers(tokens["viewer"])).status_code in (200, 404)
        # Alerts without the engineers' handling of them (who silenced, when notified).
        anonymous = client.get(f"{V1}/alerts").json()["items"]
        keyed = client.get(f"{V1}/alerts", headers=_headers(tokens["viewer"])).json()["items"]
        assert anonymous
        assert len(anonymous) == len(keyed)
        for public, full in zip(anonymous, keyed, strict=True):
            assert {"silenced_by", "last_notified_at"} <= set(full)
            assert not {"silenced_by", "last_notified_at"} & set(public)
            assert {k: v for k, v in full.items() if k in public} == public
        one = client.get(f"{V1}/alerts/{keyed[0]['id']}").json()
        assert "silenced_by" not in one
        assert one["summary_vi"] == keyed[0]["summary_vi"]
        export = f"{V1}/exports/alerts?format=csv"
        public_header = client.get(export).text.lstrip("\ufeff").splitlines()[0].split(",")
        full_header = client.get(export, headers=_headers(tokens["viewer"])).text.lstrip("\ufeff")
        assert {"silenced_by", "last_notified_at"} <= set(full_header.splitlines()[0].split(","))
        assert "summary_vi" in public_header
        assert not {"silenced_by", "last_notified_at"} & set(public_header)
        # The server's versions only to engineers and admins.
        for who in ("none", "viewer", "garbage"):
            ready = client.get("/readyz", headers=_headers(tokens[who]))
            assert ready.status_code == 200, who
            assert ready.json().get("postgresql") is None, who
            assert ready.json().get("timescaledb") is None, who
        for who in ("engineer", "admin"):
            ready = client.get(f"{V1}/readyz", headers=_headers(tokens[who])).json()
            assert ready["postgresql"], who
            assert ready["timescaledb"], who


# --- the database coming back ----------------------------------------------------------------------------


def test_after_the_database_returns_the_api_recovers_within_seconds(
    base_settings: Any, loaded_db: psycopg.Connection, db_dsn: str, api_keys: dict[str, str], api: TestClient
) -> None:
    name = psycopg.conninfo.conninfo_to_dict(db_dsn)["dbname"]
    viewer = bearer(api_keys["viewer"])
    assert api.get("/readyz").status_code == 200
    assert api.get(f"{V1}/silences", headers=viewer).status_code == 200

    def kick_out() -> None:
        loaded_db.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = %s AND pid <> pg_backend_pid()""",
            (name,),
        )

    # Every pooled connection dropped (as by a restart): none of them is handed to a request.
    kick_out()
    assert api.get(f"{V1}/silences", headers=viewer).status_code == 200

    # The database refuses connections for a while: the pool's retries back off meanwhile.
    with psycopg.connect(base_settings.dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            down_until = time.monotonic() + 12
            while time.monotonic() < down_until:
                assert api.get("/readyz").status_code == 503
                time.sleep(0.5)
        finally:
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(name))
            )
    ready = eventually(lambda: api.get("/readyz"), lambda r: r.status_code == 200, seconds=RECOVERY_S)
    assert ready.status_code == 200, f"not ready {RECOVERY_S} s after the database returned"
    assert api.get(f"{V1}/silences", headers=viewer).status_code == 200
