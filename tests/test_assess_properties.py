"""Properties of the assessment method (hypothesis), and agreement of the one-case and set-wise forms."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chitieu.assess import assess
from chitieu.assess.vector import assess_frame, frame_to_contract

OPS = [">=", ">", "<=", "<"]
values = st.one_of(
    st.floats(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False).map(
        lambda v: round(v, 2)
    ),
    st.sampled_from([0.0, 1.0, 100.0, -1.0]),
)
years = st.integers(min_value=2015, max_value=2030)


@st.composite
def cases(draw, kinds=("level", "rank", "count", "growth")):
    obs = draw(st.lists(st.tuples(years, values), max_size=8))
    baseline = draw(st.one_of(st.none(), st.tuples(years, values)))
    return {
        "target": {
            "kind": draw(st.sampled_from(kinds)),
            "operator": draw(st.sampled_from(OPS)),
            "value": draw(values),
            "value_max": draw(st.one_of(st.none(), values)),
            "target_year": draw(st.integers(min_value=2020, max_value=2035)),
        },
        "baseline": None if baseline is None else {"year": baseline[0], "value": baseline[1]},
        "observations": [{"year": y, "value": v} for y, v in obs],
        "as_of_year": draw(st.integers(min_value=2015, max_value=2031)),
    }


def to_frames(batch):
    rows, obs = [], []
    for i, c in enumerate(batch):
        t, b = c["target"], c["baseline"]
        rows.append(
            {
                "kind": t["kind"],
                "operator": t["operator"],
                "value": t["value"],
                "target_year": t["target_year"],
                "baseline_year": math.nan if b is None else b["year"],
                "baseline_value": math.nan if b is None else b["value"],
                "as_of_year": c["as_of_year"],
            }
        )
        obs.extend({"sid": i, "year": o["year"], "value": o["value"]} for o in c["observations"])
    return pd.DataFrame(rows), pd.DataFrame(obs, columns=["sid", "year", "value"])


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-7, abs=1e-7)
    return a == b


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cases(), min_size=1, max_size=12))
def test_vector_form_agrees_with_the_contract(batch):
    frame_cases, frame_obs = to_frames(batch)
    vectorised = frame_to_contract(assess_frame(frame_cases, frame_obs))
    for c, got in zip(batch, vectorised, strict=True):
        wanted = assess(c)
        for key in wanted:
            assert same(got[key], wanted[key]), (key, c, got, wanted)


def meets(y, op, v):
    return {">=": y >= v, ">": y > v, "<=": y <= v, "<": y < v}[op]


@settings(max_examples=300, deadline=None)
@given(cases(kinds=("level", "rank", "count")))
def test_achieved_iff_current_meets_the_operator(c):
    out = assess(c)
    known = [o for o in c["observations"] if o["year"] <= c["as_of_year"]]
    if not known:
        assert out["status"] == "no_data"
        return
    latest = max(o["year"] for o in known)
    current = [o["value"] for o in known if o["year"] == latest][-1]
    assert out["current_value"] == current
    assert out["current_year"] == latest
    assert (out["status"] == "achieved") == meets(current, c["target"]["operator"], c["target"]["value"])


@settings(max_examples=300, deadline=None)
@given(
    start=st.floats(min_value=0.5, max_value=500),
    steps=st.lists(st.floats(min_value=0.01, max_value=50), min_size=1, max_size=8),
    op=st.sampled_from(OPS),
    target=st.floats(min_value=0.5, max_value=1000),
    target_year=st.integers(min_value=2026, max_value=2035),
)
def test_monotone_improvement_is_never_deteriorating(start, steps, op, target, target_year):
    # Improvement in the target's direction, all values positive, no baseline.
    higher = op in (">=", ">")
    series, y = [], start
    for i, step in enumerate([0.0, *steps]):
        y = y + step if higher else y * (1 - min(step, 50) / 100)
        series.append({"year": 2016 + i, "value": y})
    c = {
        "target": {
            "kind": "level",
            "operator": op,
            "value": target,
            "value_max": None,
            "target_year": target_year,
        },
        "baseline": None,
        "observations": series,
        "as_of_year": 2030,
    }
    out = assess(c)
    assert out["status"] != "deteriorating"
    assert out["progress_ratio"] is None or out["progress_ratio"] >= 0


@settings(max_examples=200, deadline=None)
@given(cases())
def test_order_of_observations_does_not_matter(c):
    # Only meaningful when no year repeats (a repeated year keeps its last figure).
    seen = {}
    for o in c["observations"]:
        seen[o["year"]] = o
    c["observations"] = list(seen.values())
    reversed_case = {**c, "observations": list(reversed(c["observations"]))}
    a, b = assess(c), assess(reversed_case)
    for key in a:
        assert same(a[key], b[key]), key


@settings(max_examples=300, deadline=None)
@given(cases())
def test_ratio_and_projection_are_given_exactly_when_defined(c):
    out = assess(c)
    known = {o["year"] for o in c["observations"] if o["year"] <= c["as_of_year"]}
    if len(known) <= 1 and (c["baseline"] is None or not known or c["baseline"]["year"] >= max(known)):
        assert out["progress_ratio"] is None  # a single year: no ratio
    if c["target"]["kind"] == "growth":
        assert out["expected_value"] is None
        assert out["projected_value"] is None
        assert out["will_meet"] is None
    elif out["projected_value"] is not None:
        target = c["target"]
        assert out["will_meet"] == meets(out["projected_value"], target["operator"], target["value"])
    banded = ("on_track", "needs_acceleration", "limited_progress")
    if out["status"] in banded and out["progress_ratio"] is not None:
        assert out["progress_ratio"] >= 0
    if out["status"] == "deteriorating" and out["progress_ratio"] is not None:
        assert out["progress_ratio"] < 0
    if out["progress_ratio"] is not None and out["status"] != "achieved":
        r = out["progress_ratio"]
        band = (
            "on_track"
            if r >= 0.95
            else "needs_acceleration"
            if r >= 0.6
            else "limited_progress"
            if r >= 0
            else "deteriorating"
        )
        assert out["status"] == band
