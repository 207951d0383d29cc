"""The set-based engine gives, for every plain target, what the one-case contract gives on the
series known at as_of (latest vintage loaded by then), on a seeded random catalog in the real DB."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from chitieu.assess import assess
from chitieu.evaluate.engine import evaluate

pytestmark = pytest.mark.db

KINDS = [("level", ">="), ("level", ">"), ("level", "<="), ("rank", "<="), ("count", ">="), ("growth", ">=")]


def test_engine_matches_the_contract_per_series(db):
    rng = random.Random(57)
    db.execute(
        "INSERT INTO jurisdictions (id, code, name, level) VALUES ('vn', 'VN', 'Việt Nam', 'national')"
    )
    db.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation)
           VALUES ('ind', 'Chỉ tiêu', 'Indicator', '%', 'share_pct', 'higher', 'mean')"""
    )
    db.execute(
        """INSERT INTO plans (id, document_number, title, issuer, jurisdiction_id)
           VALUES ('p', '1/KH', 'Kế hoạch', 'UBND', 'vn')"""
    )
    as_of = datetime(2025, 9, 1, tzinfo=UTC)
    base_time = datetime(2020, 1, 1, tzinfo=UTC)
    cases = {}
    for i in range(60):
        jid = f"xa-{i:05d}"
        db.execute(
            """INSERT INTO jurisdictions (id, code, name, level, parent_id)
               VALUES (%s, %s, %s, 'commune', 'vn')""",
            (jid, f"{i:05d}", f"Xã {i}"),
        )
        kind, op = rng.choice(KINDS)
        value = round(rng.uniform(1, 100), 2)
        has_baseline = rng.random() < 0.6
        baseline = (rng.randint(2014, 2022), round(rng.uniform(1, 100), 2)) if has_baseline else None
        db.execute(
            """INSERT INTO targets (id, plan_id, indicator_code, jurisdiction_id, target_year, kind, operator,
                                    value, baseline_year, baseline_value, cite_document, cite_quote)
               VALUES (%s, 'p', 'ind', %s, %s, %s, %s, %s, %s, %s, 'x', 'x')""",
            (
                f"t{i}",
                jid,
                rng.randint(2025, 2032),
                kind,
                op,
                value,
                baseline and baseline[0],
                baseline and baseline[1],
            ),
        )
        for year in rng.sample(range(2015, 2027), rng.randint(0, 7)):
            vintages = rng.randint(1, 3)
            for v in range(vintages):
                loaded = base_time + timedelta(days=rng.randint(0, 2600) + v)
                val = round(rng.uniform(0.5, 120), 2)
                db.execute(
                    """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type,
                                                 value, source_id, fetched_at, loaded_at)
                       VALUES (%s, 'ind', %s, 'Y', %s, 'test', %s, %s)
                       ON CONFLICT DO NOTHING""",
                    (jid, date(year, 1, 1), val, loaded, loaded),
                )
        rows = db.execute(
            """SELECT extract(year FROM period_start)::int, value FROM observations_as_of(%s)
               WHERE jurisdiction_id = %s""",
            (as_of, jid),
        ).fetchall()
        known = {y: v for y, v in rows}
        cases[f"t{i}"] = {
            "target": {
                "kind": kind,
                "operator": op,
                "value": value,
                "value_max": None,
                "target_year": db.execute(
                    "SELECT target_year FROM targets WHERE id = %s", (f"t{i}",)
                ).fetchone()[0],
            },
            "baseline": None if baseline is None else {"year": baseline[0], "value": baseline[1]},
            "observations": [{"year": y, "value": v} for y, v in sorted(known.items())],
            "as_of_year": as_of.year,
        }
    run = evaluate(db, as_of)
    got = {
        r[0]: r[1:]
        for r in db.execute(
            """SELECT target_id, status, progress_ratio, expected_value, current_value, current_year,
                      projected_value, will_meet
               FROM evaluation_run_rows(%s) WHERE check_year IS NULL""",
            (run.run_id,),
        )
    }
    assert len(got) == 60
    statuses = set()
    for tid, case in cases.items():
        want = assess(case)
        status, ratio, expected, current, year, projected, will_meet = got[tid]
        statuses.add(status)
        assert status == want["status"], (tid, case)
        assert year == want["current_year"]
        assert current == want["current_value"]
        for a, b in (
            (ratio, want["progress_ratio"]),
            (expected, want["expected_value"]),
            (projected, want["projected_value"]),
        ):
            assert (a is None) == (b is None)
            assert a is None or a == pytest.approx(b, rel=1e-9, abs=1e-9)
        assert will_meet == want["will_meet"]
    assert len(statuses) >= 4  # the random catalog exercises several outcomes
