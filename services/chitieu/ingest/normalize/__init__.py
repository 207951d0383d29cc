"""Normalization of figures as Vietnamese sources write them, one module per kind of thing read:
numbers (and missing markers), periods, units, status markers. Every function is pure."""

from chitieu.ingest.normalize.numbers import (
    MISSING_MARKERS,
    NumberError,
    ParsedNumber,
    ParsedNumbers,
    factorize_cells,
    is_missing,
    parse_number,
    parse_number_series,
)
from chitieu.ingest.normalize.periods import (
    PERIOD_TYPES,
    Period,
    PeriodError,
    excel_serial_to_date,
    format_period,
    half_period,
    looks_like_period,
    month_period,
    parse_period,
    quarter_period,
    year_period,
)
from chitieu.ingest.normalize.status import has_provisional_marker, parse_status, strip_provisional_marker
from chitieu.ingest.normalize.units import unit_factor, unit_family

__all__ = [
    "MISSING_MARKERS",
    "PERIOD_TYPES",
    "NumberError",
    "ParsedNumber",
    "ParsedNumbers",
    "Period",
    "PeriodError",
    "excel_serial_to_date",
    "factorize_cells",
    "format_period",
    "half_period",
    "has_provisional_marker",
    "is_missing",
    "looks_like_period",
    "month_period",
    "parse_number",
    "parse_number_series",
    "parse_period",
    "parse_status",
    "quarter_period",
    "strip_provisional_marker",
    "unit_factor",
    "unit_family",
    "year_period",
]
