"""Like-for-like across the 2025 merger, against the real database, with hand-computed figures.

Old Ninh Thuận (old-58) and old Khánh Hòa (old-56) became the new Khánh Hòa (new-56) on 1 July 2025.
Every expected number is worked out in its comment from the rules in docs/assessment.md, never by
calling the code under test.
"""

from __future__ import annotations

import psycopg
import pytest

from chitieu.evaluate.engine import evaluate
from test_evaluate_engine import add_merger, add_obs, add_target, rows_of, ts

pytestmark = pytest.mark.db


@pytest.fixture
def merged(db: psycopg.Connection) -> psycopg.Connection:
    add_merger(db)
    db.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation,
                                   aggregation_weight) VALUES
             ('des', 'Tỷ trọng kinh tế số', 'Digital economy share', '% GRDP', 'share_pct', 'higher',
              'weighted_mean', 'grdp'),
             ('grdp', 'GRDP', 'GRDP', 'tỷ đồng', 'amount', 'higher', 'sum', NULL),
             ('online', 'Tỷ lệ dịch vụ công trực tuyến', 'Online services', '%', 'share_pct', 'higher',
              'weighted_mean', 'population'),
             ('population', 'Dân số', 'Population', 'người', 'count', 'higher', 'sum', NULL),
             ('patents', 'Số đơn sáng chế', 'Patent applications', 'đơn', 'count', 'higher', 'sum', NULL),
             ('dti', 'Xếp hạng DTI', 'DTI rank', 'hạng', 'rank', 'lower', 'none', NULL)"""
    )
    db.execute(
        """INSERT INTO plans (id, document_number, title, issuer, issued_on, jurisdiction_id) VALUES
             ('nt', '319-CTr/TU', 'Ninh Thuận', 'Tỉnh ủy Ninh Thuận', '2024-03-01', 'old-58'),
             ('kh', '100/KH-UBND', 'Khánh Hòa', 'UBND tỉnh Khánh Hòa', '2025-08-01', 'new-56')"""
    )
    return db


def _digital_economy(db: psycopg.Connection) -> None:
    add_target(db, id="nt.des", indicator_code="des", value=30, baseline_year=2020, baseline_value=6.45)
    for jur, year, des, grdp in (
        ("old-58", 2020, 6.45, 100),
        ("old-58", 2024, 9.26, 120),
        ("old-56", 2020, 10.0, 300),
        ("old-56", 2024, 12.0, 360),
    ):
        add_obs(db, jur, "des", year, des, f"{year + 1}-03-01")
        add_obs(db, jur, "grdp", year, grdp, f"{year + 1}-03-01")
    add_obs(db, "new-56", "des", 2025, 14.36, "2026-03-01")


def test_merged_pair_with_weights_is_judged_on_the_successors_rebuilt_series(merged):
    db = merged
    _digital_economy(db)
    run = evaluate(db, ts("2026-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.des")
    # new-56 before the merger, weighted by GRDP:
    #   2020: (6.45·100 + 10·300) / 400 = 9.1125;  2024: (9.26·120 + 12·360) / 480 = 11.315.
    assert r["series_basis"] == "successor_comparable"
    assert r["data_jurisdiction_id"] == "new-56"
    assert r["inputs"]["observations"] == [[2020, 9.1125], [2024, 11.315], [2025, 14.36]]
    assert [p["source"] for p in r["lineage"]["points"]] == ["derived", "derived", "published"]
    assert r["lineage"]["derived_years"] == [2020, 2024]
    # The base is the comparable series' value of the plan's baseline year, not Ninh Thuận's 6.45.
    assert (r["base_year"], r["base_value"]) == (2020, pytest.approx(9.1125))
    # R = ((14.36/9.1125)^(1/5) - 1) / ((30/9.1125)^(1/10) - 1) = 0.0952251 / 0.1265446 = 0.7525.
    assert r["progress_ratio"] == pytest.approx(0.0952251 / 0.1265446, rel=1e-5)
    assert r["status"] == "needs_acceleration"
    # OLS over 2020, 2024, 2025: mean x 2023, mean y 11.595833, Sxx 14, Sxy 12.6975, slope 0.906964;
    # at 2030: 11.595833 + 7 · 0.906964 = 17.9446 < 30.
    assert r["projected_value"] == pytest.approx(17.9446, rel=1e-4)
    assert r["will_meet"] is False
    # G = (30 - 17.9446) / (30 - 9.1125) = 0.5772: acceleration needed, as the ratio says.
    assert r["anticipated_gap"] == pytest.approx(0.5772, rel=1e-3)
    assert (r["headline_status"], r["headline_rule"]) == ("needs_acceleration", "ratio")
    derived = db.execute(
        """SELECT year, value, rule, weight_indicator, inputs FROM derived_observations
           WHERE run_id = %s AND jurisdiction_id = 'new-56' AND indicator_code = 'des' ORDER BY year""",
        (run.run_id,),
    ).fetchall()
    assert [(y, round(v, 6), rule, w) for y, v, rule, w, _ in derived] == [
        (2020, 9.1125, "weighted_mean", "grdp"),
        (2024, 11.315, "weighted_mean", "grdp"),
    ]
    assert {"jurisdiction_id": "old-58", "value": 6.45, "weight": 100} in derived[0][4]
    # Derived values never enter the published observations.
    n = db.execute("SELECT count(*) FROM observations WHERE jurisdiction_id = 'new-56'").fetchone()
    assert n == (1,)


def test_a_published_successor_figure_wins_over_the_derived_one(merged):
    db = merged
    _digital_economy(db)
    add_obs(db, "new-56", "des", 2024, 11.0, "2026-04-01")  # restated for the merged territory
    run = evaluate(db, ts("2026-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.des")
    assert r["inputs"]["observations"] == [[2020, 9.1125], [2024, 11.0], [2025, 14.36]]
    assert [p["source"] for p in r["lineage"]["points"]] == ["derived", "published", "published"]
    years = db.execute(
        "SELECT year FROM derived_observations WHERE run_id = %s AND indicator_code = 'des'", (run.run_id,)
    ).fetchall()
    assert years == [(2020,)]


def test_without_weights_no_value_is_derived_and_the_lineage_says_so(merged):
    db = merged
    add_target(db, id="nt.online", indicator_code="online", value=80, baseline_year=2020, baseline_value=50)
    for jur, year, value in (
        ("old-58", 2020, 50),
        ("old-58", 2024, 60),
        ("old-56", 2020, 40),
        ("old-56", 2024, 45),
    ):
        add_obs(db, jur, "online", year, value, f"{year + 1}-03-01")
    add_obs(db, "new-56", "online", 2025, 58, "2026-03-01")
    run = evaluate(db, ts("2026-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.online")
    # Only the successor's own 2025 figure is comparable (one year): never 50 -> 58. Until the
    # successor's series can be judged, Ninh Thuận is judged on its own figures up to its last year.
    assert r["series_basis"] == "own_until_ceased"
    assert r["data_jurisdiction_id"] == "old-58"
    assert r["inputs"]["observations"] == [[2020, 50], [2024, 60]]
    # R = ((60/50)^(1/4) - 1) / ((80/50)^(1/10) - 1) = 0.0466351 / 0.0481224 = 0.9691.
    assert r["progress_ratio"] == pytest.approx(0.0466351 / 0.0481224, rel=1e-5)
    assert "hai năm" in r["lineage"]["note_vi"]
    missing = r["lineage"]["not_derived"]
    assert [m["year"] for m in missing] == [2020, 2024]
    assert "population" in missing[0]["reason"]
    rows = db.execute(
        """SELECT year, value, reason FROM derived_observations
           WHERE run_id = %s AND indicator_code = 'online' ORDER BY year""",
        (run.run_id,),
    ).fetchall()
    assert [(y, v) for y, v, _ in rows] == [(2020, None), (2024, None)]
    assert all("population" in reason for _, _, reason in rows)


def test_a_count_target_stays_on_its_own_territory_and_the_successors_is_summed(merged):
    db = merged
    add_target(db, id="nt.patents", indicator_code="patents", kind="count", value=100, baseline_year=2020,
               baseline_value=10)  # fmt: skip
    add_target(db, id="kh.patents", plan_id="kh", jurisdiction_id="new-56", indicator_code="patents",
               kind="count", value=150, baseline_year=2020, baseline_value=40)  # fmt: skip
    for jur, year, value in (
        ("old-58", 2020, 10),
        ("old-58", 2024, 20),
        ("old-56", 2020, 30),
        ("old-56", 2024, 40),
    ):
        add_obs(db, jur, "patents", year, value, f"{year + 1}-03-01")
    add_obs(db, "new-56", "patents", 2025, 75, "2026-03-01")
    run = evaluate(db, ts("2026-06-01"))
    (nt,) = rows_of(db, run.run_id, "nt.patents")
    # Ninh Thuận's count is never compared with Khánh Hòa's 75 (two provinces' sum).
    assert nt["series_basis"] == "own_until_ceased"
    assert nt["data_jurisdiction_id"] == "old-58"
    assert nt["inputs"]["observations"] == [[2020, 10], [2024, 20]]
    # R = ((20/10)^(1/4) - 1) / ((100/10)^(1/10) - 1) = 0.189207 / 0.258925 = 0.7307.
    assert nt["progress_ratio"] == pytest.approx(0.189207 / 0.258925, rel=1e-4)
    assert "successor_data" not in nt["flags"]
    (kh,) = rows_of(db, run.run_id, "kh.patents")
    # The new province's own target: its past summed, 2020: 10 + 30 = 40, 2024: 20 + 40 = 60.
    assert kh["series_basis"] == "own"
    assert kh["inputs"]["observations"] == [[2020, 40], [2024, 60], [2025, 75]]
    # R = ((75/40)^(1/5) - 1) / ((150/40)^(1/10) - 1) = 0.1339666 / 0.1413087 = 0.9480.
    assert kh["progress_ratio"] == pytest.approx(0.1339666 / 0.1413087, rel=1e-5)
    assert kh["status"] == "needs_acceleration"


def test_rank_near_1_is_bounded_and_never_combined(merged):
    db = merged
    add_target(db, id="kh.dti", plan_id="kh", jurisdiction_id="new-56", indicator_code="dti", kind="rank",
               operator="<=", value=1)  # fmt: skip
    add_target(db, id="nt.dti", indicator_code="dti", kind="rank", operator="<=", value=20,
               baseline_year=2020, baseline_value=40)  # fmt: skip
    add_obs(db, "old-58", "dti", 2020, 40, "2021-03-01")
    add_obs(db, "old-56", "dti", 2020, 10, "2021-03-01")
    add_obs(db, "new-56", "dti", 2025, 3, "2026-02-01")
    add_obs(db, "new-56", "dti", 2026, 2, "2027-02-01")
    run = evaluate(db, ts("2027-03-01"))
    (kh,) = rows_of(db, run.run_id, "kh.dti")
    # 3 (2025) -> 2 (2026): R = -(2/3 - 1) / |(1/3)^(1/5) - 1| = 0.3333333 / 0.1972584 = 1.690.
    assert kh["progress_ratio"] == pytest.approx(0.3333333 / 0.1972584, rel=1e-5)
    # The line 3 - 1·(2030 - 2025) = -2 is not a rank: bounded to 1, which meets "<= 1".
    assert kh["projected_value"] == 1
    assert kh["will_meet"] is True
    assert kh["headline_status"] == "on_track"
    assert kh["lineage"]["cohort"] == {"base": 34, "current": 34}
    # No rank is rebuilt from the predecessors (40 and 10 are not averaged or summed).
    assert kh["inputs"]["observations"] == [[2025, 3], [2026, 2]]
    reasons = db.execute(
        "SELECT DISTINCT rule, value FROM derived_observations WHERE run_id = %s AND indicator_code = 'dti'",
        (run.run_id,),
    ).fetchall()
    assert reasons == [("none", None)]
    (nt,) = rows_of(db, run.run_id, "nt.dti")
    # Ninh Thuận's rank target carries over to the new province's ranks, 34 of them.
    assert nt["series_basis"] == "successor_comparable"
    assert nt["inputs"]["observations"] == [
        [2025, 3],
        [2026, 2],
    ]
    assert 1 <= nt["projected_value"] <= 34


def test_a_worsening_rank_is_bounded_by_the_cohort(merged):
    db = merged
    add_target(db, id="kh.dti", plan_id="kh", jurisdiction_id="new-56", indicator_code="dti", kind="rank",
               operator="<=", value=5)  # fmt: skip
    add_obs(db, "new-56", "dti", 2025, 20, "2026-02-01")
    add_obs(db, "new-56", "dti", 2026, 30, "2027-02-01")
    run = evaluate(db, ts("2027-03-01"))
    (kh,) = rows_of(db, run.run_id, "kh.dti")
    # The line 20 + 10·(2030 - 2025) = 70 is past the last of the 34: bounded to 34.
    assert kh["projected_value"] == 34
    assert kh["will_meet"] is False
    assert kh["status"] == "deteriorating"
    assert kh["headline_status"] == "deteriorating"


def test_demo_data_status_projection_and_alerts_agree(loaded_db, db_dsn):
    # The sample inbox of the demo (the four seed provinces, before and after the merger), evaluated
    # and alerted as `make run` does.
    from datetime import UTC, datetime
    from pathlib import Path

    from chitieu.alerts.lifecycle import sync_alerts
    from chitieu.dashboards.views import refresh
    from chitieu.ingest.intake import ingest_file

    db = loaded_db
    inbox = Path(__file__).resolve().parents[1] / "samples" / "inbox"
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for name in (
            "bao-cao-chi-tieu-57-sau-sap-xep-2025-2026.xlsx",
            "mau-nhap-lieu-quang-nam-da-dien.xlsx",
        ):
            ingest_file(conn, inbox / name)
        now = datetime.now(UTC)
        evaluate(conn, as_of=now)
        sync_alerts(conn, now)
        refresh(conn)
    rows = db.execute(
        """SELECT e.target_id, e.jurisdiction_id, e.data_jurisdiction_id, e.status, e.headline_status,
                  e.will_meet, e.projected_value, e.series_basis, e.lineage, e.inputs, t.kind, v.grp
           FROM evaluations_latest e
           JOIN targets t ON t.id = e.target_id
           JOIN status_vocabulary v ON v.key = e.headline_status
           WHERE e.check_year IS NULL"""
    ).fetchall()
    assert len(rows) > 50
    behind = set()
    moved = 0
    ceased = 0
    for tid, jur, data_jur, status, _, will_meet, projected, basis, lineage, inputs, kind, grp in rows:
        if grp == "on_track":
            assert will_meet is not False, tid
        if status in ("needs_acceleration", "limited_progress", "deteriorating"):
            assert grp == "behind", tid
        if grp == "behind" and kind != "milestone":
            behind.add(tid)
        if kind == "milestone":
            continue
        # One territory per verdict: the points drawn are the points used, all of data_jurisdiction_id.
        assert lineage["territory_id"] == data_jur, tid
        assert [[p["year"], p["value"]] for p in lineage["points"]] == inputs["observations"], tid
        if data_jur != jur:
            moved += 1
            assert basis == "successor_comparable", tid
        ceased += basis != "own"
        if kind == "rank" and projected is not None:
            assert 1 <= projected <= 63, tid
    # The demo's plans are of provinces that ceased, with successors' figures after the merger.
    assert ceased > 0
    firing = db.execute(
        """SELECT target_id, summary_vi FROM alerts
           WHERE rule = 'behind_trajectory' AND state = 'firing'"""
    ).fetchall()
    assert {t for t, _ in firing} == behind
    labels = dict(db.execute("SELECT key, label_vi FROM status_vocabulary").fetchall())
    headline = {r[0]: r[4] for r in rows}
    for tid, summary in firing:
        assert labels[headline[tid]] in summary, tid


def test_alert_text_says_which_series_the_verdict_used(merged):
    from chitieu.alerts import rules

    db = merged
    add_target(db, id="nt.online", indicator_code="online", value=80, baseline_year=2020, baseline_value=50)
    add_target(db, id="nt.patents", indicator_code="patents", kind="count", value=1000)
    for jur, year, value in (("old-58", 2020, 50), ("old-58", 2024, 51), ("old-56", 2020, 40)):
        add_obs(db, jur, "online", year, value, f"{year + 1}-03-01")
    for year, value in ((2020, 10), (2024, 11)):
        add_obs(db, "old-58", "patents", year, value, f"{year + 1}-03-01")
    add_obs(db, "new-56", "online", 2025, 58, "2026-03-01")
    evaluate(db, ts("2026-06-01"))
    found = {f.target_id: f for f in rules.evaluation_findings(db, ["behind_trajectory"])}
    # 50 -> 51 against 50 -> 80: limited progress, on Ninh Thuận's own figures (Khánh Hòa's series is
    # one year long), and the text says so; the count target says it is a count of the old province.
    assert "chưa đủ hai năm" in found["nt.online"].summary_vi
    assert "Tiến triển chậm" in found["nt.online"].summary_vi
    assert "chỉ tiêu số lượng của Ninh Thuận" in found["nt.patents"].summary_vi
