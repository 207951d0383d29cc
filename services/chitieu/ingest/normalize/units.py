"""Units: what a stated unit text means, and the factor that brings a figure to its indicator's unit.

The units and their factors are data (catalog/units.yaml); this module only reads them. A figure
stated in a unit of another dimension than its indicator's ('nghìn người' for an amount in tỷ đồng),
or in a unit nobody declared, is not converted: `convert` says why, and the figure is rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from chitieu.errors import ChitieuError
from chitieu.textnorm import fold


@dataclass(frozen=True)
class Unit:
    name: str
    dimension: str
    factor: float | None  # None: 'native', the indicator's own scale
    family: str | None = None  # a short name of what it counts: 'pct', 'ratio', 'thousand', ...


@dataclass(frozen=True)
class UnitTable:
    units: list[tuple[re.Pattern[str], Unit]]
    value_types: dict[str, Unit]


class UnitError(ChitieuError, ValueError):
    """A stated unit that cannot be converted to the indicator's unit."""

    code = "unit_unconvertible"


def units_file() -> Path:
    from chitieu.settings import PROJECT_ROOT

    return PROJECT_ROOT / "catalog" / "units.yaml"


@lru_cache(maxsize=4)
def load_units(path: Path | None = None) -> UnitTable:
    doc = yaml.safe_load((path or units_file()).read_text(encoding="utf-8"))
    units: list[tuple[re.Pattern[str], Unit]] = []
    for dim, body in doc["dimensions"].items():
        for u in body["units"]:
            unit = Unit(u["name"], dim, None if u.get("native") else float(u["factor"]), u.get("family"))
            units.extend((re.compile(p), unit) for p in u["match"])
    value_types = {vt: Unit(vt, d["dimension"], float(d["factor"])) for vt, d in doc["value_types"].items()}
    return UnitTable(units, value_types)


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", fold(text)).strip()


@lru_cache(maxsize=4096)
def lookup(text: str) -> Unit | None:
    """The declared unit a text names ('ĐVT: triệu đồng' -> triệu đồng), None when none does."""
    key = _key(text)
    for pattern, unit in load_units().units:
        if pattern.match(key):
            return unit
    return None


def is_unit_text(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip()) and lookup(text) is not None


def unit_family(unit: Any) -> str | None:
    """The family of a stated unit ('%' -> 'pct', 'nghìn người' -> 'thousand'), None when it names no
    declared unit."""
    if not isinstance(unit, str) or not unit.strip():
        return None
    found = lookup(unit)
    return (found.family or found.name) if found else None


def target_unit(indicator_unit: str | None, value_type: str) -> Unit | None:
    """The unit an indicator's figures are stored in: its own unit text when that names a declared
    unit, else its value type's."""
    own = lookup(indicator_unit) if indicator_unit else None
    if own is not None and own.factor is not None:
        return own
    return load_units().value_types.get(value_type)


def convert(stated: Any, indicator_unit: str | None, value_type: str) -> float:
    """Factor from the stated unit to the indicator's unit; UnitError when there is none.

    No stated unit, or the indicator's own unit text: 1 (as written)."""
    if not isinstance(stated, str) or not stated.strip():
        return 1.0
    if indicator_unit and _key(stated) == _key(indicator_unit):
        return 1.0
    target = target_unit(indicator_unit, value_type)
    source = lookup(stated)
    shown = indicator_unit or value_type
    if source is None and target is not None and target.dimension == "count":
        return 1.0  # a noun naming what is counted ('bài', 'hồ sơ'): no scale word, no scale
    if source is None:
        raise UnitError(
            f"unit '{stated}' is not a declared unit; it cannot be converted to '{shown}'",
            f"đơn vị '{stated}' không có trong danh mục đơn vị; không quy đổi được sang '{shown}'",
        )
    if target is None or source.dimension != target.dimension:
        raise UnitError(
            f"unit '{stated}' ({source.dimension}) cannot be converted to '{shown}'"
            + (f" ({target.dimension})" if target else ""),
            f"đơn vị '{stated}' không quy đổi được sang '{shown}'",
        )
    if source.factor is None or target.factor is None:
        return 1.0
    return source.factor / target.factor


def unit_factor(
    value_type: str, unit: Any, *, percent_sign: bool = False, indicator_unit: str | None = None
) -> float:
    """As `convert`, with a '%' written in the cell counting as unit '%'; 1.0 for what cannot be
    converted (callers that must reject such figures use `convert`)."""
    try:
        return convert("%" if percent_sign else unit, indicator_unit, value_type)
    except UnitError:
        return 1.0
