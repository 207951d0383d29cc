"""Property: no progress ratio, projection or trend is ever computed between figures of different
territories, whatever the figures, kinds and succession (the engine's frames, no database)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chitieu.evaluate.compute import evaluate_frames
from chitieu.evaluate.load import TARGET_COLUMNS

MERGER = date(2025, 7, 1)
# Two provinces merged into one; a third is unchanged under a new id.
SUCC = pd.DataFrame(
    {
        "predecessor_id": ["old-a", "old-b", "old-c"],
        "successor_id": ["new-ab", "new-ab", "new-c"],
        "effective_on": [MERGER] * 3,
        "legal_basis": ["NQ 202/2025/QH15"] * 3,
    }
)
PREDS = SUCC[["successor_id", "predecessor_id", "effective_on"]].assign(successors_of_predecessor=1)
JURS = ["old-a", "old-b", "old-c", "new-ab", "new-c"]
INDICATORS = {
    # code: (value_type, aggregation, weight)
    "share": ("share_pct", "weighted_mean", "w"),
    "count": ("count", "sum", None),
    "rank": ("rank", "none", None),
    "mean": ("share_pct", "mean", None),
}

figure = st.floats(min_value=-50, max_value=500, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def scenarios(draw):
    obs = []
    for jur in JURS:
        for code in [*INDICATORS, "w"]:
            for year in draw(st.sets(st.integers(2018, 2027), max_size=5)):
                if jur.startswith("old") and year > 2025 and not draw(st.booleans()):
                    continue
                value = draw(figure) if code != "w" else draw(st.floats(0.5, 100).map(lambda x: round(x, 2)))
                obs.append((jur, code, year, value))
    targets = []
    for i in range(draw(st.integers(1, 8))):
        code = draw(st.sampled_from(list(INDICATORS)))
        kind = {"rank": "rank", "count": draw(st.sampled_from(["count", "growth", "level"]))}.get(
            code, "level"
        )
        value_type, aggregation, weight = INDICATORS[code]
        has_base = draw(st.booleans())
        targets.append(
            {
                "id": f"t{i}",
                "plan_id": "p",
                "indicator_code": code,
                "jurisdiction_id": draw(st.sampled_from(JURS)),
                "target_year": draw(st.integers(2024, 2035)),
                "kind": kind,
                "operator": draw(st.sampled_from([">=", "<=", ">", "<"])),
                "value": draw(figure),
                "value_max": np.nan,
                "every_year": draw(st.booleans()),
                "parent_target_id": None,
                "relative_to": None,
                "due_date": None,
                "baseline_year": float(draw(st.integers(2018, 2024))) if has_base else np.nan,
                "baseline_value": draw(figure) if has_base else np.nan,
                "issued_on": date(2021, 1, 1),
                "value_type": value_type,
                "aggregation": aggregation,
                "aggregation_weight": weight,
                "jurisdiction_level": "province",
            }
        )
    as_of = datetime(draw(st.integers(2024, 2028)), 6, 1, tzinfo=UTC)
    return obs, pd.DataFrame(targets, columns=list(TARGET_COLUMNS)), as_of


def _obs_frame(obs):
    frame = pd.DataFrame(obs, columns=["jurisdiction_id", "indicator_code", "year", "value"])
    frame = frame.drop_duplicates(["jurisdiction_id", "indicator_code", "year"], keep="last")
    return frame.assign(provisional=False, loaded=1.6e9, fetched=1.6e9, prev_value=np.nan).reset_index(
        drop=True
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_verdict_uses_the_figures_of_one_territory(scenario):
    obs, targets, as_of = scenario
    frame = _obs_frame(obs)
    milestones = pd.DataFrame(
        columns=["jurisdiction_id", "indicator_code", "done_on", "value", "provisional"]
    )
    results = evaluate_frames(
        targets, frame, SUCC, milestones, as_of, frozenset({"old-a", "old-b", "old-c"}), PREDS
    )
    published = {(r.jurisdiction_id, r.indicator_code, r.year): r.value for r in frame.itertuples()}
    derived = {
        (r.jurisdiction_id, r.indicator_code, r.year): r.value
        for r in results.attrs["derived"].itertuples()
        if r.value == r.value
    }
    by_id = targets.set_index("id")
    for row in results[results["check_year"].isna()].itertuples():
        territory = row.data_jurisdiction_id
        code = row.indicator_code
        lineage = json.loads(row.lineage)
        inputs = json.loads(row.inputs)
        assert lineage["territory_id"] == territory
        if territory != row.jurisdiction_id:
            assert row.series_basis == "successor_comparable"
        # Every point the verdict used is a figure of that one territory: published, or derived
        # from its predecessors (then only where none was published for it).
        for year, value in inputs["observations"]:
            key = (territory, code, year)
            if key in published:
                assert published[key] == value
            else:
                assert derived.get(key) == value, (row.target_id, key, value)
        years = {y for y, _ in inputs["observations"]}
        if row.current_year is not pd.NA and row.current_year is not None:
            assert row.current_year in years
        # The base is a point of the same series, or the plan's baseline of the target's own territory.
        base = inputs["base"]
        if base is not None:
            if base["from"] == "baseline":
                own_baseline = by_id.at[row.target_id, "baseline_value"]
                if territory == row.jurisdiction_id:
                    assert base["value"] == own_baseline
                else:
                    assert [base["year"], base["value"]] in inputs["observations"]
            else:
                assert base["year"] in years
        # A ceased province's count target is never judged on its successor's figures.
        if by_id.at[row.target_id, "kind"] in ("count", "growth") and row.jurisdiction_id == "old-a":
            assert territory == "old-a"
        # Ranks stay ranks.
        if by_id.at[row.target_id, "kind"] == "rank" and row.projected_value == row.projected_value:
            assert 1 <= row.projected_value <= 63
