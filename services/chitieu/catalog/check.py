"""`chitieu catalog check`: every catalog file validated by its model, plus cross-file checks.

Every violation is reported (file + JSON path + message), never only the first one. The models are
those of `catalog.documents`; schemas/catalog.schema.json is generated from them for other readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from chitieu.catalog.documents import FILE_MODELS
from chitieu.catalog.phrases import PhraseError, parse_target_phrase
from chitieu.catalog.plans import ANNEX_SUFFIX, plan_files

_NO_BOUNDS_KINDS = ("growth", "milestone")


@dataclass(frozen=True)
class Violation:
    file: str
    path: str
    en: str
    vi: str = ""  # empty for the models' own (English) messages

    @property
    def message(self) -> str:
        return f"{self.vi} / {self.en}" if self.vi else self.en

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


def _plain(value: Any) -> Any:
    """YAML dates -> ISO strings, so a catalog file is validated as the JSON it stands for."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def validate_document(doc: Any, kind: str, file: str) -> list[Violation]:
    """Violations of one catalog file of `kind` (indicators, jurisdictions, plan, annex)."""
    try:
        FILE_MODELS[kind].model_validate(_plain(doc))
    except ValidationError as exc:
        errors = sorted(exc.errors(include_url=False), key=lambda e: [str(p) for p in e["loc"]])
        return [Violation(file, _json_path(e["loc"]), e["msg"]) for e in errors]
    return []


@dataclass
class _Catalog:
    """What the phases of `check_catalog` read and find, shared between them."""

    root: Path
    out: list[Violation] = field(default_factory=list)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    jurisdiction_ids: set[str] = field(default_factory=set)
    plans: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)
    annexes: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)

    def rel(self, p: Path) -> str:
        return str(p.relative_to(self.root.parent)) if p.is_relative_to(self.root.parent) else str(p)

    def flag(self, file: str, path: str, en: str, vi: str) -> None:
        self.out.append(Violation(file, path, en, vi))

    def read(self, path: Path, kind: str) -> Any:
        """The YAML document at `path` once validated as `kind`; None when unreadable."""
        try:
            with path.open(encoding="utf-8") as fh:
                doc = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError) as exc:
            self.flag(self.rel(path), "$", f"unreadable YAML: {exc}", "không đọc được YAML")
            return None
        self.out += validate_document(doc, kind, self.rel(path))
        return doc

    def unknown_jurisdiction(self, jid: Any) -> bool:
        return bool(jid) and bool(self.jurisdiction_ids) and jid not in self.jurisdiction_ids


@dataclass(frozen=True)
class _TargetRef:
    file: str
    plan_id: str
    index: int
    target: Any
    plan: dict[str, Any]  # the plan document the target inherits its defaults from

    @property
    def here(self) -> str:
        return f"$.targets[{self.index}]"


def check_catalog(catalog_dir: Path | None = None) -> list[Violation]:
    """All violations of the catalog under `catalog_dir`; an empty list means the catalog is sound."""
    if catalog_dir is None:
        from chitieu.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    cat = _Catalog(Path(catalog_dir).resolve())
    ind_doc = _read_dictionaries(cat)
    plan_paths, annex_paths = plan_files(cat.root)
    _read_plans(cat, plan_paths)
    _read_annexes(cat, annex_paths)
    _check_weights(cat, ind_doc)
    targets = _collect_targets(cat)
    _check_target_ids(cat, targets)
    plan_target_ids: dict[str, set[str]] = {}
    for ref in targets:
        if isinstance(ref.target, dict) and "id" in ref.target:
            plan_target_ids.setdefault(ref.plan_id, set()).add(ref.target["id"])
    for ref in targets:
        if isinstance(ref.target, dict):
            _check_target(cat, ref, plan_target_ids.get(ref.plan_id, set()))
    _check_plan_references(cat)
    return cat.out


def _add_indicators(cat: _Catalog, file: str, rows: Any) -> None:
    for i, row in enumerate(rows or []):
        if isinstance(row, dict) and "code" in row:
            if row["code"] in cat.indicators:
                cat.flag(file, f"$.indicators[{i}].code", f"duplicate code {row['code']}", "trùng mã")
            cat.indicators[row["code"]] = row


def _read_dictionaries(cat: _Catalog) -> Any:
    """The indicator dictionary and the jurisdictions; returns the dictionary's document."""
    ind_path, jur_path = cat.root / "indicators.yaml", cat.root / "jurisdictions.yaml"
    ind_doc = cat.read(ind_path, "indicators")
    jur_doc = cat.read(jur_path, "jurisdictions")
    _add_indicators(cat, cat.rel(ind_path), (ind_doc or {}).get("indicators"))
    if jur_doc is not None:
        try:
            from chitieu.catalog.jurisdictions import build_registry

            cat.jurisdiction_ids = {j.id for j in build_registry(jur_doc)}
        except (KeyError, ValueError, TypeError) as exc:
            cat.flag(cat.rel(jur_path), "$", f"cannot build registry: {exc}", "không dựng được danh mục")
    return ind_doc


def _read_plans(cat: _Catalog, paths: list[Path]) -> None:
    for path in paths:
        doc = cat.read(path, "plan")
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            continue
        plan_id = doc["id"]
        if path.stem != plan_id:
            cat.flag(cat.rel(path), "$.id", f"file name must be {plan_id}.yaml", "tên tệp phải là <id>.yaml")
        if plan_id in cat.plans:
            cat.flag(cat.rel(path), "$.id", f"duplicate plan id {plan_id}", "trùng mã kế hoạch")
        cat.plans[plan_id] = (path, doc)


def _read_annexes(cat: _Catalog, paths: list[Path]) -> None:
    """Annex files (after the plans: each must name one) and their plan-specific indicators."""
    for path in paths:
        doc = cat.read(path, "annex")
        if not isinstance(doc, dict):
            continue
        cat.annexes.append((path, doc))
        plan_id = doc.get("plan")
        if plan_id not in cat.plans:
            cat.flag(cat.rel(path), "$.plan", f"unknown plan {plan_id!r}", "kế hoạch không tồn tại")
        elif path.name != f"{plan_id}{ANNEX_SUFFIX}":
            name = f"{plan_id}{ANNEX_SUFFIX}"
            cat.flag(cat.rel(path), "$.plan", f"file name must be {name}", f"tên tệp phải là {name}")
        _add_indicators(cat, cat.rel(path), doc.get("indicators"))


def _check_weights(cat: _Catalog, ind_doc: Any) -> None:
    file = cat.rel(cat.root / "indicators.yaml")
    for i, row in enumerate((ind_doc or {}).get("indicators") or []):
        weight = row.get("aggregation_weight") if isinstance(row, dict) else None
        if weight and weight not in cat.indicators:
            cat.flag(
                file,
                f"$.indicators[{i}].aggregation_weight",
                f"unknown indicator {weight}",
                "mã không tồn tại",
            )


def _collect_targets(cat: _Catalog) -> list[_TargetRef]:
    """Every target of every plan and annex, with the plan document it inherits from."""
    refs = [
        _TargetRef(cat.rel(path), plan_id, i, t, doc)
        for plan_id, (path, doc) in cat.plans.items()
        for i, t in enumerate(doc.get("targets") or [])
    ]
    for path, doc in cat.annexes:
        plan_doc = cat.plans.get(doc.get("plan", ""), (path, {}))[1]
        # An annex may name a jurisdiction of its own for all its targets.
        inherited = {**plan_doc, **({"jurisdiction": doc["jurisdiction"]} if doc.get("jurisdiction") else {})}
        refs += [
            _TargetRef(cat.rel(path), doc.get("plan", ""), i, t, inherited)
            for i, t in enumerate(doc.get("targets") or [])
        ]
    return refs


def _check_target_ids(cat: _Catalog, targets: list[_TargetRef]) -> None:
    seen: dict[str, str] = {}
    for ref in targets:
        if not isinstance(ref.target, dict) or "id" not in ref.target:
            continue
        tid = ref.target["id"]
        if tid in seen:
            cat.flag(
                ref.file,
                f"{ref.here}.id",
                f"duplicate target id {tid} (also in {seen[tid]})",
                "trùng mã chỉ tiêu",
            )
        seen[tid] = ref.file
        if not str(tid).startswith(f"{ref.plan_id}."):
            cat.flag(
                ref.file,
                f"{ref.here}.id",
                f"target id must start with '{ref.plan_id}.'",
                "mã chỉ tiêu phải bắt đầu bằng mã kế hoạch",
            )


def _check_target(cat: _Catalog, ref: _TargetRef, plan_target_ids: set[str]) -> None:
    """One target against the dictionary, the jurisdictions, its plan's targets and its own phrase."""
    t, file, here = ref.target, ref.file, ref.here
    code = t.get("indicator")
    ind = cat.indicators.get(code) if code else None
    if code and ind is None:
        cat.flag(file, f"{here}.indicator", f"unknown indicator {code}", "chỉ số không có trong danh mục")
    jid = t.get("jurisdiction") or ref.plan.get("jurisdiction")
    if cat.unknown_jurisdiction(jid):
        cat.flag(
            file, f"{here}.jurisdiction", f"unknown jurisdiction {jid}", "đơn vị hành chính không tồn tại"
        )
    parent = t.get("parent")
    if parent and parent == t.get("id"):
        cat.flag(
            file,
            f"{here}.parent",
            "a target cannot be its own parent",
            "chỉ tiêu không thể là cha của chính nó",
        )
    elif parent and parent not in plan_target_ids:
        cat.flag(
            file,
            f"{here}.parent",
            f"parent {parent} not in plan {ref.plan_id}",
            "chỉ tiêu cha không có trong kế hoạch",
        )
    if ind is not None and t.get("kind"):
        _check_kind(cat, ref, ind)
    phrase = t.get("phrase")
    if phrase:
        cat.out += _phrase_agrees(file, here, t, phrase)


def _check_kind(cat: _Catalog, ref: _TargetRef, ind: dict[str, Any]) -> None:
    """The target's kind fits its indicator's value type, and its figures the indicator's range."""
    t, file, here = ref.target, ref.file, ref.here
    kind, vt, code = t["kind"], ind.get("value_type"), t.get("indicator")
    if kind == "rank" and vt != "rank":
        cat.flag(
            file,
            f"{here}.kind",
            f"rank target on non-rank indicator {code}",
            "chỉ tiêu xếp hạng cần chỉ số xếp hạng",
        )
    if kind != "rank" and vt == "rank":
        cat.flag(file, f"{here}.kind", "kind must be rank", f"chỉ số {code} là xếp hạng, kind phải là rank")
    if kind == "growth" and vt not in ("count", "amount"):
        cat.flag(
            file,
            f"{here}.kind",
            f"growth target on a non-count indicator {code}",
            "mục tiêu tăng trưởng cần chuỗi số đếm",
        )
    value = t.get("value")
    if kind not in _NO_BOUNDS_KINDS and not t.get("relative_to") and isinstance(value, int | float):
        cat.out += _bounds(file, here, ind, value, t.get("value_max"))


def _check_plan_references(cat: _Catalog) -> None:
    """Each plan's jurisdiction and baselines point at what the dictionary and registry hold."""
    for path, doc in cat.plans.values():
        file = cat.rel(path)
        jid = doc.get("jurisdiction")
        if cat.unknown_jurisdiction(jid):
            cat.flag(file, "$.jurisdiction", f"unknown jurisdiction {jid}", "đơn vị hành chính không tồn tại")
        for i, b in enumerate(doc.get("baselines") or []):
            if not isinstance(b, dict):
                continue
            code = b.get("indicator")
            if code not in cat.indicators:
                cat.flag(
                    file,
                    f"$.baselines[{i}].indicator",
                    f"unknown indicator {code}",
                    "chỉ số không có trong danh mục",
                )
            elif isinstance(b.get("value"), int | float):
                cat.out += _bounds(file, f"$.baselines[{i}]", cat.indicators[code], b["value"], None)
            bj = b.get("jurisdiction")
            if cat.unknown_jurisdiction(bj):
                cat.flag(
                    file,
                    f"$.baselines[{i}].jurisdiction",
                    f"unknown jurisdiction {bj}",
                    "đơn vị hành chính không tồn tại",
                )


def _bounds(
    file: str, here: str, ind: dict[str, Any], value: float, value_max: float | None
) -> list[Violation]:
    from chitieu.catalog.indicators import indicator_from_dict

    try:
        spec = indicator_from_dict(ind)
    except (KeyError, ValueError):
        return []
    return [
        Violation(
            file,
            f"{here}.{name}",
            f"value outside the range of {spec.code} [{spec.min_value}, {spec.max_value}]",
            f"giá trị {v} ngoài miền của chỉ số",
        )
        for name, v in (("value", value), ("value_max", value_max))
        if isinstance(v, int | float) and not spec.in_range(float(v))
    ]


def _phrase_agrees(file: str, here: str, t: dict[str, Any], phrase: str) -> list[Violation]:
    try:
        parsed = parse_target_phrase(phrase)
    except PhraseError as exc:
        return [Violation(file, f"{here}.phrase", exc.en, exc.vi)]
    if t.get("kind") == "milestone":
        if parsed.kind == "milestone":
            return []
        return [Violation(file, f"{here}.phrase", "phrase is not a milestone", "cụm từ không phải mốc")]
    out = []
    for name in ("operator", "value", "value_max", "every_year", "relative_to"):
        want = getattr(parsed, name)
        have = t.get(name, False if name == "every_year" else None)
        if isinstance(want, float) and isinstance(have, int | float):
            same = abs(want - float(have)) < 1e-9
        else:
            same = want == have
        if not same:
            out.append(
                Violation(
                    file,
                    f"{here}.{name}",
                    f"disagrees with the phrase {phrase!r} (parsed {want!r}, catalog says {have!r})",
                    f"không khớp với cụm từ (đọc được {want!r}, ghi {have!r})",
                )
            )
    return out
