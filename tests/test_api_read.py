"""What the read endpoints answer, against the real database over HTTP (httpx ASGI transport):
catalog with citations and succession, series with vintages and provenance, statuses latest and
`as_of`, alerts and silences, probes."""

from __future__ import annotations

import asyncio
import csv
import io
import select
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool

from chitieu.api import deps
from conftest import bearer, eventually

NT_DIGITAL = "/api/v1/series/Ninh Thuận/digital_economy_share_grdp"


def _all_pages(api: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    res = api.get(path, headers=headers, params=params)
    while True:
        assert res.status_code == 200, res.text
        body = res.json()
        items += body["items"]
        if body["next"] is None:
            return items
        res = api.get(body["next"], headers=headers)


def test_targets_carry_their_citation_and_filter_by_any_spelling(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    n58 = loaded_db.execute("SELECT count(*) FROM targets WHERE jurisdiction_id = 'old-58'").fetchone()
    assert n58 is not None
    assert n58[0] > 0
    for spelling in ("old-58", "NINH THUAN", "Tỉnh Ninh Thuận", "58"):
        found = _all_pages(api, "/api/v1/targets", h, jurisdiction=spelling, limit=10)
        assert len([t for t in found if t["jurisdiction_id"] == "old-58"]) == n58[0], spelling
    one = api.get("/api/v1/targets/ninh-thuan-319-ctr-tu.t01", headers=h).json()
    row = loaded_db.execute(
        "SELECT cite_document, cite_section, cite_quote, value FROM targets"
        " WHERE id = 'ninh-thuan-319-ctr-tu.t01'"
    ).fetchone()
    assert row is not None
    assert one["citation"] == {"document": row[0], "section": row[1], "quote": row[2]}
    assert one["value"] == row[3]
    missing = api.get("/api/v1/targets", headers=h, params={"jurisdiction": "Atlantis"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "Atlantis" in missing.json()["detail"]
    assert "Không tìm thấy" in missing.json()["detail_vi"]
    assert api.get("/api/v1/targets/nope.t99", headers=h).status_code == 404


@pytest.mark.usefixtures("loaded_db")
def test_jurisdictions_resolve_codes_by_date_and_show_the_merger(
    api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    before = api.get("/api/v1/jurisdictions/52", headers=h, params={"on": "2025-06-30"}).json()
    after = api.get("/api/v1/jurisdictions/52", headers=h, params={"on": "2025-07-01"}).json()
    assert (before["id"], before["name"]) == ("old-52", "Bình Định")
    assert (after["id"], after["name"]) == ("new-52", "Gia Lai")
    assert "old-52" in {p["id"] for p in after["predecessors"]}
    ninh_thuan = api.get("/api/v1/jurisdictions/old-58", headers=h).json()
    assert [(s["id"], s["effective_on"]) for s in ninh_thuan["successors"]] == [("new-56", "2025-07-01")]
    assert ninh_thuan["valid_to"] == "2025-06-30"
    provinces_after = _all_pages(api, "/api/v1/jurisdictions", h, level="province", on="2025-08-01", limit=10)
    provinces_before = _all_pages(api, "/api/v1/jurisdictions", h, level="province", on="2025-01-01")
    assert (len(provinces_before), len(provinces_after)) == (63, 34)


def test_plans_and_indicators(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    plans = api.get("/api/v1/plans", headers=h).json()
    counts = dict(loaded_db.execute("SELECT plan_id, count(*) FROM targets GROUP BY 1").fetchall())
    assert {p["id"]: p["targets"] for p in plans} == {p["id"]: counts.get(p["id"], 0) for p in plans}
    assert len(plans) == loaded_db.execute("SELECT count(*) FROM plans").fetchone()[0]
    nt = api.get("/api/v1/plans/ninh-thuan-319-ctr-tu", headers=h).json()
    assert nt["jurisdiction_name"] == "Ninh Thuận"
    assert nt["targets"] == counts["ninh-thuan-319-ctr-tu"]
    used = api.get("/api/v1/indicators", headers=h, params={"plan": "ninh-thuan-319-ctr-tu"}).json()
    wanted = loaded_db.execute(
        "SELECT DISTINCT indicator_code FROM targets WHERE plan_id = 'ninh-thuan-319-ctr-tu' ORDER BY 1"
    ).fetchall()
    assert [i["code"] for i in used] == [r[0] for r in wanted]
    assert api.get("/api/v1/indicators/no_such_thing", headers=h).status_code == 404
    assert api.get("/api/v1/plans/no-such-plan", headers=h).status_code == 404


def test_series_vintages_as_of_and_provenance(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    latest = api.get(NT_DIGITAL, headers=h).json()
    assert latest["jurisdiction"]["id"] == "old-58"
    assert latest["indicator"]["unit"]
    y2024 = [
        o for o in latest["observations"] if o["period_type"] == "Y" and o["period_start"] == "2024-01-01"
    ]
    # The template's final 2024 figure replaced the wide report's provisional one (a later vintage).
    assert len(y2024) == 1
    assert y2024[0]["status"] == "final"
    assert "provenance" not in y2024[0]
    first_load = loaded_db.execute(
        """SELECT min(loaded_at) FROM observations WHERE jurisdiction_id = 'old-58'
           AND indicator_code = 'digital_economy_share_grdp' AND period_start = '2024-01-01'"""
    ).fetchone()
    assert first_load is not None
    earlier = api.get(NT_DIGITAL, headers=h, params={"as_of": first_load[0].isoformat()}).json()
    old = [o for o in earlier["observations"] if o["period_start"] == "2024-01-01"]
    assert len(old) == 1
    assert old[0]["status"] == "provisional"
    assert old[0]["value"] != y2024[0]["value"]
    every = api.get(NT_DIGITAL, headers=h, params={"vintages": "all", "include": "provenance"}).json()
    both = [o for o in every["observations"] if o["period_start"] == "2024-01-01"]
    assert {o["status"] for o in both} == {"provisional", "final"}
    files = {o["provenance"]["file_name"] for o in both}
    assert files == {"bao-cao-chi-tieu-57-2020-2024.xlsx", "mau-nhap-lieu-4-tinh-2020-2025.xlsx"}
    assert all(
        o["provenance"]["sheet"] and o["provenance"]["row"] and o["provenance"]["fetched_at"] for o in both
    )
    # Before anything was loaded nothing was known.
    assert (
        api.get(NT_DIGITAL, headers=h, params={"as_of": "2001-01-01T00:00:00+07:00"}).json()["observations"]
        == []
    )
    assert api.get("/api/v1/series/old-58/no_such_indicator", headers=h).status_code == 404
    assert api.get("/api/v1/series/Atlantis/digital_economy_share_grdp", headers=h).status_code == 404


def test_statuses_latest_filters_and_as_of_a_past_run(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    from chitieu.dashboards.views import refresh
    from chitieu.evaluate.engine import evaluate

    h = bearer(api_keys["viewer"])
    first = _all_pages(api, "/api/v1/statuses", h, limit=25)
    expected = loaded_db.execute("SELECT count(*) FROM dash_evaluations_latest").fetchone()
    assert expected is not None
    assert len(first) == expected[0] == 118
    assert len({(s["target_id"], s["check_year"]) for s in first}) == len(first)
    assert {s["run_id"] for s in first} == {1}
    on_track = _all_pages(api, "/api/v1/statuses", h, status="on_track")
    n_on_track = loaded_db.execute("SELECT count(*) FROM evaluations WHERE status = 'on_track'").fetchone()
    assert n_on_track is not None
    assert len(on_track) == n_on_track[0] > 0
    assert {s["status"] for s in on_track} == {"on_track"}
    assert on_track[0]["status_label_vi"] == "Đúng lộ trình"
    # The headline verdict has its own filter: the rows whose headline (not ratio) is among those asked.
    behind = ("needs_acceleration", "limited_progress", "deteriorating")
    by_headline = loaded_db.execute(
        "SELECT target_id FROM evaluations WHERE headline_status = ANY(%s) ORDER BY target_id",
        (list(behind),),
    ).fetchall()
    headline_rows = _all_pages(api, "/api/v1/statuses", h, headline=list(behind))
    assert sorted(s["target_id"] for s in headline_rows) == [r[0] for r in by_headline]
    assert {s["headline_status"] for s in headline_rows} <= set(behind)
    assert headline_rows
    exported = api.get(
        "/api/v1/exports/statuses", headers=h, params={"headline": list(behind), "format": "csv"}
    )
    assert exported.status_code == 200
    header, *records = csv.reader(io.StringIO(exported.text.lstrip("\ufeff")))
    assert sorted(r[header.index("target_id")] for r in records) == [r[0] for r in by_headline]

    # A revised figure, a second run: the latest statuses move on, `as_of` between the runs does not.
    loaded_db.execute(
        """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,
                                     status, source_id, fetched_at, loaded_at)
           SELECT jurisdiction_id, indicator_code, period_start, period_type, value * 3, 'final', source_id,
                  fetched_at, now()
           FROM observations_current
           WHERE jurisdiction_id = 'old-58' AND indicator_code = 'digital_economy_share_grdp'
             AND period_start = '2024-01-01' AND period_type = 'Y'"""
    )
    between = datetime.now(UTC)
    evaluate(loaded_db, as_of=datetime.now(UTC) + timedelta(seconds=1))
    refresh(loaded_db)
    latest = eventually(
        lambda: _all_pages(api, "/api/v1/statuses", h), lambda rows: {s["run_id"] for s in rows} == {2}
    )
    assert {s["run_id"] for s in latest} == {2}
    past = _all_pages(api, "/api/v1/statuses", h, as_of=between.isoformat())
    assert {s["run_id"] for s in past} == {1}
    assert len(past) == len(first)
    assert _all_pages(api, "/api/v1/statuses", h, as_of="2001-01-01T00:00:00Z") == []
    # A time without an offset is Vietnam's: 7 hours before the same digits in UTC.
    naive = (between + timedelta(hours=7)).replace(tzinfo=None)
    assert {s["run_id"] for s in _all_pages(api, "/api/v1/statuses", h, as_of=naive.isoformat())} == {1}
    assert _all_pages(api, "/api/v1/statuses", h, as_of=between.replace(tzinfo=None).isoformat()) == []


def test_alerts_and_silences(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    from chitieu.alerts.lifecycle import sync_alerts

    viewer, engineer = bearer(api_keys["viewer"]), bearer(api_keys["engineer"])
    firing = _all_pages(api, "/api/v1/alerts", viewer, state="firing", limit=5)
    n = loaded_db.execute("SELECT count(*) FROM alerts WHERE state = 'firing'").fetchone()
    assert n is not None
    assert len(firing) == n[0] > 5
    assert [a["id"] for a in firing] == sorted((a["id"] for a in firing), reverse=True)
    behind = next(a for a in firing if a["rule"] == "behind_trajectory")
    res = api.post(
        f"/api/v1/alerts/{behind['id']}/silence",
        headers=engineer,
        json={"duration": "7d", "comment": "đang rà soát số liệu"},
    )
    assert res.status_code == 201, res.text
    silence = res.json()
    assert silence["matchers"]["rule"] == "behind_trajectory"
    assert silence["active"] is True
    assert silence["created_by"] == "api:test engineer"
    expires = datetime.fromisoformat(silence["expires_at"]) - datetime.fromisoformat(silence["created_at"])
    assert abs(expires - timedelta(days=7)) < timedelta(minutes=1)
    sync_alerts(loaded_db, datetime.now(UTC))
    shown = eventually(
        lambda: api.get(f"/api/v1/alerts/{behind['id']}", headers=viewer).json(),
        lambda a: a["silenced_by"] is not None,
    )
    assert shown["silenced_by"] == silence["id"]
    bad = api.post("/api/v1/silences", headers=engineer, json={"matchers": {"Rule!": "x"}, "duration": "7d"})
    assert bad.status_code == 422
    assert bad.json()["detail_vi"] != bad.json()["detail"]
    assert api.delete(f"/api/v1/silences/{silence['id']}", headers=engineer).status_code == 204
    assert api.delete(f"/api/v1/silences/{silence['id']}", headers=engineer).status_code == 404
    listed = api.get("/api/v1/silences", headers=viewer, params={"include_inactive": True}).json()
    assert [s["id"] for s in listed] == [silence["id"]]
    assert listed[0]["active"] is False


def test_readyz_reports_a_missing_migration(db: psycopg.Connection, api: TestClient) -> None:
    assert api.get("/readyz").json()["status"] == "ready"
    assert api.get("/healthz").json() == {"status": "ok"}
    db.execute("DELETE FROM schema_migrations WHERE version = '060'")
    res = api.get("/api/v1/readyz")
    assert res.status_code == 503
    assert res.json()["pending_migrations"] == ["060-api.sql"]
    assert res.json()["database"] is True


def test_probes_answer_while_the_database_is_down() -> None:
    from chitieu.api import create_app

    with TestClient(create_app("postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=1")) as client:
        assert client.get("/healthz").status_code == 200
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["database"] is False


# --- the read pool's checkout check ------------------------------------------------------------------------


async def _backend_pid(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


def _ended(db: psycopg.Connection, conn: psycopg.AsyncConnection[Any]) -> None:
    """The server ends the connection's backend; returns once its notice has reached the socket."""
    db.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN)
    assert poller.poll(5000), "the server did not end the connection"


def test_the_read_pool_checks_a_connection_by_round_trip_only_when_the_server_ended_it(
    db: psycopg.Connection, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    round_trips: list[int] = []
    full_check = AsyncConnectionPool.check_connection

    async def counted(conn: psycopg.AsyncConnection[Any]) -> None:
        round_trips.append(conn.info.backend_pid)
        await full_check(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counted))

    async def scenario() -> None:
        async with AsyncConnectionPool(
            db_dsn, min_size=1, max_size=1, kwargs={"autocommit": True}, check=deps.check_connection
        ) as pool:
            first = await deps.run_pooled(pool, _backend_pid)
            assert await deps.run_pooled(pool, _backend_pid) == first
            assert round_trips == []  # an idle connection the server said nothing on
            async with pool.connection() as conn:
                _ended(db, conn)
            # The check reads the server's notice and replaces the connection.
            second = await deps.run_pooled(pool, _backend_pid)
            assert round_trips == [first]
            assert second != first

    asyncio.run(scenario())


def test_a_read_on_a_connection_the_server_ended_meanwhile_runs_again_on_another(
    db: psycopg.Connection, db_dsn: str
) -> None:
    async def scenario() -> None:
        # No check at checkout: the ended connection is handed out, as when the server ends it
        # between the check and the query.
        async with AsyncConnectionPool(db_dsn, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool:
            first = await deps.run_pooled(pool, _backend_pid)
            async with pool.connection() as conn:
                _ended(db, conn)
            attempts: list[int] = []

            async def read(conn: psycopg.AsyncConnection[Any]) -> int:
                attempts.append(conn.info.backend_pid)
                return await _backend_pid(conn)

            second = await deps.run_pooled(pool, read)
            assert attempts[0] == first
            assert len(attempts) == 2
            assert second == attempts[1] != first

    asyncio.run(scenario())
