"""Periods as sources write them: years, halves, quarters, months, multi-year spans, dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from chitieu.errors import ChitieuError
from chitieu.ingest.normalize.status import has_provisional_marker, strip_provisional_marker
from chitieu.textnorm import fold, nfc

PERIOD_TYPES = ("Y", "H", "Q", "M", "R")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


class PeriodError(ChitieuError, ValueError):
    """A text that is not a period; `raw` is the text that was read."""

    code = "bad_period"

    def __init__(self, raw: Any):
        super().__init__(f"unreadable period '{raw}'", f"không đọc được kỳ số liệu '{raw}'")
        self.raw = raw


@dataclass(frozen=True)
class Period:
    type: str  # Y, H, Q, M, R
    start: date
    end: date  # inclusive last day
    provisional: bool = False

    @property
    def label(self) -> str:
        return format_period(self.type, self.start, self.end)


def format_period(ptype: str, start: date, end: date | None = None) -> str:
    """'2024', '2024-H1', '2024-Q2', '2024-06', '2020/2025'."""
    if ptype == "Y":
        return f"{start.year}"
    if ptype == "H":
        return f"{start.year}-H{1 if start.month <= 6 else 2}"
    if ptype == "Q":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if ptype == "M":
        return f"{start.year}-{start.month:02d}"
    if ptype == "R":
        return f"{start.year}/{end.year if end else '?'}"
    raise PeriodError(ptype)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def year_period(year: int, provisional: bool = False) -> Period:
    return Period("Y", date(year, 1, 1), date(year, 12, 31), provisional)


def half_period(year: int, half: int, provisional: bool = False) -> Period:
    start = date(year, 1 if half == 1 else 7, 1)
    return Period("H", start, _month_end(year, 6 if half == 1 else 12), provisional)


def quarter_period(year: int, quarter: int, provisional: bool = False) -> Period:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    return Period("Q", start, _month_end(year, 3 * quarter), provisional)


def month_period(year: int, month: int, provisional: bool = False) -> Period:
    return Period("M", date(year, month, 1), _month_end(year, month), provisional)


EXCEL_1900_EPOCH = date(1899, 12, 30)  # serial 60 is the fictitious 29 Feb 1900; Excel counts it
EXCEL_1904_EPOCH = date(1904, 1, 1)


def excel_serial_to_date(serial: float, *, date1904: bool = False) -> date:
    """An Excel date serial in the workbook's date system -> a date."""
    days = int(serial)
    if date1904:
        return EXCEL_1904_EPOCH + timedelta(days=days)
    if days < 1:
        raise PeriodError(str(serial))
    if days < 60:  # before the phantom 29 Feb 1900 the 1899-12-30 epoch is off by one
        return date(1899, 12, 31) + timedelta(days=days)
    return EXCEL_1900_EPOCH + timedelta(days=days)


_Y = r"((?:19|20)\d{2})"
_PERIOD_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{_Y}$"), "Y"),
    (re.compile(rf"^nam {_Y}$"), "Y"),
    (re.compile(rf"^(?:giai doan |gd )?{_Y} ?[/-] ?{_Y}$"), "R"),
    (re.compile(rf"^{_Y} ?-? ?h([12])$"), "H1"),
    (re.compile(rf"^h([12]) ?[/-]? ?(?:nam )?{_Y}$"), "H2"),
    (re.compile(rf"^6 thang (dau|cuoi)? ?(?:nam)? ?{_Y}$"), "H6"),
    (re.compile(rf"^{_Y} ?-? ?q([1-4])$"), "Q1"),
    (re.compile(rf"^(?:quy|q) ?(iv|iii|ii|i|[1-4]) ?[/-]? ?(?:nam )?{_Y}$"), "Q2"),
    (re.compile(rf"^{_Y}-(\d{{1,2}})$"), "M1"),
    (re.compile(rf"^(?:thang |t)?(\d{{1,2}}) ?[/-] ?{_Y}$"), "M2"),
    (re.compile(rf"^thang (\d{{1,2}}) nam {_Y}$"), "M2"),
    (re.compile(rf"^(\d{{1,2}})/(\d{{1,2}})/{_Y}$"), "D"),
    (re.compile(rf"^ngay (\d{{1,2}}) thang (\d{{1,2}}) nam {_Y}$"), "D"),
    (re.compile(rf"^{_Y}-(\d{{2}})-(\d{{2}})(?:[ t].*)?$"), "ISO"),
]
_WITHOUT_YEAR = re.compile(r"^6 thang (dau|cuoi)(?: nam)?$")


def parse_period(cell: Any, *, default_year: int | None = None, date1904: bool = False) -> Period:
    """A period as written -> Period; raises PeriodError.

    '2024', 2024, 'Năm 2022', '2023 (ước)', '2024-H1', 'H1/2024', '6 tháng đầu năm 2024',
    '6 tháng cuối năm' (needs default_year), '2024-Q2', 'Quý II/2024', 'Q2/2024', '2024-06',
    'Tháng 6/2024', '06/2024', '2020/2025', 'giai đoạn 2021-2025'. A date (a datetime cell,
    'dd/mm/yyyy', 'ngày 15 tháng 12 năm 2025', an Excel serial) stands for its month.
    """
    if isinstance(cell, datetime):
        return month_period(cell.year, cell.month)
    if isinstance(cell, date):
        return month_period(cell.year, cell.month)
    if isinstance(cell, bool) or cell is None:
        raise PeriodError(str(cell))
    if isinstance(cell, int | float | np.integer | np.floating):
        number = float(cell)
        if not np.isfinite(number) or number != int(number):
            raise PeriodError(str(cell))
        if 1900 <= number <= 2100:
            return year_period(int(number))
        if 3000 < number < 100000:  # an Excel date serial in a cell without date formatting
            day = excel_serial_to_date(number, date1904=date1904)
            return month_period(day.year, day.month)
        raise PeriodError(str(cell))
    if not isinstance(cell, str):
        raise PeriodError(str(cell))
    provisional = has_provisional_marker(cell)
    text = strip_provisional_marker(cell) if provisional else nfc(cell)
    key = fold(text).replace("(", " ").replace(")", " ").replace(",", " ").replace(".", " ")
    key = re.sub(r"\s+", " ", key).strip()
    if re.fullmatch(r"(19|20)\d{2} 0", key):  # '2024.0' from a float rendered as text
        key = key[:4]
    m = _WITHOUT_YEAR.match(key)
    if m:
        if default_year is None:
            raise PeriodError(cell)
        return half_period(default_year, 1 if m.group(1) == "dau" else 2, provisional)
    for pattern, kind in _PERIOD_PATTERNS:
        m = pattern.match(key)
        if not m:
            continue
        g = m.groups()
        try:
            if kind == "Y":
                return year_period(int(g[0]), provisional)
            if kind == "R":
                first, last = int(g[0]), int(g[1])
                if last <= first:
                    raise PeriodError(cell)
                return Period("R", date(first, 1, 1), date(last, 12, 31), provisional)
            if kind == "H1":
                return half_period(int(g[0]), int(g[1]), provisional)
            if kind == "H2":
                return half_period(int(g[1]), int(g[0]), provisional)
            if kind == "H6":
                return half_period(int(g[1]), 2 if g[0] == "cuoi" else 1, provisional)
            if kind == "Q1":
                return quarter_period(int(g[0]), int(g[1]), provisional)
            if kind == "Q2":
                q = _ROMAN.get(g[0]) or int(g[0])
                return quarter_period(int(g[1]), q, provisional)
            if kind == "M1":
                return month_period(int(g[0]), int(g[1]), provisional)
            if kind == "M2":
                return month_period(int(g[1]), int(g[0]), provisional)
            if kind == "D":
                day = date(int(g[2]), int(g[1]), int(g[0]))
                return month_period(day.year, day.month, provisional)
            if kind == "ISO":
                day = date(int(g[0]), int(g[1]), int(g[2]))
                return month_period(day.year, day.month, provisional)
        except ValueError as exc:  # month 13, day 32 ...
            raise PeriodError(cell) from exc
    raise PeriodError(cell)


def looks_like_period(cell: Any) -> bool:
    try:
        parse_period(cell)
    except PeriodError:
        return isinstance(cell, str) and bool(_WITHOUT_YEAR.match(fold(strip_provisional_marker(cell))))
    return True


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
