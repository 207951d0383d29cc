"""Raw records -> candidate observations: numbers, periods, units, status, names resolved.

Works column-wise on a DataFrame. Each distinct text (a label, a period, an indicator name) is
resolved once, so cost grows with the variety of a file, not its length. Nothing is rejected here:
problems are marked in columns that validate.py's pandera schema turns into rejections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import yaml

from chitieu.ingest.connectors.spreadsheet import FRAME_COLUMNS
from chitieu.ingest.normalize import (
    ParsedNumbers,
    PeriodError,
    factorize_cells,
    parse_number_series,
    parse_period,
    parse_status,
)
from chitieu.ingest.normalize.periods import PERIOD, PLAN, read_period_header
from chitieu.ingest.normalize.units import UnitError, convert
from chitieu.ingest.records import RawRecord
from chitieu.textnorm import fold_key
from chitieu.vietnam_time import TZ

# 'CẢ NƯỚC - WHOLE COUNTRY', 'Hà Nội\nHa Noi': a bilingual label is known by its Vietnamese part.
_BILINGUAL_RE = re.compile(r"\s+[-–—]\s+|\n|\s/\s")


@lru_cache(maxsize=1)
def aggregate_names() -> frozenset[str]:
    """Folded names of the rows that sum several provinces (catalog/aggregate_rows.yaml)."""
    from chitieu.settings import PROJECT_ROOT

    doc = yaml.safe_load((PROJECT_ROOT / "catalog" / "aggregate_rows.yaml").read_text(encoding="utf-8"))
    return frozenset(fold_key(name) for names in doc["regions"] for name in names)


def label_parts(text: str) -> list[str]:
    """The label and, when it is bilingual, each of its parts."""
    parts = [p.strip() for p in _BILINGUAL_RE.split(text) if p.strip()]
    return [text, *parts] if len(parts) > 1 else [text]


def is_aggregate(text: str | None) -> bool:
    if not text:
        return False
    names = aggregate_names()
    return any(
        fold_key(re.sub(r"^(vung|vùng)\s+", "", p, flags=re.IGNORECASE)) in names or fold_key(p) in names
        for p in label_parts(text)
    )


@dataclass
class Catalog:
    """The two registries ingestion resolves against."""

    jurisdictions: Any  # chitieu.catalog.jurisdictions.JurisdictionRegistry
    indicators: Any  # chitieu.catalog.indicators.IndicatorRegistry

    @classmethod
    def load(cls) -> Catalog:
        from chitieu.catalog.indicators import load_indicators
        from chitieu.catalog.jurisdictions import load_jurisdictions

        return cls(load_jurisdictions(), load_indicators())


def records_to_frame(records: Iterable[RawRecord]) -> pd.DataFrame:
    """RawRecords from any connector -> the frame layout the spreadsheet connector produces."""
    rows = [
        (
            r.jurisdiction,
            r.jurisdiction_code_hint,
            r.indicator,
            r.period,
            r.value,
            r.unit,
            r.status,
            r.sheet,
            r.row,
            r.column,
            None,
            None,
            None,
            None,
        )
        for r in records
    ]
    return pd.DataFrame(rows, columns=FRAME_COLUMNS, dtype=object)


def _text(cell: Any) -> str | None:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell).strip()
    return text or None


def _overlaps(j: Any, start: date, end: date) -> bool:
    if j.valid_from is not None and end < j.valid_from:
        return False
    return not (j.valid_to is not None and start > j.valid_to)


def resolve_jurisdiction(
    reg: Any, label: str | None, code: str | None, start: date, end: date, *, allow_out_of_force: bool = False
) -> tuple[Any, str]:
    """(Jurisdiction | None, 'ok' | 'unknown' | 'not_in_force') for the period [start, end].

    The unit in force at the period's end wins (a 2025 figure for code 52 is the merged Gia Lai),
    else the one in force at its start (a 2025 figure for Bình Định). A name is preferred to a
    code beside it, because codes were reused in the merger.
    """
    seen = None
    for text in (label, code):
        if not text:
            continue
        for day in (end, start):
            j = reg.resolve(text, on=day)
            if j is None:
                break
            seen = seen or j
            if _overlaps(j, start, end):
                return j, "ok"
    if seen is None:
        return None, "unknown"
    return (seen, "ok") if allow_out_of_force else (seen, "not_in_force")


def _as_of_for(as_of: Any, start: date) -> date | None:
    """options.jurisdictions_as_of: a date for every period, or {year: date} for some years."""
    if as_of is None:
        return None
    if isinstance(as_of, dict):
        picked = as_of.get(str(start.year), as_of.get(start.year))
        return _as_of_for(picked, start) if picked is not None else None
    if isinstance(as_of, date):
        return as_of
    return date.fromisoformat(str(as_of))


def text_series(series: pd.Series) -> pd.Series:
    """Cells as stripped text, None for empty; numbers read as text the way they print ('58', '2024')."""
    codes, uniq = factorize_cells(series)
    texts = np.array([*[_text(u) for u in uniq], None], dtype=object)
    return pd.Series(texts[codes], index=series.index, dtype=object)


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df:
        return text_series(df[name])
    return pd.Series(np.full(len(df), None, dtype=object), index=df.index)


def _resolve_pairs(
    reg: Any,
    texts: list[str | None],
    pairs_text: np.ndarray,
    pairs_start: np.ndarray,
    pairs_end: np.ndarray,
    *,
    allow: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Resolve (text, period) pairs, grouped by text: (jurisdiction objects, state strings).

    Same rule as resolve_jurisdiction, computed with arrays: for each text the candidate units
    are found once, then every period of that text is matched against their validity.
    """
    n = len(pairs_text)
    picked = np.full(n, None, dtype=object)
    state = np.full(n, "unknown", dtype=object)
    order = np.argsort(pairs_text, kind="stable")
    bounds = np.flatnonzero(np.diff(pairs_text[order])) + 1
    for group in np.split(order, bounds):
        if len(group) == 0:
            continue
        text = texts[pairs_text[group[0]]]
        if not text:
            continue
        cands = []
        for part in label_parts(text):
            cands = reg.candidates(part)
            if not cands:
                j = reg.resolve(part)  # ids ('old-58') and anything else the registry knows
                cands = [j] if j is not None else []
            if cands:
                break
        if not cands:
            if is_aggregate(text):
                state[group] = "aggregate"
            continue
        cands = sorted(cands, key=lambda j: (j.level != "province", j.id))
        lo = np.array([j.valid_from.toordinal() if j.valid_from else -(10**9) for j in cands])[:, None]
        hi = np.array([j.valid_to.toordinal() if j.valid_to else 10**9 for j in cands])[:, None]
        start, end = pairs_start[group][None, :], pairs_end[group][None, :]

        def nearest(day: np.ndarray, lo: np.ndarray = lo, hi: np.ndarray = hi) -> np.ndarray:
            dist = np.where(day < lo, lo - day, np.where(day > hi, day - hi, 0))
            first: np.ndarray = np.argmin(
                dist, axis=0
            )  # ties: the first, i.e. province before others, then id
            return first

        at_end, at_start = nearest(end), nearest(start)
        cols = np.arange(len(group))
        ok_end = (lo[at_end, 0] <= end[0]) & (hi[at_end, 0] >= start[0])
        ok_start = (lo[at_start, 0] <= end[0]) & (hi[at_start, 0] >= start[0])
        choice = np.where(ok_end | ~ok_start, at_end, at_start)
        good = ok_end | ok_start
        cand_arr = np.empty(len(cands), dtype=object)
        cand_arr[:] = cands
        picked[group] = cand_arr[choice[cols]]
        state[group] = np.where(good | allow, "ok", "not_in_force")
    return picked, state


@dataclass
class _Periods:
    """The file's period cells, each distinct one parsed once: `codes` index `parsed` (-1: empty)."""

    codes: np.ndarray
    parsed: list[Any]  # Period | None, the last entry standing for an empty cell
    start_ord: np.ndarray  # per distinct cell: first day as an ordinal (today when unreadable)
    end_ord: np.ndarray
    provisional: np.ndarray


def _drop_missing(df: pd.DataFrame, options: dict[str, Any]) -> tuple[pd.DataFrame, ParsedNumbers, int]:
    """Numbers read once per distinct cell; rows whose cell is a missing marker ('-', 'x', '..') dropped."""
    nums = parse_number_series(df["value"], options.get("decimal_mark"))
    keep = ~nums.missing.to_numpy()
    skipped = int(len(df) - keep.sum())
    if skipped:
        df = df.loc[keep].reset_index(drop=True)
        nums.value, nums.bad, nums.percent, nums.provisional = (
            s[keep].reset_index(drop=True) for s in (nums.value, nums.bad, nums.percent, nums.provisional)
        )
    return df, nums, skipped


def _periods(df: pd.DataFrame, out: pd.DataFrame, date1904: bool) -> _Periods:
    """period_type/start/end/label, period_ok and plan_ok, once per distinct cell."""
    pcodes, puniq = factorize_cells(df["period"])
    plist: list[Any] = []
    plan = np.zeros(len(puniq) + 1, dtype=bool)
    for i, cell in enumerate(puniq):
        try:
            plist.append(parse_period(cell, date1904=date1904))
        except PeriodError:
            # 'Thực hiện năm 2023', 'Sơ bộ 2024' in a period column read as a header would be
            header = read_period_header(cell)
            plan[i] = header is not None and header.kind == PLAN
            period = header.period if header is not None and header.kind == PERIOD else None
            plist.append(replace(period, provisional=header.provisional) if period and header else None)
    plist.append(None)  # code -1: an empty period cell
    today = datetime.now(TZ).date().toordinal()
    for name in ("type", "start", "end", "label"):
        values = np.array([getattr(p, name) if p else None for p in plist], dtype=object)
        out[f"period_{name}"] = values[pcodes]
    out["plan_ok"] = ~plan[pcodes]
    return _Periods(
        codes=pcodes,
        parsed=plist,
        start_ord=np.array([p.start.toordinal() if p else today for p in plist], dtype=np.int64),
        end_ord=np.array([p.end.toordinal() if p else today for p in plist], dtype=np.int64),
        provisional=np.array([bool(p and p.provisional) for p in plist], dtype=bool),
    )


def _indicators(
    df: pd.DataFrame, out: pd.DataFrame, catalog: Catalog
) -> tuple[pd.Series, np.ndarray, list[Any]]:
    """indicator_code, indicator_state and the indicator's type and bounds, once per distinct text;
    returns (the texts, their codes, the resolved indicators with None last)."""
    ind_text = _column(df, "indicator")
    icodes, iuniq = pd.factorize(ind_text, use_na_sentinel=True)
    ilist = [*[catalog.indicators.resolve(t) for t in iuniq], None]

    def ind_attr(name: str, dtype: Any = object, missing: Any = None) -> np.ndarray:
        arr = np.array(
            [getattr(i, name) if i is not None and getattr(i, name) is not None else missing for i in ilist],
            dtype=dtype,
        )
        picked: np.ndarray = arr[icodes]
        return picked

    out["indicator_code"] = ind_attr("code")
    iknown = np.array([i is not None for i in ilist], dtype=bool)[icodes]
    # small object arrays indexed by codes: one shared str per state, not a million copies
    states = np.array(["ok", "unknown", "missing"], dtype=object)
    out["indicator_state"] = states[np.where(icodes < 0, 2, np.where(iknown, 0, 1))]
    out["value_type"] = ind_attr("value_type")
    out["min_value"] = ind_attr("min_value", "float64", np.nan)
    out["max_value"] = ind_attr("max_value", "float64", np.nan)
    return ind_text, icodes, ilist


def _jurisdictions(
    df: pd.DataFrame, out: pd.DataFrame, catalog: Catalog, periods: _Periods, options: dict[str, Any]
) -> tuple[pd.Series, pd.Series]:
    """jurisdiction_id and jurisdiction_state, once per (label, period); returns (labels, code hints)."""
    labels = _column(df, "jurisdiction")
    hints = _column(df, "jurisdiction_code_hint")
    lcodes, luniq = pd.factorize(labels, use_na_sentinel=True)
    ltexts: list[str | None] = [*luniq.tolist(), None]
    lcodes = np.where(lcodes < 0, len(ltexts) - 1, lcodes)
    plist, pstart_ord, pend_ord = periods.parsed, periods.start_ord, periods.end_ord
    nper = len(plist)
    pc = np.where(periods.codes < 0, nper - 1, periods.codes)
    pair_key = lcodes.astype(np.int64) * nper + pc
    inverse, ukeys = pd.factorize(pair_key)  # hashed, not sorted: no million-row sort temporaries
    u_label, u_period = ukeys // nper, ukeys % nper
    as_of = options.get("jurisdictions_as_of")
    u_start, u_end = pstart_ord[u_period].copy(), pend_ord[u_period].copy()
    if as_of is not None:  # the publisher names the units of another date (DTI 2024: the 34 merged)
        for k, per in enumerate(u_period):
            p = plist[per]
            on = _as_of_for(as_of, p.start) if p is not None else None
            if on is not None:
                u_start[k] = u_end[k] = on.toordinal()
    allow = bool(options.get("allow_out_of_force", False))
    u_j, u_state = _resolve_pairs(catalog.jurisdictions, ltexts, u_label, u_start, u_end, allow=allow)
    j_obj, j_state = u_j[inverse], u_state[inverse]
    # a code beside the name, for rows whose name did not resolve
    retry = (j_state != "ok") & hints.notna().to_numpy()
    if retry.any():
        idx = np.flatnonzero(retry)
        hcodes, huniq = pd.factorize(hints.iloc[idx], use_na_sentinel=True)
        h_j, h_state = _resolve_pairs(
            catalog.jurisdictions,
            list(huniq),
            hcodes.astype(np.int64),
            pstart_ord[pc[idx]],
            pend_ord[pc[idx]],
            allow=allow,
        )
        better = (h_state == "ok") | (j_state[idx] == "unknown")
        j_obj[idx[better]], j_state[idx[better]] = h_j[better], h_state[better]
    n = len(df)
    out["jurisdiction_id"] = (
        np.array([j.id if j is not None else None for j in j_obj], dtype=object) if n else []
    )
    out.loc[np.asarray(j_state != "ok"), "jurisdiction_id"] = None
    # name and code are looked up by id when printed (dry runs): two fewer million-row columns
    out["jurisdiction_state"] = j_state if n else []
    return labels, hints


def _values(
    df: pd.DataFrame, out: pd.DataFrame, nums: ParsedNumbers, icodes: np.ndarray, ilist: list[Any], spec: Any
) -> None:
    """value at the indicator's scale (one factor per (indicator, stated unit)), value_ok, unit_error,
    unit_ok, raw_unit, flag and cell_ok.

    The unit a reader sees: the cell's number format, else a '%' written in the cell, else the unit
    column / unit row / header / unit line the connector found, else the spec's."""
    n = len(df)
    units = _column(df, "unit")
    pct = nums.percent.to_numpy(dtype=bool)
    if pct.any():
        units = units.where(~pct, "%")
    if "format_unit" in df:
        shown = _column(df, "format_unit")
        units = shown.where(shown.notna(), units)
    ucodes, uuniq = pd.factorize(units, use_na_sentinel=True)
    nunits = len(uuniq) + 1
    ucodes = np.where(ucodes < 0, nunits - 1, ucodes)
    ic = np.where(icodes < 0, len(ilist) - 1, icodes)
    fkey = ic.astype(np.int64) * nunits + ucodes
    finv, fk = pd.factorize(fkey)
    unit_list = [*uuniq.tolist(), None]
    factors = np.ones(len(fk))
    unit_errors = np.full(len(fk) + 1, None, dtype=object)
    for k, key in enumerate(fk):
        ind = ilist[int(key // nunits)]
        if ind is None:
            continue
        try:
            f = convert(unit_list[int(key % nunits)], ind.unit, ind.value_type)
        except UnitError as exc:
            unit_errors[k] = (exc.vi, exc.en)
            f = np.nan
        if spec is not None:
            f *= spec.multiplier_for(ind.code, ind.value_type)
        factors[k] = f
    out["value"] = nums.value.to_numpy() * factors[finv] if n else np.array([], dtype="float64")
    out["value_ok"] = ~nums.bad.to_numpy(dtype=bool)
    out["unit_error"] = unit_errors[finv] if n else []
    out["unit_ok"] = pd.isna(out["unit_error"]) if n else pd.Series([], dtype=bool)
    out["raw_unit"] = units.to_numpy()
    out["flag"] = _column(df, "flag").to_numpy() if "flag" in df else None
    out["cell_ok"] = out["flag"].isna() if n else pd.Series([], dtype=bool)


def _statuses(
    df: pd.DataFrame, out: pd.DataFrame, nums: ParsedNumbers, periods: _Periods, default: str
) -> None:
    """final when the file says so; provisional when the status, the cell or the period says so
    ('ước', 'sơ bộ'); else the spec's default."""
    scodes, suniq = pd.factorize(_column(df, "status"), use_na_sentinel=True)
    parsed_status = np.array([*[parse_status(x) for x in suniq], None], dtype=object)[scodes]
    provisional = (
        (parsed_status == "provisional")
        | nums.provisional.to_numpy(dtype=bool)
        | periods.provisional[periods.codes]
    )
    final_given = parsed_status == "final"
    statuses = np.array(["final", "provisional", default], dtype=object)
    out["status"] = statuses[np.where(final_given, 0, np.where(provisional, 1, 2))]


def _provenance(
    df: pd.DataFrame, out: pd.DataFrame, labels: pd.Series, hints: pd.Series, ind_text: pd.Series
) -> None:
    """Where each figure came from, as read (formatted only for rows that get rejected)."""
    out["raw_jurisdiction"] = labels.where(labels.notna(), hints)
    out["raw_indicator"] = ind_text
    out["raw_period"] = df["period"].to_numpy()
    out["raw_value"] = df["value"].to_numpy()
    out["sheet"] = df["sheet"].to_numpy() if "sheet" in df else None
    out["row"] = pd.to_numeric(df["row"], errors="coerce").astype("Int64") if "row" in df else pd.NA
    out["cell"] = df["column"].to_numpy() if "column" in df else None
    out["label_cell"] = df["label_cell"].to_numpy() if "label_cell" in df else None
    out["period_cell"] = df["period_cell"].to_numpy() if "period_cell" in df else None


def _let_go(df: pd.DataFrame, *names: str) -> None:
    """Drop raw columns no later step reads: their memory goes now, not with the whole frame."""
    df.drop(columns=[n for n in names if n in df], inplace=True)


def normalize_frame(
    raw: pd.DataFrame,
    catalog: Catalog,
    *,
    indicator: str | None = None,
    spec: Any = None,
    date1904: bool = False,
) -> tuple[pd.DataFrame, int]:
    """Raw frame -> (candidate frame, number of cells skipped as missing markers).

    Consumes `raw`: it is left without columns, and each of its columns is let go as soon as the
    step that reads it is done, so a big file's cells and its candidates are never held whole side
    by side."""
    options = dict(spec.options) if spec is not None else {}
    default_status = (spec.status if spec is not None else None) or "final"
    df = raw.reset_index(drop=True)
    raw.drop(columns=raw.columns, inplace=True)
    if indicator:
        df["indicator"] = indicator
    df, nums, skipped = _drop_missing(df, options)
    out = pd.DataFrame(index=df.index)
    periods = _periods(df, out, date1904)
    ind_text, icodes, ilist = _indicators(df, out, catalog)
    _let_go(df, "indicator")
    labels, hints = _jurisdictions(df, out, catalog, periods, options)
    _let_go(df, "jurisdiction", "jurisdiction_code_hint")
    _values(df, out, nums, icodes, ilist, spec)
    _let_go(df, "unit", "format_unit", "flag")
    _statuses(df, out, nums, periods, default_status)
    _let_go(df, "status")
    _provenance(df, out, labels, hints, ind_text)
    out["period_ok"] = out["period_label"].notna()
    return out, skipped
