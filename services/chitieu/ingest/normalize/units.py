"""Units: which family a unit text names, and the factor to the indicator's stored scale."""

from __future__ import annotations

import re
from typing import Any

from chitieu.textnorm import fold

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
