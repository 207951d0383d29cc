"""Validation of candidate observations with a pandera schema; failures become rejections.

Each rule is a named pandera check; the check's name is the rejection's reason code, and the
tables below give its reason in Vietnamese and English. A row failing several checks is rejected
once, for the first reason in REASON_ORDER. Conflicting duplicates inside one file (same
jurisdiction, indicator and period, different value or status) reject every row of the conflict:
the file does not say which figure is right. Exact duplicates keep one row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

KEY = ["jurisdiction_id", "indicator_code", "period_type", "period_start"]

# A cell that cannot be a figure is rejected for that first; a jurisdiction's being in force is
# judged only once the period is known.
REASON_ORDER = [
    "external_formula",
    "error_cell",
    "uncached_formula",
    "aggregate_row",
    "unknown_jurisdiction",
    "missing_indicator",
    "unknown_indicator",
    "plan_figure",
    "bad_period",
    "jurisdiction_not_in_force",
    "unparsable_value",
    "unit_unconvertible",
    "out_of_range",
    "conflicting_duplicate",
]
CELL_FLAGS = ("external_formula", "error_cell", "uncached_formula")

# reason code -> (Vietnamese, English); placeholders: {raw}, {period}, {value}, {lo}, {hi}, {indicator},
# {value_type}, {rows}
REASONS: dict[str, tuple[str, str]] = {
    "unknown_jurisdiction": (
        "không nhận ra tỉnh/thành phố '{raw}'",
        "unknown jurisdiction '{raw}'",
    ),
    "jurisdiction_not_in_force": (
        "'{raw}' không phải đơn vị hành chính đang tồn tại trong kỳ {period} (sáp nhập từ 01/07/2025)",
        "'{raw}' is not a jurisdiction in force for period {period} (provinces merged on 1 July 2025)",
    ),
    "missing_indicator": (
        "không rõ chỉ tiêu: tệp không có cột chỉ tiêu; hãy chỉ định --indicator",
        "no indicator: the file has no indicator column; give --indicator",
    ),
    "unknown_indicator": (
        "không nhận ra chỉ tiêu '{raw}'",
        "unknown indicator '{raw}'",
    ),
    "bad_period": (
        "không đọc được kỳ số liệu '{raw}' ở ô {period_cell}",
        "unreadable period '{raw}' in cell {period_cell}",
    ),
    "plan_figure": (
        "kỳ '{raw}' ở ô {period_cell} là số kế hoạch, không phải số thực hiện: không nạp",
        "period '{raw}' in cell {period_cell} is a plan figure, not an observation: not loaded",
    ),
    "external_formula": (
        "ô chứa công thức lấy số liệu từ nguồn bên ngoài ({raw}): không phải số liệu cuối cùng, không nạp",
        "the cell's formula takes its figure from an outside source ({raw}): not a final figure, not loaded",
    ),
    "error_cell": (
        "ô báo lỗi {raw}: không có số liệu",
        "the cell shows the error {raw}: there is no figure",
    ),
    "uncached_formula": (
        "ô chứa công thức {raw} nhưng tệp không lưu kết quả: hãy mở và lưu lại tệp bằng Excel/LibreOffice",
        "the cell holds the formula {raw} but the file saved no result for it: open and save the file "
        "again in Excel or LibreOffice",
    ),
    "aggregate_row": (
        "'{raw}' là dòng tổng hợp nhiều tỉnh (vùng, tổng số), không phải một tỉnh/thành phố: không nạp",
        "'{raw}' is an aggregate of several provinces (a region or a total), not a jurisdiction: not loaded",
    ),
    "unit_unconvertible": ("{unit_vi}", "{unit_en}"),
    "unparsable_value": (
        "giá trị '{raw}' không phải là số",
        "value '{raw}' is not a number",
    ),
    "out_of_range": (
        "giá trị {value} nằm ngoài khoảng cho phép [{lo}; {hi}] của chỉ tiêu {indicator} ({value_type})",
        "value {value} is outside the allowed range [{lo}, {hi}] of indicator {indicator} ({value_type})",
    ),
    "conflicting_duplicate": (
        "trùng lặp mâu thuẫn: cùng địa phương, chỉ tiêu và kỳ nhưng khác giá trị (dòng {rows}); "
        "không dòng nào được nạp",
        "conflicting duplicates: same jurisdiction, indicator and period with different values "
        "(rows {rows}); none of them is loaded",
    ),
    "unreadable_file": ("không đọc được tệp: {raw}", "the file cannot be read: {raw}"),
}

REJECTED_COLUMNS = ["sheet", "row", "column", "raw", "reason_code", "reason_vi", "reason_en"]


def _in_range(df: pd.DataFrame) -> pd.Series:
    v = df["value"]
    ok = v.isna() | (
        (df["min_value"].isna() | (v >= df["min_value"])) & (df["max_value"].isna() | (v <= df["max_value"]))
    )
    return ok.astype(bool)


def _conflicts(df: pd.DataFrame, dup: pd.Series | None = None) -> pd.Series:
    """False for every row of a key that appears with more than one (value, status).

    `dup` (rows whose key appears more than once) may be computed by the caller, once.
    """
    ok = pd.Series(True, index=df.index)
    if dup is None:
        dup = df.duplicated(KEY, keep=False)
    if not bool(dup.any()):
        return ok
    cand = df[dup & df["jurisdiction_id"].notna() & df["indicator_code"].notna() & df["period_label"].notna()]
    if cand.empty:
        return ok
    variety = cand.groupby(KEY, sort=False, dropna=False)[["value", "status"]].transform("nunique")
    ok[cand.index[(variety["value"] > 1) | (variety["status"] > 1)]] = False
    return ok


def build_schema(dup: pd.Series | None = None) -> pa.DataFrameSchema:
    def column_check(fn: Any, name: str) -> pa.Check:
        return pa.Check(fn, name=name, ignore_na=False)

    return pa.DataFrameSchema(
        {
            "jurisdiction_state": pa.Column(
                str,
                checks=[
                    column_check(lambda s: s != "aggregate", "aggregate_row"),
                    column_check(lambda s: s != "unknown", "unknown_jurisdiction"),
                    column_check(lambda s: s != "not_in_force", "jurisdiction_not_in_force"),
                ],
            ),
            "indicator_state": pa.Column(
                str,
                checks=[
                    column_check(lambda s: s != "missing", "missing_indicator"),
                    column_check(lambda s: s != "unknown", "unknown_indicator"),
                ],
            ),
            "period_ok": pa.Column(bool, checks=column_check(lambda s: s, "bad_period")),
            "plan_ok": pa.Column(bool, checks=column_check(lambda s: s, "plan_figure"), required=False),
            "value_ok": pa.Column(bool, checks=column_check(lambda s: s, "unparsable_value")),
            "unit_ok": pa.Column(
                bool, checks=column_check(lambda s: s, "unit_unconvertible"), required=False
            ),
            "flag": pa.Column(
                object,
                checks=[column_check(lambda s, c=c: s != c, c) for c in CELL_FLAGS],
                nullable=True,
                required=False,
            ),
            "value": pa.Column(float, nullable=True),
            "status": pa.Column(str, checks=pa.Check.isin(["final", "provisional"])),
        },
        checks=[
            pa.Check(_in_range, name="out_of_range", ignore_na=False),
            pa.Check(lambda df: _conflicts(df, dup), name="conflicting_duplicate", ignore_na=False),
        ],
        coerce=False,
        strict=False,
    )


def _fmt_raw(cell: Any) -> str:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell)


def _fmt_num(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "∞"
    return f"{x:g}"


def _cell_ref(where: Any, row: Any) -> str | None:
    """'A' + row 7 -> 'A7'; a full reference ('D4', a header cell) stays as it is."""
    if not isinstance(where, str) or not where:
        return None
    if where.isalpha() and row is not None and not pd.isna(row):
        return f"{where}{int(row)}"
    return where


def validate(candidates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to load, rejections). Rejections carry sheet, row, column, raw and both reasons."""
    if candidates.empty:
        return candidates, pd.DataFrame(columns=REJECTED_COLUMNS)
    dup = candidates.duplicated(KEY, keep=False)
    has_dups = bool(dup.any())
    schema = build_schema(dup)
    reasons: dict[Any, str] = {}
    try:
        # inplace: the schema coerces nothing, so pandera need not copy a million-row frame first
        schema.validate(candidates, lazy=True, inplace=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        rank = {code: i for i, code in enumerate(REASON_ORDER)}
        cases = cases[cases["index"].notna() & cases["check"].isin(rank)]
        cases = cases.assign(_rank=cases["check"].map(rank)).sort_values("_rank")
        for idx, check in zip(cases["index"].tolist(), cases["check"].tolist(), strict=True):
            reasons.setdefault(idx, check)
    if not reasons:
        good = candidates.drop_duplicates(KEY, keep="first") if has_dups else candidates
        return good, pd.DataFrame(columns=REJECTED_COLUMNS)
    bad_index = pd.Index(list(reasons))
    bad = candidates.loc[bad_index]
    conflict_rows: dict[tuple[Any, ...], str] = {}
    conflicted = bad[[reasons[i] == "conflicting_duplicate" for i in bad.index]]
    if not conflicted.empty:
        for key, grp in conflicted.groupby(KEY, sort=False, dropna=False):
            conflict_rows[key] = ", ".join(str(r) for r in grp["row"].tolist() if pd.notna(r))
    rejected = []
    for idx, row in bad.iterrows():
        code = reasons[idx]
        raw: Any
        column = row["cell"]
        if code in ("unknown_jurisdiction", "jurisdiction_not_in_force"):
            raw = row["raw_jurisdiction"]
            column = _cell_ref(row["label_cell"], row["row"]) or column
        elif code == "aggregate_row":  # the row's label, at the figure's own cell
            raw = row["raw_jurisdiction"]
        elif code in ("missing_indicator", "unknown_indicator"):
            raw = row["raw_indicator"]
        elif code in ("bad_period", "plan_figure"):
            raw = row["raw_period"]
            column = _cell_ref(row["period_cell"], row["row"]) or column
        else:
            raw = row["raw_value"]
        unit_err = row.get("unit_error")
        period_cell = _cell_ref(row["period_cell"], row["row"]) or column
        params = {
            "raw": _fmt_raw(raw),
            "period_cell": period_cell or "?",
            "unit_vi": unit_err[0] if isinstance(unit_err, tuple) else "",
            "unit_en": unit_err[1] if isinstance(unit_err, tuple) else "",
            "period": row["period_label"]
            if isinstance(row["period_label"], str)
            else _fmt_raw(row["raw_period"]),
            "value": _fmt_num(row["value"]),
            "lo": _fmt_num(row["min_value"]) if pd.notna(row["min_value"]) else "-∞",
            "hi": _fmt_num(row["max_value"]),
            "indicator": row["indicator_code"],
            "value_type": row["value_type"],
            "rows": conflict_rows.get(tuple(row[k] for k in KEY), ""),
        }
        vi, en = REASONS[code]
        rejected.append(
            {
                "sheet": row["sheet"],
                "row": None if pd.isna(row["row"]) else int(row["row"]),
                "column": column,
                "raw": params["raw"],
                "reason_code": code,
                "reason_vi": vi.format(**params),
                "reason_en": en.format(**params),
            }
        )
    good = candidates.drop(index=bad_index).drop_duplicates(KEY, keep="first")
    return good, pd.DataFrame(rejected, columns=REJECTED_COLUMNS)
