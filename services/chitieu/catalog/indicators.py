"""The indicator dictionary (catalog/indicators.yaml) and indicator name resolution."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from chitieu.textnorm import fold_key, nfc

ValueType = Literal[
    "share_pct",
    "index_0_1",
    "score_0_100",
    "rank",
    "count",
    "rate_per_10k",
    "rate_per_1000",
    "growth_pct_per_year",
    "amount",
]
Direction = Literal["higher", "lower"]
Aggregation = Literal["sum", "weighted_mean", "mean", "none"]
VALUE_TYPES: tuple[str, ...] = get_args(ValueType)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)

# Plausible range of each value type; the YAML may narrow or widen it per indicator.
DEFAULT_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "share_pct": (0.0, 100.0),
    "index_0_1": (0.0, 1.0),
    "score_0_100": (0.0, 100.0),
    "rank": (1.0, None),
    "count": (0.0, None),
    "rate_per_10k": (0.0, None),
    "rate_per_1000": (0.0, None),
    "growth_pct_per_year": (None, None),
    "amount": (0.0, None),
}


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...]
    unit: str
    value_type: str
    direction: str
    aggregation: str
    aggregation_weight: str | None
    min_value: float | None
    max_value: float | None
    plan_specific: str | None = None
    needs_review: bool = False
    description: str | None = None

    def as_row(self) -> dict[str, Any]:
        """The indicator as a row of the `indicators` table (and of an annex file)."""
        return {**asdict(self), "aliases": list(self.aliases)}

    def in_range(self, value: float) -> bool:
        if self.min_value is not None and value < self.min_value:
            return False
        return not (self.max_value is not None and value > self.max_value)


def indicator_from_dict(row: dict[str, Any]) -> Indicator:
    value_type = row["value_type"]
    if value_type not in VALUE_TYPES:
        raise ValueError(f"indicator {row.get('code')}: unknown value_type {value_type!r}")
    lo, hi = DEFAULT_BOUNDS[value_type]
    return Indicator(
        code=row["code"],
        name_vi=nfc(row["name_vi"]),
        name_en=row["name_en"],
        aliases=tuple(nfc(a) for a in row.get("aliases") or ()),
        unit=nfc(row["unit"]),
        value_type=value_type,
        direction=row.get("direction") or ("lower" if value_type == "rank" else "higher"),
        aggregation=row.get("aggregation") or ("none" if value_type == "rank" else "sum"),
        aggregation_weight=row.get("aggregation_weight"),
        min_value=float(row["min_value"]) if row.get("min_value") is not None else lo,
        max_value=float(row["max_value"]) if row.get("max_value") is not None else hi,
        plan_specific=row.get("plan_specific"),
        needs_review=bool(row.get("needs_review", False)),
        description=row.get("description"),
    )


@dataclass
class IndicatorRegistry:
    items: dict[str, Indicator]
    _by_key: dict[str, Indicator] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for ind in self.items.values():
            self._index(ind)

    def _index(self, ind: Indicator) -> None:
        for text in (ind.code, ind.name_vi, ind.name_en, *ind.aliases):
            # First writer wins: a shared alias must not silently re-point an earlier indicator.
            self._by_key.setdefault(fold_key(text), ind)

    def add(self, ind: Indicator) -> None:
        """Register a plan-specific indicator (e.g. from an annex) in this registry."""
        self.items[ind.code] = ind
        self._index(ind)

    def resolve(self, text: str) -> Indicator | None:
        """By code, Vietnamese or English name, or alias; insensitive to diacritics/case/punctuation."""
        if text is None:
            return None
        raw = str(text).strip()
        if raw in self.items:
            return self.items[raw]
        return self._by_key.get(fold_key(raw))

    def get(self, code: str) -> Indicator:
        return self.items[code]

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.items.values())

    def __contains__(self, code: object) -> bool:
        return code in self.items

    def __len__(self) -> int:
        return len(self.items)


@lru_cache(maxsize=8)
def _load(path: Path) -> IndicatorRegistry:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    rows = doc["indicators"] if isinstance(doc, dict) else doc
    items: dict[str, Indicator] = {}
    for row in rows:
        ind = indicator_from_dict(row)
        if ind.code in items:
            raise ValueError(f"{path}: indicator code {ind.code} defined twice")
        items[ind.code] = ind
    # Plan-specific indicators created by the annex importer live next to their targets.
    for annex in sorted((path.parent / "plans").glob("*.annex.yaml")):
        with annex.open(encoding="utf-8") as fh:
            annex_doc = yaml.safe_load(fh) or {}
        for row in annex_doc.get("indicators") or []:
            ind = indicator_from_dict(
                {**row, "plan_specific": row.get("plan_specific") or annex_doc.get("plan")}
            )
            if ind.code in items:
                raise ValueError(f"{annex}: indicator code {ind.code} already defined")
            items[ind.code] = ind
    return IndicatorRegistry(items=items)


def load_indicators(catalog_dir: Path | None = None) -> IndicatorRegistry:
    """The dictionary of a catalog directory (default: settings.catalog_dir), cached per directory.

    The registry is shared: use `copy_registry` before adding plan-specific indicators to it.
    """
    if catalog_dir is None:
        from chitieu.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    return _load(Path(catalog_dir).resolve() / "indicators.yaml")


def copy_registry(reg: IndicatorRegistry) -> IndicatorRegistry:
    return IndicatorRegistry(items=dict(reg.items))
