"""Table regions in a grid, and every non-empty cell of them accounted for.

A sheet may hold several tables, stacked (before and after the 1 July 2025 merger) or side by side.
Each is found by its own header: a *long* layout (jurisdiction / indicator / period / value [/ unit /
status] columns) or a *wide* one (jurisdiction rows x period columns), below any title rows, with
merged or two-row headers, a unit line above ('Đơn vị tính: Nghìn người') or a unit row below. A
table's body runs to the next table's header; figures are never read under another table's header.

Every non-empty cell of a sheet with a table ends up in one of four places here: a figure cell
(emitted as a raw record, to be loaded, found unchanged, rejected or counted as missing later), a
rejection made here (a number under a plan or cumulative period, or under a header that names no
period or field), a missing marker, or a label (titles, headers, unit lines, names, footnotes).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from chitieu.ingest.connectors.spreadsheet.cells import PERCENT_FRACTION, PERCENT_LITERAL, CellNote
from chitieu.ingest.connectors.spreadsheet.grid import Sheet
from chitieu.ingest.connectors.spreadsheet.headers import (
    _effective_header,
    _match_spec_column,
    header_field,
    header_unit,
    is_label_header,
    unit_line,
)
from chitieu.ingest.normalize import factorize_cells, is_missing, parse_number_series
from chitieu.ingest.normalize.periods import CUMULATIVE, PERIOD, PLAN, read_period_header
from chitieu.ingest.normalize.units import is_unit_text
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
    "flag",  # why the cell cannot be a figure although it holds something: 'error_cell', ...
    "format_unit",  # the unit the cell's number format states ('tỷ lệ' for a percentage format)
]
PARSE_REJECTED_COLUMNS = ["sheet", "row", "column", "raw", "reason_code", "reason_vi", "reason_en"]

_FOOTNOTE_RE = re.compile(r"^(ghi chu|chu thich|nguon|luu y|note|notes|source|sources|\*|\(\*|\(\d+\))")
HEAD_ROWS = 40  # where the first header is looked for
UNIT_LINE_ROWS = 8  # how far above a header a unit line is looked for

# reason code -> (Vietnamese, English); {header} is the column's header as written
COLUMN_REASONS: dict[str, tuple[str, str]] = {
    PLAN: (
        "cột '{header}' là số kế hoạch, không phải số thực hiện: không nạp",
        "column '{header}' holds plan figures, not observations: not loaded",
    ),
    CUMULATIVE: (
        "cột '{header}' là số lũy kế một phần năm, không phải kỳ của chỉ tiêu: không nạp",
        "column '{header}' is a cumulative part-year period, not a period the indicator is reported for: "
        "not loaded",
    ),
    "unrecognised_column": (
        "cột '{header}' có số nhưng tiêu đề không phải kỳ số liệu hay trường đã biết: không nạp",
        "column '{header}' holds numbers but its header is not a period or a known field: not loaded",
    ),
}


@dataclass
class Table:
    layout: str  # 'long' | 'wide'
    header_row: int  # positional index of the (last) header row
    fields: dict[str, int]  # field -> column index
    period_columns: list[tuple[int, Any]] = field(default_factory=list)  # wide: (column, period label)
    unit_hint: str | None = None  # a unit for the whole table: a header bracket or a unit line
    col_lo: int = 0
    col_hi: int = 0  # exclusive
    end: int = 0  # positional row after the last body row (set by find_tables)
    body_start: int = 0
    column_units: dict[int, str] = field(default_factory=dict)  # a unit row or a header bracket
    provisional_columns: set[int] = field(default_factory=set)
    other_columns: dict[int, tuple[str, str]] = field(default_factory=dict)  # col -> (kind, header)
    header_cells: list[Any] = field(default_factory=list)  # the header row, merged cells filled in


@dataclass
class SheetAccount:
    """How the non-empty cells of one sheet were accounted for by the connector."""

    cells: int = 0
    labels: int = 0
    missing: int = 0  # missing markers outside figure columns (plan or cumulative columns)
    rejected: int = 0
    figures: int = 0


def _header_text(cell: Any) -> str:
    return " ".join(nfc(str(cell)).split()) if cell is not None else ""


def _segments(header: list[Any], lo: int, hi: int) -> list[tuple[int, int]]:
    """Side-by-side tables: a header row naming the jurisdiction column more than once is split
    before each repetition."""
    starts: list[int] = []
    for c in range(lo, hi):
        if header_field(header[c])[0] != "jurisdiction" or fold_key(str(header[c])) == "don vi":
            continue  # 'Đơn vị' beside a province column is the unit of measure
        # a second table starts only after the first one's figures: a period column in between
        if not starts or any(read_period_header(header[k]) for k in range(starts[-1] + 1, c)):
            starts.append(c)
    if len(starts) < 2:
        return [(lo, hi)]
    return list(itertools.pairwise([lo, *starts[1:], hi]))


def _table_at(
    grid: pd.DataFrame,
    r: int,
    lo: int,
    hi: int,
    *,
    spec_columns: dict[str, str] | None,
    constant_period: bool,
    floor: int,
) -> Table | None:
    header = _effective_header(grid, r, floor=floor)
    fields: dict[str, int] = {}
    unit_hint = None
    if spec_columns:
        for fld, wanted in spec_columns.items():
            c = _match_spec_column(header[lo:hi], wanted)
            if c is not None:
                fields[fld] = c + lo
    for c in range(lo, hi):
        cell = header[c]
        found, unit = header_field(cell)
        if found == "jurisdiction" and "jurisdiction" in fields and fold_key(str(cell)) == "don vi":
            found = "unit"  # 'Đơn vị' beside a province column is the unit of measure
        if found and found not in fields and c not in fields.values():
            fields[found] = c
            if found == "value" and unit:
                unit_hint = unit
    if "jurisdiction" not in fields and "jurisdiction_code" not in fields:
        return None
    if "value" in fields and ("period" in fields or constant_period):
        return Table("long", r, fields, [], unit_hint, lo, hi, header_cells=header)
    periods: list[tuple[int, Any]] = []
    others: dict[int, tuple[str, str]] = {}
    provisional: set[int] = set()
    for c in range(lo, hi):
        if c in fields.values() and not (c == fields.get("period") or c == fields.get("value")):
            continue
        raw = grid.iat[r, c]
        ph = read_period_header(raw) or read_period_header(header[c])
        if ph is None:
            continue
        if ph.kind == PERIOD and ph.period is not None:
            periods.append((c, ph.period.label))
            if ph.provisional:
                provisional.add(c)
        else:
            others[c] = (ph.kind, ph.text)
    if not periods:
        return None
    fields.pop("period", None)
    fields.pop("value", None)
    table = Table(
        "wide", r, fields, periods, unit_hint, lo, hi, provisional_columns=provisional, header_cells=header
    )
    table.other_columns = others
    for c, _ in periods:  # a unit in the period's header, or in a merged label above the periods
        unit = header_unit(grid.iat[r, c]) or header_unit(header[c])
        if unit:
            table.column_units[c] = unit
    if r > floor:
        for cell in grid.iloc[r - 1, lo:hi]:
            unit = header_unit(cell)
            if unit:
                table.unit_hint = unit
    return table


def _candidate_header_rows(grid: pd.DataFrame, start: int) -> list[int]:
    """Rows from `start` with a cell naming a jurisdiction column: judged once per distinct cell."""
    hits = np.zeros(len(grid), dtype=bool)
    for c in range(grid.shape[1]):
        codes, uniq = factorize_cells(grid.iloc[:, c])
        named = np.zeros(len(uniq) + 1, dtype=bool)  # the last entry: empty cells (code -1)
        texts = pd.Series(uniq, dtype=object)
        # only short texts with letters can be headers: a column of a million figures is skipped fast
        wordy = np.array([isinstance(u, str) and len(u) < 120 for u in uniq], dtype=bool)
        if wordy.any():
            wordy[wordy] = np.array(
                texts[wordy].astype(str).str.contains(r"[^\W\d_]", regex=True), dtype=bool
            )
        for i in np.flatnonzero(wordy):
            named[i] = header_field(uniq[i])[0] in ("jurisdiction", "jurisdiction_code")
        hits |= named[codes]
    return [int(r) for r in np.flatnonzero(hits) if r >= start]


def _unit_line_above(grid: pd.DataFrame, r: int, floor: int) -> str | None:
    """The nearest unit line above a header, not above the previous table's header."""
    for up in range(r - 1, max(floor, r - UNIT_LINE_ROWS) - 1, -1):
        for cell in grid.iloc[up, :]:
            found = unit_line(cell)
            if found:
                return found
    return None


def _unit_row(grid: pd.DataFrame, table: Table) -> None:
    """A row right under the header whose cells in the figure columns are all units."""
    r = table.header_row + 1
    table.body_start = r
    if r >= table.end:
        return
    cols = [c for c, _ in table.period_columns] or [table.fields["value"]]
    units = {}
    for c in cols:
        cell = grid.iat[r, c]
        if isinstance(cell, str) and cell.strip():
            if not _is_unit_cell(cell):
                return
            units[c] = cell.strip()
        elif cell not in (None, "") and not (isinstance(cell, float) and np.isnan(cell)):
            return
    if units:
        table.column_units.update(units)
        table.body_start = r + 1


def _is_unit_cell(text: str) -> bool:
    return is_unit_text(text) or unit_line(text) is not None


def find_tables(
    grid: pd.DataFrame,
    *,
    spec_columns: dict[str, str] | None = None,
    header_row: int | None = None,
    constant_period: bool = False,
) -> list[Table]:
    """Every table region of a grid, top to bottom and left to right; [] when it holds none."""
    if grid.empty:
        return []
    width = grid.shape[1]
    if header_row:  # the spec names the sheet's row, which a quoted line break moves off its position
        at = int(grid.index.searchsorted(header_row - 1))
        first_rows = list(range(at, at + 1 if at < len(grid) and grid.index[at] == header_row - 1 else at))
    else:
        first_rows = list(range(min(HEAD_ROWS, len(grid))))
    tables: list[Table] = []
    floor = 0
    for r in first_rows:
        found = _tables_in_row(grid, r, width, spec_columns, constant_period, floor)
        if found:
            tables.extend(found)
            break
    if not tables:
        return []
    if not header_row:
        last = tables[-1].header_row
        for r in _candidate_header_rows(grid, last + 2):
            if r <= last + 1:
                continue
            found = _tables_in_row(grid, r, width, None, constant_period, last + 1)
            if found:
                tables.extend(found)
                last = r
    starts = sorted({t.header_row for t in tables})
    for t in tables:
        later = [s for s in starts if s > t.header_row]
        t.end = later[0] if later else len(grid)
        # the rows just above the next header that belong to it (its title, its unit line) are
        # labels whichever table they are counted under
        previous = [s for s in starts if s < t.header_row]
        floor = previous[-1] + 1 if previous else 0
        if t.unit_hint is None:
            t.unit_hint = _unit_line_above(grid, t.header_row, floor)
        _unit_row(grid, t)
    return tables


def _tables_in_row(
    grid: pd.DataFrame,
    r: int,
    width: int,
    spec_columns: dict[str, str] | None,
    constant_period: bool,
    floor: int,
) -> list[Table]:
    header = _effective_header(grid, r, floor=floor)
    out = []
    for lo, hi in _segments(header, 0, width):
        t = _table_at(
            grid, r, lo, hi, spec_columns=spec_columns, constant_period=constant_period, floor=floor
        )
        if t is not None:
            out.append(t)
    return out


def find_table(
    grid: pd.DataFrame,
    *,
    spec_columns: dict[str, str] | None = None,
    header_row: int | None = None,
    constant_period: bool = False,
) -> Table | None:
    """The first table of a grid (see find_tables)."""
    found = find_tables(
        grid, spec_columns=spec_columns, header_row=header_row, constant_period=constant_period
    )
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# Cells
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


def _nonempty(series: pd.Series) -> np.ndarray:
    """True where a cell holds something: not None, not NaN, not blank text (judged per distinct cell)."""
    codes, uniq = factorize_cells(series)
    cells = pd.Series(uniq, dtype=object)
    verdict = cells.notna().to_numpy() & cells.astype(str).str.strip().ne("").to_numpy()
    out: np.ndarray = np.append(verdict, False)[codes]
    return out


def _is_footnote(label: str) -> bool:
    # '(*)' folds to '' under fold_key; check the raw text too
    return (
        bool(_FOOTNOTE_RE.match(fold_key(label) if label else ""))
        or len(label) > 80
        or label.startswith(("*", "(*", "Ghi chú", "Nguồn"))
    )


def _footnote(labels: pd.Series) -> np.ndarray:
    codes, uniq = factorize_cells(labels)
    verdict = np.array([*[bool(u) and _is_footnote(str(u)) for u in uniq], False], dtype=bool)
    out: np.ndarray = verdict[codes]
    return out


def _numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(looks like a number, is a missing marker) for each cell."""
    nums = parse_number_series(series)
    return (~nums.bad.to_numpy(dtype=bool) & ~nums.missing.to_numpy(dtype=bool)), nums.missing.to_numpy(
        dtype=bool
    )


def _flag(note: CellNote | None) -> str | None:
    if note is None:
        return None
    if note.external:
        return "external_formula"
    if note.error:
        return "error_cell"
    if note.formula and not note.cached:
        return "uncached_formula"
    return None


def _format_unit(note: CellNote | None) -> str | None:
    if note is None or note.percent is None:
        return None
    return "tỷ lệ" if note.percent == PERCENT_FRACTION else "%" if note.percent == PERCENT_LITERAL else None


def extract(
    sheet: Sheet,
    table: Table,
    *,
    constants: dict[str, Any] | None = None,
    account: SheetAccount | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(figure cells as a frame with FRAME_COLUMNS, cells rejected here). Sheet rows are 1-based.

    `account` receives the counts of the cells of the table's body this function classified."""
    grid = sheet.grid
    constants = constants or {}
    account = account if account is not None else SheetAccount()
    f = table.fields
    body = grid.iloc[table.body_start : table.end, table.col_lo : table.col_hi]
    rejects: list[dict[str, Any]] = []
    if body.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS), pd.DataFrame(columns=PARSE_REJECTED_COLUMNS)
    label_col = f.get("jurisdiction", f.get("jurisdiction_code"))
    assert label_col is not None
    labels = _as_text(body[label_col])
    code_hint = _as_text(body[f["jurisdiction_code"]]) if "jurisdiction_code" in f else None
    rownum = pd.Series(grid.index[table.body_start : table.end].to_numpy() + 1, index=body.index)
    positions = np.arange(table.body_start, table.end)
    footnote_rows = _footnote(labels)

    def text_of(fld: str, rows: Any, default: Any = None) -> Any:
        return _as_text(body.loc[rows, f[fld]]) if fld in f else default

    figure_cols = [c for c, _ in table.period_columns] if table.layout == "wide" else [f["value"]]
    parts = []
    for c in range(table.col_lo, table.col_hi):
        col = body[c]
        present = _nonempty(col)
        if not present.any() and not (table.layout == "long" and c in figure_cols):
            continue
        letter = get_column_letter(c + 1)
        if c in figure_cols:
            keep = present.copy()
            notes_here = footnote_rows & present
            if notes_here.any():  # a footnote's text spilling into a figure column is a label
                numeric, missing = _numeric(col[notes_here])
                keep[np.flatnonzero(notes_here)[~numeric & ~missing]] = False
            if table.layout == "long":
                # a row that names its place but leaves the value empty is a blank figure: counted
                # as a (missing) cell, as a template's unfilled rows are
                named = (
                    labels.ne("").to_numpy()
                    if code_hint is None
                    else (labels.ne("") | code_hint.ne("")).to_numpy()
                )
                blank = named & ~present & ~footnote_rows
                keep |= blank
                account.cells += int(blank.sum())
            account.figures += int(keep.sum())
            idx = body.index[keep]
            if len(idx) == 0:
                continue
            notes = [sheet.notes.get((int(p), c)) for p in positions[keep]] if sheet.notes else None
            if table.layout == "wide":
                period: Any = [dict(table.period_columns)[c]] * len(idx)
                status = "ước" if c in table.provisional_columns else None
                period_cell: Any = f"{letter}{grid.index[table.header_row] + 1}"
            else:
                period = body.loc[idx, f["period"]] if "period" in f else None
                status = None
                period_cell = get_column_letter(f["period"] + 1) if "period" in f else None
            unit_default = table.column_units.get(c, table.unit_hint)
            parts.append(
                pd.DataFrame(
                    {
                        "jurisdiction": labels[idx],
                        "jurisdiction_code_hint": code_hint[idx] if code_hint is not None else None,
                        "indicator": text_of("indicator", idx, None),
                        "period": period,
                        "value": col[idx],
                        "unit": _fill(text_of("unit", idx, None), unit_default),
                        "status": text_of("status", idx, status),
                        "sheet": sheet.name,
                        "row": rownum[idx],
                        "column": letter + rownum[idx].astype(str),
                        # column letters only: the row is appended for the few rows that get rejected
                        "label_cell": get_column_letter(label_col + 1),
                        "period_cell": period_cell,
                        "flag": [_flag(n) for n in notes] if notes else None,
                        "format_unit": [_format_unit(n) for n in notes] if notes else None,
                    },
                    columns=FRAME_COLUMNS,
                )
            )
            continue
        kind = None
        header = ""
        if c in table.other_columns:
            kind, header = table.other_columns[c]
        elif c not in f.values() and not is_label_header(table.header_cells[c]):
            kind, header = "unrecognised_column", _header_text(table.header_cells[c])
        if kind is None:
            continue  # names, codes, units, row numbers: labels
        numeric, missing = _numeric(col)
        hit = present & numeric & ~footnote_rows
        account.missing += int((present & missing).sum())
        if hit.any():
            vi, en = COLUMN_REASONS[kind]
            rows = rownum.to_numpy(dtype=np.int64)
            for i in np.flatnonzero(hit):
                rejects.append(
                    {
                        "sheet": sheet.name,
                        "row": int(rows[i]),
                        "column": f"{letter}{int(rows[i])}",
                        "raw": _as_text(col.iloc[[int(i)]]).iat[0],
                        "reason_code": kind if kind != PLAN else "plan_figure",
                        "reason_vi": vi.format(header=header or letter),
                        "reason_en": en.format(header=header or letter),
                    }
                )
            account.rejected += int(hit.sum())
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FRAME_COLUMNS)
    for fld in ("indicator", "period", "unit", "status"):
        if fld in constants and constants[fld] is not None:
            if fld not in f or out[fld].isna().all():
                out[fld] = constants[fld]
            else:  # a constant fills only the cells the file leaves empty
                out[fld] = out[fld].where(~out[fld].map(is_missing), constants[fld])
    if constants.get("jurisdiction"):
        out["jurisdiction"] = constants["jurisdiction"]
    return out.reset_index(drop=True), pd.DataFrame(rejects, columns=PARSE_REJECTED_COLUMNS)


def _fill(values: Any, default: str | None) -> Any:
    """A unit column's cells, with the table's unit where a cell is empty."""
    if values is None:
        return default
    if default is None:
        return values
    return values.where(values.ne(""), default)


def count_cells(grid: pd.DataFrame) -> int:
    return int(sum(int(_nonempty(grid.iloc[:, c]).sum()) for c in range(grid.shape[1])))


__all__ = [
    "FRAME_COLUMNS",
    "PARSE_REJECTED_COLUMNS",
    "SheetAccount",
    "Table",
    "count_cells",
    "extract",
    "find_table",
    "find_tables",
]
