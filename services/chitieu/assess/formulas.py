"""The formulas of the progress method, written once for scalars and numpy arrays alike.

Both the one-case contract (`core.assess`) and the set-based form (`vector.assess_frame`) call these,
so a change of method is made in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ON_TRACK_MIN = 0.95  # Eurostat / Statistics Canada cut-offs on actual ÷ required growth
ACCELERATION_MIN = 0.60
ZERO_REPLACEMENT = 0.001  # a value of 0 in a CAGR is replaced by this (open-sdg)

# What an assessment gives, in the contract's order (core.assess's dict, vector.assess_frame's columns,
# and the evaluations' columns of the same names): the ratio's judgement, then the headline verdict.
JUDGEMENT_KEYS = (
    "status",
    "progress_ratio",
    "expected_value",
    "current_value",
    "current_year",
    "projected_value",
    "will_meet",
)
OUTPUT_KEYS = (*JUDGEMENT_KEYS, "headline", "headline_rule", "anticipated_gap")
# Those that describe the path to the target: undefined without a threshold to aim at.
PATH_KEYS = ("progress_ratio", "expected_value", "projected_value", "will_meet", "anticipated_gap")

OPERATORS = (">=", ">", "<=", "<", "=")
_OP_CODE = {op: i for i, op in enumerate(OPERATORS)}
EQUAL_TOLERANCE = 1e-9


def op_code(operator: str) -> int:
    try:
        return _OP_CODE[operator]
    except KeyError:
        raise ValueError(f"toán tử không hợp lệ / unknown operator: {operator!r}") from None


def op_codes(operators: Any) -> np.ndarray:
    return np.array([op_code(o) for o in operators], dtype=np.int8)


def direction(op: Any, value: Any = None, base: Any = None) -> Any:
    """d = +1 when higher is better (>=, >), -1 when lower is better (<=, <).

    For '=' the direction is towards the target from the base (+1 when the target is not below it).
    """
    op = np.asarray(op)
    d = np.where(op <= 1, 1.0, -1.0)
    if value is not None and base is not None:
        d = np.where(op == 4, np.where(np.asarray(value) >= np.asarray(base), 1.0, -1.0), d)
    return d


def meets(y: Any, op: Any, value: Any) -> Any:
    """Whether y satisfies `op value` (strictly for > and <); False where y is NaN."""
    y = np.asarray(y, dtype=float)
    op = np.asarray(op)
    value = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        tol = EQUAL_TOLERANCE * np.maximum(1.0, np.abs(value))
        out = np.select(
            [op == 0, op == 1, op == 2, op == 3, op == 4],
            [y >= value, y > value, y <= value, y < value, np.abs(y - value) <= tol],
            default=False,
        )
    return out & ~np.isnan(y)


def nonzero(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    return np.where(x == 0, ZERO_REPLACEMENT, x)


def cagr(a: Any, b: Any, t1: Any, t2: Any) -> Any:
    """(a/b)^(1/(t1-t2)) - 1 with 0 replaced by 0.001; NaN when t1 == t2 or a, b have opposite signs.

    When a and b are both negative the ratio is taken the other way, (b/a): the growth is then
    positive when the value rises (e.g. -10 -> -7), as it is for positive values, so that the
    direction d means the same on either side of zero.
    """
    a = nonzero(a)
    b = nonzero(b)
    negative = (a < 0) & (b < 0)
    a, b = np.where(negative, b, a), np.where(negative, a, b)
    span = np.asarray(t1, dtype=float) - np.asarray(t2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / b
        ok = (ratio > 0) & (span != 0)
        out = np.where(ok, np.power(np.where(ok, ratio, 1.0), 1.0 / np.where(ok, span, 1.0)) - 1.0, np.nan)
    return out


def opposite_signs(a: Any, b: Any) -> Any:
    """After the 0 -> 0.001 replacement, as the CAGR sees them."""
    return (nonzero(a) * nonzero(b)) < 0


def ratio_status(r: Any, numerator: Any) -> Any:
    """Status from R by the 0.95 / 0.60 / 0 bands.

    Where R is undefined because the required growth is 0 (target equal to the base) the sign of the
    actual growth decides: up is on track, none is limited progress, down is deterioration.
    """
    r = np.asarray(r, dtype=float)
    numerator = np.asarray(numerator, dtype=float)
    with np.errstate(invalid="ignore"):
        banded = np.select(
            [r >= ON_TRACK_MIN, r >= ACCELERATION_MIN, r >= 0, r < 0],
            ["on_track", "needs_acceleration", "limited_progress", "deteriorating"],
            default="",
        )
        by_sign = np.select(
            [numerator > 0, numerator == 0, numerator < 0],
            ["on_track", "limited_progress", "deteriorating"],
            default="insufficient_data",
        )
    return np.where(np.isnan(r), by_sign, banded)


def divide_or_nan(num: Any, den: Any) -> Any:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def line_at(x0: Any, y0: Any, x1: Any, y1: Any, x: Any) -> Any:
    """The straight line through (x0, y0) and (x1, y1), evaluated at x; NaN when x0 == x1."""
    x0 = np.asarray(x0, dtype=float)
    x1 = np.asarray(x1, dtype=float)
    slope = divide_or_nan(np.asarray(y1, dtype=float) - np.asarray(y0, dtype=float), x1 - x0)
    return np.asarray(y0, dtype=float) + slope * (np.asarray(x, dtype=float) - x0)


TRAJECTORY_STATUSES = ("on_track", "needs_acceleration", "limited_progress", "deteriorating")
# Severity of the trajectory statuses (as in chitieu.statuses; a test checks they agree): the
# headline is the worse of the ratio's verdict and the projection's.
_TRAJECTORY_SEVERITY = {"on_track": 1, "needs_acceleration": 4, "limited_progress": 5, "deteriorating": 6}


def anticipated_gap(op: Any, value: Any, y0: Any, projected: Any) -> Any:
    """ESCAP's anticipated gap G = d * (target - projected) / |target - base| (NaN when target = base).

    G <= 0: the target will be met; 0 < G <= 1: acceleration needed; G > 1: the trend must reverse.
    """
    d = direction(op, value, y0)
    return d * divide_or_nan(np.asarray(value, dtype=float) - projected, np.abs(np.asarray(value) - y0))


def headline(status: Any, will_meet: Any, gap: Any) -> tuple[np.ndarray, np.ndarray]:
    """(headline status, rule) from the ratio's status and the projection.

    Precedence: a status off the trajectory scale (achieved, no_data, insufficient_data, ...) is the
    headline as it is (rule 'status'). On the scale, the projection gives its own verdict - on_track
    when it meets the target (will_meet), else deteriorating when G > 1 (the trend must reverse),
    else needs_acceleration - and the headline is the worse of the two (rule 'projection' when the
    projection's is worse, else 'ratio'). So a ratio on track with a projection that misses is never
    green, and no green headline has a projection that misses.
    """
    status = np.asarray(status).astype(object)
    will_meet = np.asarray(will_meet, dtype=float)
    gap = np.asarray(gap, dtype=float)
    with np.errstate(invalid="ignore"):
        anticipated = np.where(
            will_meet == 1, "on_track", np.where(gap > 1, "deteriorating", "needs_acceleration")
        )
    on_scale = np.isin(status, TRAJECTORY_STATUSES)
    sev = np.vectorize(lambda k: _TRAJECTORY_SEVERITY.get(k, 0), otypes=[int])
    worse = on_scale & ~np.isnan(will_meet) & (sev(anticipated) > sev(status))
    head = np.where(worse, anticipated, status).astype(object)
    rule = np.where(worse, "projection", np.where(on_scale, "ratio", "status")).astype(object)
    return head, rule


def decide(
    *,
    growth: Any,
    op: Any,
    value: Any,
    target_year: Any,
    t: Any,
    yt: Any,
    t0: Any,
    y0: Any,
    ols_projection: Any,
    n_years: Any,
    rank_max: Any = np.nan,
) -> dict[str, np.ndarray]:
    """Status and figures from the chosen base (t0, y0), current (t, yt) and the OLS projection.

    Arrays of one length (or scalars). `t` NaN means no observation; `ols_projection` is used only
    where `n_years` >= 3, otherwise the line through base and current projects. `rank_max`: for a
    rank target, the size of the ranking (paths and projections are bounded to [1, rank_max]; inf
    bounds below only); NaN for other targets.
    """
    growth = np.asarray(growth, dtype=bool)
    op = np.asarray(op)
    value = np.asarray(value, dtype=float)
    big_t = np.asarray(target_year, dtype=float)
    t = np.asarray(t, dtype=float)
    yt = np.asarray(yt, dtype=float)
    t0 = np.asarray(t0, dtype=float)
    y0 = np.asarray(y0, dtype=float)
    has = ~np.isnan(t)
    # A target year not after the base leaves no span to measure the required growth over.
    late = has & (big_t <= t0)
    two_years = has & (t0 != t) & ~late
    opposite = opposite_signs(y0, yt)
    usable = two_years & ~opposite

    d = direction(op, value, y0)
    actual = cagr(yt, y0, t, t0)
    numerator = d * actual
    required = np.abs(cagr(value, y0, big_t, t0))
    r_level = np.where(usable, divide_or_nan(numerator, required), np.nan)
    pace = 100.0 * actual
    r_growth = np.where(usable, divide_or_nan(pace, np.abs(value)), np.nan)
    r = np.where(growth, r_growth, r_level)
    sign_basis = np.where(growth, pace, numerator)
    # R undefined for a reason other than a zero requirement (e.g. target and base of opposite
    # signs, target year not after the base): no judgement.
    zero_requirement = np.where(growth, value == 0, required == 0)
    banded = np.where(np.isnan(r) & ~zero_requirement, "insufficient_data", ratio_status(r, sign_basis))

    achieved_level = meets(yt, op, value)
    achieved_growth = usable & (t >= big_t) & meets(pace, op, value)
    achieved = np.where(growth, achieved_growth, achieved_level)
    status = np.where(
        ~has,
        "no_data",
        np.where(achieved, "achieved", np.where(usable, banded, "insufficient_data")),
    )

    no_path = growth | ~has | late
    expected = np.where(no_path, np.nan, line_at(t0, y0, big_t, value, t))
    n_years = np.asarray(n_years)
    line = np.where(two_years, line_at(t0, y0, t, yt, big_t), np.nan)
    projected = np.where(no_path, np.nan, np.where(n_years >= 3, ols_projection, line))
    # Ranks are ranks: 1 is the top, the ranking's size the bottom.
    rank_max = np.asarray(rank_max, dtype=float)
    is_rank = ~np.isnan(rank_max)
    expected = np.where(is_rank, np.clip(expected, 1.0, np.where(is_rank, rank_max, np.inf)), expected)
    projected = np.where(is_rank, np.clip(projected, 1.0, np.where(is_rank, rank_max, np.inf)), projected)
    will_meet = np.where(np.isnan(projected), np.nan, meets(projected, op, value).astype(float))
    gap = anticipated_gap(op, value, y0, projected)
    head, rule = headline(status, will_meet, gap)
    return {
        "headline": head,
        "headline_rule": rule,
        "anticipated_gap": gap,
        "status": status,
        "progress_ratio": r,
        "expected_value": expected,
        "current_value": np.where(has, yt, np.nan),
        "current_year": t,
        "projected_value": projected,
        "will_meet": will_meet,
    }
