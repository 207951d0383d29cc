"""Alert rules (findings) against the real database, routes, deadlines arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from chitieu.alerts import rules
from chitieu.alerts.channels import (
    ChannelError,
    MissingSecret,
    expand_env,
    load_routes,
    parse_routes,
    referenced_values,
    select_routes,
)
from chitieu.alerts.lifecycle import sync_alerts
from test_alerts_lifecycle import BEHIND, T0, add_run, ev, seed_catalog


def by_rule(findings: list[rules.Finding]) -> dict[str, list[rules.Finding]]:
    out: dict[str, list[rules.Finding]] = {}
    for f in findings:
        out.setdefault(f.rule, []).append(f)
    return out


def test_evaluation_rules_from_the_latest_run(db: psycopg.Connection) -> None:
    seed_catalog(db)
    add_run(
        db,
        T0 - timedelta(days=30),
        [ev("kh.t01", "on_track"), ev("hn.t01", "on_track"), ev("kh.m01", "milestone_pending")],
    )
    add_run(
        db,
        T0,
        [
            ev("kh.t01", "limited_progress", **BEHIND),
            ev(
                "hn.t01",
                "on_track",
                will_meet=False,
                current_value=30.0,
                current_year=2025,
                projected_value=38.0,
            ),
            ev("hn.t02", "missed", check_year=2023, current_value=2.1, current_year=2023),
            ev("hn.t02", "achieved", check_year=2024, current_value=3.2, current_year=2024),
            ev("hn.t02", "missed", check_year=2025, current_value=2.6, current_year=2025),
            ev("kh.m01", "milestone_overdue", flags=["successor_data"]),
        ],
    )
    # A back-dated run (an `evaluate --as-of` for history) is newer by id but not the basis of alerts.
    add_run(db, T0 - timedelta(days=400), [ev("kh.t01", "deteriorating", **BEHIND)])

    found = by_rule(rules.collect_findings(db, T0, rules.EVALUATION_RULES))
    behind = {f.target_id: f for f in found["behind_trajectory"]}
    assert set(behind) == {"kh.t01", "hn.t01"}
    assert behind["kh.t01"].severity == "warning"
    assert behind["hn.t01"].severity == "info"
    assert "Tiến triển chậm" in behind["kh.t01"].summary_vi  # the vocabulary's words
    assert "Limited progress" in behind["kh.t01"].summary_en
    assert "dự báo năm 2030: 38 % (không đạt)" in behind["hn.t01"].summary_vi

    # The headline is compared: hn.t01's ratio stays on track, but its projection now misses.
    worse, worse_hn = sorted(found["status_worsened"], key=lambda f: f.target_id != "kh.t01")
    assert worse_hn.target_id == "hn.t01"
    assert worse_hn.detail["status"] == "needs_acceleration"
    assert "dự báo năm 2030 không đạt" in worse_hn.summary_vi
    assert worse.target_id == "kh.t01"
    assert worse.detail["previous_status"] == "on_track"
    assert "Xấu đi từ «Đúng lộ trình» sang «Tiến triển chậm»" in worse.summary_vi

    missed = sorted(found["every_year_missed"], key=lambda f: f.year or 0)
    assert [f.year for f in missed] == [2023, 2025]
    assert missed[0].fingerprint == "every_year_missed|ha-noi-57|new-01|chi_ns_khcn|2023"
    assert "năm 2023 không đạt" in missed[0].summary_vi
    assert "2,1 %" in missed[0].summary_vi

    [overdue] = found["milestone_overdue"]
    assert overdue.severity == "critical"
    assert "trung tâm dữ liệu tỉnh" in overdue.summary_vi
    assert "31/01/2026" in overdue.summary_vi
    assert "tỉnh kế thừa" in overdue.summary_vi
    assert overdue.all_labels()["agency"] == "Sở Khoa học và Công nghệ"


def test_insufficient_data_and_achieved_raise_nothing(db: psycopg.Connection) -> None:
    seed_catalog(db)
    add_run(db, T0 - timedelta(days=1), [ev("kh.t01", "limited_progress", **BEHIND)])
    add_run(db, T0, [ev("kh.t01", "insufficient_data"), ev("hn.t01", "achieved", will_meet=True)])
    assert rules.collect_findings(db, T0, rules.EVALUATION_RULES) == []


@pytest.mark.parametrize(
    ("target", "vi", "en"),
    [
        # a growth target is a rate: "16–18 % a year", never "16–18 applications a year"
        ({"kind": "growth", "value_max": 18}, "tăng ≥ 16–18 %/năm", "growth ≥ 16–18 % a year"),
        ({"kind": "level"}, "≥ 16 đơn", "≥ 16 đơn"),
    ],
)
def test_target_text_names_growth_as_a_rate(target: dict, vi: str, en: str) -> None:
    row = {"operator": ">=", "target_value": 16.0, "value_max": None, "unit": "đơn", **target}
    assert (rules._target_text(row, vi=True), rules._target_text(row, vi=False)) == (vi, en)


def test_no_evaluation_run_means_no_findings(db: psycopg.Connection) -> None:
    seed_catalog(db)
    assert rules.collect_findings(db, T0) == []


def test_data_stale_after_release_lag_and_clears_when_the_figure_arrives(db: psycopg.Connection) -> None:
    seed_catalog(db)
    db.execute(
        """INSERT INTO sources (id, kind, title, publisher, expected_release_lag) VALUES
           ('gso-nien-giam', 'spreadsheet', 'Niên giám thống kê', 'Cục Thống kê', interval '120 days'),
           ('upload', 'upload', 'Tải lên', NULL, NULL)"""
    )

    def obs(year: int, source: str, loaded: datetime) -> None:
        db.execute(
            """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,
                                         source_id, fetched_at, loaded_at)
               VALUES ('new-56', 'kinh_te_so_grdp', %s, 'Y', 12.5, %s, %s, %s)""",
            (date(year, 1, 1), source, loaded, loaded),
        )

    obs(2023, "gso-nien-giam", T0 - timedelta(days=500))
    obs(2024, "gso-nien-giam", T0 - timedelta(days=100))
    obs(2020, "upload", T0 - timedelta(days=2000))  # no expected lag: never stale
    # 2025 is due 120 days after 1 January 2026: 1 May 2026.
    assert rules.stale_findings(db, datetime(2026, 4, 30, 12, tzinfo=UTC)) == []
    may2 = datetime(2026, 5, 2, 3, tzinfo=UTC)
    [f] = rules.stale_findings(db, may2)
    assert f.fingerprint == "data_stale|gso-nien-giam||kinh_te_so_grdp|2025|2025"
    assert f.detail["due_on"] == "2026-05-01"
    assert f.detail["days_late"] == 1
    assert f.severity == "info"
    assert "Chưa có số liệu 2025" in f.summary_vi
    assert "Niên giám thống kê" in f.summary_vi
    assert sync_alerts(db, may2, rules=["data_stale"]).opened == 1
    obs(2025, "gso-nien-giam", may2 + timedelta(days=1))
    s = sync_alerts(db, may2 + timedelta(days=2), rules=["data_stale"])
    assert (s.resolved, s.firing) == (1, 0)


@pytest.mark.parametrize(
    ("recurrence", "dates", "first_year", "today", "expected"),
    [
        ("half_yearly", ["06-15", "12-01"], None, date(2026, 6, 1), date(2026, 6, 15)),
        ("half_yearly", ["06-15", "12-01"], None, date(2026, 6, 16), date(2026, 12, 1)),
        ("half_yearly", ["06-15", "12-01"], None, date(2026, 12, 2), date(2027, 6, 15)),
        ("yearly", ["12-15"], 2027, date(2026, 12, 10), date(2027, 12, 15)),
        ("once", ["2026-09-30"], None, date(2026, 9, 30), date(2026, 9, 30)),
        ("once", ["2026-09-30"], None, date(2026, 10, 1), None),
        ("every_5_years", ["03-31"], 2025, date(2026, 1, 1), date(2030, 3, 31)),
        ("every_3_years", ["03-31"], 2026, date(2026, 1, 1), date(2026, 3, 31)),
        ("yearly", ["02-29"], None, date(2027, 2, 1), date(2027, 2, 28)),
    ],
)
def test_next_due_date(
    recurrence: str, dates: list[str], first_year: int | None, today: date, expected: date | None
) -> None:
    assert rules.next_due_date(recurrence, dates, first_year, today) == expected


def test_deadline_findings_window(db: psycopg.Connection) -> None:
    seed_catalog(db)
    db.execute(
        """INSERT INTO reporting_obligations (plan_id, code, description, recurrence, due_dates) VALUES
           ('ha-noi-57', 'bc-nam', 'Báo cáo năm', 'yearly', '{12-15}'),
           ('ha-noi-57', 'bc-6t', 'Báo cáo 6 tháng', 'half_yearly', '{06-15,12-01}')"""
    )
    assert {f.subject for f in rules.deadline_findings(db, date(2026, 11, 17))} == {"bc-6t"}
    found = {f.subject: f for f in rules.deadline_findings(db, date(2026, 12, 1))}
    assert set(found) == {"bc-6t", "bc-nam"}
    assert found["bc-6t"].severity == "critical"
    assert "hôm nay" in found["bc-6t"].summary_vi
    assert found["bc-nam"].detail["days_left"] == 14


def test_routes_match_by_jurisdiction_agency_and_default() -> None:
    routes = parse_routes(
        {
            "routes": [
                {
                    "name": "khanh-hoa",
                    "match": {"jurisdiction": ["new-56", "old-58"]},
                    "channels": ["json://a/1"],
                },
                {
                    "name": "so-khcn",
                    "match": {"agency": "Sở Khoa học và Công nghệ"},
                    "channels": ["json://a/2"],
                },
                {
                    "name": "stale",
                    "match": {"rule": "data_stale", "severity": ["warning"]},
                    "channels": "json://a/3",
                },
                {"name": "default", "default": True, "channels": ["json://a/0"]},
            ]
        }
    )

    def names(labels: dict[str, str]) -> list[str]:
        return [r.name for r in select_routes(routes, labels)]

    assert names({"jurisdiction": "new-56", "agency": "SỞ KHOA HỌC VÀ CÔNG NGHỆ"}) == ["khanh-hoa", "so-khcn"]
    assert names({"jurisdiction": "x", "jurisdiction_name": "Khánh Hòa", "data_jurisdiction": "old-58"}) == [
        "khanh-hoa"
    ]
    assert names({"agency": "So Khoa hoc va Cong nghe"}) == ["so-khcn"]
    assert names({"rule": "data_stale", "severity": "info"}) == ["default"]
    assert names({"rule": "data_stale", "severity": "warning"}) == ["stale"]
    assert names({"jurisdiction": "new-01"}) == ["default"]


@pytest.mark.parametrize(
    "data",
    [
        {"routes": [{"name": "A B", "channels": ["json://x"], "default": True}]},
        {"routes": [{"name": "a", "channels": [], "default": True}]},
        {"routes": [{"name": "a", "channels": ["json://x"]}]},
        {
            "routes": [
                {"name": "a", "default": True, "channels": ["j://"]},
                {"name": "a", "channels": ["j://"]},
            ]
        },
        {"routes": "nope"},
    ],
)
def test_bad_routes_are_refused_in_both_languages(data: object) -> None:
    with pytest.raises(ChannelError) as err:
        parse_routes(data)
    assert err.value.vi
    assert err.value.en
    assert err.value.vi != err.value.en


def test_env_references_expand_at_send_time_only() -> None:
    env = {"HOOK": "json://h/1", "PASS": "s3cr3t"}
    assert expand_env("${HOOK}", env) == "json://h/1"
    assert expand_env("mailtos://u:${PASS}@smtp.x", env) == "mailtos://u:s3cr3t@smtp.x"
    assert expand_env("${NOPE:-json://fallback}", env) == "json://fallback"
    with pytest.raises(MissingSecret):
        expand_env("${NOPE}", env)


def test_a_fallback_may_refer_to_a_variable_whose_value_is_never_expanded() -> None:
    url = "${HOOK:-json://127.0.0.1:${PORT:-8099}/x}"
    assert expand_env(url, {}) == "json://127.0.0.1:8099/x"
    assert expand_env(url, {"PORT": "9100"}) == "json://127.0.0.1:9100/x"
    assert expand_env(url, {"HOOK": "json://h/${PORT}", "PORT": "9100"}) == "json://h/${PORT}"
    assert expand_env("a$b:${NOPE:-c$d}", {}) == "a$b:c$d"
    assert referenced_values(url, {"PORT": "9100"}) == ["9100"]
    assert referenced_values(url, {"HOOK": "json://h/1", "PORT": "9100"}) == ["json://h/1"]
    with pytest.raises(MissingSecret):
        expand_env("${HOOK:-json://h/${PORT}}", {})


def test_the_demo_routes_follow_the_demo_receiver_port() -> None:
    urls = [c for r in load_routes(Path("catalog/routes.yaml")) for c in r.channels]
    assert urls
    for url in urls:
        assert expand_env(url, {"CHITIEU_DEMO_WEBHOOK_PORT": "9100"}).startswith("json://127.0.0.1:9100/")


def test_channel_secrets_can_come_from_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("HOOK_FROM_FILE=json://from-file/2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOOK_FROM_FILE", raising=False)
    assert expand_env("${HOOK_FROM_FILE}") == "json://from-file/2"
    monkeypatch.setenv("HOOK_FROM_FILE", "json://process-env/3")
    assert expand_env("${HOOK_FROM_FILE}") == "json://process-env/3"
