"""Grids: every sheet as a DataFrame of raw cells, index = 0-based sheet row."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chitieu.ingest.connectors.spreadsheet.cells import CellNote, Limits, too_big, too_long, workbook_notes
from chitieu.ingest.connectors.spreadsheet.sniff import decode_with_encoding
from chitieu.ingest.records import ParseError


@dataclass
class Sheet:
    name: str
    grid: pd.DataFrame  # object cells, '' for empty; index 0 is the sheet's row 1
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    # (0-based row, column) -> what the value alone does not say (percent format, error, formula)
    notes: dict[tuple[int, int], CellNote] = field(default_factory=dict)


def default_limits() -> Limits:
    from chitieu.settings import get_settings

    s = get_settings()
    return Limits(s.ingest_max_cell_chars, s.ingest_max_rows, s.ingest_max_columns, s.ingest_max_cells)


def _show_unreadable(grid: pd.DataFrame, notes: dict[tuple[int, int], CellNote]) -> pd.DataFrame:
    """Error cells and formulas saved without a value read as empty: put what a reader sees in their
    place ('#N/A', '=SUM(B2:B4)'), so that they are counted and rejected instead of vanishing."""
    shown = [(r, c) for (r, c), n in notes.items() if n.error or (n.formula and not n.cached)]
    if not shown:
        return grid
    rows, cols = max(r for r, _ in shown) + 1, max(c for _, c in shown) + 1
    if rows > grid.shape[0] or cols > grid.shape[1]:  # calamine trims a trailing area it sees as empty
        grid = grid.reindex(index=range(max(rows, grid.shape[0])), columns=range(max(cols, grid.shape[1])))
        grid = grid.astype(object).where(grid.notna(), "")
    for r, c in shown:
        note = notes[(r, c)]
        if note.error:
            grid.iat[r, c] = note.error
        elif note.formula and not note.cached:
            grid.iat[r, c] = "=" + str(note.formula)
    return grid


def check_grid(sheet: Sheet, limits: Limits, where: str) -> None:
    """The caps on a grid already read (xls, csv: formats without an XML to stream first)."""
    rows, cols = sheet.grid.shape
    if rows > limits.max_rows:
        raise too_big("rows", "dòng", rows, limits.max_rows, where)
    if cols > limits.max_columns:
        raise too_big("columns", "cột", cols, limits.max_columns, where)
    if rows * cols > limits.max_cells:
        raise too_big("cells", "ô", rows * cols, limits.max_cells, where)
    for c in sheet.grid.columns:
        col = sheet.grid[c]
        cells = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col
        # a CSV column's categories may be numbers already: their text is what the cap measures
        lengths = pd.Series(cells, dtype=object).astype(str).str.len()
        if len(lengths) and int(lengths.max()) > limits.max_cell_chars:
            raise too_long(limits.max_cell_chars, where)


def read_workbook(content: bytes, kind: str, name: str = "", limits: Limits | None = None) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    limits = limits or default_limits()
    where = name or "the workbook"
    notes = workbook_notes(content, kind, limits, name)  # refuses an oversized file before calamine reads it
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = []
        for sheet_name in wb.sheet_names:
            sh = wb.get_sheet_by_name(sheet_name)
            if sh.total_height > limits.max_rows:
                raise too_big("rows", "dòng", sh.total_height, limits.max_rows, where)
            if sh.total_width > limits.max_columns:
                raise too_big("columns", "cột", sh.total_width, limits.max_columns, where)
            rows = sh.to_python(skip_empty_area=False)
            try:
                merged = list(sh.merged_cell_ranges or [])
            except Exception:  # merged ranges are a hint only
                merged = []
            sheet = Sheet(sheet_name, pd.DataFrame(rows, dtype=object), merged, notes.get(sheet_name, {}))
            if kind == "xls":
                check_grid(sheet, limits, where)
            sheet.grid = _show_unreadable(sheet.grid, sheet.notes)
            sheets.append(sheet)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(
            f"{name or 'the workbook'} cannot be read as {kind.upper()} (corrupt or truncated?): {exc}",
            f"không đọc được {name or 'bảng tính'} dạng {kind.upper()} (tệp hỏng hoặc thiếu?): {exc}",
        ) from exc
    return sheets


def uses_1904_dates(content: bytes) -> bool:
    """An xlsx saved in the 1904 date system (Excel for Mac before 2011): <workbookPr date1904="1">."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            xml = zf.read("xl/workbook.xml")[:4096]
    except (KeyError, zipfile.BadZipFile):
        return False
    return bool(re.search(rb'date1904="(1|true)"', xml))


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text[:100_000].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_csv_grid(content: bytes, name: str = "") -> Sheet:
    text, encoding = decode_with_encoding(content)
    if not text.strip():
        raise ParseError("the file is empty", "tệp rỗng, không có dữ liệu")
    if "\x00" in text or sum(ch < " " and ch not in "\t\r\n" for ch in text[:4096]) > 8:
        raise ParseError(
            f"{name or 'the file'} is not readable text (corrupt?)",
            f"{name or 'tệp'} không phải văn bản đọc được (tệp hỏng?)",
        )
    delimiter = sniff_delimiter(text)

    # the C parser reads bytes fastest; UTF-8 input is handed over as it came
    data = content[3:] if content.startswith(b"\xef\xbb\xbf") else content
    if encoding != "utf-8":
        data = text.encode("utf-8")

    def read(width: int) -> pd.DataFrame:
        return pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            sep=delimiter,
            header=None,
            names=range(width),
            # categories: one Python string per distinct cell, not per cell (a million-row file
            # repeats a few dozen province names, indicator codes and periods)
            dtype="category",
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            quotechar='"',
        )

    try:
        # the width of the first lines is nearly always the table's; a wider row later costs a full scan
        # (newline=None: also the bare-CR line ends of old Mac exports)
        head = io.StringIO(
            "\n".join(text[:200_000].splitlines()[:500]) if len(text) > 1_000_000 else text, newline=None
        )
        width = max((len(r) for r in csv.reader(head, delimiter=delimiter)), default=1)
        try:
            grid = read(width)
        except pd.errors.ParserError:
            grid = read(max(len(r) for r in csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)))
    except (csv.Error, pd.errors.ParserError, ValueError) as exc:
        raise ParseError(
            f"{name or 'the file'} is not well-formed delimited text: {exc}",
            f"{name or 'tệp'} không đúng định dạng văn bản phân cách (CSV): {exc}",
        ) from exc
    if len(grid) != _physical_lines(text):
        grid.index = _record_lines(text, delimiter, len(grid), grid.index)
    return Sheet(Path(name).stem or "csv", grid)


def _physical_lines(text: str) -> int:
    breaks = text.count("\n") or text.count("\r")
    return breaks + (0 if text.endswith(("\n", "\r")) else 1)


def _record_lines(text: str, delimiter: str, n: int, positional: pd.Index) -> pd.Index:
    """0-based line on which each record starts, so that a quoted line break does not shift the
    row numbers of every later record (provenance must name the line an editor shows)."""
    starts, reader = [], csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    before = 0
    for _ in reader:
        starts.append(before)
        before = reader.line_num
    # a disagreement between the two parsers is not resolved by guessing: keep the record numbers
    return pd.Index(starts) if len(starts) == n else positional
