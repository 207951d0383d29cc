"""Set-based evaluation of every (target, jurisdiction): the contract plus the rules beyond it.

Pure pandas/numpy over frames from `load`: no SQL here, so the rules can be read in one place.
The rules are described in docs/assessment.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from chitieu.assess import formulas
from chitieu.assess.vector import assess_frame
from chitieu.evaluate import comparable

# The 63 provinces became 34 on this day; rankings published after it rank the 34 (DTI 2024,
# published October 2025, already ranks 34).
MERGER_DATE = date(2025, 7, 1)
MERGER_EPOCH = datetime(2025, 7, 1, tzinfo=UTC).timestamp()
COHORT_BEFORE = 63  # provinces ranked before the merger
COHORT_AFTER = 34  # and after it

RESULT_COLUMNS = [
    "target_id",
    "plan_id",
    "jurisdiction_id",
    "data_jurisdiction_id",
    "indicator_code",
    "target_year",
    "check_year",
    *formulas.JUDGEMENT_KEYS,
    "base_year",
    "base_value",
    "flags",
    "lineage",
    "inputs",
    "headline_status",
    "headline_rule",
    "anticipated_gap",
    "series_basis",
]
FLAG_ORDER = (
    "revision_driven",
    "cohort_changed",
    "successor_data",
    "relative_national",
    "parent_share",
    "provisional_data",
)


class Succession(NamedTuple):
    predecessor_id: str
    successor_id: str
    effective_on: date
    legal_basis: str | None


class Completion(NamedTuple):
    done_on: date
    value: float
    provisional: bool


def _succession_map(succ: pd.DataFrame) -> dict[str, Succession]:
    if succ.empty:
        return {}
    return {
        p: Succession(p, s, e, lb)
        for p, s, e, lb in zip(
            succ["predecessor_id"],
            succ["successor_id"],
            succ["effective_on"],
            succ["legal_basis"],
            strict=True,
        )
    }


@lru_cache(maxsize=4096)
def _iso(epoch: float) -> str | None:
    # Few distinct vintages exist (one per load), hence the cache.
    if epoch is None or np.isnan(epoch):
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _num(x: object) -> float | int | None:
    if x is None:
        return None
    f = float(x)  # type: ignore[arg-type]
    if np.isnan(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 1e15 else f


SERIES_COLUMNS = [
    "sid",
    "year",
    "value",
    "prev_value",
    "provisional",
    "loaded",
    "fetched",
    "from_successor",
    "derived",
    "data_jurisdiction_id",
]


def series_rows(
    targets: pd.DataFrame, obs: pd.DataFrame, territory: np.ndarray, derived: pd.DataFrame
) -> pd.DataFrame:
    """The yearly figures each target is judged on: sid (target position), year, value, ...

    Every row of a target is of one territory (`territory[sid]`): its published figures, and for the
    years before a successor existed, the values derived from its predecessors (`derived`, only
    where none is published; those with a value). `from_successor`: the territory is not the
    target's own jurisdiction.
    """
    n = len(targets)
    own_jur = targets["jurisdiction_id"].to_numpy()
    req = pd.DataFrame(
        {
            "sid": np.arange(n),
            "jurisdiction_id": territory,
            "indicator_code": targets["indicator_code"].to_numpy(),
            "from_successor": territory != own_jur,
        }
    )
    if obs.empty and derived.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    parts = []
    if not obs.empty:
        # Join on integer codes of (jurisdiction, indicator): far cheaper than on two string columns.
        jcats = pd.Index(
            pd.unique(np.concatenate([_distinct(obs["jurisdiction_id"]), req["jurisdiction_id"]]))
        )
        icats = pd.Index(pd.unique(np.concatenate([_distinct(obs["indicator_code"]), req["indicator_code"]])))
        width = len(icats)
        obs_key = _codes(obs["jurisdiction_id"], jcats) * width + _codes(obs["indicator_code"], icats)
        req_key = _codes(req["jurisdiction_id"], jcats) * width + _codes(req["indicator_code"], icats)
        left = pd.DataFrame(
            {
                "key": obs_key,
                "year": obs["year"].to_numpy(),
                "value": obs["value"].to_numpy(),
                "prev_value": obs["prev_value"].to_numpy(),
                "provisional": obs["provisional"].to_numpy(),
                "loaded": obs["loaded"].to_numpy(),
                "fetched": obs["fetched"].to_numpy(),
            }
        )
        right = pd.DataFrame(
            {
                "key": req_key,
                "sid": req["sid"].to_numpy(),
                "from_successor": req["from_successor"].to_numpy(),
                "data_jurisdiction_id": req["jurisdiction_id"].to_numpy(),
            }
        )
        published = right.merge(left, on="key", how="inner").drop(columns=["key"])
        published["derived"] = False
        parts.append(published)
    usable = derived[derived["value"].notna()] if not derived.empty else derived
    if not usable.empty:
        rebuilt = req.merge(
            usable[
                ["jurisdiction_id", "indicator_code", "year", "value", "provisional", "loaded", "fetched"]
            ],
            on=["jurisdiction_id", "indicator_code"],
        ).rename(columns={"jurisdiction_id": "data_jurisdiction_id"})
        rebuilt = rebuilt.drop(columns=["indicator_code"])
        rebuilt["prev_value"] = np.nan
        rebuilt["derived"] = True
        parts.append(rebuilt)
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    rows = rows.sort_values(["sid", "year"], kind="stable")
    rows["provisional"] = rows["provisional"].astype(bool)
    rows["derived"] = rows["derived"].astype(bool)
    rows["from_successor"] = rows["from_successor"].astype(bool)
    return rows[SERIES_COLUMNS].reset_index(drop=True)


def _distinct(col: pd.Series) -> np.ndarray:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.categories, dtype=object)
    return np.asarray(pd.unique(col.to_numpy()), dtype=object)


def _codes(col: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value of col in index, as int64 (via the categories for a categorical)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return index.get_indexer(pd.Index(col.cat.categories)).astype(np.int64)[col.cat.codes.to_numpy()]
    return index.get_indexer(pd.Index(col.to_numpy())).astype(np.int64)


def _cases(targets: pd.DataFrame, as_of_year: int, value: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": targets["kind"].to_numpy(),
            "operator": targets["operator"].to_numpy(),
            "value": value,
            "target_year": targets["target_year"].to_numpy(),
            "baseline_year": targets["baseline_year"].to_numpy(dtype=float),
            "baseline_value": targets["baseline_value"].to_numpy(dtype=float),
            "as_of_year": as_of_year,
            "rank_max": targets["rank_max"].to_numpy(dtype=float) if "rank_max" in targets else np.nan,
        }
    )


def _ranks_the_34(rows: pd.DataFrame, ceased: set[str] | frozenset[str]) -> np.ndarray:
    """Per series row: whether a rank of that year belongs to the ranking of the 34 provinces.

    A figure for 2025 on, or for 2024 fetched after the merger, ranks the 34, unless it is a figure
    of a province that ceased at the merger (only the 63 ranked those; e.g. a 2024 rank quoted by a
    pre-merger plan and loaded later).
    """
    if rows.empty:
        return np.zeros(0, dtype=bool)
    years = rows["year"].to_numpy()
    fetched = rows["fetched"].to_numpy(dtype=float)
    of_ceased = rows["data_jurisdiction_id"].isin(list(ceased)).to_numpy(dtype=bool)
    post: np.ndarray = ~of_ceased & (
        (years >= MERGER_DATE.year) | ((years == MERGER_DATE.year - 1) & (fetched >= MERGER_EPOCH))
    )
    return post


def _national(obs: pd.DataFrame, *, previous: bool = False) -> pd.Series:
    """National ('vn') figures by (indicator, year); with previous=True, revised periods give the
    value of their previous vintage."""
    nat = obs[obs["jurisdiction_id"] == "vn"]
    codes = nat["indicator_code"].astype(object).to_numpy()
    values = nat["value"].to_numpy(dtype=float)
    if previous:
        prev = nat["prev_value"].to_numpy(dtype=float)
        values = np.where(np.isnan(prev), values, prev)
    return pd.Series(values, index=pd.MultiIndex.from_arrays([codes, nat["year"].to_numpy()]))


def _lookup(national: pd.Series, codes: np.ndarray, years: np.ndarray) -> np.ndarray:
    if national.empty or len(codes) == 0:
        return np.full(len(codes), np.nan)
    idx = national.index.get_indexer(pd.MultiIndex.from_arrays([codes, years]))
    return np.where(idx >= 0, national.to_numpy()[np.maximum(idx, 0)], np.nan)


SID_BLOCK = 5_000  # targets whose rows are formatted at a time (see _joined_per_sid)


def _joined_per_sid(sid: np.ndarray, n: int, texts: Callable[[int, int], list[str]]) -> np.ndarray:
    """For each sid, the texts of its rows joined with ','; '' where it has none. Rows are sorted by
    sid; `texts(a, b)` formats rows a..b-1. They are formatted a block of whole sids at a time, so
    that one block's texts exist at once, never one per row of the whole set."""
    out = np.full(n, "", dtype=object)
    if len(sid) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    ends = np.r_[starts[1:], len(sid)]
    for first in range(0, len(starts), SID_BLOCK):
        block_starts, block_ends = starts[first : first + SID_BLOCK], ends[first : first + SID_BLOCK]
        lo = int(block_starts[0])
        items = texts(lo, int(block_ends[-1]))
        for a, b in zip((block_starts - lo).tolist(), (block_ends - lo).tolist(), strict=True):
            out[sid[a + lo]] = ",".join(items[a:b])
    return out


def _json_list_per_sid(rows: pd.DataFrame, n: int) -> np.ndarray:
    """'[year,value],[year,value]...' for each sid (rows sorted by sid, year)."""
    years, values = rows["year"].to_numpy(), rows["value"].to_numpy()
    return _joined_per_sid(
        rows["sid"].to_numpy(),
        n,
        lambda a, b: [f"[{y},{v!r}]" for y, v in zip(years[a:b].tolist(), values[a:b].tolist(), strict=True)],
    )


def _json_years_per_sid(rows: pd.DataFrame, mask: np.ndarray, n: int) -> np.ndarray:
    """'2024,2025' (the years of the masked rows) for each sid; '' where none."""
    years = rows["year"].to_numpy()[mask]
    return _joined_per_sid(
        rows["sid"].to_numpy()[mask], n, lambda a, b: [str(y) for y in years[a:b].tolist()]
    )


def _jnum(x: float | None) -> str:
    """A JSON number (integers without '.0'), or null."""
    if x is None or x != x:
        return "null"
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@lru_cache(maxsize=4096)
def _jiso(epoch: float) -> str:
    return _jstr(_iso(epoch))


def _jstr(x: str | None) -> str:
    return "null" if x is None else json.dumps(x, ensure_ascii=False)


def evaluate_frames(
    targets: pd.DataFrame,
    obs: pd.DataFrame,
    succ: pd.DataFrame,
    milestones: pd.DataFrame,
    as_of: datetime,
    ceased: set[str] | frozenset[str] = frozenset(),
    preds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every target's evaluation (one row; plus one `missed` row per failed year of every-year
    targets), with flags, lineage and inputs. Columns RESULT_COLUMNS; `attrs["derived"]` holds the
    successors' values derived from their predecessors (chitieu.evaluate.comparable).

    `ceased`: ids of jurisdictions that ended before the merger date (their rankings are of the 63).
    `preds`: every succession (load.predecessors), for the comparable series of successors.
    """
    targets = targets.reset_index(drop=True)
    numeric = targets[targets["kind"] != "milestone"].reset_index(drop=True)
    derived_out: list[pd.DataFrame] = []
    preds = preds if preds is not None else pd.DataFrame()
    parts = [_numeric_results(numeric, obs, succ, as_of, ceased, preds, derived_out)]
    ms = targets[targets["kind"] == "milestone"].reset_index(drop=True)
    if not ms.empty:
        parts.append(_milestone_results(ms, succ, milestones, as_of))
    results = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if results.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    results = results.sort_values(["target_id", "check_year"], na_position="first", kind="stable")
    out = results[RESULT_COLUMNS].reset_index(drop=True)
    out.attrs["derived"] = derived_out[0] if derived_out else comparable.Derived().frame()
    return out


class _Thresholds(NamedTuple):
    """Per target, what its latest figure is compared with. Relative targets: the threshold in year
    y is the national figure of year y plus the margin."""

    relative: np.ndarray  # judged against the national figure
    current_year: np.ndarray  # the year of its latest figure (NaN: none)
    nat_now: np.ndarray  # the national figure of that year (relative targets)
    effective: np.ndarray  # the threshold its latest figure is judged against
    no_national: np.ndarray  # relative, with a figure, but no national figure of its year


class _Verdicts(NamedTuple):
    """Per target, the contract's judgement (`res`, assess_frame's columns) and its status, headline
    and headline rule, with no judgement where a relative target had no threshold."""

    res: pd.DataFrame
    status: np.ndarray
    headline: np.ndarray
    headline_rule: np.ndarray


def _numeric_results(
    targets: pd.DataFrame,
    obs: pd.DataFrame,
    succ: pd.DataFrame,
    as_of: datetime,
    ceased: set[str] | frozenset[str] = frozenset(),
    preds: pd.DataFrame | None = None,
    derived_out: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The results of the numeric targets: one row per target, then the every-year misses."""
    as_of_year = as_of.year
    if len(targets) == 0:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    preds = preds if preds is not None else pd.DataFrame()
    territory, basis, derived = comparable.comparable_inputs(targets, obs, succ, preds, as_of.date())
    if derived_out is not None:
        derived_out.append(derived)
    rows = series_rows(targets, obs, territory, derived)
    rows = rows[rows["year"].to_numpy() <= as_of_year].reset_index(drop=True)
    value = targets["value"].to_numpy(dtype=float)
    targets, post, current_post = _judged_targets(targets, rows, territory, ceased)
    national = _national(obs)
    thresholds = _thresholds(targets, rows, national, value)
    verdicts = _verdicts(targets, rows, as_of_year, thresholds)
    revision_driven = _revision_driven(targets, rows, obs, as_of_year, verdicts, thresholds)
    data_jur, base_post = _current_data_and_base_cohort(territory, rows, verdicts.res, post)
    flag_arrays = _flag_arrays(
        targets, rows, verdicts.res, thresholds, revision_driven, base_post, current_post
    )
    from_succ = rows["from_successor"].to_numpy(dtype=bool)
    successor_years = _json_years_per_sid(rows, from_succ, len(targets))
    inputs = _inputs_json(targets, rows, verdicts.res, as_of_year, revision_driven, thresholds)
    lineage = _lineage(
        targets, rows, territory, basis, succ, derived, successor_years, current_post, base_post
    )
    main = _target_rows(
        targets, data_jur, verdicts, _flags(flag_arrays, len(targets)), lineage, inputs, basis
    )
    checked = _yearly_check_rows(targets, obs, rows, territory, succ, as_of_year)
    missed = _every_year_misses(targets, checked, national, as_of_year, flag_arrays, lineage, basis)
    return _with_misses(main, missed)


def _thresholds(
    targets: pd.DataFrame, rows: pd.DataFrame, national: pd.Series, value: np.ndarray
) -> _Thresholds:
    n = len(targets)
    relative = (targets["relative_to"] == "national").to_numpy()
    current_year = np.full(n, np.nan)
    if len(rows):
        last = rows.groupby("sid")["year"].max()
        current_year[last.index.to_numpy()] = last.to_numpy()
    codes = targets["indicator_code"].to_numpy()
    nat_now = np.full(n, np.nan)
    if relative.any():
        have = relative & ~np.isnan(current_year)
        nat_now[have] = _lookup(national, codes[have], current_year[have].astype(np.int64))
    effective = np.where(relative, nat_now + value, value)
    no_national = relative & ~np.isnan(current_year) & np.isnan(nat_now)
    effective = np.where(no_national, value, effective)
    return _Thresholds(relative, current_year, nat_now, effective, no_national)


def _verdicts(targets: pd.DataFrame, rows: pd.DataFrame, as_of_year: int, th: _Thresholds) -> _Verdicts:
    res = assess_frame(_cases(targets, as_of_year, th.effective), rows[["sid", "year", "value"]])
    status = res["status"].to_numpy().astype(object)
    # Without the national figure of the year there is no threshold: no judgement, no path.
    status[th.no_national] = "insufficient_data"
    for col in formulas.PATH_KEYS:
        res.loc[th.no_national, col] = np.nan
    headline = res["headline"].to_numpy().astype(object)
    headline_rule = res["headline_rule"].to_numpy().astype(object)
    headline[th.no_national] = "insufficient_data"
    headline_rule[th.no_national] = "status"
    return _Verdicts(res, status, headline, headline_rule)


def _flag_arrays(
    targets: pd.DataFrame,
    rows: pd.DataFrame,
    res: pd.DataFrame,
    th: _Thresholds,
    revision_driven: np.ndarray,
    base_post: np.ndarray,
    current_post: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per flag, which targets carry it (from the rows their verdicts used)."""
    n = len(targets)
    sid = rows["sid"].to_numpy(dtype=np.int64)
    provisional = np.zeros(n, dtype=bool)
    provisional[sid[rows["provisional"].to_numpy(dtype=bool)]] = True
    successor_used = np.zeros(n, dtype=bool)
    successor_used[sid[rows["from_successor"].to_numpy(dtype=bool)]] = True
    is_rank = (targets["kind"] == "rank").to_numpy()
    base_year = res["base_year"].to_numpy(dtype=float)
    return {
        "revision_driven": revision_driven,
        "cohort_changed": is_rank & ~np.isnan(base_year) & ~base_post & current_post,
        "successor_data": successor_used,
        "relative_national": th.relative,
        "parent_share": targets["parent_target_id"].notna().to_numpy(),
        "provisional_data": provisional,
    }


def _target_rows(
    targets: pd.DataFrame,
    data_jur: np.ndarray,
    v: _Verdicts,
    flags: np.ndarray,
    lineage: list[str],
    inputs: list[str],
    basis: np.ndarray,
) -> pd.DataFrame:
    """One result row per target (check_year empty), columns RESULT_COLUMNS."""
    n = len(targets)
    res = v.res
    return pd.DataFrame(
        {
            "target_id": targets["id"].to_numpy(),
            "plan_id": targets["plan_id"].to_numpy(),
            "jurisdiction_id": targets["jurisdiction_id"].to_numpy(),
            "data_jurisdiction_id": data_jur,
            "indicator_code": targets["indicator_code"].to_numpy(),
            "target_year": targets["target_year"].to_numpy(),
            "check_year": pd.array([pd.NA] * n, dtype="Int64"),
            "status": v.status,
            "progress_ratio": res["progress_ratio"].to_numpy(dtype=float),
            "expected_value": res["expected_value"].to_numpy(dtype=float),
            "current_value": res["current_value"].to_numpy(dtype=float),
            "current_year": pd.array(res["current_year"].to_numpy(dtype=float), dtype="Int64")
            if n
            else pd.array([], dtype="Int64"),
            "projected_value": res["projected_value"].to_numpy(dtype=float),
            "will_meet": pd.array(
                [None if np.isnan(w) else bool(w) for w in res["will_meet"].to_numpy(dtype=float)],
                dtype="boolean",
            ),
            "base_year": pd.array(res["base_year"].to_numpy(dtype=float), dtype="Int64")
            if n
            else pd.array([], dtype="Int64"),
            "base_value": res["base_value"].to_numpy(dtype=float),
            "flags": flags,
            "lineage": lineage,
            "inputs": inputs,
            "headline_status": v.headline,
            "headline_rule": v.headline_rule,
            "anticipated_gap": res["anticipated_gap"].to_numpy(dtype=float),
            "series_basis": basis,
        }
    )


def _with_misses(main: pd.DataFrame, missed: pd.DataFrame) -> pd.DataFrame:
    """The target rows and their every-year misses: an every-year constraint missed in any year
    checked is behind, whatever the trajectory says."""
    if missed.empty:
        return main
    missed_targets = main["target_id"].isin(set(missed["target_id"])).to_numpy()
    main.loc[missed_targets, "headline_status"] = "missed"
    main.loc[missed_targets, "headline_rule"] = "every_year_missed"
    return pd.concat([main, missed], ignore_index=True)


def _current_data_and_base_cohort(
    territory: np.ndarray, rows: pd.DataFrame, res: pd.DataFrame, post: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per target: the jurisdiction its current figure came from, and whether its base ranks the 34
    (a baseline of the merger year on; an observed base, as its series' first point does)."""
    n = len(territory)
    data_jur = territory.copy()
    base_post = np.zeros(n, dtype=bool)
    if rows.empty:
        return data_jur, base_post
    sid = rows["sid"].to_numpy(dtype=np.int64)
    is_last = np.ones(len(rows), dtype=bool)
    is_last[:-1] = sid[1:] != sid[:-1]
    data_jur[sid[is_last]] = rows["data_jurisdiction_id"].to_numpy()[is_last]
    base_year = res["base_year"].to_numpy(dtype=float)
    from_baseline = res["base_is_baseline"].to_numpy()
    first_pos = pd.Series(np.arange(len(rows))).groupby(sid).first()
    first_post = np.zeros(n, dtype=bool)
    first_post[first_pos.index.to_numpy()] = post[first_pos.to_numpy()]
    observed_base = ~from_baseline & ~np.isnan(base_year)
    base_post = np.where(from_baseline, base_year >= MERGER_DATE.year, False)
    return data_jur, np.where(observed_base, first_post, base_post)


def _inputs_json(
    targets: pd.DataFrame,
    rows: pd.DataFrame,
    res: pd.DataFrame,
    as_of_year: int,
    revision_driven: np.ndarray,
    th: _Thresholds,
) -> list[str]:
    """Per target, what its verdict was computed from (JSON text, assembled column-wise: json.dumps
    per row was the engine's hot spot)."""
    n = len(targets)
    relative, current_year, nat_now, effective, no_national = th
    revised = ~np.isnan(rows["prev_value"].to_numpy(dtype=float))
    sid = rows["sid"].to_numpy(dtype=np.int64)
    value = targets["value"].to_numpy(dtype=float)
    parent_share = targets["parent_target_id"].notna().to_numpy()
    obs_json = _json_list_per_sid(rows, n)
    loaded = rows["loaded"].to_numpy(dtype=float)
    loaded_min = np.full(n, np.nan)
    loaded_max = np.full(n, np.nan)
    if len(rows):
        g = pd.Series(loaded).groupby(sid)
        loaded_min[g.min().index.to_numpy()] = g.min().to_numpy()
        loaded_max[g.max().index.to_numpy()] = g.max().to_numpy()
    revised_years = _json_years_per_sid(rows, revised, n)
    provisional_years = _json_years_per_sid(rows, rows["provisional"].to_numpy(dtype=bool), n)

    base_year_arr = res["base_year"].to_numpy(dtype=float)
    base_value_arr = res["base_value"].to_numpy(dtype=float)
    base_from = np.where(res["base_is_baseline"].to_numpy(), "baseline", "observation")
    base_json = [
        "null" if y != y else f'{{"year":{int(y)},"value":{_jnum(v)},"from":"{f}"}}'
        for y, v, f in zip(base_year_arr.tolist(), base_value_arr.tolist(), base_from.tolist(), strict=True)
    ]
    target_json = [
        f'{{"kind":"{k}","operator":"{op}","value":{_jnum(v)},"value_max":{_jnum(vm)},'
        f'"target_year":{int(ty)},"every_year":{"true" if ey else "false"}}}'
        for k, op, v, vm, ty, ey in zip(
            targets["kind"].tolist(),
            targets["operator"].tolist(),
            targets["value"].tolist(),
            targets["value_max"].tolist(),
            targets["target_year"].tolist(),
            targets["every_year"].tolist(),
            strict=True,
        )
    ]
    vintages_json = [
        f'{{"min_loaded_at":{_jiso(a)},"max_loaded_at":{_jiso(b)}}}'
        for a, b in zip(loaded_min.tolist(), loaded_max.tolist(), strict=True)
    ]
    extra = [""] * n
    parents = targets["parent_target_id"].tolist()
    for i in np.flatnonzero(
        (revised_years != "") | (provisional_years != "") | parent_share | relative | revision_driven
    ).tolist():
        parts = []
        if revised_years[i]:
            parts.append(f'"revised_years":[{revised_years[i]}]')
        if provisional_years[i]:
            parts.append(f'"provisional_years":[{provisional_years[i]}]')
        if parent_share[i]:
            parts.append(f'"parent_target_id":{json.dumps(parents[i], ensure_ascii=False)}')
        if relative[i]:
            national_json = json.dumps(
                {
                    "year": _num(current_year[i]),
                    "value": _num(nat_now[i]),
                    "margin": _num(value[i]),
                    "effective_value": None if no_national[i] else _num(effective[i]),
                }
            )
            parts.append(f'"national":{national_json}')
        if revision_driven[i]:
            parts.append('"status_without_revisions":"differs"')
        extra[i] = "," + ",".join(parts)
    inputs = [
        f'{{"observations":[{o}],"target":{t},"as_of_year":{as_of_year},"base":{b},"vintages":{v}{e}}}'
        for o, t, b, v, e in zip(obs_json.tolist(), target_json, base_json, vintages_json, extra, strict=True)
    ]
    return inputs


def _judged_targets(
    targets: pd.DataFrame, rows: pd.DataFrame, territory: np.ndarray, ceased: set[str] | frozenset[str]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The targets as judged on their series: a baseline moved to the series' territory, ranks bounded
    by their ranking's size; with, per series row, whether it ranks the 34 (`post`), and per target
    whether its current figure does."""
    n = len(targets)
    sid = rows["sid"].to_numpy(dtype=np.int64)
    targets = targets.copy()
    # A baseline is a figure of the target's own territory: judged on another territory's series,
    # the base is that series' value of the baseline year (else its earliest point).
    moved = territory != targets["jurisdiction_id"].to_numpy()
    if moved.any():
        at_base = pd.Series(
            rows["value"].to_numpy(), index=pd.MultiIndex.from_arrays([sid, rows["year"].to_numpy()])
        )
        base_years = targets["baseline_year"].to_numpy(dtype=float)
        replaced = np.full(n, np.nan)
        for i in np.flatnonzero(moved & ~np.isnan(base_years)).tolist():
            replaced[i] = at_base.get((i, int(base_years[i])), np.nan)
        targets["baseline_value"] = np.where(moved, replaced, targets["baseline_value"].to_numpy(dtype=float))
    post = _ranks_the_34(rows, ceased)
    current_post = np.zeros(n, dtype=bool)
    if len(rows):
        last_row = np.ones(len(rows), dtype=bool)
        last_row[:-1] = sid[1:] != sid[:-1]
        current_post[sid[last_row]] = post[last_row]
    is_rank = (targets["kind"] == "rank").to_numpy()
    province = (
        (targets["jurisdiction_level"] == "province").to_numpy()
        if "jurisdiction_level" in targets
        else np.zeros(n, bool)
    )
    # Ranks are bounded by the ranking they belong to: 63 provinces before the merger, 34 after.
    targets["rank_max"] = np.where(
        is_rank, np.where(province, np.where(current_post, COHORT_AFTER, COHORT_BEFORE), np.inf), np.nan
    )
    return targets, post, current_post


def _revision_driven(
    targets: pd.DataFrame,
    rows: pd.DataFrame,
    obs: pd.DataFrame,
    as_of_year: int,
    verdicts: _Verdicts,
    th: _Thresholds,
) -> np.ndarray:
    """Per target: whether its status or headline differs from what it would be without the latest
    revisions (revised periods take their previous vintage's value: the target's own figures, and
    for relative targets the national figure it is compared with)."""
    n = len(targets)
    status, headline = verdicts.status, verdicts.headline
    relative, current_year, nat_now, effective, no_national = th
    sid = rows["sid"].to_numpy(dtype=np.int64)
    value = targets["value"].to_numpy(dtype=float)
    codes = targets["indicator_code"].to_numpy()
    revised = ~np.isnan(rows["prev_value"].to_numpy(dtype=float))
    revision_driven = np.zeros(n, dtype=bool)
    effective_before = effective
    nat_revised = np.zeros(n, dtype=bool)
    if relative.any():
        have = relative & ~np.isnan(current_year)
        nat_before = np.full(n, np.nan)
        nat_before[have] = _lookup(
            _national(obs, previous=True), codes[have], current_year[have].astype(np.int64)
        )
        nat_revised = have & ~no_national & (nat_before != nat_now)
        effective_before = np.where(nat_revised, nat_before + value, effective)
    if not (revised.any() or nat_revised.any()):
        return revision_driven
    touched = np.unique(np.concatenate([sid[revised], np.flatnonzero(nat_revised)]))
    sub = rows[np.isin(sid, touched)]
    old_values = np.where(np.isnan(sub["prev_value"].to_numpy(dtype=float)), sub["value"], sub["prev_value"])
    remap = pd.Series(np.arange(len(touched)), index=touched)
    old_rows = pd.DataFrame(
        {
            "sid": remap[sub["sid"].to_numpy()].to_numpy(),
            "year": sub["year"].to_numpy(),
            "value": old_values,
        }
    )
    before = assess_frame(_cases(targets.iloc[touched], as_of_year, effective_before[touched]), old_rows)
    before_status = np.where(no_national[touched], "insufficient_data", before["status"].to_numpy())
    before_headline = np.where(no_national[touched], "insufficient_data", before["headline"].to_numpy())
    revision_driven[touched] = (before_status != status[touched]) | (before_headline != headline[touched])
    return revision_driven


def _yearly_check_rows(
    targets: pd.DataFrame,
    obs: pd.DataFrame,
    rows: pd.DataFrame,
    territory: np.ndarray,
    succ: pd.DataFrame,
    as_of_year: int,
) -> pd.DataFrame:
    """The figure of each year for every-year checks: a year is checked against the territory the
    target covered that year - a ceased province's own figures before the merger, its successor's
    from the merger on (each year's check compares one figure with a threshold, no ratio)."""
    moved = territory != targets["jurisdiction_id"].to_numpy()
    if not moved.any() or succ.empty:
        return rows
    merger_year = np.full(len(targets), np.inf)
    succ_map = _succession_map(succ)
    for i in np.flatnonzero(moved).tolist():
        merger_year[i] = succ_map[str(targets["jurisdiction_id"].iat[i])].effective_on.year
    own = series_rows(
        targets, obs, targets["jurisdiction_id"].to_numpy().astype(object), comparable.Derived().frame()
    )
    own = own[own["year"].to_numpy() <= as_of_year]
    own_sid = own["sid"].to_numpy(dtype=np.int64)
    own = own[moved[own_sid] & (own["year"].to_numpy() < merger_year[own_sid])]
    sid = rows["sid"].to_numpy(dtype=np.int64)
    kept = rows[~moved[sid] | (rows["year"].to_numpy() >= merger_year[sid])]
    checked: pd.DataFrame = (
        pd.concat([kept, own], ignore_index=True)
        .sort_values(["sid", "year"], kind="stable")
        .reset_index(drop=True)
    )
    return checked


def _json_points_per_sid(rows: pd.DataFrame, n: int) -> np.ndarray:
    """'{"year":..,"value":..,"source":..},...' for each sid (rows sorted by sid, year)."""
    years, values = rows["year"].to_numpy(), rows["value"].to_numpy()
    source = np.where(rows["derived"].to_numpy(dtype=bool), '"derived"}', '"published"}')
    return _joined_per_sid(
        rows["sid"].to_numpy(),
        n,
        lambda a, b: [
            f'{{"year":{y},"value":{v!r},"source":{src}'
            for y, v, src in zip(years[a:b].tolist(), values[a:b].tolist(), source[a:b].tolist(), strict=True)
        ],
    )


def _lineage(
    targets: pd.DataFrame,
    rows: pd.DataFrame,
    territory: np.ndarray,
    basis: np.ndarray,
    succ: pd.DataFrame,
    derived: pd.DataFrame,
    successor_years: np.ndarray,
    current_post: np.ndarray,
    base_post: np.ndarray,
) -> list[str]:
    """Per target, what the verdict was computed on (JSON text; see docs/assessment.md)."""
    n = len(targets)
    jurs = targets["jurisdiction_id"].to_numpy()
    codes = targets["indicator_code"].to_numpy()
    points = _json_points_per_sid(rows, n)
    derived_years = (
        _json_years_per_sid(rows, rows["derived"].to_numpy(dtype=bool), n)
        if len(rows)
        else np.full(n, "", dtype=object)
    )
    succ_map = _succession_map(succ)
    # Values that could not be derived, per (territory, indicator): said so in the lineage.
    missing: dict[tuple[str, str], list[dict[str, object]]] = {}
    if not derived.empty:
        for j, c, y, v, reason in zip(
            derived["jurisdiction_id"],
            derived["indicator_code"],
            derived["year"],
            derived["value"],
            derived["reason"],
            strict=True,
        ):
            if v != v:
                missing.setdefault((j, c), []).append({"year": int(y), "reason": reason})
    is_rank = (targets["kind"] == "rank").to_numpy()
    kinds = targets["kind"].to_numpy()
    value_types = targets["value_type"].to_numpy() if "value_type" in targets else np.full(n, None)
    out = []
    plain_notes: dict[str, str] = {}  # the common case (own series, nothing else to say), per territory
    for i in range(n):
        j, t, b = jurs[i], territory[i], basis[i]
        head = (
            f'{{"basis":"{b}","territory_id":{_jstr(t)},"points":[{points[i]}],'
            f'"derived_years":[{derived_years[i]}]'
        )
        sm = succ_map.get(j)
        if sm is None and not derived_years[i] and not is_rank[i] and (t, codes[i]) not in missing:
            if t not in plain_notes:
                vi, en = _lineage_note(b, j, t, None, "", False, False)
                plain_notes[t] = json.dumps({"note_vi": vi, "note_en": en}, ensure_ascii=False)[1:]
            out.append(head + "," + plain_notes[t])
            continue
        extra: dict[str, object] = {}
        if sm is not None:
            merger = {
                "predecessor_id": j,
                "successor_id": sm.successor_id,
                "effective_on": sm.effective_on.isoformat(),
                "legal_basis": sm.legal_basis,
            }
            extra["merger"] = merger
            extra.update(merger)
            extra["successor_years"] = json.loads(f"[{successor_years[i]}]")
        # The successor's series this target's verdict would use, when it is not the one used.
        other = sm.successor_id if sm is not None and b == comparable.BASIS_OWN_UNTIL_CEASED else t
        if derived_years[i] or (other, codes[i]) in missing:
            extra["predecessor_ids"] = (
                sorted(p for p, s2 in succ_map.items() if s2.successor_id == other) or None
            )
        if (other, codes[i]) in missing:
            extra["not_derived"] = missing[(other, codes[i])]
        if is_rank[i]:
            extra["cohort"] = {
                "base": COHORT_AFTER if base_post[i] else COHORT_BEFORE,
                "current": COHORT_AFTER if current_post[i] else COHORT_BEFORE,
            }
        counted = not comparable.carries_over(str(kinds[i]), value_types[i], False)
        if b == comparable.BASIS_OWN_UNTIL_CEASED:
            # Why the target stays on its own territory: its kind, or a successor series too short.
            extra["own_because"] = "count_target" if counted else "successor_series_too_short"
        note_vi, note_en = _lineage_note(b, j, t, sm, derived_years[i], (other, codes[i]) in missing, counted)
        extra["note_vi"] = note_vi
        extra["note_en"] = note_en
        out.append(head + "," + json.dumps(extra, ensure_ascii=False)[1:])
    return out


# Which series a verdict used and why, in Vietnamese and English; {successor} is the ceased
# province's successor, {vi_date} and {en_date} the merger's date.
_LINEAGE_NOTES = {
    "successor": (
        "{jur} đã hợp nhất vào {territory} từ {vi_date}: đánh giá trên chuỗi so sánh được của {territory}, "
        "không ghép với số liệu của {jur}",
        "{jur} merged into {territory} on {en_date}: judged on {territory}'s comparable series, never "
        "spliced with {jur}'s figures",
    ),
    "count_target": (
        "Chỉ tiêu số lượng của {jur} (hợp nhất vào {successor} từ {vi_date}) chỉ đánh giá trên số liệu của "
        "chính {jur}",
        "A count target of {jur} (merged into {successor} on {en_date}) is judged on {jur}'s own "
        "figures only",
    ),
    "successor_too_short": (
        "{jur} đã hợp nhất vào {successor} từ {vi_date}; chuỗi so sánh được của {successor} chưa đủ hai năm "
        "nên đánh giá trên số liệu của chính {jur} đến năm cuối cùng",
        "{jur} merged into {successor} on {en_date}; {successor}'s comparable series has fewer than two "
        "years, so {jur} is judged on its own figures up to its last year",
    ),
    "own": ("Đánh giá trên chuỗi số liệu của chính {territory}", "Judged on {territory}'s own series"),
}


def _lineage_note(
    basis: str,
    jur: str,
    territory: str,
    sm: Succession | None,
    derived_years: str,
    not_derived: bool,
    counted: bool,
) -> tuple[str, str]:
    """One sentence (Vietnamese, English) saying which series the verdict used and why."""
    key = "own"
    if sm is not None and basis == comparable.BASIS_SUCCESSOR:
        key = "successor"
    elif sm is not None and basis == comparable.BASIS_OWN_UNTIL_CEASED:
        key = "count_target" if counted else "successor_too_short"
    names: dict[str, object] = {"jur": jur, "territory": territory}
    if sm is not None:
        names |= {
            "successor": sm.successor_id,
            "vi_date": f"{sm.effective_on:%d/%m/%Y}",
            "en_date": sm.effective_on.isoformat(),
        }
    vi_text, en_text = _LINEAGE_NOTES[key]
    vi, en = vi_text.format(**names), en_text.format(**names)
    if derived_years:
        vi += f"; các năm {derived_years.replace(',', ', ')} được tính lại từ các tỉnh cũ"
        en += f"; years {derived_years.replace(',', ', ')} rebuilt from the predecessors"
    if not_derived:
        vi += "; có năm không tính lại được (xem not_derived)"
        en += "; some years could not be rebuilt (see not_derived)"
    return vi + ".", en + "."


def _flags(flag_arrays: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row, the list of flags set, in FLAG_ORDER (via a bit mask: few distinct combinations)."""
    names = [f for f in FLAG_ORDER if f in flag_arrays]
    mask = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(names):
        mask |= flag_arrays[name].astype(np.int64) << bit
    out = np.empty(n, dtype=object)
    for m in np.unique(mask).tolist():
        chosen = [name for bit, name in enumerate(names) if m >> bit & 1]
        for i in np.flatnonzero(mask == m).tolist():
            out[i] = list(chosen)
    return out


def _every_year_misses(
    targets: pd.DataFrame,
    rows: pd.DataFrame,
    national: pd.Series,
    as_of_year: int,
    flag_arrays: dict[str, np.ndarray],
    lineage: list[str],
    basis: np.ndarray,
) -> pd.DataFrame:
    """One `missed` row per year in which an every-year constraint failed."""
    every = targets["every_year"].to_numpy(dtype=bool)
    if not every.any() or rows.empty:
        return pd.DataFrame()
    r = _years_checked(targets, rows, every, as_of_year)
    if r.empty:
        return pd.DataFrame()
    s = r["sid"].to_numpy(dtype=np.int64)
    years = r["year"].to_numpy()
    value = targets["value"].to_numpy(dtype=float)
    relative = flag_arrays["relative_national"]
    codes = targets["indicator_code"].to_numpy()
    nat = _lookup(national, codes[s], years) if relative[s].any() else np.full(len(s), np.nan)
    threshold = np.where(relative[s], nat + value[s], value[s])
    ops = formulas.op_codes(targets["operator"].to_numpy()[s])
    y = r["value"].to_numpy(dtype=float)
    failed = ~np.isnan(threshold) & ~formulas.meets(y, ops, threshold)
    if not failed.any():
        return pd.DataFrame()
    prev = r["prev_value"].to_numpy(dtype=float)
    prev_met = ~np.isnan(prev) & formulas.meets(prev, ops, threshold)
    idx = np.flatnonzero(failed)
    missed = r.iloc[idx].assign(threshold=threshold[idx], prev_met=prev_met[idx])
    return _miss_rows(targets, missed, flag_arrays, lineage, basis)


def _years_checked(
    targets: pd.DataFrame, rows: pd.DataFrame, every: np.ndarray, as_of_year: int
) -> pd.DataFrame:
    """The rows of every-year targets in the years checked: from the year the plan was issued (else
    the year after the baseline, else every year with data) to the target year, up to as_of."""
    issued_year = np.array(
        [d.year if isinstance(d, date) else np.nan for d in targets["issued_on"]], dtype=float
    )
    after_baseline = targets["baseline_year"].to_numpy(dtype=float) + 1
    first_year = np.where(
        ~np.isnan(issued_year), issued_year, np.where(np.isnan(after_baseline), -1, after_baseline)
    )
    sid = rows["sid"].to_numpy()
    pick = every[sid]
    r = rows[pick]
    s = sid[pick]
    years = r["year"].to_numpy()
    in_range = (
        (years >= first_year[s]) & (years <= targets["target_year"].to_numpy()[s]) & (years <= as_of_year)
    )
    checked: pd.DataFrame = r[in_range]
    return checked


def _miss_rows(
    targets: pd.DataFrame,
    missed: pd.DataFrame,
    flag_arrays: dict[str, np.ndarray],
    lineage: list[str],
    basis: np.ndarray,
) -> pd.DataFrame:
    """The result rows of the failed years (`missed`: their series rows, with the threshold and
    whether the previous vintage met it), columns RESULT_COLUMNS."""
    si = missed["sid"].to_numpy(dtype=np.int64)
    years = missed["year"].to_numpy()
    y = missed["value"].to_numpy(dtype=float)
    threshold = missed["threshold"].to_numpy(dtype=float)
    prev = missed["prev_value"].to_numpy(dtype=float)
    loaded = missed["loaded"].to_numpy(dtype=float)
    data_jurs = missed["data_jurisdiction_id"].to_numpy()
    operators = targets["operator"].to_numpy()
    flags = [
        [
            name
            for name, on in (
                ("revision_driven", prev_met),
                ("successor_data", from_successor),
                ("relative_national", flag_arrays["relative_national"][i]),
                ("parent_share", flag_arrays["parent_share"][i]),
                ("provisional_data", provisional),
            )
            if on
        ]
        for i, prev_met, from_successor, provisional in zip(
            si.tolist(),
            missed["prev_met"].to_numpy(dtype=bool).tolist(),
            missed["from_successor"].to_numpy(dtype=bool).tolist(),
            missed["provisional"].to_numpy(dtype=bool).tolist(),
            strict=True,
        )
    ]
    inputs = [
        json.dumps(
            {
                "check_year": int(years[k]),
                "value": _num(y[k]),
                "operator": operators[i],
                "threshold": _num(threshold[k]),
                "previous_vintage_value": _num(prev[k]),
                "loaded_at": _iso(float(loaded[k])),
                "data_jurisdiction_id": data_jurs[k],
            },
            ensure_ascii=False,
        )
        for k, i in enumerate(si.tolist())
    ]
    m = len(missed)
    return pd.DataFrame(
        {
            "target_id": targets["id"].to_numpy()[si],
            "plan_id": targets["plan_id"].to_numpy()[si],
            "jurisdiction_id": targets["jurisdiction_id"].to_numpy()[si],
            "data_jurisdiction_id": data_jurs,
            "indicator_code": targets["indicator_code"].to_numpy()[si],
            "target_year": targets["target_year"].to_numpy()[si],
            "check_year": pd.array(years, dtype="Int64"),
            "status": ["missed"] * m,
            "progress_ratio": np.nan,
            "expected_value": threshold,
            "current_value": y,
            "current_year": pd.array(years, dtype="Int64"),
            "projected_value": np.nan,
            "will_meet": pd.array([None] * m, dtype="boolean"),
            "base_year": pd.array([None] * m, dtype="Int64"),
            "base_value": np.nan,
            "flags": flags,
            "lineage": [lineage[i] for i in si],
            "inputs": inputs,
            "headline_status": ["missed"] * m,
            "headline_rule": ["status"] * m,
            "anticipated_gap": np.nan,
            "series_basis": basis[si],
        }
    )


def _milestone_results(
    ms: pd.DataFrame, succ: pd.DataFrame, done: pd.DataFrame, as_of: datetime
) -> pd.DataFrame:
    """done when a figure >= 1 was recorded for the milestone's indicator (own jurisdiction, or the
    successor's after the merger) by as_of; else overdue after the due date, pending before it."""
    succ_map = _succession_map(succ)
    done_map = {
        (j, i): Completion(d, float(v), bool(p))
        for j, i, d, v, p in zip(
            done["jurisdiction_id"],
            done["indicator_code"],
            done["done_on"],
            done["value"],
            done["provisional"],
            strict=True,
        )
    }
    today = as_of.date()
    out = []
    milestone_rows: list[Any] = list(ms.itertuples(index=False))
    for t in milestone_rows:
        hit = done_map.get((t.jurisdiction_id, t.indicator_code))
        flags: list[str] = []
        data_jur = t.jurisdiction_id
        line = None
        s = succ_map.get(t.jurisdiction_id)
        if hit is None and s is not None:
            hit2 = done_map.get((s.successor_id, t.indicator_code))
            if hit2 is not None and hit2.done_on >= s.effective_on:
                hit, data_jur = hit2, s.successor_id
                flags.append("successor_data")
                line = json.dumps(
                    {
                        "predecessor_id": t.jurisdiction_id,
                        "successor_id": s.successor_id,
                        "effective_on": s.effective_on.isoformat(),
                        "legal_basis": s.legal_basis,
                    },
                    ensure_ascii=False,
                )
        due = t.due_date if isinstance(t.due_date, date) else date(int(t.target_year), 12, 31)
        if hit is not None:
            status = "milestone_done"
            if hit.provisional:
                flags.append("provisional_data")
        elif due < today:
            status = "milestone_overdue"
        else:
            status = "milestone_pending"
        if t.parent_target_id is not None and t.parent_target_id == t.parent_target_id:
            flags.insert(0, "parent_share")
        out.append(
            {
                "target_id": t.id,
                "plan_id": t.plan_id,
                "jurisdiction_id": t.jurisdiction_id,
                "data_jurisdiction_id": data_jur,
                "indicator_code": t.indicator_code,
                "target_year": int(t.target_year),
                "check_year": pd.NA,
                "status": status,
                "progress_ratio": np.nan,
                "expected_value": np.nan,
                "current_value": np.nan if hit is None else float(hit.value),
                "current_year": pd.NA if hit is None else hit.done_on.year,
                "projected_value": np.nan,
                "will_meet": pd.NA,
                "base_year": pd.NA,
                "base_value": np.nan,
                "flags": flags,
                "lineage": line,
                "headline_status": status,
                "headline_rule": "status",
                "anticipated_gap": np.nan,
                "series_basis": comparable.BASIS_OWN
                if data_jur == t.jurisdiction_id
                else comparable.BASIS_SUCCESSOR,
                "inputs": json.dumps(
                    {
                        "target": {
                            "kind": "milestone",
                            "due_date": due.isoformat(),
                            "target_year": int(t.target_year),
                        },
                        "as_of_date": today.isoformat(),
                        "rule": "done when a figure >= 1 is recorded for the indicator",
                        "done_on": None if hit is None else hit.done_on.isoformat(),
                    },
                    ensure_ascii=False,
                ),
            }
        )
    frame = pd.DataFrame(out)
    for col in ("check_year", "current_year", "base_year"):
        frame[col] = frame[col].astype("Int64")
    frame["will_meet"] = frame["will_meet"].astype("boolean")
    return frame
