"""Header cells as a reader reads them: which field a header names, and the unit it states."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from chitieu.ingest.normalize import Period, PeriodError, is_missing, parse_period
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
# Period headers
# --------------------------------------------------------------------------------------------

PERIOD, PLAN, CUMULATIVE = "period", "plan", "cumulative"

_FOOTMARK_RE = re.compile(r"\(\s*\*+\s*\)|\*+|\(\d\)|\[\d\]")
_PLAN_RE = re.compile(r"\b(ke hoach|kh|plan|planned|muc tieu|target|chi tieu giao|du kien|du toan)\b")
_CUMULATIVE_RE = re.compile(
    r"\b(luy ke|cong don|cumulative|ytd|(?:[1-9]|1[01]) thang(?! (?:dau|cuoi))|9 months?)\b"
)
_SIX_MONTHS_RE = re.compile(r"\b6 thang (?:dau|cuoi)\b")
# Words around a year that do not change the period: the figure's kind is read from them separately.
_FILLER_RE = re.compile(
    r"\b(thuc hien|uoc thuc hien|uoc tinh|uoc|so bo|chinh thuc|ca nam|nam|year|prel|preliminary|est|"
    r"estimated?|official|th|sb|ut|ct|final|provisional|du lieu|so lieu|gia tri|value)\b"
)
_PROVISIONAL_WORDS_RE = re.compile(
    r"\b(uoc|uoc tinh|uoc thuc hien|so bo|prel|preliminary|est|estimated?|provisional|ut|sb)\b"
)
_YEAR_RE = re.compile(r"\b((?:19|20)\d{2})\b")


@dataclass(frozen=True)
class PeriodHeader:
    kind: str  # PERIOD | PLAN | CUMULATIVE
    text: str  # the header as written, one line
    period: Period | None = None  # PERIOD: the period read
    provisional: bool = False


def read_period_header(cell: Any) -> PeriodHeader | None:
    """A column header as a period, as a reader reads it; None when it names no period at all.

    'Thực hiện năm 2023', 'Năm 2024(*)', 'Sơ bộ\\nPrel. 2024', 'Cả năm 2024', '2023 (ước)' -> the year
    (the last three provisional); 'Kế hoạch 2025' -> PLAN; '9 tháng 2024', 'Lũy kế 2024' -> CUMULATIVE.
    """
    if isinstance(cell, bool) or cell is None:
        return None
    if not isinstance(cell, str):
        try:
            return PeriodHeader(PERIOD, str(cell), parse_period(cell))
        except PeriodError:
            return None
    text = " ".join(nfc(cell).split())
    if not text:
        return None
    try:
        p = parse_period(text)
        return PeriodHeader(PERIOD, text, p, p.provisional)
    except PeriodError:
        pass
    key = fold(_FOOTMARK_RE.sub(" ", text))
    key = " ".join(re.sub(r"[(),.:;\[\]]", " ", key).split())
    if not _YEAR_RE.search(key) and not _SIX_MONTHS_RE.search(key):
        return None
    provisional = bool(_PROVISIONAL_WORDS_RE.search(key))
    if _PLAN_RE.search(key):
        return PeriodHeader(PLAN, text, provisional=provisional)
    if _CUMULATIVE_RE.search(key):
        return PeriodHeader(CUMULATIVE, text, provisional=provisional)
    rest = " ".join(_FILLER_RE.sub(" ", key).split())
    for candidate in (rest, key):
        try:
            p = parse_period(candidate)
            return PeriodHeader(PERIOD, text, p, provisional or p.provisional)
        except PeriodError:
            continue
    years = set(_YEAR_RE.findall(rest))
    if len(years) == 1 and re.fullmatch(r"(?:(?:19|20)\d{2} ?)+", rest):
        p = parse_period(years.pop())
        return PeriodHeader(PERIOD, text, p, provisional)
    return None


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
