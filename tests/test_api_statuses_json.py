"""The statuses pages PostgreSQL writes as JSON are the pages the rows read into Python and written by
orjson would give: the same bytes (hence ETags) and cursors, over every page of the sample data, its
filters, `as_of` a past run, and rows holding the values whose JSON forms differ between the two
writers (whole and tiny floats, NaN, negative zero, microseconds, quotes and control characters)."""

from __future__ import annotations

import math
import random
import struct
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import psycopg
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.rows import dict_row
from starlette.requests import Request

from chitieu.api.cache import dumps, etag_of
from chitieu.api.pagination import page
from chitieu.exports.statuses import rows as status_rows
from conftest import bearer

# How the page was built in Python (rows as dicts, orjson): the reference, written out on its own.
_PYTHON_COLUMNS = """l.target_id, l.plan_id, l.jurisdiction_id, j.name AS jurisdiction_name,
    l.data_jurisdiction_id, l.indicator_code, i.name_vi AS indicator_name_vi, l.target_year, l.check_year,
    l.status, sl.label_vi AS status_label_vi, l.progress_ratio, l.expected_value, l.current_value,
    l.current_year, l.projected_value, l.will_meet, l.base_year, l.base_value, l.flags, l.run_id,
    l.evaluated_at, l.as_of, hv.key AS headline_status, hv.label_vi AS headline_label_vi,
    hv.label_en AS headline_label_en, hv.grp AS headline_group, l.headline_rule, l.anticipated_gap,
    l.series_basis"""
_PYTHON_FILTERS = """
    AND (%(plan)s::text IS NULL OR l.plan_id = %(plan)s)
    AND (%(jids)s::text[] IS NULL OR l.jurisdiction_id = ANY(%(jids)s))
    AND (%(ind)s::text IS NULL OR l.indicator_code = %(ind)s)
    AND (%(statuses)s::text[] IS NULL OR l.status = ANY(%(statuses)s))
    AND (%(a0)s::text IS NULL OR (l.target_id, l.jurisdiction_id, l.check_year_key)
                                 > (%(a0)s::text, %(a1)s::text, %(a2)s::integer))
    ORDER BY l.target_id, l.jurisdiction_id, l.check_year_key LIMIT %(limit)s"""


def _python_page(
    conn: psycopg.Connection, path: str, query: dict[str, Any], run_id: int | None, after: Any, limit: int
) -> bytes:
    a0, a1, a2 = after or (None, None, None)
    params = {
        "run": run_id,
        "plan": query.get("plan"),
        "jids": [query["jurisdiction"]] if "jurisdiction" in query else None,
        "ind": query.get("indicator"),
        "statuses": [query["status"]] if "status" in query else None,
        "a0": a0,
        "a1": a1,
        "a2": a2,
        "limit": limit + 1,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("SELECT {}, l.check_year_key {} {}").format(
                sql.SQL(_PYTHON_COLUMNS), status_rows(run_id is not None), sql.SQL(_PYTHON_FILTERS)
            ),
            params,
        )
        rows = cur.fetchall()
    scope = {
        "type": "http",
        "scheme": "http",
        "server": ("testserver", 80),
        "path": path,
        "query_string": urlencode(query).encode(),
        "headers": [(b"host", b"testserver")],
    }
    body = page(
        Request(scope), rows, limit, lambda r: [r["target_id"], r["jurisdiction_id"], r["check_year_key"]]
    )
    for row in body["items"]:
        del row["check_year_key"]
    return dumps(body)


def _compare_all_pages(
    api: TestClient, conn: psycopg.Connection, h: dict[str, str], query: dict[str, Any], run_id: int | None
) -> int:
    """Follow `next` through every page, comparing each with the Python-built one: the rows seen."""
    path = "/api/v1/statuses"
    limit = int(query["limit"])
    after = None
    seen = 0
    while True:
        res = api.get(path, params=query, headers=h)
        assert res.status_code == 200, res.text
        expected = _python_page(conn, path, query, run_id, after, limit)
        assert res.content == expected, (query, res.content[:300], expected[:300])
        assert res.headers["etag"] == etag_of(expected)
        body = orjson.loads(res.content)
        seen += len(body["items"])
        if body["next_cursor"] is None:
            return seen
        last = body["items"][-1]
        after = [last["target_id"], last["jurisdiction_id"], last["check_year"] or 0]
        query = {**query, "cursor": body["next_cursor"]}


def _edge_rows(conn: psycopg.Connection) -> None:
    """Copies of a few latest statuses holding values whose JSON forms differ between the writers;
    the run's as_of, which every row shows, in whole seconds."""
    conn.execute("UPDATE dash_latest_run SET as_of = date_trunc('second', as_of)")
    floats = [
        2.0,
        1e-6,
        -0.0,
        float("nan"),
        1e15,
        0.00001234,
        123456.789,
        1.5e-5,
        None,
        0.1,
        1e16,
        float("inf"),
    ]
    for n, value in enumerate(floats):
        conn.execute(
            """INSERT INTO dash_evaluations_latest
               SELECT target_id || '~edge' || %(n)s, jurisdiction_id, check_year_key, check_year,
                      %(at)s, plan_id, data_jurisdiction_id, indicator_code,
                      target_year, status, %(v)s::float8, -%(v)s::float8, %(v)s::float8 * 3, current_year,
                      %(v)s::float8 / 7, will_meet, base_year, %(v)s::float8, %(flags)s::text[]
               FROM dash_evaluations_latest ORDER BY target_id LIMIT 1""",
            {
                "n": n,
                "v": value,
                "at": datetime(2026, 1, 15, 8, 30, 1, 120000 * (n % 3), tzinfo=UTC),
                "flags": ['say "hi"', "tab\there\nnewline", "back\\slash \x01 é Đ", "/"][: n % 5],
            },
        )


def test_postgresql_pages_equal_python_pages(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    from chitieu.dashboards.views import refresh
    from chitieu.evaluate.engine import evaluate

    between = datetime.now(UTC)
    evaluate(loaded_db, as_of=datetime.now(UTC) + timedelta(seconds=1))
    refresh(loaded_db)
    _edge_rows(loaded_db)
    h = bearer(api_keys["viewer"])
    total = loaded_db.execute("SELECT count(*) FROM dash_evaluations_latest").fetchone()
    assert total is not None
    assert total[0] > 118

    # Every page of everything, at two page sizes.
    assert _compare_all_pages(api, loaded_db, h, {"limit": "9"}, None) == total[0]
    assert _compare_all_pages(api, loaded_db, h, {"limit": "1000"}, None) == total[0]
    # Filters: one of each, and several together, from rows that exist.
    some = loaded_db.execute(
        """SELECT plan_id, jurisdiction_id, indicator_code, status FROM dash_evaluations_latest
           WHERE status = 'on_track' LIMIT 1"""
    ).fetchone()
    assert some is not None
    plan, jid, ind, status = some
    for query in (
        {"plan": plan},
        {"jurisdiction": jid},
        {"indicator": ind},
        {"status": status},
        {"plan": plan, "status": status},
        {"plan": plan, "jurisdiction": jid, "indicator": ind, "status": status},
    ):
        assert _compare_all_pages(api, loaded_db, h, {**query, "limit": "4"}, None) > 0, query
    # as_of: the statuses of the first run, read from the evaluations themselves.
    run = loaded_db.execute("SELECT min(run_id) FROM evaluations").fetchone()
    assert run is not None
    past = {"as_of": between.isoformat().replace("+00:00", "Z"), "limit": "10"}
    assert _compare_all_pages(api, loaded_db, h, past, run[0]) == 118
    assert _compare_all_pages(api, loaded_db, h, {**past, "plan": plan, "status": status}, run[0]) > 0


def test_stored_items_follow_renamed_places_indicators_and_words(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    """The latest rows keep their JSON: a jurisdiction or indicator renamed, or a status's words
    changed, after the evaluation is in every page as the live names give it."""
    from chitieu.dashboards.views import refresh
    from chitieu.evaluate.engine import evaluate

    evaluate(loaded_db, as_of=datetime.now(UTC))
    refresh(loaded_db)
    some = loaded_db.execute(
        """SELECT jurisdiction_id, indicator_code, status FROM dash_evaluations_latest
           ORDER BY target_id LIMIT 1"""
    ).fetchone()
    assert some is not None
    jid, ind, status = some
    loaded_db.execute("UPDATE jurisdictions SET name = name || ' (tên mới)' WHERE id = %s", (jid,))
    loaded_db.execute("UPDATE indicators SET name_vi = 'Chỉ tiêu \"đổi tên\"' WHERE code = %s", (ind,))
    loaded_db.execute("UPDATE status_vocabulary SET label_vi = label_vi || ' ✓' WHERE key = %s", (status,))
    h = bearer(api_keys["viewer"])
    for query in ({"limit": "1000"}, {"jurisdiction": jid, "limit": "5"}):
        assert _compare_all_pages(api, loaded_db, h, query, None) > 0
    page = api.get("/api/v1/statuses", params={"jurisdiction": jid, "limit": "1000"}, headers=h).json()
    assert all(r["jurisdiction_name"].endswith(" (tên mới)") for r in page["items"])
    assert any(r["indicator_name_vi"] == 'Chỉ tiêu "đổi tên"' for r in page["items"])


def test_float_json_is_what_orjson_writes(db: psycopg.Connection) -> None:
    """Doubles below 1e16 in magnitude, whole, tiny, random bit patterns, NaN and infinities: the
    text PostgreSQL writes is orjson's. (From 1e16 up to about 1e19 PostgreSQL 15 may write up to
    17 digits where orjson writes the shortest: the same number read back.)"""
    rng = random.Random(57)
    values = [0.0, -0.0, 1.0, 2.0, 1e15, 9999999999999998.0, 1e-5, 9.999999999999999e-06, 1e-6, 0.1, 1 / 3]
    values += [math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, 1e16, 1e300, -2.5e15]
    for _ in range(2000):
        values.append(rng.choice([1, -1]) * 10 ** rng.uniform(-12, 15.9))
        values.append(round(rng.uniform(-1000, 1000), rng.randint(0, 6)))
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if not abs(bits) >= 1e16 or abs(bits) >= 1e19:
            values.append(bits)
    rows = db.execute(
        "SELECT v, json_float(v)::text FROM unnest(%s::float8[]) WITH ORDINALITY u(v, n) ORDER BY n",
        (values,),
    ).fetchall()
    assert len(rows) == len(values)
    wrong = [(v, text) for v, text in rows if orjson.dumps(v).decode() != text]
    assert wrong == []
