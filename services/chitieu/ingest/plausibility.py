"""The plausibility guard: a figure about 10, 100 or 1000 times off its neighbours is held back.

A unit error leaves the figure inside its allowed range more often than not (598.1 thousand people
stored as 598.1; GRDP in triệu đồng read as tỷ đồng). So each figure about to be loaded is compared
with the first of these that exists, and quarantined when the ratio is near a power of ten (10,
100, 1000, either way):

1. the same figure's current vintage in the database (same jurisdiction, indicator and period);
2. the median of the same jurisdiction's series of that indicator, the file's figures and the
   stored ones of other periods together, when it has at least three figures;
3. for bounded indicators (shares, 0-1 indices, 0-100 scores, rates), the median of the rest of its
   column in the file, when the column has at least three figures.

A quarantined figure is a rejection ('suspected_unit_error') whose reason names what it was compared
with; it keeps its candidate (what would have been loaded), and an engineer who knows the figure is
right accepts it (ingest/accept.py), which loads it and writes the audit trail.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

KEY = ["jurisdiction_id", "indicator_code", "period_type", "period_start"]
POWERS = (1, 2, 3)
TOLERANCE = 0.1  # in log10: 10 means 7.9-12.6, 100 means 79-126
BOUNDED = {"share_pct", "index_0_1", "score_0_100", "rate_per_10k", "rate_per_1000"}
EXEMPT = {"rank", "growth_pct_per_year"}
SMALL_COUNT = 100  # two small counts (3 and 30 patents) may well differ tenfold

REASON_VI = (
    "nghi sai đơn vị: giá trị {value} gấp khoảng {factor} lần {what} ({ref}); chưa nạp, kỹ sư kiểm tra và "
    "chấp nhận nếu đúng"
)
REASON_EN = (
    "suspected unit error: {value} is about {factor} times {what_en} ({ref}); held back until an engineer "
    "accepts it"
)


def _near_power(ratio: np.ndarray) -> np.ndarray:
    """The signed power of ten a ratio is near (1, 2, 3, -1, -2, -3), 0 when none."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.log10(np.abs(ratio))
    k = np.rint(lg)
    near = np.isfinite(lg) & (np.abs(lg - k) < TOLERANCE) & np.isin(np.abs(k), POWERS)
    return np.where(near, k, 0).astype(int)


def _fmt(x: Any) -> str:
    return f"{x:g}"


def current_figures(conn: Any, good: pd.DataFrame) -> pd.DataFrame:
    """The current vintage of every stored figure of the file's jurisdictions and indicators."""
    if conn is None or good.empty:
        return pd.DataFrame(columns=[*KEY, "value"])
    rows = conn.execute(
        """SELECT DISTINCT ON (jurisdiction_id, indicator_code, period_type, period_start)
                  jurisdiction_id, indicator_code, period_type, period_start, value
           FROM observations
           WHERE indicator_code = ANY (%s) AND jurisdiction_id = ANY (%s)
           ORDER BY jurisdiction_id, indicator_code, period_type, period_start, loaded_at DESC""",
        (sorted(good["indicator_code"].unique().tolist()), sorted(good["jurisdiction_id"].unique().tolist())),
    ).fetchall()
    return pd.DataFrame([tuple(r) for r in rows], columns=[*KEY, "value"])


def _group_ids(columns: list[Any]) -> np.ndarray:
    """One integer per distinct combination of the columns' values (missing values included), built
    from each column's codes: no million tuples as a MultiIndex's factorize would make."""
    ids = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    for col in columns:
        codes, uniq = pd.factorize(np.asarray(col, dtype=object), use_na_sentinel=True)
        ids, _ = pd.factorize(ids * (len(uniq) + 1) + (codes + 1))
    return ids


def check(good: pd.DataFrame, stored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to load, the quarantined rows with columns `reason_vi`, `reason_en`, `compared`)."""
    if good.empty:
        return good, good.iloc[0:0]
    df = good.reset_index(drop=True)
    value = df["value"].to_numpy(dtype=float)
    power = np.zeros(len(df), dtype=int)
    what_vi = np.full(len(df), None, dtype=object)
    what_en = np.full(len(df), None, dtype=object)
    ref_text = np.full(len(df), None, dtype=object)
    decided = np.zeros(len(df), dtype=bool)
    small = df["value_type"].isin(["count", "amount"]).to_numpy() & (np.abs(value) < SMALL_COUNT)
    # ranks are ordinal and growth rates swing across zero: a tenfold step says nothing about units
    exempt = df["value_type"].isin(EXEMPT).to_numpy()

    def apply(ref: np.ndarray, has: np.ndarray, vi: Any, en: Any, shown: Any) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):
            k = _near_power(value / ref)
        k = np.where(has & ~decided & ~exempt & ~(small & (np.abs(ref) < SMALL_COUNT)), k, 0)
        hit = k != 0
        power[hit] = k[hit]
        what_vi[hit] = vi(hit) if callable(vi) else vi
        what_en[hit] = en(hit) if callable(en) else en
        if hit.any():  # formatted only for the few figures held back
            ref_text[hit] = [shown(i) for i in np.flatnonzero(hit)]
        decided[has & ~decided] = True  # the first reference that exists decides

    # 1. the current vintage of the same figure
    if not stored.empty:
        prev = df[KEY].merge(stored, on=KEY, how="left")["value"].to_numpy(dtype=float)
        has = np.isfinite(prev) & (prev != 0)
        apply(prev, has, "phiên bản hiện có", "the current stored vintage", lambda i: _fmt(prev[i]))

    # 2. the series of the same jurisdiction and indicator, stored and in the file
    n = len(df)  # the file's rows come first in `series`
    series_key = ["jurisdiction_id", "indicator_code", "period_type"]
    if stored.empty:  # the file's own series: grouped in place, no copy of its columns
        series_value, groups = pd.Series(value), [df[k] for k in series_key]
    else:
        marked = stored.merge(df[KEY].drop_duplicates(), on=KEY, how="left", indicator=True)
        others = marked[marked["_merge"] == "left_only"]
        series = pd.concat([df[[*KEY, "value"]], others[[*KEY, "value"]]], ignore_index=True)
        series_value = pd.to_numeric(series["value"], errors="coerce")  # a float column: medians in C
        groups = [series[k] for k in series_key]
    # one integer per series, so the two transforms below group on a single int64 column
    ids = pd.Series(_group_ids(groups))
    grouped = series_value.groupby(ids, sort=False)
    m = grouped.transform("median").to_numpy(dtype=float)[:n]
    size = grouped.transform("size").to_numpy(dtype=float)[:n]
    del ids, grouped, groups, series_value
    has = (size >= 3) & np.isfinite(m) & (m != 0)
    apply(
        m,
        has,
        "trung vị chuỗi số liệu cùng địa phương, chỉ tiêu",
        "the median of the same jurisdiction's series",
        lambda i: f"{_fmt(m[i])}, {int(size[i])} figures",
    )

    # 3. the rest of its column, for bounded indicators. A column holds one indicator, so only the
    # columns of bounded indicators are grouped, and only when one of their figures is still undecided.
    bounded = df["value_type"].isin(BOUNDED).to_numpy()
    if (bounded & ~decided & ~exempt).any():
        rows = np.flatnonzero(bounded)
        part = df.iloc[rows]
        # 'E123' -> 'E': a one-letter column is CPython's shared one-character string, not a new object
        column = part["cell"].astype(str).str.rstrip("0123456789").fillna("").to_numpy(dtype=object)
        g = pd.Series(value[rows]).groupby(
            _group_ids([part["sheet"].astype(str), column, part["indicator_code"]]), sort=False
        )
        cm, cs = np.full(n, np.nan), np.zeros(n)
        cm[rows] = g.transform("median").to_numpy(dtype=float)
        cs[rows] = g.transform("size").to_numpy(dtype=float)
        col_of = np.full(n, "", dtype=object)
        col_of[rows] = column
        apply(
            cm,
            (cs >= 3) & np.isfinite(cm) & (cm != 0) & bounded,
            lambda hit: "trung vị cột " + col_of[hit],  # only for the few figures held back
            lambda hit: "the median of column " + col_of[hit],
            lambda i: f"{_fmt(cm[i])}, {int(cs[i])} figures",
        )

    flagged = power != 0
    if not flagged.any():
        return good, good.iloc[0:0]
    held = df[flagged].copy()
    factors = np.where(power[flagged] > 0, 10.0 ** power[flagged], 10.0 ** -power[flagged])
    held["reason_vi"] = [
        REASON_VI.format(value=_fmt(v), factor=f"{f:g}" if p > 0 else f"1/{f:g}", what=w, ref=r)
        for v, f, p, w, r in zip(
            held["value"], factors, power[flagged], what_vi[flagged], ref_text[flagged], strict=True
        )
    ]
    held["reason_en"] = [
        REASON_EN.format(value=_fmt(v), factor=f"{f:g}" if p > 0 else f"1/{f:g}", what_en=w, ref=r)
        for v, f, p, w, r in zip(
            held["value"], factors, power[flagged], what_en[flagged], ref_text[flagged], strict=True
        )
    ]
    return df[~flagged], held


CANDIDATE_COLUMNS = [*KEY, "period_end", "value", "status", "sheet", "row", "cell"]


def candidate(row: dict[str, Any]) -> dict[str, Any]:
    """What accepting a quarantined figure loads."""
    return {
        "jurisdiction_id": row["jurisdiction_id"],
        "indicator_code": row["indicator_code"],
        "period_type": row["period_type"],
        "period_start": str(row["period_start"]),
        "period_end": str(row["period_end"]) if row.get("period_end") is not None else None,
        "value": float(row["value"]),
        "status": row["status"],
        "sheet": row.get("sheet"),
        "row": None if pd.isna(row.get("row")) else int(row["row"]),
        "cell": row.get("cell"),
    }
