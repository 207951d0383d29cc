"""The assessment contract for one case: dict in, dict out (what `chitieu assess CASE.json` prints).

Input:
    {"target": {"kind": "level"|"rank"|"count"|"growth", "operator": ">="|">"|"<="|"<",
                "value": x, "value_max": y|null, "target_year": T,
                "cohort_size": N|null (rank targets: the ranking's size; paths stay in [1, N])},
     "baseline": {"year", "value"} | null,
     "observations": [{"year", "value"}, ...],
     "as_of_year": A}
Output keys: status, progress_ratio, expected_value, current_value, current_year, projected_value,
will_meet, then headline, headline_rule, anticipated_gap (null where undefined). The method is
described in docs/assessment.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chitieu.assess import formulas
from chitieu.errors import ChitieuError

KINDS = ("level", "rank", "count", "growth")
OUTPUT_KEYS = formulas.OUTPUT_KEYS


class CaseError(ChitieuError, ValueError):
    """A case that does not follow the contract."""

    code = "bad-case"
    http_status = 422  # the case the caller gave


@dataclass(frozen=True)
class Target:
    kind: str
    operator: str
    value: float
    target_year: int
    value_max: float | None = None
    cohort_size: int | None = None


@dataclass(frozen=True)
class Case:
    target: Target
    baseline: tuple[int, float] | None
    observations: tuple[tuple[int, float], ...]
    as_of_year: int


def _number(obj: Any, what: str) -> float:
    if isinstance(obj, bool) or not isinstance(obj, int | float) or not math.isfinite(obj):
        raise CaseError(f"{what} must be a finite number (got {obj!r})", f"{what} phải là một số")
    return float(obj)


def _year(obj: Any, what: str) -> int:
    if isinstance(obj, bool) or not isinstance(obj, int | float) or int(obj) != obj:
        raise CaseError(
            f"{what} must be a year (integer), got {obj!r}", f"{what} phải là một năm (số nguyên)"
        )
    return int(obj)


def parse_case(case: dict[str, Any]) -> Case:
    """Validate a contract dict; raise CaseError (English and Vietnamese) when it is malformed."""
    if not isinstance(case, dict):
        raise CaseError("the case must be a JSON object", "trường hợp phải là một đối tượng JSON")
    t = case.get("target")
    if not isinstance(t, dict):
        raise CaseError("'target' is missing", "thiếu 'target'")
    kind = t.get("kind")
    if kind not in KINDS:
        raise CaseError(
            f"invalid 'target.kind': {kind!r} (expected one of {KINDS})",
            f"'target.kind' không hợp lệ: {kind!r}",
        )
    operator = t.get("operator")
    if operator not in formulas.OPERATORS:
        raise CaseError(
            f"invalid 'target.operator': {operator!r}", f"'target.operator' không hợp lệ: {operator!r}"
        )
    value_max = t.get("value_max")
    cohort = t.get("cohort_size")
    cohort_size = None if cohort is None else _year(cohort, "target.cohort_size")
    if cohort_size is not None and cohort_size < 1:
        raise CaseError(
            f"'target.cohort_size' must be >= 1 (got {cohort_size})", "'target.cohort_size' phải >= 1"
        )
    target = Target(
        kind=kind,
        operator=operator,
        value=_number(t.get("value"), "target.value"),
        target_year=_year(t.get("target_year"), "target.target_year"),
        value_max=None if value_max is None else _number(value_max, "target.value_max"),
        cohort_size=cohort_size,
    )
    b = case.get("baseline")
    baseline: tuple[int, float] | None = None
    if b is not None:
        if not isinstance(b, dict):
            raise CaseError("'baseline' must be an object or null", "'baseline' phải là đối tượng hoặc null")
        baseline = (_year(b.get("year"), "baseline.year"), _number(b.get("value"), "baseline.value"))
    raw = case.get("observations", [])
    if not isinstance(raw, list):
        raise CaseError("'observations' must be a list", "'observations' phải là một danh sách")
    observations = []
    for i, o in enumerate(raw):
        if not isinstance(o, dict):
            raise CaseError(f"observations[{i}] must be an object", f"observations[{i}] phải là đối tượng")
        observations.append(
            (
                _year(o.get("year"), f"observations[{i}].year"),
                _number(o.get("value"), f"observations[{i}].value"),
            )
        )
    return Case(target, baseline, tuple(observations), _year(case.get("as_of_year"), "as_of_year"))


def _ols_at(points: list[tuple[int, float]], x: float) -> float:
    """Ordinary least squares through the points, evaluated at x (mean-centred form)."""
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return my + (sxy / sxx) * (x - mx)


def _none_if_nan(x: Any) -> Any:
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def _rank_max(target: Target) -> float:
    if target.kind != "rank":
        return float("nan")
    return float("inf") if target.cohort_size is None else float(target.cohort_size)


def assess_case(case: Case) -> dict[str, Any]:
    target = case.target
    # Observations after the as-of year are not known yet; a repeated year keeps its last figure.
    by_year: dict[int, float] = {}
    for year, value in case.observations:
        if year <= case.as_of_year:
            by_year[year] = value
    nan = float("nan")
    if by_year:
        t = max(by_year)
        yt = by_year[t]
        if case.baseline is not None and case.baseline[0] < t:
            t0, y0 = case.baseline
        else:
            t0 = min(by_year)
            y0 = by_year[t0]
        points = dict(by_year)
        points.setdefault(t0, y0)  # the base point, unless an observation of its year replaces it
        ols = _ols_at(sorted(points.items()), target.target_year) if len(points) >= 3 else nan
        n_years = len(points)
    else:
        t, yt, t0, y0, ols, n_years = nan, nan, nan, nan, nan, 0  # type: ignore[assignment]
    out = formulas.decide(
        growth=target.kind == "growth",
        op=formulas.op_code(target.operator),
        value=target.value,
        target_year=target.target_year,
        t=t,
        yt=yt,
        t0=t0,
        y0=y0,
        ols_projection=ols,
        n_years=n_years,
        rank_max=_rank_max(target),
    )
    result = {key: _none_if_nan(out[key]) for key in OUTPUT_KEYS}
    for key in ("status", "headline", "headline_rule"):
        result[key] = str(result[key])
    if result["current_year"] is not None:
        result["current_year"] = int(result["current_year"])
    if result["will_meet"] is not None:
        result["will_meet"] = bool(result["will_meet"])
    return result


def assess(case: dict[str, Any]) -> dict[str, Any]:
    """The contract: one case dict in, one result dict out (keys OUTPUT_KEYS, None where undefined)."""
    return assess_case(parse_case(case))
