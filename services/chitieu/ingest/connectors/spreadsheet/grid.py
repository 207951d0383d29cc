"""Grids: every sheet as a DataFrame of raw cells, index = 0-based sheet row."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chitieu.ingest.connectors.spreadsheet.sniff import decode_with_encoding
from chitieu.ingest.records import ParseError


@dataclass
class Sheet:
    name: str
    grid: pd.DataFrame  # object cells, '' for empty; index 0 is the sheet's row 1
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def read_workbook(content: bytes, kind: str, name: str = "") -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = []
        for sheet_name in wb.sheet_names:
            sh = wb.get_sheet_by_name(sheet_name)
            rows = sh.to_python(skip_empty_area=False)
            try:
                merged = list(sh.merged_cell_ranges or [])
            except Exception:  # merged ranges are a hint only
                merged = []
            sheets.append(Sheet(sheet_name, pd.DataFrame(rows, dtype=object), merged))
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
