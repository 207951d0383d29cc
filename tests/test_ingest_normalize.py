"""Normalization rules, table-driven: numbers, missing markers, periods, units, status, Excel dates."""

from __future__ import annotations

import contextlib
import math
from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chitieu.ingest.normalize import (
    NumberError,
    PeriodError,
    excel_serial_to_date,
    format_period,
    has_provisional_marker,
    is_missing,
    parse_number,
    parse_number_series,
    parse_period,
    parse_status,
    unit_factor,
    unit_family,
)

NUMBERS = [
    ("60,76", 60.76, False),
    ("1.500.000", 1_500_000.0, False),
    ("185.401,5", 185_401.5, False),
    ("(1.234)", -1234.0, False),
    ("12,5%", 12.5, True),
    ("12.5 %", 12.5, True),
    ("0.8002", 0.8002, False),
    ("0,8002", 0.8002, False),
    ("13.17", 13.17, False),
    ("1.500", 1500.0, False),  # a single dot before exactly three digits: Vietnamese thousands
    ("0.500", 0.5, False),  # ... unless the integer part is 0
    ("1,500,000", 1_500_000.0, False),
    ("1,500.25", 1500.25, False),
    ("1 500 000", 1_500_000.0, False),
    ("1\u00a0500", 1500.0, False),
    ("−5", -5.0, False),
    ("-5,5", -5.5, False),
    ("+7", 7.0, False),
    ("42", 42.0, False),
    (42, 42.0, False),
    (0.125, 0.125, False),
    ("12,5 (ước)", 12.5, False),
]


@pytest.mark.parametrize(("text", "expected", "percent"), NUMBERS)
def test_numbers(text: object, expected: float, percent: bool) -> None:
    parsed = parse_number(text)
    assert parsed.value == pytest.approx(expected)
    assert parsed.percent is percent


@pytest.mark.parametrize("text", ["-", "–", "—", "x", "X", "..", "...", "", "   ", None, float("nan")])
def test_missing_markers_are_missing_not_errors(text: object) -> None:
    assert is_missing(text)
    assert parse_number(text).value is None


@pytest.mark.parametrize(
    "text", ["abc", "1.2.3", "12,5,3", "1,2.3,4", "12.5.", ",5", "5-", "1e5x", "%", "()", True]
)
def test_not_numbers(text: object) -> None:
    with pytest.raises(NumberError):
        parse_number(text)


def test_provisional_marker_in_a_cell() -> None:
    assert parse_number("12,5 (ước)").provisional
    assert parse_number("sơ bộ 7,1").provisional
    assert not parse_number("7,1").provisional


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("1.500", ".", 1.5),  # the default would read Vietnamese thousands: 1500
        ("1,500", ".", 1500.0),
        ("1,234,567.5", ".", 1_234_567.5),
        ("(1.234)", ".", -1.234),
        ("1.500", ",", 1500.0),
        ("1,500", ",", 1.5),
        ("185.401,5", ",", 185_401.5),
        ("12,5%", ",", 12.5),
        ("12,5", ".", None),  # a comma that is not a thousands group, in a decimal-point source
        ("12.5", ",", None),
        ("1.500,25", ".", None),
        ("1,2,3", ",", None),
    ],
)
def test_declared_decimal_mark(text: str, mark: str, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(NumberError):
            parse_number(text, mark)
    else:
        assert parse_number(text, mark).value == pytest.approx(expected)
    # the column path (vectorised for plain texts) reads the same
    res = parse_number_series(pd.Series([text, "7", "-"], dtype=object), mark)
    assert res.bad.tolist() == [expected is None, False, False]
    assert res.value.tolist()[1:2] == [7.0]
    assert res.missing.tolist() == [False, False, True]
    if expected is not None:
        assert res.value[0] == pytest.approx(expected)


def test_series_agrees_with_scalar_rule() -> None:
    cells = ["12.5", "60,76", "1.500", "0.500", "-", "x", "abc", "(3)", "12,5%", "185.401,5", "", "7"]
    res = parse_number_series(pd.Series(cells, dtype=object))
    for i, cell in enumerate(cells):
        try:
            p = parse_number(cell)
        except NumberError:
            assert res.bad[i]
            assert not res.missing[i]
            continue
        if p.value is None:
            assert res.missing[i]
        else:
            assert res.value[i] == pytest.approx(p.value)
            assert res.percent[i] == p.percent
    # ... and both agree with a hand reading of the cells, so a shared mistake cannot pass.
    nan = float("nan")
    expected = [12.5, 60.76, 1500.0, 0.5, nan, nan, nan, -3.0, 12.5, 185_401.5, nan, 7.0]
    assert res.value.tolist() == pytest.approx(expected, nan_ok=True)
    assert res.missing.tolist() == [c in ("-", "x", "") for c in cells]
    assert res.bad.tolist() == [c == "abc" for c in cells]
    assert res.percent.tolist()[8]
    assert not any(res.percent.tolist()[:8])


def test_series_with_spreadsheet_numbers() -> None:
    res = parse_number_series(pd.Series([1.5, "2,5", None, 3], dtype=object))
    assert res.value.tolist()[:2] == [1.5, 2.5]
    assert res.missing.tolist() == [False, False, True, False]
    assert res.value[3] == 3.0


PERIODS = [
    ("2024", "Y", "2024", date(2024, 1, 1), False),
    (2024, "Y", "2024", date(2024, 1, 1), False),
    (2024.0, "Y", "2024", date(2024, 1, 1), False),
    ("Năm 2022", "Y", "2022", date(2022, 1, 1), False),
    ("năm 2022", "Y", "2022", date(2022, 1, 1), False),
    ("2023 (ước)", "Y", "2023", date(2023, 1, 1), True),
    ("2023 (sơ bộ)", "Y", "2023", date(2023, 1, 1), True),
    ("Ước thực hiện năm 2024", "Y", "2024", date(2024, 1, 1), True),
    ("2024-H1", "H", "2024-H1", date(2024, 1, 1), False),
    ("H2/2024", "H", "2024-H2", date(2024, 7, 1), False),
    ("6 tháng đầu năm 2024", "H", "2024-H1", date(2024, 1, 1), False),
    ("6 tháng cuối năm 2024", "H", "2024-H2", date(2024, 7, 1), False),
    ("6 tháng năm 2024", "H", "2024-H1", date(2024, 1, 1), False),
    ("2024-Q2", "Q", "2024-Q2", date(2024, 4, 1), False),
    ("Quý II/2024", "Q", "2024-Q2", date(2024, 4, 1), False),
    ("Quý IV năm 2023", "Q", "2023-Q4", date(2023, 10, 1), False),
    ("Q2/2024", "Q", "2024-Q2", date(2024, 4, 1), False),
    ("quý 3/2024", "Q", "2024-Q3", date(2024, 7, 1), False),
    ("2024-06", "M", "2024-06", date(2024, 6, 1), False),
    ("Tháng 6/2024", "M", "2024-06", date(2024, 6, 1), False),
    ("tháng 12 năm 2025", "M", "2025-12", date(2025, 12, 1), False),
    ("06/2024", "M", "2024-06", date(2024, 6, 1), False),
    ("T6/2024", "M", "2024-06", date(2024, 6, 1), False),
    ("15/12/2025", "M", "2025-12", date(2025, 12, 1), False),
    ("ngày 15 tháng 12 năm 2025", "M", "2025-12", date(2025, 12, 1), False),
    (datetime(2024, 6, 30), "M", "2024-06", date(2024, 6, 1), False),  # noqa: DTZ001 -- as a cell holds it
    (date(2024, 3, 31), "M", "2024-03", date(2024, 3, 1), False),
    ("2020/2025", "R", "2020/2025", date(2020, 1, 1), False),
    ("giai đoạn 2021-2025", "R", "2021/2025", date(2021, 1, 1), False),
    ("NĂM 2022", "Y", "2022", date(2022, 1, 1), False),
    ("Na\u0306m 2022", "Y", "2022", date(2022, 1, 1), False),  # decomposed (NFD) diacritics
]


@pytest.mark.parametrize(("text", "ptype", "label", "start", "provisional"), PERIODS)
def test_periods(text: object, ptype: str, label: str, start: date, provisional: bool) -> None:
    p = parse_period(text)
    assert (p.type, p.label, p.start, p.provisional) == (ptype, label, start, provisional)
    assert p.end >= p.start


def test_period_ends() -> None:
    assert parse_period("2024-H1").end == date(2024, 6, 30)
    assert parse_period("2024-Q1").end == date(2024, 3, 31)
    assert parse_period("2024-02").end == date(2024, 2, 29)
    assert parse_period("2020/2025").end == date(2025, 12, 31)


def test_half_without_year_needs_context() -> None:
    with pytest.raises(PeriodError):
        parse_period("6 tháng cuối năm")
    assert parse_period("6 tháng cuối năm", default_year=2024).label == "2024-H2"


@pytest.mark.parametrize(
    "text", ["", "abc", "Quý V/2024", "13/2024", "2025/2020", "thuộc 2024", 12.5, "32/13/2024", True]
)
def test_not_periods(text: object) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


@pytest.mark.parametrize(
    ("ptype", "start", "end", "printed"),
    [
        ("Y", date(2024, 1, 1), None, "2024"),
        ("H", date(2024, 7, 1), None, "2024-H2"),
        ("Q", date(2024, 4, 1), None, "2024-Q2"),
        ("M", date(2024, 6, 1), None, "2024-06"),
        ("R", date(2020, 1, 1), date(2025, 12, 31), "2020/2025"),
    ],
)
def test_period_printing(ptype: str, start: date, end: date | None, printed: str) -> None:
    assert format_period(ptype, start, end) == printed


@pytest.mark.parametrize(
    ("serial", "date1904", "expected"),
    [
        (45474, False, date(2024, 7, 1)),
        (43831, False, date(2020, 1, 1)),
        (61, False, date(1900, 3, 1)),
        (44012, True, date(2024, 7, 1)),  # the same day in the 1904 system: 1462 days fewer
        (0, True, date(1904, 1, 1)),
    ],
)
def test_excel_serials(serial: float, date1904: bool, expected: date) -> None:
    assert excel_serial_to_date(serial, date1904=date1904) == expected


def test_excel_serial_as_period() -> None:
    assert parse_period(45474.0).label == "2024-07"
    assert parse_period(44012.0, date1904=True).label == "2024-07"


UNITS = [
    ("%", "pct"),
    ("Phần trăm", "pct"),
    ("Tỷ lệ", "ratio"),
    ("tỉ lệ", "ratio"),
    ("người/10.000 dân", "per_10k"),
    ("trên 10.000 dân", "per_10k"),
    ("‰", "per_1000"),
    ("người/1.000 dân", "per_1000"),
    ("người/100.000 dân", "per_100k"),
    ("nghìn người", "thousand"),
    ("triệu đồng", "million"),
    ("Điểm", "score"),
    ("", None),
    ("doanh nghiệp", None),
]


@pytest.mark.parametrize(("unit", "family"), UNITS)
def test_unit_families(unit: str, family: str | None) -> None:
    assert unit_family(unit) == family


FACTORS = [
    ("share_pct", "%", False, 1.0),  # 12.5 % stays 12.5
    ("share_pct", "Tỷ lệ", False, 100.0),  # a share given as 0.125 with unit 'tỷ lệ' becomes 12.5
    ("share_pct", None, False, 1.0),  # no unit: never guessed
    ("share_pct", None, True, 1.0),  # '12,5%' in the cell
    ("index_0_1", "%", False, 0.01),  # an index written 82.41 % is 0.8241
    ("index_0_1", None, True, 0.01),
    ("index_0_1", None, False, 1.0),
    ("rate_per_10k", "người/1.000 dân", False, 10.0),
    ("rate_per_10k", "người/100.000 dân", False, 0.1),
    ("rate_per_1000", "người/10.000 dân", False, 0.1),
    ("count", "nghìn doanh nghiệp", False, 1000.0),
    ("rank", "hạng", False, 1.0),
]


@pytest.mark.parametrize(("value_type", "unit", "pct", "factor"), FACTORS)
def test_unit_factors(value_type: str, unit: str | None, pct: bool, factor: float) -> None:
    assert unit_factor(value_type, unit, percent_sign=pct) == pytest.approx(factor)


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("ước", "provisional"),
        ("Ước tính", "provisional"),
        ("sơ bộ", "provisional"),
        ("SƠ BỘ", "provisional"),
        ("provisional", "provisional"),
        ("chính thức", "final"),
        ("final", "final"),
        ("", None),
        ("thuộc tỉnh", None),
    ],
)
def test_status(cell: str, status: str | None) -> None:
    assert parse_status(cell) == status


def test_provisional_word_boundaries() -> None:
    assert has_provisional_marker("2023 (ước)")
    assert not has_provisional_marker("Thuộc tỉnh")


messy = st.one_of(
    st.text(max_size=20),
    st.text(alphabet="0123456789.,-()% xướcsơbộ–", max_size=15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.none(),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(messy)
def test_messy_cells_never_crash(cell: object) -> None:
    """Every cell parses, is a missing marker, or raises our own error; nothing else escapes."""
    try:
        p = parse_number(cell)
        assert p.value is None or math.isfinite(p.value)
    except NumberError:
        pass
    with contextlib.suppress(PeriodError):
        parse_period(cell)
    res = parse_number_series(pd.Series([cell], dtype=object))
    assert bool(res.missing[0]) + bool(res.bad[0]) + (not math.isnan(res.value[0])) == 1
