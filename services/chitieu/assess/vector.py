"""The assessment contract over many series at once (numpy), for the evaluation engine.

Same method and the same formulas as `core.assess` (both call `formulas.decide`); only the choice of
base/current and the least-squares sums are done set-wise here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chitieu.assess import formulas

CASE_COLUMNS = ("kind", "operator", "value", "target_year", "baseline_year", "baseline_value", "as_of_year")
_X0 = 2000.0  # centre years before summing squares, for numerical stability


def assess_frame(cases: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Assess every case (row i of `cases`) on its observations (rows of `obs` with sid == i).

    cases: columns CASE_COLUMNS (baseline_year/value NaN when there is no baseline), optionally
    rank_max (the ranking's size for rank targets; NaN or absent: unknown), any index;
    obs: columns sid (0-based position in `cases`), year, value. A repeated (sid, year) keeps its
    last row. Returns the contract's outputs plus base_year, base_value, base_is_baseline, n_years,
    indexed like `cases`.
    """
    n = len(cases)
    as_of = cases["as_of_year"].to_numpy(dtype=float)
    sid = obs["sid"].to_numpy(dtype=np.int64)
    year = obs["year"].to_numpy(dtype=np.int64)
    value = obs["value"].to_numpy(dtype=float)
    keep = year <= as_of[sid]
    sid, year, value = sid[keep], year[keep], value[keep]

    order = np.lexsort((np.arange(len(sid)), year, sid))
    sid, year, value = sid[order], year[order], value[order]
    if len(sid):
        last_of_year = np.ones(len(sid), dtype=bool)
        last_of_year[:-1] = (sid[1:] != sid[:-1]) | (year[1:] != year[:-1])
        sid, year, value = sid[last_of_year], year[last_of_year], value[last_of_year]

    t = np.full(n, np.nan)
    yt = np.full(n, np.nan)
    first_year = np.full(n, np.nan)
    first_value = np.full(n, np.nan)
    if len(sid):
        is_first = np.ones(len(sid), dtype=bool)
        is_first[1:] = sid[1:] != sid[:-1]
        is_last = np.ones(len(sid), dtype=bool)
        is_last[:-1] = sid[1:] != sid[:-1]
        first_year[sid[is_first]] = year[is_first]
        first_value[sid[is_first]] = value[is_first]
        t[sid[is_last]] = year[is_last]
        yt[sid[is_last]] = value[is_last]

    by = cases["baseline_year"].to_numpy(dtype=float)
    bv = cases["baseline_value"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        use_baseline = ~np.isnan(by) & ~np.isnan(bv) & (by < t)
    t0 = np.where(use_baseline, by, first_year)
    y0 = np.where(use_baseline, bv, first_value)

    # Least squares over the observations plus the base point, unless an observation has its year.
    positions = np.flatnonzero(use_baseline)
    # (sid, year) keys are sorted (rows are ordered by sid, then year), so a binary search finds
    # whether an observation has the baseline's year.
    keys = sid * 10_000 + (year - 1_000)
    baseline_keys = positions * 10_000 + (by[positions].astype(np.int64) - 1_000)
    found = np.searchsorted(keys, baseline_keys)
    clipped = np.minimum(found, max(len(keys) - 1, 0))
    present = (found < len(keys)) & (keys[clipped] == baseline_keys) if len(keys) else np.zeros(0, bool)
    add = positions[~present]
    ps = np.concatenate([sid, add])
    px = np.concatenate([year.astype(float), by[add]]) - _X0
    py = np.concatenate([value, bv[add]])
    count = np.bincount(ps, minlength=n).astype(float)
    sx = np.bincount(ps, weights=px, minlength=n)
    sy = np.bincount(ps, weights=py, minlength=n)
    sxx = np.bincount(ps, weights=px * px, minlength=n)
    sxy = np.bincount(ps, weights=px * py, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (count * sxy - sx * sy) / (count * sxx - sx * sx)
        intercept = (sy - slope * sx) / count
    target_year = cases["target_year"].to_numpy(dtype=float)
    ols = intercept + slope * (target_year - _X0)

    out = formulas.decide(
        growth=(cases["kind"] == "growth").to_numpy(),
        op=formulas.op_codes(cases["operator"]),
        value=cases["value"].to_numpy(dtype=float),
        target_year=target_year,
        t=t,
        yt=yt,
        t0=t0,
        y0=y0,
        ols_projection=ols,
        n_years=count,
        rank_max=_rank_max(cases),
    )
    frame = pd.DataFrame(out, index=cases.index)
    frame["base_year"] = np.where(np.isnan(t), np.nan, t0)
    frame["base_value"] = np.where(np.isnan(t), np.nan, y0)
    frame["base_is_baseline"] = use_baseline
    frame["n_years"] = count.astype(np.int64)
    return frame


def _rank_max(cases: pd.DataFrame) -> np.ndarray:
    """The ranking's size for rank targets (inf where unknown: bounded below by 1 only), NaN for others."""
    given = cases["rank_max"].to_numpy(dtype=float) if "rank_max" in cases else np.full(len(cases), np.nan)
    is_rank = (cases["kind"] == "rank").to_numpy()
    return np.where(is_rank, np.where(np.isnan(given), np.inf, given), np.nan)


def frame_to_contract(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The contract's dicts from `assess_frame` output (for comparison with `core.assess`)."""
    rows = []
    for rec in frame.to_dict("records"):
        row: dict[str, object] = {}
        for key in formulas.OUTPUT_KEYS:
            v = rec[key]
            if isinstance(v, float) and np.isnan(v):
                row[key] = None
            elif key == "current_year":  # float columns in the frame, whole years / booleans in the contract
                row[key] = int(v)
            elif key == "will_meet":
                row[key] = bool(v)
            else:
                row[key] = v
        rows.append(row)
    return rows
