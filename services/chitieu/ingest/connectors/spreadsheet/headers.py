"""Header cells as a reader reads them: which field a header names, and the unit it states."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from chitieu.ingest.normalize import is_missing
from chitieu.ingest.normalize.units import is_unit_text
from chitieu.textnorm import fold, fold_key, nfc

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


# Columns whose numbers are not figures: row numbers and notes.
LABEL_HEADERS = frozenset({"stt", "tt", "so tt", "so thu tu", "no", "ghi chu", "note", "notes", "chu thich"})
# A bilingual header or label: 'Tỉnh, thành phố - Province', 'Sơ bộ\nPrel. 2024'.
_BILINGUAL_SPLIT_RE = re.compile(r"\s+[-–—]\s+|\n|\s/\s")


def header_unit(cell: Any) -> str | None:
    """The unit a header states in brackets: 'Giá trị (%)' -> '%', 'GRDP (triệu đồng)' -> 'triệu đồng'."""
    if not isinstance(cell, str):
        return None
    unit = None
    for inner in _PAREN_RE.findall(nfc(cell)):
        if is_unit_text(inner):
            unit = inner.strip()
    return unit


def header_field(cell: Any) -> tuple[str | None, str | None]:
    """('value', '%') for 'Giá trị (%)'; (None, None) for anything that is not a known header.
    A bilingual header is known by either of its parts."""
    if not isinstance(cell, str) or not cell.strip():
        return None, None
    text = nfc(cell)
    unit = header_unit(text)
    bare = _PAREN_RE.sub(" ", text)
    for part in [bare, *_BILINGUAL_SPLIT_RE.split(bare)]:
        found = HEADER_FIELDS.get(fold_key(part))
        if found:
            return found, unit
    return None, unit


def is_label_header(cell: Any) -> bool:
    return isinstance(cell, str) and fold_key(_PAREN_RE.sub(" ", nfc(cell))) in LABEL_HEADERS


# --------------------------------------------------------------------------------------------
# Unit lines: 'Đơn vị tính: Nghìn người', '(ĐVT: triệu đồng)'
# --------------------------------------------------------------------------------------------

_UNIT_LINE_RE = re.compile(r"^\(?\s*(?:don vi tinh|don vi|dvt|unit|units)\s*[:\-–]\s*(.+?)\s*\)?$")


def unit_line(cell: Any) -> str | None:
    """The unit a line above a table states, in its own words; None for any other text."""
    if not isinstance(cell, str) or len(cell) > 120:
        return None
    text = " ".join(nfc(cell).split())
    for part in [text, *_BILINGUAL_SPLIT_RE.split(text)]:
        m = _UNIT_LINE_RE.match(fold(part).strip())
        if m:
            # the unit in the cell's own spelling: same length after folding, so cut by position
            start = len(fold(part).strip()) - len(m.group(1)) - (1 if fold(part).strip().endswith(")") else 0)
            found = part.strip()[start : start + len(m.group(1))].strip()
            return unit_line(found) or found or None  # 'Đơn vị tính - Unit: %' names '%'
    return None


def _effective_header(grid: pd.DataFrame, r: int, floor: int = 0) -> list[Any]:
    """Row r, with empty cells filled from the rows above (vertically merged header cells), never
    from above `floor` (the previous table's rows)."""
    cells = list(grid.iloc[r])
    for c, cell in enumerate(cells):
        up = r - 1
        while is_missing(cell) and up >= max(0, floor) and up >= r - 2:
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
