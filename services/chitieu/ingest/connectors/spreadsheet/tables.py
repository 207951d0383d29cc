"""Finding table regions in a grid and reading their cells into a frame of raw records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from chitieu.ingest.connectors.spreadsheet.grid import Sheet
from chitieu.ingest.connectors.spreadsheet.headers import (
    _PAREN_RE,
    _effective_header,
    _match_spec_column,
    header_field,
)
from chitieu.ingest.normalize import (
    MISSING_MARKERS,
    factorize_cells,
    has_provisional_marker,
    is_missing,
    looks_like_period,
    unit_family,
)
from chitieu.textnorm import fold_key, nfc

FRAME_COLUMNS = [
    "jurisdiction",
    "jurisdiction_code_hint",
    "indicator",
    "period",
    "value",
    "unit",
    "status",
    "sheet",
    "row",
    "column",
    "label_cell",  # where the jurisdiction label was ('A7'), for rejection reports
    "period_cell",  # where the period was: its cell in long layouts, the header cell in wide ones
]


_FOOTNOTE_RE = re.compile(r"^(ghi chu|chu thich|nguon|luu y|note|notes|source|sources|\*|\(\*|\(\d+\))")
HEAD_ROWS = 40  # where a header is looked for


@dataclass
class Table:
    layout: str  # 'long' | 'wide'
    header_row: int  # 0-based index of the (last) header row
    fields: dict[str, int]  # field -> column index
    period_columns: list[tuple[int, Any]] = field(default_factory=list)  # wide: (column, header cell)
    unit_hint: str | None = None  # a unit written in a header, e.g. 'Giá trị (%)'


def find_table(
    grid: pd.DataFrame,
    *,
    spec_columns: dict[str, str] | None = None,
    header_row: int | None = None,
    constant_period: bool = False,
) -> Table | None:
    """Locate the header and the role of each column; None when this grid holds no table."""
    if grid.empty:
        return None
    if header_row:  # the spec names the sheet's row, which a quoted line break moves off its position
        at = int(grid.index.searchsorted(header_row - 1))
        rows = range(at, at + 1 if at < len(grid) and grid.index[at] == header_row - 1 else at)
    else:
        rows = range(min(HEAD_ROWS, len(grid)))
    for r in rows:
        if r >= len(grid):
            break
        header = _effective_header(grid, r)
        fields: dict[str, int] = {}
        unit_hint = None
        if spec_columns:
            for fld, wanted in spec_columns.items():
                c = _match_spec_column(header, wanted)
                if c is not None:
                    fields[fld] = c
        for c, cell in enumerate(header):
            found, unit = header_field(cell)
            if found == "jurisdiction" and "jurisdiction" in fields and fold_key(str(cell)) == "don vi":
                found = "unit"  # 'Đơn vị' beside a province column is the unit of measure
            if found and found not in fields and c not in fields.values():
                fields[found] = c
                if found == "value" and unit:
                    unit_hint = unit
        has_place = "jurisdiction" in fields or "jurisdiction_code" in fields
        if not has_place:
            continue
        raw_row = list(grid.iloc[r])
        period_cols = [
            (c, raw_row[c])
            for c in range(len(raw_row))
            if c not in fields.values() and not is_missing(raw_row[c]) and looks_like_period(raw_row[c])
        ]
        if "value" in fields and ("period" in fields or constant_period):
            return Table("long", r, fields, [], unit_hint)
        if period_cols:
            fields.pop("period", None)
            fields.pop("value", None)
            for c, cell in enumerate(header):  # a unit in a merged label above the periods
                if c in dict(period_cols) and isinstance(cell, str):
                    for inner in _PAREN_RE.findall(cell):
                        if unit_family(inner) is not None:
                            unit_hint = inner.strip()
            if unit_hint is None and r > 0:
                for cell in grid.iloc[r - 1]:
                    if isinstance(cell, str):
                        for inner in _PAREN_RE.findall(cell):
                            if unit_family(inner) is not None:
                                unit_hint = inner.strip()
            return Table("wide", r, fields, period_cols, unit_hint)
    return None


# --------------------------------------------------------------------------------------------
# From a grid and a table to a frame of raw records
# --------------------------------------------------------------------------------------------


def _as_text(series: pd.Series) -> pd.Series:
    """Cells as stripped strings ('' for empty); numbers keep a readable form ('58', '2024')."""

    def one(cell: Any) -> str:
        if cell is None:
            return ""
        if isinstance(cell, float):
            if np.isnan(cell):
                return ""
            return str(int(cell)) if cell.is_integer() else repr(cell)
        return nfc(str(cell)).strip()

    # once per distinct cell: a million-row column holds a few dozen province names
    codes, uniq = factorize_cells(series)
    return pd.Series(np.array([*[one(u) for u in uniq], ""], dtype=object)[codes], index=series.index)


def _is_text(series: pd.Series) -> bool:
    """A column read from CSV: every cell a str (pandas' string dtype)."""
    return pd.api.types.is_string_dtype(series.dtype) and series.dtype != object


def _blankish(series: pd.Series) -> pd.Series:
    """True where the cell is a missing marker or empty."""
    if _is_text(series):
        folded = series.str.replace(r"[\s\u00a0\u202f']+", "", regex=True).str.lower()
        return pd.Series(folded.isin(list(MISSING_MARKERS)).to_numpy(dtype=bool), index=series.index)
    uniq = pd.unique(series.astype(object))
    verdict = {u if not isinstance(u, float) else ("nan" if np.isnan(u) else u): is_missing(u) for u in uniq}
    return (
        series.astype(object)
        .map(lambda u: verdict[u if not isinstance(u, float) else ("nan" if np.isnan(u) else u)])
        .astype(bool)
    )


def _empty(series: pd.Series) -> pd.Series:
    if _is_text(series):
        return series.str.strip().eq("")
    return series.map(
        lambda u: (
            u is None or (isinstance(u, float) and np.isnan(u)) or (isinstance(u, str) and not u.strip())
        )
    ).astype(bool)


def _is_footnote(label: str) -> bool:
    # '(*)' folds to '' under fold_key; check the raw text too
    return (
        bool(_FOOTNOTE_RE.match(fold_key(label) if label else ""))
        or len(label) > 80
        or label.startswith(("*", "(*", "Ghi chú", "Nguồn"))
    )


def _footnote(labels: pd.Series) -> pd.Series:
    """Labels (text from _as_text) that are footnotes, judged once per distinct label."""
    codes, uniq = factorize_cells(labels)
    verdict = np.array([*[_is_footnote(str(u)) for u in uniq], False], dtype=bool)
    return pd.Series(verdict[codes], index=labels.index)


def extract(sheet: Sheet, table: Table, *, constants: dict[str, Any] | None = None) -> pd.DataFrame:
    """The table's figures as a frame with FRAME_COLUMNS (raw text, sheet rows 1-based)."""
    grid = sheet.grid
    body = grid.iloc[table.header_row + 1 :]
    constants = constants or {}
    f = table.fields
    if body.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    label_col = f.get("jurisdiction", f.get("jurisdiction_code"))
    assert label_col is not None
    labels = _as_text(body[label_col])
    code_hint = _as_text(body[f["jurisdiction_code"]]) if "jurisdiction_code" in f else None
    rownum = pd.Series(body.index.to_numpy() + 1, index=body.index)

    def text_of(fld: str, rows: Any, default: Any = None) -> Any:
        return _as_text(body.loc[rows, f[fld]]) if fld in f else default

    if table.layout == "long":
        values = body[f["value"]]
        blank_label = labels.eq("") if code_hint is None else labels.eq("") & code_hint.eq("")
        # only rows without a usable label can be blank lines or footnotes: test just those values
        suspect = blank_label | _footnote(labels)
        drop = pd.Series(False, index=body.index)
        if bool(suspect.any()):
            drop[suspect] = _blankish(values[suspect]).to_numpy(dtype=bool)
        sel = drop[~drop].index
        letter = get_column_letter(f["value"] + 1)
        out = pd.DataFrame(
            {
                "jurisdiction": labels[sel],
                "jurisdiction_code_hint": code_hint[sel] if code_hint is not None else None,
                "indicator": text_of("indicator", sel, None),
                "period": body.loc[sel, f["period"]] if "period" in f else None,
                "value": values[sel],
                "unit": text_of("unit", sel, table.unit_hint),
                "status": text_of("status", sel, None),
                "sheet": sheet.name,
                "row": rownum[sel],
                "column": letter + rownum[sel].astype(str),
                # column letters only: the row is appended for the few rows that get rejected
                "label_cell": get_column_letter(label_col + 1),
                "period_cell": get_column_letter(f["period"] + 1) if "period" in f else None,
            },
            columns=FRAME_COLUMNS,
        )
    else:
        parts = []
        blank_label = labels.eq("") if code_hint is None else labels.eq("") & code_hint.eq("")
        blank_all = pd.Series(True, index=body.index)
        blanks = {}
        for c, _ in table.period_columns:
            blanks[c] = _blankish(body[c])
            blank_all &= blanks[c]
        skip_row = (blank_all & blank_label) | (blank_all & _footnote(labels))
        for c, header_cell in table.period_columns:
            # empty cells vanish; missing markers ('-', 'x') go on, to be counted as skipped
            mask = ~skip_row & ~_empty(body[c])
            idx = mask[mask].index
            if len(idx) == 0:
                continue
            letter = get_column_letter(c + 1)
            period_text = header_cell
            status = "ước" if isinstance(header_cell, str) and has_provisional_marker(header_cell) else None
            parts.append(
                pd.DataFrame(
                    {
                        "jurisdiction": labels[idx],
                        "jurisdiction_code_hint": code_hint[idx] if code_hint is not None else None,
                        "indicator": text_of("indicator", idx, None),
                        "period": [period_text] * len(idx),
                        "value": body.loc[idx, c],
                        "unit": text_of("unit", idx, table.unit_hint),
                        "status": text_of("status", idx, status),
                        "sheet": sheet.name,
                        "row": rownum[idx],
                        "column": letter + rownum[idx].astype(str),
                        "label_cell": get_column_letter(label_col + 1),
                        "period_cell": f"{letter}{grid.index[table.header_row] + 1}",
                    },
                    columns=FRAME_COLUMNS,
                )
            )
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FRAME_COLUMNS)
    for fld in ("indicator", "period", "unit", "status"):
        if fld in constants and constants[fld] is not None:
            if fld not in f or out[fld].isna().all():
                out[fld] = constants[fld]
            else:  # a constant fills only the cells the file leaves empty
                out[fld] = out[fld].where(~out[fld].map(is_missing), constants[fld])
    if constants.get("jurisdiction"):
        out["jurisdiction"] = constants["jurisdiction"]
    return out.reset_index(drop=True)
