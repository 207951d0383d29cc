"""Normalisation of figures as Vietnamese sources write them: numbers, periods, units, status markers.

Every function here is pure. The scalar functions define the rules; the `*_series` functions apply
the same rules to a whole column at once (fast paths for the plain cases, the scalar rule for the rest,
once per distinct text), so a million-row file does not cost a million Python calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from chitieu.textnorm import fold, nfc

# --------------------------------------------------------------------------------------------
# Missing markers and numbers
# --------------------------------------------------------------------------------------------

# Cells that mean "no figure": skipped, never rejected.
MISSING_MARKERS = frozenset({"", "-", "–", "—", "x", "..", "...", "…", "n/a", "na", "k/c", "/"})

_SPACES_RE = re.compile(r"[\s\u00a0\u202f']+")
_NUMBER_CHARS_RE = re.compile(r"^[+-]?[\d.,]+$")
_THOUSANDS_DOT_RE = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_COMMA_RE = re.compile(r"^\d{1,3}(,\d{3}){2,}$")
_PROVISIONAL_RE = re.compile(r"\b(uoc tinh|uoc thuc hien|uoc|so bo|provisional|preliminary|estimated?)\b")
_PROVISIONAL_STRIP_RE = re.compile(
    r"[\(\[]?\s*(ước tính|ước thực hiện|ước|sơ bộ|provisional|preliminary|estimated?)\s*[\)\]]?",
    re.IGNORECASE,
)


class NumberError(ValueError):
    """A cell that is neither a number nor a missing marker."""


@dataclass(frozen=True)
class ParsedNumber:
    value: float | None  # None: a missing marker (skip the cell)
    percent: bool = False  # written with a % sign: the figure is in percent
    provisional: bool = False  # the cell itself carried 'ước' / 'sơ bộ'


def is_missing(cell: Any) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and np.isnan(cell):
        return True
    if isinstance(cell, str):
        return _SPACES_RE.sub("", nfc(cell)).lower() in MISSING_MARKERS
    return False


def has_provisional_marker(text: Any) -> bool:
    """'2023 (ước)', 'Ước tính', 'sơ bộ' -> True; 'thuộc' (contains 'uoc' inside a word) -> False."""
    if not isinstance(text, str) or not text:
        return False
    return bool(_PROVISIONAL_RE.search(fold(text)))


def strip_provisional_marker(text: str) -> str:
    return _PROVISIONAL_STRIP_RE.sub(" ", nfc(text)).strip()


def _decimal_text_with_mark(body: str, mark: str) -> str:
    """As _decimal_text for a source that declares its decimal mark: the other one groups thousands."""
    thousands = "," if mark == "." else "."
    whole, _, frac = body.partition(mark)
    if mark in frac or thousands in frac:
        raise NumberError(body)
    if thousands in whole and not re.fullmatch(r"\d{1,3}(" + re.escape(thousands) + r"\d{3})+", whole):
        raise NumberError(body)
    return whole.replace(thousands, "") + ("." + frac if frac else "")


def _decimal_text(body: str, decimal_mark: str | None = None) -> str:
    """Digits with '.' and/or ',' -> a Python float literal, by the Vietnamese conventions.

    Both separators: the last one is the decimal mark ('185.401,5', '1,500.25').
    One kind, repeated: thousands ('1.500.000', '1,500,000').
    A single ',': decimal ('60,76'). A single '.': decimal ('0.8002', '13.17') unless it is
    exactly a thousands group after 1-3 leading digits that do not start with 0 ('1.500', '12.345').
    A source whose spec declares its decimal mark (options.decimal_mark) is read by that mark alone.
    """
    if decimal_mark is not None:
        return _decimal_text_with_mark(body, decimal_mark)
    has_dot, has_comma = "." in body, "," in body
    if has_dot and has_comma:
        if body.rfind(",") > body.rfind("."):
            whole, frac = body.rsplit(",", 1)
            thousands = "."
        else:
            whole, frac = body.rsplit(".", 1)
            thousands = ","
        if whole.count("," if thousands == "." else ".") or not re.fullmatch(
            r"\d{1,3}(" + re.escape(thousands) + r"\d{3})*", whole
        ):
            raise NumberError(body)
        return whole.replace(thousands, "") + "." + frac
    if has_comma:
        if body.count(",") > 1:
            if not _THOUSANDS_COMMA_RE.match(body):
                raise NumberError(body)
            return body.replace(",", "")
        return body.replace(",", ".")
    if has_dot:
        if body.count(".") > 1:
            if not _THOUSANDS_DOT_RE.match(body):
                raise NumberError(body)
            return body.replace(".", "")
        if _THOUSANDS_DOT_RE.match(body) and not body.startswith("0"):
            return body.replace(".", "")
        return body
    return body


def parse_number(cell: Any, decimal_mark: str | None = None) -> ParsedNumber:
    """One cell -> ParsedNumber; raises NumberError when the cell is not a number.

    Accepts numbers as stored by spreadsheets and the written forms '60,76', '1.500.000',
    '185.401,5', '(1.234)' (negative), '−5', '12,5%', '0.8002', '1 500', '12,5 (ước)'.
    """
    if isinstance(cell, bool):
        raise NumberError(str(cell))
    if isinstance(cell, int | float | np.integer | np.floating):
        value = float(cell)
        if np.isnan(value):
            return ParsedNumber(None)
        if not np.isfinite(value):
            raise NumberError(str(cell))
        return ParsedNumber(value)
    if cell is None:
        return ParsedNumber(None)
    if not isinstance(cell, str):
        raise NumberError(str(cell))
    text = nfc(cell).strip()
    provisional = has_provisional_marker(text)
    if provisional:
        text = strip_provisional_marker(text)
    compact = _SPACES_RE.sub("", text)
    if compact.lower() in MISSING_MARKERS:
        return ParsedNumber(None, provisional=provisional)
    negative = False
    if compact.startswith("(") and compact.endswith(")"):
        negative, compact = True, compact[1:-1]
    compact = compact.replace("−", "-").replace("–", "-")
    percent = compact.endswith("%")
    if percent:
        compact = compact[:-1]
    if not _NUMBER_CHARS_RE.match(compact):
        raise NumberError(cell)
    sign = ""
    if compact[0] in "+-":
        sign, compact = ("-" if compact[0] == "-" else ""), compact[1:]
    if not compact or not compact[0].isdigit() or not compact[-1].isdigit():
        raise NumberError(cell)
    try:
        value = float(sign + _decimal_text(compact, decimal_mark))
    except (NumberError, ValueError) as exc:
        raise NumberError(cell) from exc
    if negative:
        value = -value
    return ParsedNumber(value, percent=percent, provisional=provisional)


# Texts whose float() reading is certainly the Vietnamese reading: integers, a decimal comma, a
# decimal point unless it could be a thousands dot ('1.500'). Everything else takes the scalar rule.
_SAFE_NUMBER_RE = r"-?(?:\d+|\d+,\d+|0\.\d+|\d{4,}\.\d+|\d{1,3}\.(?:\d{1,2}|\d{4,}))"


@dataclass
class ParsedNumbers:
    value: pd.Series  # float64, NaN where missing or bad
    missing: pd.Series  # bool: a missing marker, skip
    bad: pd.Series  # bool: not a number, reject
    percent: pd.Series  # bool: written with %
    provisional: pd.Series  # bool: the cell carried a provisional marker


# With a declared decimal mark the plain texts are those with digits and at most that mark.
_SAFE_WITH_MARK_RE = {".": r"-?\d+(?:\.\d+)?", ",": r"-?\d+(?:,\d+)?"}


def _parse_distinct(uniq: pd.Series, decimal_mark: str | None = None) -> tuple[np.ndarray, ...]:
    """parse_number over distinct cells: a vectorised path for the plain texts, the rule for the rest."""
    n = len(uniq)
    value = np.full(n, np.nan)
    missing = np.zeros(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    percent = np.zeros(n, dtype=bool)
    provisional = np.zeros(n, dtype=bool)
    is_str = np.fromiter((isinstance(c, str) for c in uniq.tolist()), dtype=bool, count=n)
    rest = np.ones(n, dtype=bool)
    if is_str.any():
        text = uniq[is_str].astype(str)
        pattern = _SAFE_WITH_MARK_RE[decimal_mark] if decimal_mark else _SAFE_NUMBER_RE
        safe = text.str.fullmatch(pattern).to_numpy(dtype=bool)
        if safe.any():
            idx = np.flatnonzero(is_str)[safe]
            value[idx] = pd.to_numeric(
                text[safe].str.replace(",", ".", regex=False), errors="coerce"
            ).to_numpy()
            rest[idx] = False
    for i in np.flatnonzero(rest):
        cell = uniq.iat[int(i)]
        try:
            p = parse_number(cell, decimal_mark)
        except NumberError:
            bad[i] = True
            continue
        if p.value is None:
            missing[i] = True
        else:
            value[i] = p.value
        percent[i], provisional[i] = p.percent, p.provisional
    return value, missing, bad, percent, provisional


def factorize_cells(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct cells as objects), code -1 for an empty (None/NaN) cell.

    A categorical column (CSV is read that way) already holds both: its codes and categories are
    used as they are instead of materialising a million Python objects to hash them again. Its
    categories may include values no row uses any more (after rows were dropped): harmless, they
    are only looked up through the codes.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return (
            series.cat.codes.to_numpy(dtype=np.int64),
            series.cat.categories.to_numpy(dtype=object),
        )
    codes, uniq = pd.factorize(series.astype(object), use_na_sentinel=True)
    return codes, np.asarray(uniq, dtype=object)


def parse_number_series(cells: pd.Series, decimal_mark: str | None = None) -> ParsedNumbers:
    """parse_number over a column, once per distinct cell (files repeat their figures a lot)."""
    index = cells.index
    codes, uniq = factorize_cells(cells)
    parts = _parse_distinct(pd.Series(uniq, dtype=object), decimal_mark)
    # code -1 (None/NaN): an empty cell, i.e. missing
    fills = (np.nan, True, False, False, False)
    out = [np.append(arr, fill)[codes] for arr, fill in zip(parts, fills, strict=True)]
    return ParsedNumbers(*(pd.Series(arr, index=index) for arr in out))


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------

PERIOD_TYPES = ("Y", "H", "Q", "M", "R")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


class PeriodError(ValueError):
    """A text that is not a period."""


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
# Units
# --------------------------------------------------------------------------------------------

# Canonical unit families a unit text can name. None = not stated / not recognised.
_UNIT_WORDS: list[tuple[str, str]] = [
    (r"^(%|phan tram|percent|pct|ty le %|ty le \(%\)|ty le phan tram)$", "pct"),
    (r"^(ty le|ti le|ratio|fraction|he so|0-1|0 1)$", "ratio"),
    (r"^(.*/ ?10[ .,]?000( .*)?|.*tren 10[ .,]?000.*|per 10[ ,.]?000.*|per 10k.*|‱)$", "per_10k"),
    (r"^(.*/ ?100[ .,]?000( .*)?|.*tren 100[ .,]?000.*|per 100[ ,.]?000.*)$", "per_100k"),
    (r"^(.*/ ?1[ .,]?000( .*)?|.*tren 1[ .,]?000.*|per 1[ ,.]?000.*|‰|phan nghin)$", "per_1000"),
    (r"^(nghin|ngan|thousands?)( .*)?$", "thousand"),
    (r"^(trieu|millions?)( .*)?$", "million"),
    (r"^(diem|points?|score)( .*)?$", "score"),
    (r"^(hang|thu hang|xep hang|rank)$", "rank"),
]
_UNIT_RES = [(re.compile(p), u) for p, u in _UNIT_WORDS]

# Factor to bring a figure in a given unit family to the stored scale of each value type.
# Missing pairs mean 'as written': the unit says nothing that changes the scale.
_FACTORS: dict[tuple[str, str], float] = {
    ("share_pct", "ratio"): 100.0,
    ("index_0_1", "pct"): 0.01,
    ("index_0_1", "score"): 0.01,
    ("score_0_100", "ratio"): 100.0,
    ("rate_per_10k", "pct"): 100.0,
    ("rate_per_10k", "per_1000"): 10.0,
    ("rate_per_10k", "per_100k"): 0.1,
    ("rate_per_1000", "pct"): 10.0,
    ("rate_per_1000", "per_10k"): 0.1,
    ("rate_per_1000", "per_100k"): 0.01,
    ("count", "thousand"): 1_000.0,
    ("count", "million"): 1_000_000.0,
}


def unit_family(unit: Any) -> str | None:
    """'%' -> 'pct', 'Tỷ lệ' -> 'ratio', 'người/10.000 dân' -> 'per_10k', '' -> None."""
    if not isinstance(unit, str) or not unit.strip():
        return None
    key = re.sub(r"\s+", " ", fold(unit)).strip()
    for pattern, family in _UNIT_RES:
        if pattern.match(key):
            return family
    return None


def unit_factor(value_type: str, unit: Any, *, percent_sign: bool = False) -> float:
    """Multiplier to the stored scale: percent 0–100, index 0–1, rates per 10,000 / per 1,000.

    A '%' in the cell counts as unit '%'. A share written 0.125 with unit 'tỷ lệ' becomes 12.5;
    the same 0.125 with no unit stays 0.125 (no guessing: the unit has to say so).
    """
    family = "pct" if percent_sign else unit_family(unit)
    if family is None:
        return 1.0
    return _FACTORS.get((value_type, family), 1.0)


# --------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------

_FINAL_WORDS = {"final", "chinh thuc", "thuc hien", "ct", "f"}


def parse_status(cell: Any) -> str | None:
    """'ước'/'sơ bộ'/'provisional' -> 'provisional'; 'chính thức'/'final' -> 'final'; else None."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    if has_provisional_marker(cell) or fold(cell).strip() in {"p", "provisional"}:
        return "provisional"
    if fold(cell).strip() in _FINAL_WORDS:
        return "final"
    return None
