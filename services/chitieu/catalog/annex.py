"""Annex importer: a plan's indicator annex (`TT | Chỉ tiêu | Đơn vị | Kết quả | Cơ quan chủ trì theo dõi`,
the shape of Phụ lục I of Resolution 03/NQ-CP) in xlsx / xls / ods / csv -> catalog targets.

Handles title rows above the header, merged cells (vertical merges are filled down, e.g. one agency for
several rows), numbering like `11.2` (a child of item 11, whose name gives context), roman-numeral
or lettered groups, and target years stated in group headers (`Đến năm 2030`) or in the result column's
header. A row whose result cannot be read is kept in `unparsed` with its row number and text; a row whose
indicator is not in the dictionary gets a plan-specific indicator flagged `needs_review`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from chitieu.catalog.indicators import Indicator, IndicatorRegistry, load_indicators
from chitieu.catalog.phrases import ParsedTarget, PhraseError, parse_target_phrase
from chitieu.catalog.plans import ANNEX_SUFFIX, Citation, Plan, Target, load_plans
from chitieu.errors import ChitieuError
from chitieu.textnorm import fold_key, nfc


class AnnexError(ChitieuError):
    """An annex that cannot be imported at all (unknown plan, no header row, unreadable file)."""

    code = "annex_refused"

    def __init__(self, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en, reason_vi)


_COLUMNS: dict[str, tuple[str, ...]] = {
    "tt": ("tt", "stt", "so tt", "so thu tu"),
    "name": ("chi tieu", "ten chi tieu", "noi dung chi tieu", "noi dung"),
    "unit": ("don vi", "don vi tinh", "dvt"),
    "result": ("ket qua", "muc tieu", "chi tieu can dat", "ket qua can dat", "gia tri", "ke hoach"),
    "agency": (
        "co quan chu tri theo doi",
        "co quan chu tri",
        "don vi chu tri",
        "co quan theo doi",
        "chu tri",
    ),
}
_ROMAN_RE = re.compile(r"^(?=[ivxlcdm]+$)m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_ITEM_RE = re.compile(r"^\d+(?:\.\d+)*\.?$")
_YEAR_RE = re.compile(r"(?:den|toi|trong|nam|giai doan)\s*(?:nam\s*)?(\d{4})(?:\s*-\s*(\d{4}))?")


@dataclass
class AnnexRow:
    row: int  # 1-based row number in the sheet/file
    cells: list[str]


@dataclass
class AnnexResult:
    plan_id: str
    jurisdiction: str
    source_file: str
    targets: list[Target] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    unparsed: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0

    def to_document(self) -> dict[str, Any]:
        return {
            "plan": self.plan_id,
            "source_file": self.source_file,
            "jurisdiction": self.jurisdiction,
            "indicators": [_indicator_dict(i) for i in self.indicators],
            "targets": [
                t.model_dump(mode="json", exclude_none=True, exclude={"plan_id"}) for t in self.targets
            ],
            "unparsed": self.unparsed,
        }

    def to_yaml(self) -> str:
        header = (
            f"# Imported by `chitieu catalog import-annex` from {self.source_file}.\n"
            "# Review every target (and every indicator flagged needs_review) before relying on it;\n"
            "# rows listed under `unparsed` were not turned into targets and need a manual entry.\n"
        )
        return header + yaml.safe_dump(self.to_document(), allow_unicode=True, sort_keys=False, width=110)


def _indicator_dict(ind: Indicator) -> dict[str, Any]:
    # The range follows from value_type when the file is read back, so it is not written.
    row = ind.as_row()
    del row["min_value"], row["max_value"]
    return {k: v for k, v in row.items() if v is not None or k == "plan_specific"}


# --- reading -------------------------------------------------------------------------------------------
def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Spreadsheet numbers: 0.7 stays '0.7', 3.0 -> '3' (the phrase parser reads both).
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return nfc(str(value)).strip()


def read_rows(path: Path) -> list[AnnexRow]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"):
        return _read_workbook(path)
    raise AnnexError(f"Định dạng tệp không hỗ trợ: {suffix}", f"Unsupported file type: {suffix}")


def _read_csv(path: Path) -> list[AnnexRow]:
    raw = path.read_bytes()
    text: str | None = None
    for enc in ("utf-8-sig", "cp1258", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise AnnexError("Không xác định được bảng mã của tệp CSV", "Cannot detect the CSV encoding")
        text = str(best)
    # The delimiter that splits most lines into the five annex columns (title lines have one field).
    lines = text.splitlines()[:60]
    delimiter = max(
        (";", ",", "\t", "|"),
        key=lambda d: sum(1 for r in csv.reader(lines, delimiter=d) if len(r) >= 4),
    )
    dialect: Any = csv.excel
    rows = [
        AnnexRow(i + 1, [_cell_text(c) for c in r])
        for i, r in enumerate(csv.reader(io.StringIO(text), dialect, delimiter=delimiter))
    ]
    return rows


def _read_workbook(path: Path) -> list[AnnexRow]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    best: list[AnnexRow] | None = None
    for name in wb.sheet_names:
        sheet = wb.get_sheet_by_name(name)
        data = sheet.to_python(skip_empty_area=False)
        rows = [[_cell_text(c) for c in r] for r in data]
        merged = getattr(sheet, "merged_cell_ranges", None) or []
        _fill_vertical_merges(rows, merged)
        candidate = [AnnexRow(i + 1, r) for i, r in enumerate(rows)]
        if _find_header(candidate) is not None:
            return candidate
        best = best or candidate
    return best or []


def _fill_vertical_merges(rows: list[list[str]], merged: list[Any]) -> None:
    """A value merged down several rows (one agency for a block of indicators) applies to each row.

    Horizontal merges (a group title across the table) are left alone so that the title does not
    turn into a result or a unit.
    """
    for rng in merged:
        try:
            (r0, c0), (r1, c1) = rng
        except (TypeError, ValueError):
            continue
        if r1 <= r0:
            continue
        for c in range(c0, c1 + 1):
            if r0 >= len(rows) or c >= len(rows[r0]):
                continue
            value = rows[r0][c]
            for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
                while len(rows[r]) <= c:
                    rows[r].append("")
                if not rows[r][c]:
                    rows[r][c] = value


def _find_header(rows: list[AnnexRow]) -> tuple[int, dict[str, int], int | None] | None:
    """(index of the header row, column map, year stated in the result header)."""
    for idx, r in enumerate(rows[:40]):
        folded = [fold_key(c) for c in r.cells]
        cols: dict[str, int] = {}
        for key, names in _COLUMNS.items():
            for ci, f in enumerate(folded):
                if ci in cols.values():
                    continue
                if any(f == n or f.startswith(n + " ") for n in names):
                    cols[key] = ci
                    break
        if "name" in cols and "result" in cols:
            m = _YEAR_RE.search(folded[cols["result"]])
            return idx, cols, int(m.group(2) or m.group(1)) if m else None
    return None


# --- interpretation ------------------------------------------------------------------------------------
def _group_year(text: str) -> int | None:
    m = _YEAR_RE.search(fold_key(text))
    if not m:
        return None
    return int(m.group(2) or m.group(1))


def _item_key(tt: str) -> str:
    return tt.rstrip(".").strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold_key(text)).strip("-")


def _value_type_for(parsed: ParsedTarget, unit: str) -> str:
    u = fold_key(unit or parsed.unit or "")
    if parsed.kind == "rank":
        return "rank"
    if parsed.kind in ("growth", "milestone", "count"):
        return "count"
    if "10 000" in u or "10000" in u or "van dan" in u:
        return "rate_per_10k"
    if "1000" in u or "1 000" in u:
        return "rate_per_1000"
    if "%" in (unit or parsed.unit or "") or "phan tram" in u:
        return "share_pct"
    if parsed.value is not None and 0 <= parsed.value <= 1 and not float(parsed.value).is_integer():
        return "index_0_1"
    return "amount"


def _resolve_indicator(reg: IndicatorRegistry, names: list[str], parsed: ParsedTarget) -> Indicator | None:
    for name in names:
        candidates = [name, re.sub(r"\s*\([^)]*\)\s*$", "", name)]
        for cand in candidates:
            ind = reg.resolve(cand) if cand else None
            if ind is None:
                continue
            if parsed.kind == "rank" and ind.value_type != "rank":
                base = re.sub(r"_(score|index|share|rate)$", "", ind.code)
                ind = reg.items.get(f"{base}_rank")
                if ind is None:
                    continue
            if parsed.kind != "rank" and ind.value_type == "rank" and parsed.kind != "milestone":
                continue
            if ind.plan_specific is not None:
                continue
            return ind
    return None


@dataclass
class _Reading:
    """What reading one annex table carries from row to row."""

    plan: Plan
    jurisdiction: str
    registry: IndicatorRegistry
    source_name: str
    cols: dict[str, int]
    header_year: int | None
    group_year: int | None = None
    names_by_item: dict[str, str] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)
    new_indicators: dict[str, Indicator] = field(default_factory=dict)

    @property
    def document(self) -> str:
        return f"{self.plan.document_number} - Phụ lục (annex)"

    def cell(self, r: AnnexRow, key: str) -> str:
        ci = self.cols.get(key)
        return r.cells[ci].strip() if ci is not None and ci < len(r.cells) else ""


@dataclass(frozen=True)
class _Line:
    """A row that states a target: its cells and where it sits in the numbering."""

    row: int
    tt: str
    name: str
    unit: str
    text: str
    agency: str
    item: str | None
    parent_name: str | None

    @property
    def full_text(self) -> str:
        return " | ".join(x for x in (self.tt, self.name, self.unit, self.text) if x)


def import_annex(
    path: Path,
    plan_id: str,
    jurisdiction: str | None = None,
    catalog_dir: Path | None = None,
) -> AnnexResult:
    """Read an annex table and return the targets (and plan-specific indicators) it defines."""
    plan, jur_id = _plan_and_jurisdiction(plan_id, jurisdiction, catalog_dir)
    rows = read_rows(path)
    header = _find_header(rows)
    if header is None:
        raise AnnexError(
            "Không tìm thấy dòng tiêu đề (TT | Chỉ tiêu | Đơn vị | Kết quả | Cơ quan chủ trì theo dõi)",
            "Header row not found (TT | Chỉ tiêu | Đơn vị | Kết quả | Cơ quan chủ trì theo dõi)",
        )
    hidx, cols, header_year = header
    reading = _Reading(plan, jur_id, load_indicators(catalog_dir), path.name, cols, header_year)
    result = AnnexResult(plan_id=plan_id, jurisdiction=jur_id, source_file=path.name)
    for r in rows[hidx + 1 :]:
        line = _target_line(reading, r)
        if line is None:
            continue
        result.rows_read += 1
        try:
            parsed = parse_target_phrase(line.text, unit_hint=line.unit or None)
        except PhraseError as exc:
            result.unparsed.append(
                {"row": r.row, "text": line.full_text, "reason_vi": exc.vi, "reason_en": exc.en}
            )
            continue
        ind, needs_review = _indicator_for(reading, line, parsed)
        result.targets.append(_target(reading, line, parsed, ind, needs_review))
    result.indicators = list(reading.new_indicators.values())
    return result


def _plan_and_jurisdiction(
    plan_id: str, jurisdiction: str | None, catalog_dir: Path | None
) -> tuple[Plan, str]:
    """The plan the annex belongs to, and the jurisdiction its targets are for (default: the plan's)."""
    plans = {p.id: p for p in load_plans(catalog_dir)}
    if plan_id not in plans:
        raise AnnexError(f"Không có kế hoạch {plan_id!r} trong danh mục", f"Unknown plan {plan_id!r}")
    plan = plans[plan_id]
    if not jurisdiction:
        return plan, plan.jurisdiction
    from chitieu.catalog.jurisdictions import load_jurisdictions

    j = load_jurisdictions(catalog_dir).resolve(
        jurisdiction, on=plan.issued_on or date(plan.horizon_year - 5, 1, 1)
    )
    if j is None:
        raise AnnexError(
            f"Không nhận ra đơn vị hành chính {jurisdiction!r}", f"Unknown jurisdiction {jurisdiction!r}"
        )
    return plan, j.id


def _target_line(reading: _Reading, r: AnnexRow) -> _Line | None:
    """The row as a target line; None for blank rows, column numbers and group titles (whose target
    year and item names are remembered for the rows below)."""
    if not any(c.strip() for c in r.cells):
        return None
    tt, name, unit, text, agency = (reading.cell(r, k) for k in ("tt", "name", "unit", "result", "agency"))
    # A row of column numbers under the header ('(1) (2) (3)...' or '1 2 3 4 5').
    if all(re.fullmatch(r"\(?\d+\)?", c.strip()) for c in r.cells if c.strip()) and not name[:1].isalpha():
        return None
    fold_tt = fold_key(tt)
    is_group = bool(_ROMAN_RE.match(fold_tt)) or bool(re.fullmatch(r"[a-z]", fold_tt))
    if not name and not text:
        # A group title merged across the row lands in the first non-empty cell.
        year = _group_year(next((c for c in r.cells if c.strip()), ""))
        reading.group_year = year or reading.group_year
        return None
    if is_group or (name and not text and not unit):
        year = _group_year(name or tt)
        reading.group_year = year or reading.group_year
        if tt and _ITEM_RE.match(tt):
            reading.names_by_item[_item_key(tt)] = name
        return None
    item = _item_key(tt) if tt and _ITEM_RE.match(tt) else None
    if item:
        reading.names_by_item[item] = name
    parent_name = reading.names_by_item.get(item.rsplit(".", 1)[0]) if item and "." in item else None
    return _Line(r.row, tt, name, unit, text, agency, item, parent_name)


def _indicator_for(reading: _Reading, line: _Line, parsed: ParsedTarget) -> tuple[Indicator, bool]:
    """The dictionary indicator the line names, else a new plan-specific one (and whether to review)."""
    if parsed.kind != "milestone":
        lookup = [line.name]
        if line.parent_name:
            lookup += [f"{line.parent_name} {line.name}", line.parent_name]
        found = _resolve_indicator(reading.registry, lookup, parsed)
        if found is not None:
            return found, False
    plan_id = reading.plan.id
    code = f"{plan_id.replace('-', '_')}__{_slug(line.item or f'r{line.row}').replace('-', '_')}"
    vt = _value_type_for(parsed, line.unit)
    milestone = parsed.kind == "milestone"
    ind = Indicator(
        code=code,
        name_vi=f"{line.parent_name} - {line.name}" if line.parent_name else line.name,
        name_en=f"(annex item {line.item or line.row}; to be translated)",
        aliases=(line.name,),
        unit=line.unit or parsed.unit or ("hoàn thành (0/1)" if milestone else "-"),
        value_type=vt,
        direction="lower"
        if vt == "rank" or (parsed.explicit_operator and parsed.operator in ("<", "<="))
        else "higher",
        aggregation="none" if vt == "rank" or milestone else ("sum" if vt == "count" else "mean"),
        aggregation_weight=None,
        min_value=0.0 if milestone else None,
        max_value=1.0 if milestone else None,
        plan_specific=plan_id,
        needs_review=not milestone,
        description=f"Created from row {line.row} of {reading.source_name}; no dictionary indicator matched.",
    )
    # The annex file is rewritten whole, so every plan-specific indicator it uses goes in it.
    reading.new_indicators[code] = ind
    return ind, not milestone


def _target(
    reading: _Reading, line: _Line, parsed: ParsedTarget, ind: Indicator, needs_review: bool
) -> Target:
    plan = reading.plan
    operator = parsed.operator
    if ind.direction == "lower" and not parsed.explicit_operator and parsed.kind not in ("rank", "growth"):
        operator = "<="  # a bare figure for a lower-is-better series is a ceiling
    target_year = reading.group_year or reading.header_year or plan.horizon_year
    base_id = f"{plan.id}.a{_slug(line.item)}" if line.item else f"{plan.id}.r{line.row}"
    tid, n = base_id, 2
    while tid in reading.seen_ids:
        tid, n = f"{base_id}-{n}", n + 1
    reading.seen_ids.add(tid)
    notes = [f"annex row {line.row}"]
    if parsed.approximate:
        notes.append("'khoảng' (about)")
    notes.extend(parsed.notes)
    milestone = parsed.kind == "milestone"
    return Target(
        id=tid,
        indicator=ind.code,
        jurisdiction=reading.jurisdiction if reading.jurisdiction != plan.jurisdiction else None,
        target_year=target_year,
        kind=parsed.kind if parsed.kind != "count" or ind.value_type == "count" else "level",  # type: ignore[arg-type]
        operator=operator,  # type: ignore[arg-type]
        value=parsed.value,
        value_max=parsed.value_max,
        every_year=parsed.every_year,
        relative_to=parsed.relative_to,  # type: ignore[arg-type]
        milestone_object=line.name if milestone else None,
        due_date=date(target_year, 12, 31) if milestone else None,
        lead_agency=line.agency or None,
        phrase=line.text,
        citation=Citation(
            document=reading.document,
            section=f"Phụ lục, mục {line.item}" if line.item else f"Phụ lục, dòng {line.row}",
            quote=line.full_text,
        ),
        needs_review=needs_review,
        notes="; ".join(notes),
    )


def annex_path(plan_id: str, catalog_dir: Path | None = None) -> Path:
    if catalog_dir is None:
        from chitieu.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    return Path(catalog_dir) / "plans" / f"{plan_id}{ANNEX_SUFFIX}"


def write_annex(result: AnnexResult, catalog_dir: Path | None = None) -> Path:
    """Write (replace) catalog/plans/<plan>.annex.yaml; the caches are cleared so it is seen at once."""
    out = annex_path(result.plan_id, catalog_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(result.to_yaml(), encoding="utf-8")
    tmp.replace(out)
    from chitieu.catalog import clear_caches

    clear_caches()
    return out
