"""Spreadsheets and CSV: xlsx, xls, ods (python-calamine) and delimited text in any common encoding.

The file type comes from the bytes, not the name; a name that contradicts the bytes is an error
(a '.xlsx' that is really CSV, a '.csv' that is really a PNG). With no spec the table is found by
its header: a *long* layout (jurisdiction / indicator / period / value [/ unit / status] columns)
or a *wide* one (jurisdiction rows x period columns), below any title rows, with merged or
two-row headers, blank rows and footnotes skipped. Rows and cells keep the sheet's own numbering.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from chitieu.ingest.normalize import (
    MISSING_MARKERS,
    factorize_cells,
    has_provisional_marker,
    is_missing,
    looks_like_period,
    unit_family,
)
from chitieu.ingest.records import ParseError, Payload, RawRecord
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

# Header texts (fold_key form, parenthetical part removed) -> field.
HEADER_FIELDS: dict[str, str] = {}
for _field, _names in {
    "jurisdiction": (
        "tinh thanh pho",
        "tinh thanh",
        "tinh",
        "thanh pho",
        "ten tinh",
        "ten tinh thanh pho",
        "ten tinh thanh",
        "dia phuong",
        "ten dia phuong",
        "don vi",
        "ten don vi",
        "don vi hanh chinh",
        "dia ban",
        "province",
        "province city",
        "provinces",
        "jurisdiction",
        "locality",
        "region",
        "area",
        "ten",
    ),
    "jurisdiction_code": (
        "ma tinh",
        "ma tinh thanh pho",
        "ma tinh thanh",
        "ma dia phuong",
        "ma dvhc",
        "ma don vi",
        "province code",
        "jurisdiction code",
        "ma so tinh",
    ),
    "indicator": (
        "ma chi tieu",
        "chi tieu",
        "ten chi tieu",
        "indicator",
        "indicator code",
        "chi so",
        "ma chi so",
        "ten chi so",
        "noi dung",
        "noi dung chi tieu",
    ),
    "period": (
        "ky",
        "ky bao cao",
        "ky so lieu",
        "nam",
        "nam bao cao",
        "period",
        "year",
        "thoi gian",
        "thoi ky",
        "nam so lieu",
        "thang",
        "quy",
        "thang nam",
        "month",
        "quarter",
        "ngay",
        "date",
        "ky du lieu",
    ),
    "value": (
        "gia tri",
        "so lieu",
        "value",
        "gia tri thuc hien",
        "ket qua",
        "ket qua thuc hien",
        "thuc hien",
        "gia tri chi tieu",
        "so lieu thuc hien",
    ),
    "unit": ("don vi tinh", "dvt", "unit", "don vi do", "units"),
    "status": ("trang thai", "status", "loai so lieu", "tinh chat so lieu", "tinh trang so lieu"),
}.items():
    for _name in _names:
        HEADER_FIELDS[_name] = _field

_FOOTNOTE_RE = re.compile(r"^(ghi chu|chu thich|nguon|luu y|note|notes|source|sources|\*|\(\*|\(\d+\))")
_PAREN_RE = re.compile(r"\(([^)]*)\)")
HEAD_ROWS = 40  # where a header is looked for

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
}
_EXTENSION_KIND = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".ods": "ods",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}
# (magic, English, Vietnamese): kinds people send by mistake, named when they are refused.
FOREIGN_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "ảnh PNG"),
    (b"\xff\xd8\xff", "a JPEG image", "ảnh JPEG"),
    (b"GIF8", "a GIF image", "ảnh GIF"),
    (b"%PDF", "a PDF document", "tài liệu PDF"),
    (b"\x1f\x8b", "a gzip archive", "tệp nén gzip"),
    (b"Rar!", "a RAR archive", "tệp nén RAR"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "tệp nén 7-Zip"),
    (b"MZ", "a Windows program", "chương trình Windows"),
    (b"\x7fELF", "a Linux program", "chương trình Linux"),
]
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --------------------------------------------------------------------------------------------
# What the bytes are
# --------------------------------------------------------------------------------------------


def sniff_kind(content: bytes, name: str = "") -> str:
    """'xlsx' | 'xls' | 'ods' | 'csv' from the bytes; ParseError for anything unreadable."""
    if not content or not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ParseError("the file is empty", "tệp rỗng, không có dữ liệu")
    ext = Path(name).suffix.lower()
    found: str | None = None
    for magic, what_en, what_vi in FOREIGN_MAGIC:
        if content.startswith(magic):
            raise ParseError(
                f"{name or 'the file'} is {what_en}, not a spreadsheet or CSV",
                f"{name or 'tệp'} là {what_vi}, không phải bảng tính hay CSV",
            )
    if content.startswith(b"PK\x03\x04"):
        head = content[:4096]
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in head:
            found = "ods"
        elif b"[Content_Types].xml" in content[:200_000] or b"xl/" in content:
            found = "xlsx"
        elif not zipfile.is_zipfile(io.BytesIO(content)):
            raise ParseError(
                f"{name or 'the workbook'} cannot be read: a corrupt or truncated ZIP-based workbook",
                f"không đọc được {name or 'bảng tính'}: tệp xlsx/ods bị hỏng hoặc bị cắt cụt",
            )
        else:
            raise ParseError(
                f"{name or 'the file'} is a ZIP archive but not an xlsx or ods workbook",
                f"{name or 'tệp'} là tệp nén ZIP nhưng không phải bảng tính xlsx hay ods",
            )
    elif content.startswith(CFB_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in content or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in content:
            raise ParseError(
                f"{name or 'the workbook'} is password-protected (encrypted); save it without a password",
                f"{name or 'bảng tính'} được đặt mật khẩu (mã hóa); hãy lưu lại không đặt mật khẩu",
            )
        found = "xls"
    else:
        sample = content[:8192]
        if b"\x00" in sample and not (sample.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_utf16(sample)):
            raise ParseError(
                f"{name or 'the file'} is binary data, not a spreadsheet or CSV (corrupt?)",
                f"{name or 'tệp'} là dữ liệu nhị phân, không phải bảng tính hay CSV (tệp hỏng?)",
            )
        found = "csv"
    expected = _EXTENSION_KIND.get(ext)
    if expected is not None and expected != found:
        raise ParseError(
            f"{name} is named {ext} but its content is {found.upper()}: rename it or export it again",
            f"{name} có đuôi {ext} nhưng nội dung là {found.upper()}: hãy đổi tên hoặc xuất lại tệp",
        )
    return found


def looks_utf16(sample: bytes) -> bool:
    """UTF-16 without a BOM: every other byte NUL in the ASCII part."""
    even, odd = sample[0::2], sample[1::2]
    return odd.count(0) > 0.3 * len(odd) or even.count(0) > 0.3 * len(even)


def decode_with_encoding(content: bytes) -> tuple[str, str]:
    """(text, 'utf-8' | the encoding used)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8"
    text, encoding = _decode_other(content)
    return text, encoding


def _decode_other(content: bytes) -> tuple[str, str]:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16"), "utf-16"
    if b"\x00" in content[:4096] and looks_utf16(content[:4096]):
        even_nuls = content[0:4096:2].count(0)
        odd_nuls = content[1:4096:2].count(0)
        enc = "utf-16-be" if even_nuls > odd_nuls else "utf-16-le"
        return content.decode(enc), enc
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(content[:200_000], cp_isolation=["cp1258", "cp1252", "utf_16", "latin_1"]).best()
    encoding = best.encoding if best is not None else "cp1258"
    # Vietnamese Windows text is cp1258; a Western guess on it loses the tone marks.
    if encoding in ("cp1252", "latin_1", "windows_1252"):
        encoding = "cp1258"
    try:
        return content.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParseError(
            "the text file's character encoding could not be recognised",
            "không nhận diện được bảng mã ký tự của tệp văn bản",
        ) from exc


# --------------------------------------------------------------------------------------------
# Grids: every sheet as a DataFrame of raw cells, index = 0-based sheet row
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Finding the table
# --------------------------------------------------------------------------------------------


@dataclass
class Table:
    layout: str  # 'long' | 'wide'
    header_row: int  # 0-based index of the (last) header row
    fields: dict[str, int]  # field -> column index
    period_columns: list[tuple[int, Any]] = field(default_factory=list)  # wide: (column, header cell)
    unit_hint: str | None = None  # a unit written in a header, e.g. 'Giá trị (%)'


def header_field(cell: Any) -> tuple[str | None, str | None]:
    """('value', '%') for 'Giá trị (%)'; (None, None) for anything that is not a known header."""
    if not isinstance(cell, str) or not cell.strip():
        return None, None
    text = nfc(cell)
    unit = None
    for inner in _PAREN_RE.findall(text):
        if unit_family(inner) is not None:
            unit = inner.strip()
    key = fold_key(_PAREN_RE.sub(" ", text))
    return HEADER_FIELDS.get(key), unit


def _effective_header(grid: pd.DataFrame, r: int) -> list[Any]:
    """Row r, with empty cells filled from the rows above (vertically merged header cells)."""
    cells = list(grid.iloc[r])
    for c, cell in enumerate(cells):
        up = r - 1
        while is_missing(cell) and up >= 0 and up >= r - 2:
            cell = grid.iat[up, c]
            up -= 1
        cells[c] = cell
    return cells


def _match_spec_column(header: list[Any], wanted: str) -> int | None:
    key = fold_key(wanted)
    for c, cell in enumerate(header):
        if isinstance(cell, str | int | float) and fold_key(str(cell)) == key:
            return c
    for c, cell in enumerate(header):  # a header with a note or unit in brackets
        if isinstance(cell, str) and fold_key(_PAREN_RE.sub(" ", cell)) == key:
            return c
    return None


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


# --------------------------------------------------------------------------------------------
# The connector
# --------------------------------------------------------------------------------------------


class SpreadsheetConnector:
    """Reads a file (spec.path, a URL, or an uploaded Payload) into raw records."""

    kind = "spreadsheet"

    def __init__(self, spec: Any = None, *, http: Any = None, indicator: str | None = None):
        self.spec = spec
        self.http = http
        self.indicator = indicator
        self.notes: list[str] = []  # what was skipped (sheets without a table, ...)

    # -- Connector protocol --------------------------------------------------------------------
    def resources(self) -> list[str]:
        if self.spec is not None and self.spec.resources:
            return list(self.spec.resources)
        where = self._location()
        return [where] if where else []

    def _location(self) -> str | None:
        if self.spec is None:
            return None
        if self.spec.url:
            return str(self.spec.url)
        path = self.spec.resolved_path()
        return str(path) if path else None

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        targets = [resource] if resource else self.resources()
        for target in targets:
            yield fetch_location(target, http=self.http)

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        frame = self.parse_frame(payload)
        for rec in frame.to_dict("records"):
            yield RawRecord(
                jurisdiction=rec["jurisdiction"],
                period=rec["period"],
                value=rec["value"],
                indicator=rec["indicator"],
                unit=rec["unit"],
                status=rec["status"],
                sheet=rec["sheet"],
                row=int(rec["row"]),
                column=rec["column"],
                jurisdiction_code_hint=rec["jurisdiction_code_hint"],
            )

    # -- the fast path the pipeline uses -------------------------------------------------------
    def parse_frame(self, payload: Payload) -> pd.DataFrame:
        kind = sniff_kind(payload.content, payload.name)
        if kind == "csv":
            sheets = [read_csv_grid(payload.content, payload.name)]
        else:
            sheets = read_workbook(payload.content, kind, payload.name)
        spec = self.spec
        wanted_sheet = spec.sheet if spec is not None else None
        if wanted_sheet is not None:
            chosen = [s for s in sheets if fold_key(s.name) == fold_key(wanted_sheet)]
            if not chosen:
                raise ParseError(
                    f"sheet {wanted_sheet!r} not found; the workbook has {[s.name for s in sheets]}",
                    f"không có trang tính {wanted_sheet!r}; bảng tính gồm {[s.name for s in sheets]}",
                )
            sheets = chosen
        constants: dict[str, Any] = dict(spec.constants) if spec is not None else {}
        if spec is not None:
            for fld in ("indicator", "period", "status"):
                if getattr(spec, fld, None):
                    constants.setdefault(fld, getattr(spec, fld))
        if self.indicator:
            constants["indicator"] = self.indicator
        frames = []
        for sheet in sheets:
            table = find_table(
                sheet.grid,
                spec_columns=dict(spec.columns) if spec is not None else None,
                header_row=spec.header_row if spec is not None else None,
                constant_period="period" in constants,
            )
            if table is None:
                self.notes.append(f"sheet {sheet.name}: no table found / không thấy bảng số liệu")
                continue
            frames.append(extract(sheet, table, constants=constants))
        if not frames:
            raise ParseError(
                "no table found: expected a header with a jurisdiction column (e.g. 'Tỉnh/Thành phố', "
                "'Mã tỉnh') and either value and period columns ('Giá trị', 'Năm') or period columns "
                "('2021', 'Năm 2022', 'Quý II/2024')",
                "không tìm thấy bảng số liệu: cần dòng tiêu đề có cột địa phương ('Tỉnh/Thành phố', "
                "'Mã tỉnh') và cột giá trị, kỳ ('Giá trị', 'Năm') hoặc các cột kỳ ('2021', 'Năm 2022', "
                "'Quý II/2024')",
            )
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        # serial numbers in period cells follow the workbook's date system
        frame.attrs["date1904"] = kind == "xlsx" and uses_1904_dates(payload.content)
        return frame


def fetch_location(target: str, *, http: Any = None) -> Payload:
    """A path or an http(s) URL -> Payload (bytes as received)."""
    now = datetime.now(UTC)
    if re.match(r"^https?://", target):
        import httpx

        client = http or httpx.Client(timeout=60.0, follow_redirects=True)
        try:
            resp = client.get(target)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise ParseError(f"cannot download {target}: {exc}", f"không tải được {target}: {exc}") from exc
        finally:
            if http is None:
                client.close()
        name = Path(resp.url.path).name or "download"
        return Payload(
            name=name,
            content=resp.content,
            fetched_at=now,
            url=target,
            media_type=resp.headers.get("content-type"),
        )
    path = Path(target)
    if not path.is_file():
        raise ParseError(f"file not found: {path}", f"không tìm thấy tệp: {path}")
    return Payload(
        name=path.name,
        content=path.read_bytes(),
        fetched_at=now,
        url=None,
        media_type=MEDIA_TYPES.get(_EXTENSION_KIND.get(path.suffix.lower(), "")),
    )
