"""The headline verdict, negative series, target years not after the base, bounded ranks, and
`chitieu assess` on JSON lines. Expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chitieu import statuses
from chitieu.assess import assess
from chitieu.cli import app
from test_assess_contract import case


def test_ratio_on_track_but_projection_missing_is_not_green():
    # 20 (2020) -> 30 (2024), target 50 by 2030: R = (1.5^(1/4) - 1) / (2.5^(1/10) - 1)
    # = 0.106682 / 0.095958 = 1.1118 (on track); line 20 + 10/4 · 10 = 45 < 50: G = 5/30 = 0.1667.
    out = assess(case("level", ">=", 50, 2030, (2020, 20), [(2024, 30)]))
    assert out["status"] == "on_track"
    assert out["will_meet"] is False
    assert out["anticipated_gap"] == pytest.approx(5 / 30)
    assert (out["headline"], out["headline_rule"]) == ("needs_acceleration", "projection")


def test_projection_far_off_makes_the_headline_deteriorating():
    # 100 -> 110 (2021) -> 90 (2022), target 150 by 2025: R = (0.9^(1/2) - 1) / ... < 0 already;
    # OLS over 2020..2022 (100, 110, 90): slope -5, at 2025: 100 - 5·4 = 80; G = 70/50 = 1.4 > 1.
    out = assess(case("level", ">=", 150, 2025, (2020, 100), [(2021, 110), (2022, 90)]))
    assert out["projected_value"] == pytest.approx(80)
    assert out["anticipated_gap"] == pytest.approx(1.4)
    assert out["headline"] == "deteriorating"


def test_ratio_and_projection_agreeing_is_the_ratios_verdict():
    # 100 -> 115 (2021), target 144 by 2022: R = 0.15 / 0.2 = 0.75; line 100 + 15·2 = 130 < 144,
    # G = 14/44 = 0.32: both say acceleration is needed; the ratio decides.
    out = assess(case("level", ">=", 144, 2022, (2020, 100), [(2021, 115)]))
    assert (out["status"], out["headline"], out["headline_rule"]) == (
        "needs_acceleration",
        "needs_acceleration",
        "ratio",
    )


def test_achieved_and_no_data_are_their_own_headline():
    assert assess(case("level", ">=", 10, 2030, (2020, 5), [(2024, 12)]))["headline"] == "achieved"
    out = assess(case("level", ">=", 10, 2030, None, []))
    assert (out["headline"], out["headline_rule"]) == ("no_data", "status")


def test_negative_series_moving_away_is_deteriorating():
    # "<= -13", base -10 (2020), current -7 (2024): rising, away from -13. Growth on the negative side
    # is (b/a)^(1/n) - 1: actual (-10/-7)^(1/4) - 1 = +0.0932, required |(-10/-13)^(1/10) - 1| = 0.0259;
    # d = -1: R = -0.0932 / 0.0259 = -3.60.
    out = assess(case("level", "<=", -13, 2030, (2020, -10), [(2024, -7)]))
    assert out["progress_ratio"] == pytest.approx(-((10 / 7) ** 0.25 - 1) / (1 - (10 / 13) ** 0.1), rel=1e-9)
    assert out["status"] == "deteriorating"
    assert out["headline"] == "deteriorating"


def test_negative_series_moving_towards_the_target_is_progress():
    # ">= -2", base -10 (2020), current -5 (2024): actual (10/5)^(1/4) - 1 = 0.189207, required
    # (10/2)^(1/10) - 1 = 0.174619: R = 1.0835, on track; line -10 + 5/4 · 10 = 2.5 >= -2: will meet.
    out = assess(case("level", ">=", -2, 2030, (2020, -10), [(2024, -5)]))
    assert out["progress_ratio"] == pytest.approx((2**0.25 - 1) / (5**0.1 - 1), rel=1e-9)
    assert out["status"] == "on_track"
    assert out["will_meet"] is True
    assert out["headline"] == "on_track"


@pytest.mark.parametrize("target_year", [2019, 2020])
def test_target_year_not_after_the_base_is_insufficient_data(target_year):
    out = assess(case("level", ">=", 50, target_year, (2020, 20), [(2024, 30)]))
    assert out["status"] == "insufficient_data"
    assert out["headline"] == "insufficient_data"
    assert out["progress_ratio"] is None
    assert out["projected_value"] is None
    assert out["expected_value"] is None


def test_rank_paths_stay_in_the_cohort():
    # 30 (2025) -> 20 (2026), "<= 1" by 2030 among 34: line 30 - 10·5 = -20 -> 1.
    better = case("rank", "<=", 1, 2030, (2025, 30), [(2026, 20)], A=2027)
    better["target"]["cohort_size"] = 34
    assert assess(better)["projected_value"] == 1
    # 20 -> 30: line 20 + 10·5 = 70 -> 34.
    worse = case("rank", "<=", 1, 2030, (2025, 20), [(2026, 30)], A=2027)
    worse["target"]["cohort_size"] = 34
    out = assess(worse)
    assert out["projected_value"] == 34
    assert out["headline"] == "deteriorating"


@settings(max_examples=200, deadline=None)
@given(
    obs=st.lists(st.tuples(st.integers(2015, 2030), st.floats(-500, 500, allow_nan=False)), max_size=6),
    base=st.one_of(st.none(), st.tuples(st.integers(2015, 2030), st.floats(-500, 500, allow_nan=False))),
    op=st.sampled_from([">=", ">", "<=", "<"]),
    kind=st.sampled_from(["level", "rank", "count", "growth"]),
    value=st.floats(-500, 500, allow_nan=False),
    target_year=st.integers(2015, 2035),
)
def test_the_headline_never_contradicts_the_projection(obs, base, op, kind, value, target_year):
    c = case(kind, op, value, target_year, base, obs)
    if kind == "rank":
        c["target"]["cohort_size"] = 34
    out = assess(c)
    group = statuses.status(out["headline"]).group
    if group == "on_track":
        assert out["will_meet"] is not False
    if out["status"] in ("needs_acceleration", "limited_progress", "deteriorating"):
        assert group == "behind"
    if kind == "rank" and out["projected_value"] is not None:
        assert 1 <= out["projected_value"] <= 34


def test_cli_reads_json_lines_and_prints_one_result_a_line(tmp_path: Path):
    cases = [
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 110)]),
        {"target": {"kind": "median"}},
        case("level", "<=", -13, 2030, (2020, -10), [(2024, -7)]),
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["assess", str(path)])
    assert result.exit_code == 2  # one malformed case
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 3
    assert lines[0]["status"] == "limited_progress"
    assert lines[0]["progress_ratio"] == pytest.approx(0.5)
    assert lines[1]["line"] == 2
    assert lines[1]["error"]["code"] == "bad-case"
    assert "kind" in lines[1]["error"]["en"]
    assert "kind" in lines[1]["error"]["vi"]
    assert lines[2]["status"] == "deteriorating"


def test_an_unreadable_json_line_keeps_its_place_with_its_error_in_each_language(tmp_path: Path):
    good = case("level", ">=", 144, 2022, (2020, 100), [(2021, 110)])
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n" + json.dumps(good) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["assess", str(path)])
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line.get("status") for line in lines] == ["limited_progress", None, "limited_progress"]
    error = lines[1]["error"]
    assert (lines[1]["line"], error["code"]) == (2, "invalid-json")
    assert error["en"].startswith(f"invalid JSON in {path} line 2")
    assert error["vi"].startswith("JSON không hợp lệ ở dòng 2")


def test_console_script_assess_reads_stdin_without_building_the_whole_cli():
    # The console entry point's fast path: typer and the other areas (database, pandas, settings) stay
    # unimported.
    code = (
        "import sys; sys.argv = ['chitieu', 'assess', '-']; from chitieu.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'psycopg', 'pydantic', 'typer', 'chitieu.settings', 'chitieu.cli.db')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    lines = "\n".join(
        json.dumps(case("level", ">=", 144, 2022, (2020, 100), [(2021, y)])) for y in (110, 150)
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=lines, capture_output=True, text=True, check=True, timeout=60
    )
    out = done.stdout.splitlines()
    assert [json.loads(x)["status"] for x in out[:2]] == ["limited_progress", "achieved"]
    assert out[2] == "[]"


def test_ratio_behind_but_projection_meeting_stays_behind():
    # Lower is better: 100 (2020) -> 64 by 2022 needs -20 %/yr; 82 in 2021 is -18 %/yr: R = 0.9.
    # The line 100 - 18·2 = 64 <= 64 meets the target (G = 0), but the headline is the worse verdict.
    out = assess(case("level", "<=", 64, 2022, (2020, 100), [(2021, 82)]))
    assert out["progress_ratio"] == pytest.approx(0.9)
    assert out["will_meet"] is True
    assert out["anticipated_gap"] == pytest.approx(0, abs=1e-12)
    assert (out["headline"], out["headline_rule"]) == ("needs_acceleration", "ratio")
