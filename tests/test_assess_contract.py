"""The assessment contract (docs/assessment.md §1), table-driven with expected values worked out by hand.

Each expected number below is derived in its comment from the method's formulas, never by calling
the code under test. Years: t0 base, t current, T target year; R = d·CAGR(now) / |CAGR(required)|.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chitieu.assess import CaseError, assess
from chitieu.cli import app


def case(kind, op, value, T, baseline, obs, A=2025, value_max=None):
    return {
        "target": {"kind": kind, "operator": op, "value": value, "value_max": value_max, "target_year": T},
        "baseline": None if baseline is None else {"year": baseline[0], "value": baseline[1]},
        "observations": [{"year": y, "value": v} for y, v in obs],
        "as_of_year": A,
    }


def expect(status, ratio, expected, current, year, projected, will_meet):
    return {
        "status": status,
        "progress_ratio": ratio,
        "expected_value": expected,
        "current_value": current,
        "current_year": year,
        "projected_value": projected,
        "will_meet": will_meet,
    }


CASES = [
    # Base 100 (2020) -> 144 by 2022 needs 20 %/yr. 110 in 2021 is 10 %/yr: R = 0.1/0.2 = 0.5.
    # Path at 2021: 100 + 44/2 = 122. Line through base and current at 2022: 100 + 10·2 = 120 < 144.
    (
        "limited_progress",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 110)]),
        expect("limited_progress", 0.5, 122, 110, 2021, 120, False),
    ),
    # 120 in 2021: 20 %/yr, R = 1.0 -> on track; line 100 + 20·2 = 140 < 144, so it will not meet.
    (
        "on_track_R_1",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 120)]),
        expect("on_track", 1.0, 122, 120, 2021, 140, False),
    ),
    # 115: 15 %/yr, R = 0.75 -> needs acceleration; line 100 + 15·2 = 130.
    (
        "needs_acceleration",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 115)]),
        expect("needs_acceleration", 0.75, 122, 115, 2021, 130, False),
    ),
    # 90: -10 %/yr, R = -0.5 -> deteriorating; line 100 - 10·2 = 80.
    (
        "deteriorating",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 90)]),
        expect("deteriorating", -0.5, 122, 90, 2021, 80, False),
    ),
    # 150 >= 144: achieved; R still given = 0.5/0.2 = 2.5; line 100 + 50·2 = 200.
    (
        "achieved_ratio_still_given",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 150)]),
        expect("achieved", 2.5, 122, 150, 2021, 200, True),
    ),
    # Exactly 144 with >=: achieved; R = 0.44/0.2 = 2.2; line 100 + 44·2 = 188.
    (
        "equal_meets_ge",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 144)]),
        expect("achieved", 2.2, 122, 144, 2021, 188, True),
    ),
    # Exactly 144 with >: not achieved (strict), R = 2.2 -> on track; 188 > 144 so will meet.
    (
        "equal_fails_gt",
        case("level", ">", 144, 2022, (2020, 100), [(2021, 144)]),
        expect("on_track", 2.2, 122, 144, 2021, 188, True),
    ),
    # Lower is better: 100 -> 64 by 2022 needs -20 %/yr, |.| = 0.2. 90 is -10 %/yr, d = -1: R = 0.5.
    # Path 100 + (64-100)/2 = 82; line 100 - 10·2 = 80, not <= 64.
    (
        "lower_better_limited",
        case("level", "<=", 64, 2022, (2020, 100), [(2021, 90)]),
        expect("limited_progress", 0.5, 82, 90, 2021, 80, False),
    ),
    # Exactly 64 with <: not achieved; CAGR -0.36, R = 0.36/0.2 = 1.8; line 100 - 36·2 = 28 < 64.
    (
        "equal_fails_lt",
        case("level", "<", 64, 2022, (2020, 100), [(2021, 64)]),
        expect("on_track", 1.8, 82, 64, 2021, 28, True),
    ),
    # Exactly 64 with <=: achieved, same figures.
    (
        "equal_meets_le",
        case("level", "<=", 64, 2022, (2020, 100), [(2021, 64)]),
        expect("achieved", 1.8, 82, 64, 2021, 28, True),
    ),
    # Rank 40 -> 10 by 2022 needs sqrt(0.25) - 1 = -50 %/yr. Rank 20 in 2021: -50 %/yr, d = -1: R = 1.
    # Path 40 + (10-40)/2 = 25; line 40 - 20·2 = 0, but a rank is at least 1: projected 1 <= 10.
    (
        "rank_on_track",
        case("rank", "<=", 10, 2022, (2020, 40), [(2021, 20)]),
        expect("on_track", 1.0, 25, 20, 2021, 1, True),
    ),
    # Rank 8 <= 10: achieved; CAGR 8/40 - 1 = -0.8, R = 0.8/0.5 = 1.6; line 40 - 32·2 = -24,
    # bounded to rank 1.
    (
        "rank_achieved",
        case("rank", "<=", 10, 2022, (2020, 40), [(2021, 8)]),
        expect("achieved", 1.6, 25, 8, 2021, 1, True),
    ),
    # Count with no baseline: base = earliest observation (2020, 50). Needs (200/50)^(1/2) - 1 = 1.0;
    # 50 -> 100 in a year is 1.0: R = 1. Path 50 + 150/2 = 125; line 50 + 50·2 = 150 < 200.
    (
        "count_base_from_earliest",
        case("count", ">=", 200, 2022, None, [(2020, 50), (2021, 100)]),
        expect("on_track", 1.0, 125, 100, 2021, 150, False),
    ),
    # Growth 10 %/yr: 100 (2022) -> 121 (2024) is sqrt(1.21) - 1 = 10 %: R = 10/10 = 1, before T.
    (
        "growth_on_track",
        case("growth", ">=", 10, 2030, None, [(2022, 100), (2024, 121)]),
        expect("on_track", 1.0, None, 121, 2024, None, None),
    ),
    # Same pace with T = 2024 reached: achieved (t >= T and 10 >= 10).
    (
        "growth_achieved_at_T",
        case("growth", ">=", 10, 2024, None, [(2022, 100), (2024, 121)]),
        expect("achieved", 1.0, None, 121, 2024, None, None),
    ),
    # 10 %/yr against 20 %/yr: R = 0.5.
    (
        "growth_limited",
        case("growth", ">=", 20, 2030, None, [(2022, 100), (2024, 121)]),
        expect("limited_progress", 0.5, None, 121, 2024, None, None),
    ),
    # 100 -> 81 over 2 years: sqrt(0.81) - 1 = -10 %/yr, R = -10/20 = -0.5.
    (
        "growth_deteriorating",
        case("growth", ">=", 20, 2030, None, [(2022, 100), (2024, 81)]),
        expect("deteriorating", -0.5, None, 81, 2024, None, None),
    ),
    # Past T (2023) with 10 < 20: not achieved; the bands apply (R = 0.5).
    (
        "growth_past_T_not_met",
        case("growth", ">=", 20, 2023, None, [(2022, 100), (2024, 121)]),
        expect("limited_progress", 0.5, None, 121, 2024, None, None),
    ),
    # Growth with one year: insufficient data.
    (
        "growth_single_point",
        case("growth", ">=", 10, 2030, None, [(2024, 121)]),
        expect("insufficient_data", None, None, 121, 2024, None, None),
    ),
    # One point, not met: insufficient data; the path at t = t0 is the point itself; no projection.
    (
        "single_point",
        case("level", ">=", 50, 2030, None, [(2024, 30)]),
        expect("insufficient_data", None, 30, 30, 2024, None, None),
    ),
    # One point already meeting the target: achieved, no ratio.
    (
        "single_point_achieved",
        case("level", ">=", 50, 2030, None, [(2024, 60)]),
        expect("achieved", None, 60, 60, 2024, None, None),
    ),
    # The 2023 figure is after as_of 2022 and ignored: same as the first case.
    (
        "after_as_of_ignored",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 110), (2023, 500)], A=2022),
        expect("limited_progress", 0.5, 122, 110, 2021, 120, False),
    ),
    # Base -5 and current 5 have opposite signs: no ratio. Path -5 + 15·(2/10) = -2;
    # line -5 + 10·(10/2) = 45 >= 10.
    (
        "opposite_signs",
        case("level", ">=", 10, 2030, (2020, -5), [(2022, 5)]),
        expect("insufficient_data", None, -2, 5, 2022, 45, True),
    ),
    # A baseline (2023) later than the latest figure (2021) is not used: base = (2020, 100).
    (
        "baseline_later_than_data",
        case("level", ">=", 144, 2022, (2023, 999), [(2020, 100), (2021, 110)]),
        expect("limited_progress", 0.5, 122, 110, 2021, 120, False),
    ),
    # A baseline of the current year is not earlier than it: base = earliest observation.
    (
        "baseline_same_year_as_current",
        case("level", ">=", 144, 2022, (2021, 50), [(2020, 100), (2021, 110)]),
        expect("limited_progress", 0.5, 122, 110, 2021, 120, False),
    ),
    # Base 0 -> 0.001. Now 0.002/0.001 = 2 in a year: CAGR 1. Needs (10/0.001)^(1/2) - 1 = 99.
    # R = 1/99. Path 0 + 10/2 = 5; line 0 + 0.002·2 = 0.004.
    (
        "zero_base",
        case("level", ">=", 10, 2022, (2020, 0), [(2021, 0.002)]),
        expect("limited_progress", 1 / 99, 5, 0.002, 2021, 0.004, False),
    ),
    # Current 0 -> 0.001 in the CAGR: 0.001/10 - 1 = -0.9999, d = -1 -> 0.9999. Needs sqrt(0.1) - 1.
    # 0 <= 1: achieved. Path 10 + (1-10)/2 = 5.5; line 10 - 10·2 = -10.
    (
        "zero_current_lower_better",
        case("level", "<=", 1, 2022, (2020, 10), [(2021, 0)]),
        expect("achieved", 0.9999 / (1 - 0.1**0.5), 5.5, 0, 2021, -10, True),
    ),
    # value_max (the band's stretch end) changes nothing: same as "on_track_R_1".
    (
        "band_value_max_ignored",
        case("level", ">=", 144, 2022, (2020, 100), [(2021, 120)], value_max=200),
        expect("on_track", 1.0, 122, 120, 2021, 140, False),
    ),
    # Three years, no baseline: OLS over (2020,10) (2021,12) (2022,17): mean x 2021, mean y 13,
    # Sxx = 2, Sxy = (-1)(-3) + (1)(4) = 7, slope 3.5 -> 13 + 3.5·4 = 27 at 2025 < 30.
    # R = (17/10)^(1/2) - 1 over (30/10)^(1/5) - 1 = 0.3038405 / 0.2457309 = 1.2364763.
    # Path 10 + 20·(2/5) = 18.
    (
        "ols_three_points",
        case("level", ">=", 30, 2025, None, [(2020, 10), (2021, 12), (2022, 17)]),
        expect("on_track", 1.2364763, 18, 17, 2022, 27, False),
    ),
    # A baseline (2020, 8) of a year with an observation: the base of R is the baseline, but in the
    # regression the 2020 observation (10) replaces it, so the projection is 27 as above.
    # R = (17/8)^(1/2) - 1 over (30/8)^(1/5) - 1 = 0.4577380 / 0.3025855 = 1.5127556.
    # Path 8 + 22·(2/5) = 16.8.
    (
        "ols_baseline_replaced_by_observation",
        case("level", ">=", 30, 2025, (2020, 8), [(2020, 10), (2021, 12), (2022, 17)]),
        expect("on_track", 1.5127556, 16.8, 17, 2022, 27, False),
    ),
    # Baseline (2019, 7) adds a fourth point: x 2019..2022, y 7 10 12 17; mean x 2020.5, mean y 11.5,
    # Sxx = 5, Sxy = 6.75 + 0.75 + 0.25 + 8.25 = 16, slope 3.2 -> 11.5 + 3.2·4.5 = 25.9 at 2025.
    # R = (17/7)^(1/3) - 1 over (30/7)^(1/6) - 1 = 0.3441579 / 0.2744923 = 1.2537982.
    # Path 7 + 23·(3/6) = 18.5.
    (
        "ols_with_baseline_point",
        case("level", ">=", 30, 2025, (2019, 7), [(2020, 10), (2021, 12), (2022, 17)]),
        expect("on_track", 1.2537982, 18.5, 17, 2022, 25.9, False),
    ),
    # Target equal to the base: the required growth is 0 so R is undefined; the figure moved the
    # wrong way (100 -> 90), so deteriorating. Path stays 100; line 100 - 10·2 = 80.
    (
        "zero_requirement",
        case("level", ">=", 100, 2022, (2020, 100), [(2021, 90)]),
        expect("deteriorating", None, 100, 90, 2021, 80, False),
    ),
    # No observations at all.
    (
        "no_data",
        case("level", ">=", 10, 2030, (2020, 5), []),
        expect("no_data", None, None, None, None, None, None),
    ),
    # Every observation is after as_of: nothing is known yet.
    (
        "all_after_as_of",
        case("level", ">=", 10, 2030, (2020, 5), [(2026, 7)], A=2025),
        expect("no_data", None, None, None, None, None, None),
    ),
    # Order of observations does not matter: current = latest year (2022), base = earliest (2020).
    (
        "unordered_observations",
        case("level", ">=", 30, 2025, None, [(2022, 17), (2020, 10), (2021, 12)]),
        expect("on_track", 1.2364763, 18, 17, 2022, 27, False),
    ),
]


@pytest.mark.parametrize(("name", "given", "wanted"), CASES, ids=[c[0] for c in CASES])
def test_contract_case(name, given, wanted):  # noqa: ARG001 - `name` is the case's id
    got = assess(given)
    # The headline fields came later; test_assess_headline.py checks them.
    assert set(got) == set(wanted) | {"headline", "headline_rule", "anticipated_gap"}
    for key, value in wanted.items():
        if isinstance(value, float) and not isinstance(value, bool):
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
        else:
            assert got[key] == value, key
    assert isinstance(got["status"], str)


def test_at_least_25_hand_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        ({"target": {"kind": "level"}}, "operator"),
        ({**case("level", ">=", 1, 2030, None, []), "target": {"kind": "median"}}, "kind"),
        (case("level", "=>", 1, 2030, None, []), "operator"),
        (case("level", ">=", "ten", 2030, None, []), "target.value"),
        ({**case("level", ">=", 1, 2030, None, []), "observations": [{"year": "2020", "value": 1}]}, "year"),
        ({**case("level", ">=", 1, 2030, None, []), "as_of_year": None}, "as_of_year"),
    ],
)
def test_malformed_case_is_a_bilingual_error(broken, fragment):
    with pytest.raises(CaseError) as err:
        assess(broken)
    assert fragment in err.value.en
    assert fragment in err.value.vi
    assert err.value.vi != err.value.en


def test_cli_prints_the_contract_json(tmp_path: Path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASES[0][1]), encoding="utf-8")
    result = CliRunner().invoke(app, ["assess", str(path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert list(printed) == [
        "status",
        "progress_ratio",
        "expected_value",
        "current_value",
        "current_year",
        "projected_value",
        "will_meet",
        "headline",
        "headline_rule",
        "anticipated_gap",
    ]
    assert printed["status"] == "limited_progress"
    assert printed["progress_ratio"] == pytest.approx(0.5)


def test_cli_rejects_bad_json(tmp_path: Path):
    path = tmp_path / "case.json"
    path.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(app, ["assess", str(path)])
    assert result.exit_code == 2
    assert "JSON" in result.output
