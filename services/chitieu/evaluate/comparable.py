"""Like-for-like series across the 2025 merger: which territory each target is judged on, and the
comparable series of a successor, rebuilt for the years before it existed from its predecessors.

A ratio, projection or trend is only ever computed on the points of one territory. Statistics offices
rebuild a merged unit's past from its predecessors (JRC EUR 28300 EN): additive quantities are
summed; shares and rates are the predecessors' values weighted by their denominators (the weight
indicator the catalog names, read from the loaded observations of the same year); ranks and
composite scores cannot be rebuilt. A figure published for the successor's territory wins over a
derived one. The rules are described in docs/assessment.md.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

# Kinds of target whose threshold means the same for a bigger territory: a share, rate, index or
# rank carries over to the successor; a count (or the growth of a count) of the old territory does not.
NON_CARRYING_VALUE_TYPES = frozenset({"count", "amount"})
NON_CARRYING_KINDS = frozenset({"count", "growth"})
# Values that are ranks or composite scores are never combined, whatever the catalog says.
NEVER_DERIVED_VALUE_TYPES = frozenset({"rank"})

# The columns of derived_observations (besides run_id).
STORED_COLUMNS = (
    "jurisdiction_id",
    "indicator_code",
    "year",
    "value",
    "rule",
    "weight_indicator",
    "inputs",
    "reason",
)

BASIS_OWN = "own"
BASIS_SUCCESSOR = "successor_comparable"
BASIS_OWN_UNTIL_CEASED = "own_until_ceased"


class Point(NamedTuple):
    value: float
    provisional: bool
    loaded: float
    fetched: float


@dataclass
class Derived:
    """Successors' values rebuilt from their predecessors (also those that could not be: value NaN)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=[*STORED_COLUMNS, "provisional", "loaded", "fetched"])


def carries_over(kind: str, value_type: str | None, single_predecessor: bool) -> bool:
    """Whether a ceased province's target is judged on its successor's comparable series."""
    if single_predecessor:  # the same territory under a new id
        return True
    return kind not in NON_CARRYING_KINDS and value_type not in NON_CARRYING_VALUE_TYPES


def predecessor_map(preds: pd.DataFrame) -> dict[str, tuple[list[str], date, bool]]:
    """successor -> (its predecessors, effective date, whether a predecessor was split)."""
    out: dict[str, tuple[list[str], date, bool]] = {}
    if preds.empty:
        return out
    for succ_id, group in preds.groupby("successor_id", sort=True):
        out[str(succ_id)] = (
            sorted(group["predecessor_id"].tolist()),
            min(group["effective_on"]),
            bool((group["successors_of_predecessor"] > 1).any()),
        )
    return out


def point_index(
    obs: pd.DataFrame, jurisdictions: set[str], codes: set[str]
) -> dict[tuple[str, str], dict[int, Point]]:
    """{(jurisdiction, indicator): {year: Point}} for the given jurisdictions and indicators only."""
    if obs.empty or not jurisdictions or not codes:
        return {}
    j = obs["jurisdiction_id"].astype(object).to_numpy()
    i = obs["indicator_code"].astype(object).to_numpy()
    keep = np.isin(j, list(jurisdictions)) & np.isin(i, list(codes))
    out: dict[tuple[str, str], dict[int, Point]] = defaultdict(dict)
    sub = obs[keep]
    for jur, ind, year, value, prov, loaded, fetched in zip(
        j[keep].tolist(),
        i[keep].tolist(),
        sub["year"].tolist(),
        sub["value"].tolist(),
        sub["provisional"].tolist(),
        sub["loaded"].tolist(),
        sub["fetched"].tolist(),
        strict=True,
    ):
        out[(jur, ind)][int(year)] = Point(float(value), bool(prov), float(loaded), float(fetched))
    return out


def _text(value: object) -> str | None:
    """A catalog text field as read into a frame (None, NaN or a string)."""
    return value if isinstance(value, str) else None


def _reason(vi: str, en: str) -> str:
    return f"{vi} / {en}"


def derive(
    successor: str,
    indicator: str,
    rule: str | None,
    weight: str | None,
    value_type: str | None,
    preds: tuple[list[str], date, bool],
    points: dict[tuple[str, str], dict[int, Point]],
    as_of_year: int,
) -> list[dict[str, Any]]:
    """The successor's values for the years before the merger in which any predecessor has a figure
    and the successor has none published (NaN value with a reason where the rule cannot give one)."""
    members, effective_on, split = preds
    published = points.get((successor, indicator), {})
    years = sorted(
        {
            y
            for p in members
            for y in points.get((p, indicator), {})
            if y < effective_on.year and y <= as_of_year
        }
        - set(published)
    )
    out = []
    for year in years:
        inputs: list[dict[str, Any]] = []
        missing = []
        missing_weight = []
        for p in members:
            point = points.get((p, indicator), {}).get(year)
            w = points.get((p, weight), {}).get(year) if weight else None
            inputs.append(
                {
                    "jurisdiction_id": p,
                    "value": None if point is None else point.value,
                    "weight": None if w is None else w.value,
                }
            )
            if point is None:
                missing.append(p)
            if weight and w is None:
                missing_weight.append(p)
        used = [points[(p, indicator)][year] for p in members if p not in missing]
        value = float("nan")
        reason = None
        kind = "identity" if len(members) == 1 else (rule or "none")
        if split:
            reason = _reason(
                "tỉnh tiền thân bị chia tách, không ghép được", "a predecessor was split: cannot be rebuilt"
            )
        elif missing:
            reason = _reason(
                f"thiếu số liệu năm {year} của {', '.join(missing)}",
                f"no figure for {year} of {', '.join(missing)}",
            )
        elif kind == "identity":
            value = used[0].value
        elif value_type in NEVER_DERIVED_VALUE_TYPES or kind == "none":
            kind = "none"
            reason = _reason(
                "xếp hạng, chỉ số tổng hợp không ghép được từ các tỉnh cũ",
                "ranks and composite scores cannot be rebuilt from the predecessors",
            )
        elif kind == "sum":
            value = sum(u.value for u in used)
        elif kind == "mean":
            value = sum(u.value for u in used) / len(used)
        elif kind == "weighted_mean":
            if not weight:
                reason = _reason(
                    "danh mục chỉ tiêu không nêu trọng số", "the indicator names no weight indicator"
                )
            elif missing_weight:
                reason = _reason(
                    f"chưa nạp trọng số {weight} năm {year} của {', '.join(missing_weight)}",
                    f"no weights ({weight}) loaded for {year} of {', '.join(missing_weight)}",
                )
            else:
                ws = [points[(p, weight)][year].value for p in members]
                total = sum(ws)
                if total <= 0:
                    reason = _reason(
                        "tổng trọng số không dương", "the weights do not sum to a positive number"
                    )
                else:
                    value = sum(u.value * w for u, w in zip(used, ws, strict=True)) / total
        else:
            reason = _reason(f"quy tắc gộp không rõ: {kind}", f"unknown aggregation rule: {kind}")
            kind = "none"
        weights_used = [
            points[(p, weight)][year]
            for p in members
            if weight and (p, weight) in points and year in points[(p, weight)]
        ]
        everything = used + weights_used
        out.append(
            {
                "jurisdiction_id": successor,
                "indicator_code": indicator,
                "year": year,
                "value": value,
                "rule": kind,
                "weight_indicator": weight if kind == "weighted_mean" else None,
                "inputs": json.dumps(inputs, ensure_ascii=False),
                "reason": reason,
                "provisional": any(u.provisional for u in everything),
                "loaded": max((u.loaded for u in everything), default=float("nan")),
                "fetched": max((u.fetched for u in everything), default=float("nan")),
            }
        )
    return out


def comparable_inputs(
    targets: pd.DataFrame, obs: pd.DataFrame, succ: pd.DataFrame, preds: pd.DataFrame, as_of: date
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(territory, basis) per target, and the successors' derived values.

    A ceased province's target (successor S, merger date E <= as_of):
    - a count target (or any target whose kind does not carry over) stays on its own series
      (own_until_ceased);
    - a carried-over target is judged on S's comparable series (successor_comparable) once that
      series can be judged: S has a figure of its own from year(E) on and the series has two years
      or more; until then on its own series up to its last year (own_until_ceased), the lineage saying
      why (e.g. no weights to rebuild S's past).
    Every other target is judged on its own jurisdiction's series (own), rebuilt for the years before
    it existed when it is itself a successor.
    """
    n = len(targets)
    jurs = targets["jurisdiction_id"].to_numpy().astype(object)
    territory = jurs.copy()
    basis = np.full(n, BASIS_OWN, dtype=object)
    pred_map = predecessor_map(preds)
    if not pred_map:
        return territory, basis, Derived().frame()
    codes_all = targets["indicator_code"].to_numpy().astype(object)
    weights = {w for w in targets["aggregation_weight"].tolist() if isinstance(w, str)}
    involved = set(pred_map) | {p for members, _, _ in pred_map.values() for p in members}
    points = point_index(obs, involved, set(codes_all.tolist()) | weights)
    rules = targets.drop_duplicates("indicator_code").set_index("indicator_code")
    succ_of = {} if succ.empty else dict(zip(succ["predecessor_id"], succ["successor_id"], strict=True))

    # Candidates: each ceased target's successor, and every target of a successor itself.
    candidate = np.full(n, None, dtype=object)
    carries = np.zeros(n, dtype=bool)
    for i in range(n):
        s_id = succ_of.get(jurs[i])
        if s_id is None or s_id not in pred_map or pred_map[s_id][1] > as_of:
            continue
        candidate[i] = s_id
        single = len(pred_map[s_id][0]) == 1
        carries[i] = carries_over(str(targets["kind"].iat[i]), _text(targets["value_type"].iat[i]), single)
    needed = {
        (c, code)
        for c, code, k in zip(candidate.tolist(), codes_all.tolist(), carries.tolist(), strict=True)
        if k
    }
    needed |= {(j, code) for j, code in zip(jurs.tolist(), codes_all.tolist(), strict=True) if j in pred_map}
    derived = Derived()
    for succ_id, code in sorted(needed):
        derived.rows.extend(
            derive(
                succ_id,
                code,
                _text(rules.at[code, "aggregation"]),
                _text(rules.at[code, "aggregation_weight"]),
                _text(rules.at[code, "value_type"]),
                pred_map[succ_id],
                points,
                as_of.year,
            )
        )
    comparable_years: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in derived.rows:
        if row["value"] == row["value"]:
            comparable_years[(row["jurisdiction_id"], row["indicator_code"])].add(row["year"])
    for i in np.flatnonzero(candidate != None).tolist():  # noqa: E711 - element-wise on an object array
        s_id, code = candidate[i], codes_all[i]
        published = {y for y in points.get((s_id, code), {}) if y <= as_of.year}
        own_later = any(y >= pred_map[s_id][1].year for y in published)
        judgeable = len(published | comparable_years[(s_id, code)]) >= 2
        if carries[i] and own_later and judgeable:
            territory[i] = s_id
            basis[i] = BASIS_SUCCESSOR
        elif not carries[i] or own_later:
            basis[i] = BASIS_OWN_UNTIL_CEASED
    return territory, basis, derived.frame()
