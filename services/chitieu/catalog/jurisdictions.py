"""Jurisdictions across the provincial merger of 1 July 2025, and name/code resolution.

Ids, never codes, identify a jurisdiction: `vn`, `old-NN` (province until 2025-06-30), `new-NN`
(the 34 provinces from 2025-07-01). A GSO code is only meaningful for a date: 52 is Bình Định
before the merger and Gia Lai after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from chitieu.textnorm import fold_key, nfc
from chitieu.vietnam_time import TZ

MERGER_DATE = date(2025, 7, 1)
MERGER_LEGAL_BASIS = "Nghị quyết 202/2025/QH15 (Resolution 202/2025/QH15)"

# Administrative prefixes that documents put in front of a province name (folded forms).
_PREFIXES = (
    "thanh pho truc thuoc trung uong",
    "thanh pho",
    "tinh",
    "tp",
    "t",
)
_ID_RE = re.compile(r"^(vn|old-\d{2}|new-\d{2}|xa-\d{5})$")
_CODE_RE = re.compile(r"^\d{1,2}$")


@dataclass(frozen=True)
class Jurisdiction:
    id: str
    code: str
    name: str
    level: str
    valid_from: date | None
    valid_to: date | None
    parent_id: str | None = None
    aliases: tuple[str, ...] = ()

    def valid_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)

    def distance_days(self, day: date) -> int:
        """0 when in force on `day`, else days to the nearest end of its validity."""
        if self.valid_from is not None and day < self.valid_from:
            return (self.valid_from - day).days
        if self.valid_to is not None and day > self.valid_to:
            return (day - self.valid_to).days
        return 0


def strip_prefix(key: str) -> str:
    """'tp da nang' -> 'da nang'; a bare prefix is left alone."""
    for prefix in _PREFIXES:
        if key.startswith(prefix + " ") and len(key) > len(prefix) + 1:
            return key[len(prefix) + 1 :]
    return key


def name_key(text: str) -> str:
    """Folded matching key for a jurisdiction name: no diacritics, case, punctuation or prefix."""
    # 'Bà Rịa - Vũng Tàu' and 'Bà Rịa Vũng Tàu' fold to the same key once punctuation is gone.
    return strip_prefix(fold_key(text))


def normalize_code(text: str) -> str | None:
    stripped = text.strip()
    if _CODE_RE.match(stripped):
        return f"{int(stripped):02d}"
    return None


@dataclass
class JurisdictionRegistry:
    items: dict[str, Jurisdiction]
    succession: list[tuple[str, str, date, str | None]] = field(default_factory=list)
    _by_name: dict[str, list[Jurisdiction]] = field(default_factory=dict, init=False, repr=False)
    _by_code: dict[str, list[Jurisdiction]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for j in self.items.values():
            self._by_code.setdefault(j.code, []).append(j)
            for text in (j.name, *j.aliases):
                bucket = self._by_name.setdefault(name_key(text), [])
                if j not in bucket:
                    bucket.append(j)

    # -- lookups -------------------------------------------------------------------------------
    def get(self, id: str) -> Jurisdiction:
        return self.items[id]

    def __iter__(self) -> Iterator[Jurisdiction]:
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, id: object) -> bool:
        return id in self.items

    def resolve(self, text: str, on: date | None = None) -> Jurisdiction | None:
        """A name, alias, code or id, for the period in view (on=None: today).

        Among candidates the one in force on `on` wins; when none is, the one whose validity is
        nearest to `on` (a pre-merger name such as 'Ninh Thuận' still resolves after the merger).
        """
        if text is None:
            return None
        raw = nfc(str(text)).strip()
        if not raw:
            return None
        day = on or datetime.now(TZ).date()
        if _ID_RE.match(raw.lower()) and raw.lower() in self.items:
            return self.items[raw.lower()]
        code = normalize_code(raw)
        candidates = self._by_code.get(code, []) if code else self._by_name.get(name_key(raw), [])
        if not candidates:
            return None
        return min(candidates, key=lambda j: (j.distance_days(day), j.level != "province", j.id))

    def candidates(self, text: str) -> list[Jurisdiction]:
        """Every jurisdiction a name or code may denote, across all periods."""
        raw = nfc(str(text)).strip()
        code = normalize_code(raw)
        return list(self._by_code.get(code, []) if code else self._by_name.get(name_key(raw), []))

    def successors(self, id: str) -> list[tuple[Jurisdiction, date]]:
        return [(self.items[s], eff) for p, s, eff, _ in self.succession if p == id]

    def predecessors(self, id: str) -> list[tuple[Jurisdiction, date]]:
        return [(self.items[p], eff) for p, s, eff, _ in self.succession if s == id]

    def provinces_on(self, day: date) -> list[Jurisdiction]:
        return [j for j in self.items.values() if j.level == "province" and j.valid_on(day)]


def _new_provinces(valid_from: date, aliases: dict[str, list[str]]) -> list[Jurisdiction]:
    from vietnam_provinces import Province

    out = []
    for p in Province.iter_all():
        code = f"{int(p.code):02d}"
        extra = tuple(nfc(a) for a in aliases.get(code, []))
        out.append(
            Jurisdiction(
                id=f"new-{code}",
                code=code,
                name=nfc(p.name),
                level="province",
                valid_from=valid_from,
                valid_to=None,
                parent_id="vn",
                aliases=extra,
            )
        )
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def build_registry(doc: dict[str, Any]) -> JurisdictionRegistry:
    nat = doc["national"]
    items: dict[str, Jurisdiction] = {
        nat["id"]: Jurisdiction(
            id=nat["id"],
            code=str(nat["code"]),
            name=nfc(nat["name"]),
            level="national",
            valid_from=None,
            valid_to=None,
            aliases=tuple(nfc(a) for a in nat.get("aliases", [])),
        )
    }
    merger = doc.get("merger", {})
    effective = _as_date(merger.get("effective_on", MERGER_DATE))
    basis = merger.get("legal_basis", MERGER_LEGAL_BASIS)
    new_cfg = doc.get("new_provinces", {})
    new_from = _as_date(new_cfg.get("valid_from", effective))
    new_aliases = {str(k): v for k, v in (new_cfg.get("aliases") or {}).items()}
    for j in _new_provinces(new_from, new_aliases):
        items[j.id] = j
    old_cfg = doc["old_provinces"]
    old_to = _as_date(old_cfg.get("valid_to", date(2025, 6, 30)))
    succession: list[tuple[str, str, date, str | None]] = []
    for row in old_cfg["items"]:
        code = f"{int(row['code']):02d}"
        jid = f"old-{code}"
        items[jid] = Jurisdiction(
            id=jid,
            code=code,
            name=nfc(row["name"]),
            level="province",
            valid_from=_as_date(row["valid_from"]) if row.get("valid_from") else None,
            valid_to=_as_date(row["valid_to"]) if row.get("valid_to") else old_to,
            parent_id="vn",
            aliases=tuple(nfc(a) for a in row.get("aliases", [])),
        )
        if row.get("successor"):
            succ = f"new-{int(row['successor']):02d}"
            if succ not in items:
                raise ValueError(f"jurisdictions.yaml: successor {succ} of {jid} is not a known province")
            succession.append((jid, succ, effective, basis))
    return JurisdictionRegistry(items=items, succession=succession)


@lru_cache(maxsize=8)
def _load(path: Path) -> JurisdictionRegistry:
    with path.open(encoding="utf-8") as fh:
        return build_registry(yaml.safe_load(fh))


def load_jurisdictions(catalog_dir: Path | None = None) -> JurisdictionRegistry:
    """The registry for a catalog directory (default: settings.catalog_dir), cached per directory."""
    if catalog_dir is None:
        from chitieu.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    return _load(Path(catalog_dir).resolve() / "jurisdictions.yaml")
