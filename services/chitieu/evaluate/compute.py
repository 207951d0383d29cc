"""Set-based evaluation of every (target, jurisdiction): the contract plus the rules beyond it.

Pure pandas/numpy over frames from `load`: no SQL here, so the rules can be read in one place.
The rules are described in docs/assessment.md.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from chitieu.assess import formulas
from chitieu.assess.vector import assess_frame

# The 63 provinces became 34 on this day; rankings published after it rank the 34 (DTI 2024,
# published October 2025, already ranks 34).
MERGER_DATE = date(2025, 7, 1)
MERGER_EPOCH = datetime(2025, 7, 1, tzinfo=UTC).timestamp()

RESULT_COLUMNS = [
    "target_id",
    "plan_id",
    "jurisdiction_id",
    "data_jurisdiction_id",
    "indicator_code",
    "target_year",
    "check_year",
    "status",
    "progress_ratio",
    "expected_value",
    "current_value",
    "current_year",
    "projected_value",
    "will_meet",
    "base_year",
    "base_value",
    "flags",
    "lineage",
    "inputs",
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


def series_rows(targets: pd.DataFrame, obs: pd.DataFrame, succ: pd.DataFrame) -> pd.DataFrame:
    """The yearly figures each target is judged on: sid (target position), year, value, ...

    A target of a jurisdiction that ceased is continued by its successor's figures for years from
    the merger on, where it has none of its own (`from_successor`).
    """
    n = len(targets)
    own = pd.DataFrame(
        {
            "sid": np.arange(n),
            "jurisdiction_id": targets["jurisdiction_id"].to_numpy(),
            "indicator_code": targets["indicator_code"].to_numpy(),
            "min_year": -1,
            "from_successor": False,
        }
    )
    requests = [own]
    if not succ.empty:
        s = targets[["jurisdiction_id", "indicator_code"]].reset_index(drop=True)
        s["sid"] = np.arange(n)
        s = s.merge(succ, left_on="jurisdiction_id", right_on="predecessor_id")
        if not s.empty:
            requests.append(
                pd.DataFrame(
                    {
                        "sid": s["sid"].to_numpy(),
                        "jurisdiction_id": s["successor_id"].to_numpy(),
                        "indicator_code": s["indicator_code"].to_numpy(),
                        "min_year": [d.year for d in s["effective_on"]],
                        "from_successor": True,
                    }
                )
            )
    req = pd.concat(requests, ignore_index=True)
    if obs.empty:
        return pd.DataFrame(
            columns=[
                "sid",
                "year",
                "value",
                "prev_value",
                "provisional",
                "loaded",
                "fetched",
                "from_successor",
                "data_jurisdiction_id",
            ]
        )
    # Join on integer codes of (jurisdiction, indicator): far cheaper than on two string columns.
    jcats = pd.Index(pd.unique(np.concatenate([_distinct(obs["jurisdiction_id"]), req["jurisdiction_id"]])))
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
            "min_year": req["min_year"].to_numpy(),
            "from_successor": req["from_successor"].to_numpy(),
            "data_jurisdiction_id": req["jurisdiction_id"].to_numpy(),
        }
    )
    rows = right.merge(left, on="key", how="inner")
    rows = rows[rows["year"].to_numpy() >= rows["min_year"].to_numpy()]
    # Own figures win over the successor's for the same year.
    rows = rows.sort_values(["sid", "year", "from_successor"], kind="stable")
    rows = rows.drop_duplicates(["sid", "year"], keep="first")
    return rows.drop(columns=["key", "min_year"]).reset_index(drop=True)


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
        }
    )


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


def _json_list_per_sid(rows: pd.DataFrame, n: int) -> np.ndarray:
    """'[year,value],[year,value]...' for each sid (rows sorted by sid, year)."""
    out = np.full(n, "", dtype=object)
    if rows.empty:
        return out
    sid = rows["sid"].to_numpy()
    pairs = [f"[{y},{v!r}]" for y, v in zip(rows["year"].tolist(), rows["value"].tolist(), strict=True)]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    ends = np.r_[starts[1:], len(sid)]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        out[sid[s]] = ",".join(pairs[s:e])
    return out


def _json_years_per_sid(rows: pd.DataFrame, mask: np.ndarray, n: int) -> np.ndarray:
    """'2024,2025' (the years of the masked rows) for each sid; '' where none."""
    out = np.full(n, "", dtype=object)
    picked = rows[mask]
    if picked.empty:
        return out
    sid = picked["sid"].to_numpy()
    years = [str(y) for y in picked["year"].tolist()]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    ends = np.r_[starts[1:], len(sid)]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        out[sid[s]] = ",".join(years[s:e])
    return out


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
) -> pd.DataFrame:
    """Every target's evaluation (one row; plus one `missed` row per failed year of every-year
    targets), with flags, lineage and inputs. Columns RESULT_COLUMNS.

    `ceased`: ids of jurisdictions that ended before the merger date (their rankings are of the 63).
    """
    as_of_year = as_of.year
    targets = targets.reset_index(drop=True)
    numeric = targets[targets["kind"] != "milestone"].reset_index(drop=True)
    parts = [_numeric_results(numeric, obs, succ, as_of_year, ceased)]
    ms = targets[targets["kind"] == "milestone"].reset_index(drop=True)
    if not ms.empty:
        parts.append(_milestone_results(ms, succ, milestones, as_of))
    results = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if results.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    results = results.sort_values(["target_id", "check_year"], na_position="first", kind="stable")
    return results[RESULT_COLUMNS].reset_index(drop=True)


def _numeric_results(
    targets: pd.DataFrame,
    obs: pd.DataFrame,
    succ: pd.DataFrame,
    as_of_year: int,
    ceased: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    n = len(targets)
    if n == 0:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    rows = series_rows(targets, obs, succ)
    rows = rows[rows["year"].to_numpy() <= as_of_year].reset_index(drop=True)
    sid = rows["sid"].to_numpy(dtype=np.int64)
    value = targets["value"].to_numpy(dtype=float)

    # Relative targets: the threshold in year y is the national figure of year y plus the margin.
    relative = (targets["relative_to"] == "national").to_numpy()
    national = _national(obs)
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

    frame = rows[["sid", "year", "value"]]
    res = assess_frame(_cases(targets, as_of_year, effective), frame)
    status = res["status"].to_numpy().astype(object)
    # Without the national figure of the year there is no threshold: no judgement, no path.
    status[no_national] = "insufficient_data"
    for col in ("progress_ratio", "expected_value", "projected_value", "will_meet"):
        res.loc[no_national, col] = np.nan

    # Status without the latest revisions: revised periods take their previous vintage's value
    # (the target's own figures, and for relative targets the national figure it is compared with).
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
    if revised.any() or nat_revised.any():
        touched = np.unique(np.concatenate([sid[revised], np.flatnonzero(nat_revised)]))
        sub = rows[np.isin(sid, touched)]
        old_values = np.where(
            np.isnan(sub["prev_value"].to_numpy(dtype=float)), sub["value"], sub["prev_value"]
        )
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
        revision_driven[touched] = before_status != status[touched]

    # Flags from the rows used.
    provisional = np.zeros(n, dtype=bool)
    provisional[sid[rows["provisional"].to_numpy(dtype=bool)]] = True
    from_succ = rows["from_successor"].to_numpy(dtype=bool)
    successor_used = np.zeros(n, dtype=bool)
    successor_used[sid[from_succ]] = True

    # Which jurisdiction the current figure came from.
    data_jur = targets["jurisdiction_id"].to_numpy().astype(object)
    cohort_changed = np.zeros(n, dtype=bool)
    if len(rows):
        is_last = np.ones(len(rows), dtype=bool)
        is_last[:-1] = sid[1:] != sid[:-1]
        data_jur[sid[is_last]] = rows["data_jurisdiction_id"].to_numpy()[is_last]
        # Ranking cohort: a figure for 2025 on, or for 2024 fetched after the merger, ranks the 34,
        # unless it is a figure of a province that ceased at the merger (only the 63 ranked those;
        # e.g. a 2024 rank quoted by a pre-merger plan and loaded later).
        years = rows["year"].to_numpy()
        fetched = rows["fetched"].to_numpy(dtype=float)
        of_ceased = rows["data_jurisdiction_id"].isin(list(ceased)).to_numpy()
        post = ~of_ceased & (
            (years >= MERGER_DATE.year) | ((years == MERGER_DATE.year - 1) & (fetched >= MERGER_EPOCH))
        )
        current_post = np.zeros(n, dtype=bool)
        current_post[sid[is_last]] = post[is_last]
        base_year = res["base_year"].to_numpy(dtype=float)
        base_post = np.where(res["base_is_baseline"].to_numpy(), base_year >= MERGER_DATE.year, False)
        first_pos = pd.Series(np.arange(len(rows))).groupby(sid).first()
        obs_base = ~res["base_is_baseline"].to_numpy() & ~np.isnan(base_year)
        first_post = np.zeros(n, dtype=bool)
        first_post[first_pos.index.to_numpy()] = post[first_pos.to_numpy()]
        base_post = np.where(obs_base, first_post, base_post)
        is_rank = (targets["kind"] == "rank").to_numpy()
        cohort_changed = is_rank & ~np.isnan(base_year) & ~base_post & current_post

    parent_share = targets["parent_target_id"].notna().to_numpy()
    flag_arrays = {
        "revision_driven": revision_driven,
        "cohort_changed": cohort_changed,
        "successor_data": successor_used,
        "relative_national": relative,
        "parent_share": parent_share,
        "provisional_data": provisional,
    }
    flags = _flags(flag_arrays, n)

    # Inputs (as JSON text, assembled column-wise: json.dumps per row was the engine's hot spot).
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
    successor_years = _json_years_per_sid(rows, from_succ, n)

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

    jurs = targets["jurisdiction_id"].to_numpy()
    t_ids = targets["id"].to_numpy()
    lineage: list[str | None] = [None] * n
    succ_map = _succession_map(succ)
    if succ_map:
        for i in np.flatnonzero(np.isin(jurs, list(succ_map))).tolist():
            sm = succ_map[jurs[i]]
            lineage[i] = json.dumps(
                {
                    "predecessor_id": jurs[i],
                    "successor_id": sm.successor_id,
                    "effective_on": sm.effective_on.isoformat(),
                    "legal_basis": sm.legal_basis,
                    "successor_years": json.loads(f"[{successor_years[i]}]"),
                    "rule": "figures of the successor for years from the merger, where the "
                    "predecessor has none of its own",
                },
                ensure_ascii=False,
            )

    main = pd.DataFrame(
        {
            "target_id": t_ids,
            "plan_id": targets["plan_id"].to_numpy(),
            "jurisdiction_id": jurs,
            "data_jurisdiction_id": data_jur,
            "indicator_code": codes,
            "target_year": targets["target_year"].to_numpy(),
            "check_year": pd.array([pd.NA] * n, dtype="Int64"),
            "status": status,
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
            "base_year": pd.array(base_year_arr, dtype="Int64") if n else pd.array([], dtype="Int64"),
            "base_value": base_value_arr,
            "flags": flags,
            "lineage": lineage,
            "inputs": inputs,
        }
    )
    missed = _every_year_misses(targets, rows, national, as_of_year, flag_arrays, data_jur, lineage)
    return pd.concat([main, missed], ignore_index=True) if not missed.empty else main


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
    data_jur: np.ndarray,
    lineage: list[str | None],
) -> pd.DataFrame:
    """One `missed` row per year in which an every-year constraint failed.

    Years checked: from the year the plan was issued (else the year after the baseline, else every
    year with data) to the target year, up to as_of.
    """
    every = targets["every_year"].to_numpy(dtype=bool)
    if not every.any() or rows.empty:
        return pd.DataFrame()
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
    r, s, years = r[in_range], s[in_range], years[in_range]
    if r.empty:
        return pd.DataFrame()
    codes = targets["indicator_code"].to_numpy()
    value = targets["value"].to_numpy(dtype=float)
    relative = flag_arrays["relative_national"]
    nat = _lookup(national, codes[s], years) if relative[s].any() else np.full(len(s), np.nan)
    threshold = np.where(relative[s], nat + value[s], value[s])
    ops = formulas.op_codes(targets["operator"].to_numpy()[s])
    y = r["value"].to_numpy(dtype=float)
    checkable = ~np.isnan(threshold)
    failed = checkable & ~formulas.meets(y, ops, threshold)
    prev = r["prev_value"].to_numpy(dtype=float)
    prev_met = ~np.isnan(prev) & formulas.meets(prev, ops, threshold)
    if not failed.any():
        return pd.DataFrame()
    idx = np.flatnonzero(failed)
    from_successor = r["from_successor"].to_numpy(dtype=bool)
    provisional = r["provisional"].to_numpy(dtype=bool)
    loaded = r["loaded"].to_numpy(dtype=float)
    data_jurs = r["data_jurisdiction_id"].to_numpy()
    operators = targets["operator"].to_numpy()
    parent_share = flag_arrays["parent_share"]
    out_flags = []
    inputs = []
    for k in idx.tolist():
        i = s[k]
        f = []
        if prev_met[k]:
            f.append("revision_driven")
        if from_successor[k]:
            f.append("successor_data")
        if relative[i]:
            f.append("relative_national")
        if parent_share[i]:
            f.append("parent_share")
        if provisional[k]:
            f.append("provisional_data")
        out_flags.append(f)
        inputs.append(
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
        )
    si = s[idx]
    m = len(idx)
    return pd.DataFrame(
        {
            "target_id": targets["id"].to_numpy()[si],
            "plan_id": targets["plan_id"].to_numpy()[si],
            "jurisdiction_id": targets["jurisdiction_id"].to_numpy()[si],
            "data_jurisdiction_id": r["data_jurisdiction_id"].to_numpy()[idx],
            "indicator_code": codes[si],
            "target_year": targets["target_year"].to_numpy()[si],
            "check_year": pd.array(years[idx], dtype="Int64"),
            "status": ["missed"] * m,
            "progress_ratio": np.nan,
            "expected_value": threshold[idx],
            "current_value": y[idx],
            "current_year": pd.array(years[idx], dtype="Int64"),
            "projected_value": np.nan,
            "will_meet": pd.array([None] * m, dtype="boolean"),
            "base_year": pd.array([None] * m, dtype="Int64"),
            "base_value": np.nan,
            "flags": out_flags,
            "lineage": [lineage[i] for i in si],
            "inputs": inputs,
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
