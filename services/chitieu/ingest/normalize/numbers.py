"""Numbers as Vietnamese sources write them, and the markers that mean "no figure".

The scalar functions define the rules; the `*_series` functions apply the same rules to a whole
column at once (fast paths for the plain cases, the scalar rule for the rest, once per distinct
text), so a million-row file does not cost a million Python calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chitieu.errors import ChitieuError
from chitieu.ingest.normalize.status import has_provisional_marker, strip_provisional_marker
from chitieu.textnorm import nfc

# Cells that mean "no figure": skipped, never rejected.
MISSING_MARKERS = frozenset({"", "-", "–", "—", "x", "..", "...", "…", "n/a", "na", "k/c", "/"})

_SPACES_RE = re.compile(r"[\s\u00a0\u202f']+")
_NUMBER_CHARS_RE = re.compile(r"^[+-]?[\d.,]+$")
_THOUSANDS_DOT_RE = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_COMMA_RE = re.compile(r"^\d{1,3}(,\d{3}){2,}$")


class NumberError(ChitieuError, ValueError):
    """A cell that is neither a number nor a missing marker; `raw` is the text that was read."""

    code = "unparsable_value"

    def __init__(self, raw: Any):
        super().__init__(f"value '{raw}' is not a number", f"giá trị '{raw}' không phải là số")
        self.raw = raw


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
