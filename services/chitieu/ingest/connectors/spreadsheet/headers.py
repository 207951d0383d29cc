"""Header cells as a reader reads them: which field a header names, and the unit it states."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from chitieu.ingest.normalize import is_missing, unit_family
from chitieu.textnorm import fold_key, nfc

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
