"""`chitieu catalog check`: JSON Schema validation of every catalog file plus cross-file checks.

Every violation is reported (file + JSON path + message), never only the first one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from chitieu.catalog.phrases import PhraseError, parse_target_phrase
from chitieu.catalog.plans import ANNEX_SUFFIX, plan_files

SCHEMA_DEFS = {
    "indicators": "indicatorsFile",
    "jurisdictions": "jurisdictionsFile",
    "plan": "planFile",
    "annex": "annexFile",
}
_NO_BOUNDS_KINDS = ("growth", "milestone")


@dataclass(frozen=True)
class Violation:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


def _plain(value: Any) -> Any:
    """YAML dates -> ISO strings so that JSON Schema sees what a JSON file would hold."""
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


def load_schema(schemas_dir: Path | None = None) -> dict[str, Any]:
    if schemas_dir is None:
        from chitieu.settings import get_settings

        schemas_dir = get_settings().schemas_dir
    with (Path(schemas_dir) / "catalog.schema.json").open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def validator_for(schema: dict[str, Any], kind: str) -> Draft202012Validator:
    sub = {k: v for k, v in schema.items() if k not in ("oneOf",)}
    sub["$ref"] = f"#/$defs/{SCHEMA_DEFS[kind]}"
    return Draft202012Validator(sub)


def validate_document(doc: Any, kind: str, file: str, schema: dict[str, Any]) -> list[Violation]:
    v = validator_for(schema, kind)
    errors = sorted(v.iter_errors(_plain(doc)), key=lambda e: list(e.absolute_path))
    return [Violation(file, _json_path(e.absolute_path), e.message) for e in errors]


def _read(path: Path, root: Path) -> tuple[Any, list[Violation]]:
    rel = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh), []
    except (OSError, yaml.YAMLError) as exc:
        return None, [Violation(rel, "$", f"không đọc được YAML / unreadable YAML: {exc}")]


def check_catalog(catalog_dir: Path | None = None, schemas_dir: Path | None = None) -> list[Violation]:
    """All violations of the catalog under `catalog_dir`; an empty list means the catalog is sound."""
    if catalog_dir is None:
        from chitieu.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    root = Path(catalog_dir).resolve()
    schema = load_schema(schemas_dir)
    out: list[Violation] = []

    def rel(p: Path) -> str:
        return str(p.relative_to(root.parent))

    ind_path, jur_path = root / "indicators.yaml", root / "jurisdictions.yaml"
    ind_doc, errs = _read(ind_path, root)
    out += errs
    if ind_doc is not None:
        out += validate_document(ind_doc, "indicators", rel(ind_path), schema)
    jur_doc, errs = _read(jur_path, root)
    out += errs
    if jur_doc is not None:
        out += validate_document(jur_doc, "jurisdictions", rel(jur_path), schema)

    # Indicator dictionary (plus plan-specific indicators of annexes).
    indicators: dict[str, dict[str, Any]] = {}
    for i, row in enumerate((ind_doc or {}).get("indicators") or []):
        if isinstance(row, dict) and "code" in row:
            if row["code"] in indicators:
                out.append(
                    Violation(
                        rel(ind_path), f"$.indicators[{i}].code", f"trùng mã / duplicate code {row['code']}"
                    )
                )
            indicators[row["code"]] = row

    jurisdiction_ids: set[str] = set()
    if jur_doc is not None:
        try:
            from chitieu.catalog.jurisdictions import build_registry

            jurisdiction_ids = {j.id for j in build_registry(jur_doc)}
        except (KeyError, ValueError, TypeError) as exc:
            out.append(
                Violation(rel(jur_path), "$", f"không dựng được danh mục / cannot build registry: {exc}")
            )

    plan_paths, annex_paths = plan_files(root)
    plan_docs: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in plan_paths:
        doc, errs = _read(path, root)
        out += errs
        if doc is None:
            continue
        out += validate_document(doc, "plan", rel(path), schema)
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            if path.stem != doc["id"]:
                out.append(
                    Violation(
                        rel(path), "$.id", f"tên tệp phải là <id>.yaml / file name must be {doc['id']}.yaml"
                    )
                )
            if doc["id"] in plan_docs:
                out.append(Violation(rel(path), "$.id", f"trùng mã kế hoạch / duplicate plan id {doc['id']}"))
            plan_docs[doc["id"]] = (path, doc)

    annex_docs: list[tuple[Path, dict[str, Any]]] = []
    for path in annex_paths:
        doc, errs = _read(path, root)
        out += errs
        if doc is None:
            continue
        out += validate_document(doc, "annex", rel(path), schema)
        if isinstance(doc, dict):
            annex_docs.append((path, doc))
            if doc.get("plan") not in plan_docs:
                out.append(
                    Violation(
                        rel(path), "$.plan", f"kế hoạch không tồn tại / unknown plan {doc.get('plan')!r}"
                    )
                )
            elif path.name != f"{doc['plan']}{ANNEX_SUFFIX}":
                out.append(Violation(rel(path), "$.plan", f"tên tệp phải là {doc['plan']}{ANNEX_SUFFIX}"))
            for i, row in enumerate(doc.get("indicators") or []):
                if isinstance(row, dict) and "code" in row:
                    if row["code"] in indicators:
                        out.append(
                            Violation(
                                rel(path),
                                f"$.indicators[{i}].code",
                                f"trùng mã / duplicate code {row['code']}",
                            )
                        )
                    indicators[row["code"]] = row

    for i, row in enumerate((ind_doc or {}).get("indicators") or []):
        weight = row.get("aggregation_weight") if isinstance(row, dict) else None
        if weight and weight not in indicators:
            out.append(
                Violation(
                    rel(ind_path),
                    f"$.indicators[{i}].aggregation_weight",
                    f"mã không tồn tại / unknown indicator {weight}",
                )
            )

    # Targets across every plan and annex.
    target_ids: dict[str, str] = {}
    all_targets: list[tuple[str, str, str, int, dict[str, Any], dict[str, Any]]] = []
    for plan_id, (path, doc) in plan_docs.items():
        for i, t in enumerate(doc.get("targets") or []):
            all_targets.append((rel(path), "targets", plan_id, i, t, doc))
    for path, doc in annex_docs:
        plan_doc = plan_docs.get(doc.get("plan", ""), (path, {}))[1]
        for i, t in enumerate(doc.get("targets") or []):
            all_targets.append(
                (
                    rel(path),
                    "targets",
                    doc.get("plan", ""),
                    i,
                    t,
                    {**plan_doc, **{k: v for k, v in doc.items() if k == "jurisdiction" and v}},
                )
            )
    for file, key, plan_id, i, t, _ in all_targets:
        if not isinstance(t, dict) or "id" not in t:
            continue
        tid = t["id"]
        if tid in target_ids:
            out.append(
                Violation(
                    file,
                    f"$.{key}[{i}].id",
                    f"trùng mã chỉ tiêu / duplicate target id {tid} (also in {target_ids[tid]})",
                )
            )
        target_ids[tid] = file
        if not str(tid).startswith(f"{plan_id}."):
            out.append(
                Violation(
                    file,
                    f"$.{key}[{i}].id",
                    f"mã chỉ tiêu phải bắt đầu bằng / target id must start with '{plan_id}.'",
                )
            )
    plan_target_ids: dict[str, set[str]] = {}
    for _, _, plan_id, _, t, _ in all_targets:
        if isinstance(t, dict) and "id" in t:
            plan_target_ids.setdefault(plan_id, set()).add(t["id"])

    for file, key, plan_id, i, t, plan_doc in all_targets:
        if not isinstance(t, dict):
            continue
        here = f"$.{key}[{i}]"
        code = t.get("indicator")
        ind = indicators.get(code) if code else None
        if code and ind is None:
            out.append(
                Violation(
                    file, f"{here}.indicator", f"chỉ số không có trong danh mục / unknown indicator {code}"
                )
            )
        jid = t.get("jurisdiction") or plan_doc.get("jurisdiction")
        if jid and jurisdiction_ids and jid not in jurisdiction_ids:
            out.append(
                Violation(
                    file,
                    f"{here}.jurisdiction",
                    f"đơn vị hành chính không tồn tại / unknown jurisdiction {jid}",
                )
            )
        parent = t.get("parent")
        if parent:
            if parent == t.get("id"):
                out.append(
                    Violation(
                        file,
                        f"{here}.parent",
                        "chỉ tiêu không thể là cha của chính nó / a target cannot be its own parent",
                    )
                )
            elif parent not in plan_target_ids.get(plan_id, set()):
                out.append(
                    Violation(
                        file,
                        f"{here}.parent",
                        f"chỉ tiêu cha không có trong kế hoạch / parent {parent} not in plan {plan_id}",
                    )
                )
        kind = t.get("kind")
        if ind is not None and kind:
            vt = ind.get("value_type")
            if kind == "rank" and vt != "rank":
                out.append(
                    Violation(
                        file,
                        f"{here}.kind",
                        f"chỉ tiêu xếp hạng cần chỉ số xếp hạng / rank target on non-rank indicator {code}",
                    )
                )
            if kind != "rank" and vt == "rank":
                out.append(
                    Violation(
                        file,
                        f"{here}.kind",
                        f"chỉ số {code} là xếp hạng, kind phải là rank / kind must be rank",
                    )
                )
            if kind == "growth" and vt not in ("count", "amount"):
                out.append(
                    Violation(
                        file,
                        f"{here}.kind",
                        "mục tiêu tăng trưởng cần chuỗi số đếm / growth target on a non-count indicator "
                        f"{code}",
                    )
                )
            value = t.get("value")
            if kind not in _NO_BOUNDS_KINDS and not t.get("relative_to") and isinstance(value, int | float):
                out += _bounds(file, here, ind, value, t.get("value_max"))
        phrase = t.get("phrase")
        if phrase:
            out += _phrase_agrees(file, here, t, phrase)
    for path, doc in plan_docs.values():
        jid = doc.get("jurisdiction")
        if jid and jurisdiction_ids and jid not in jurisdiction_ids:
            out.append(
                Violation(
                    rel(path),
                    "$.jurisdiction",
                    f"đơn vị hành chính không tồn tại / unknown jurisdiction {jid}",
                )
            )
        for i, b in enumerate(doc.get("baselines") or []):
            if not isinstance(b, dict):
                continue
            code = b.get("indicator")
            if code not in indicators:
                out.append(
                    Violation(
                        rel(path),
                        f"$.baselines[{i}].indicator",
                        f"chỉ số không có trong danh mục / unknown indicator {code}",
                    )
                )
            elif isinstance(b.get("value"), int | float):
                out += _bounds(rel(path), f"$.baselines[{i}]", indicators[code], b["value"], None)
            bj = b.get("jurisdiction")
            if bj and jurisdiction_ids and bj not in jurisdiction_ids:
                out.append(
                    Violation(
                        rel(path),
                        f"$.baselines[{i}].jurisdiction",
                        f"đơn vị hành chính không tồn tại / unknown jurisdiction {bj}",
                    )
                )
    return out


def _bounds(
    file: str, here: str, ind: dict[str, Any], value: float, value_max: float | None
) -> list[Violation]:
    from chitieu.catalog.indicators import indicator_from_dict

    try:
        spec = indicator_from_dict(ind)
    except (KeyError, ValueError):
        return []
    out = []
    for name, v in (("value", value), ("value_max", value_max)):
        if isinstance(v, int | float) and not spec.in_range(float(v)):
            out.append(
                Violation(
                    file,
                    f"{here}.{name}",
                    f"giá trị {v} ngoài miền của chỉ số / value outside the range of {spec.code} "
                    f"[{spec.min_value}, {spec.max_value}]",
                )
            )
    return out


def _phrase_agrees(file: str, here: str, t: dict[str, Any], phrase: str) -> list[Violation]:
    try:
        parsed = parse_target_phrase(phrase)
    except PhraseError as exc:
        return [Violation(file, f"{here}.phrase", f"{exc.reason_vi} / {exc.reason_en}")]
    if t.get("kind") == "milestone":
        return (
            []
            if parsed.kind == "milestone"
            else [Violation(file, f"{here}.phrase", "cụm từ không phải mốc / phrase is not a milestone")]
        )
    out = []
    for field in ("operator", "value", "value_max", "every_year", "relative_to"):
        want = getattr(parsed, field)
        have = t.get(field, False if field == "every_year" else None)
        if isinstance(want, float) and isinstance(have, int | float):
            same = abs(want - float(have)) < 1e-9
        else:
            same = want == have
        if not same:
            out.append(
                Violation(
                    file,
                    f"{here}.{field}",
                    f"không khớp với cụm từ {phrase!r} (đọc được {want!r}, ghi {have!r}) / "
                    f"disagrees with the phrase (parsed {want!r}, catalog says {have!r})",
                )
            )
    return out
