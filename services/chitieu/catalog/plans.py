"""Plans (programmes) and their targets, read from catalog/plans/*.yaml.

A plan file holds the document's identity, its reporting obligations, the baselines it states and
its targets. `<plan-id>.annex.yaml` files written by the annex importer add targets (and plan-specific
indicators) to the plan of the same id.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from chitieu.catalog.types import IndicatorCode, JurisdictionId, NonEmpty, PlanId, TargetId, Year

Operator = Literal[">=", ">", "<=", "<", "="]
Kind = Literal["level", "rank", "count", "growth", "milestone"]
Recurrence = Literal["once", "half_yearly", "yearly", "every_3_years", "every_5_years"]

ANNEX_SUFFIX = ".annex.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Citation(_Model):
    document: NonEmpty
    section: str | None = None
    quote: str = Field(min_length=5)


class Baseline(_Model):
    """A figure stated in the plan: loaded as an observation sourced to the plan (`plan:<id>`).

    `year` set: a yearly figure. `period_start`/`period_end` set: a span (an average over 2020-2025,
    or a figure whose year the text leaves open, bounded by what the text does say).
    """

    indicator: IndicatorCode
    jurisdiction: JurisdictionId | None = None  # default: the plan's jurisdiction
    value: float
    year: Year | None = None
    period_start: date | None = None
    period_end: date | None = None
    year_stated: bool = True
    note: str | None = None
    citation: Citation

    @model_validator(mode="after")
    def _one_period(self) -> Baseline:
        if (self.year is None) == (self.period_start is None):
            raise ValueError("a baseline needs exactly one of `year` or `period_start`/`period_end`")
        if self.period_start is not None and self.period_end is None:
            raise ValueError("a baseline span needs period_end")
        if not self.year_stated and not self.note:
            raise ValueError("a baseline whose year is not stated needs a note saying so")
        return self

    @property
    def period_label(self) -> str:
        if self.year is not None:
            return str(self.year)
        assert self.period_start is not None
        assert self.period_end is not None
        return f"{self.period_start.isoformat()}/{self.period_end.isoformat()}"


class TargetBaseline(_Model):
    year: Year | None = None
    value: float | None = None
    note: str | None = None


class Target(_Model):
    id: TargetId
    indicator: IndicatorCode
    jurisdiction: JurisdictionId | None = None  # default: the plan's jurisdiction
    target_year: Year | None = None  # default: the plan's horizon (2030)
    kind: Kind
    operator: Operator | None = None
    value: float | None = None
    value_max: float | None = None
    every_year: bool = False
    parent: str | None = None
    relative_to: Literal["national"] | None = None
    milestone_object: str | None = None
    due_date: date | None = None
    baseline: TargetBaseline | None = None
    lead_agency: str | None = None
    phrase: str | None = None  # the target wording the operator/value were read from
    citation: Citation
    needs_review: bool = False
    notes: str | None = None
    # Filled in by load_plans (not part of the file's schema):
    plan_id: SkipJsonSchema[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _plan_id_not_written(cls, data: Any) -> Any:
        if isinstance(data, dict) and "plan_id" in data:
            raise ValueError("plan_id is not written in a target: it is the plan file's id")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.kind == "milestone":
            if not self.milestone_object:
                raise ValueError(f"{self.id}: a milestone needs milestone_object")
        else:
            if self.operator is None or self.value is None:
                raise ValueError(f"{self.id}: kind {self.kind} needs operator and value")
        if self.value_max is not None and self.value is not None and self.value_max < self.value:
            raise ValueError(f"{self.id}: value_max {self.value_max} is below value {self.value}")
        if self.kind == "rank" and (
            self.operator not in ("<=", "<", "=") or (self.value is not None and self.value < 1)
        ):
            raise ValueError(f"{self.id}: a rank target is a ceiling ('<=', '<', '=') of at least 1")
        return self


class ReportingObligation(_Model):
    code: PlanId
    description: NonEmpty
    recurrence: Recurrence
    # 'MM-DD' (recurring) or 'YYYY-MM-DD' (once)
    due_dates: list[Annotated[str, Field(pattern=r"^(\d{4}-)?\d{2}-\d{2}$")]] = Field(default_factory=list)
    first_year: Year | None = None
    recipient: str | None = None
    citation: Citation | None = None

    @model_validator(mode="after")
    def _due_dates_fit(self) -> ReportingObligation:
        once = self.recurrence == "once"
        for d in self.due_dates:
            if once != (len(d) == 10):
                raise ValueError(
                    f"{self.code}: due date {d!r} must be "
                    + ("YYYY-MM-DD for a one-off report" if once else "MM-DD for a recurring report")
                )
        return self


class Plan(_Model):
    """catalog/plans/<plan-id>.yaml"""

    id: PlanId
    document_number: NonEmpty
    title: NonEmpty
    issuer: NonEmpty
    issued_on: date | None = None
    issued_on_note: str | None = None
    jurisdiction: JurisdictionId
    kind: Literal["provincial", "national"] = "provincial"
    horizon_year: Year = 2030
    source_file: str | None = None
    notes: str | None = None
    reporting_obligations: list[ReportingObligation] = Field(default_factory=list)
    baselines: list[Baseline] = Field(default_factory=list)
    targets: list[Target]
    unquantified: list[Citation] = Field(default_factory=list)  # aims with no figure, kept for the record

    @model_validator(mode="after")
    def _date_or_note(self) -> Plan:
        if "issued_on" in self.model_fields_set and self.issued_on is None and not self.issued_on_note:
            raise ValueError(f"{self.id}: a plan without issued_on says why in issued_on_note")
        return self

    def finalise(self) -> Plan:
        """Fill defaults that depend on the plan (jurisdiction, target year, plan id, baselines)."""
        for b in self.baselines:
            b.jurisdiction = b.jurisdiction or self.jurisdiction
        for t in self.targets:
            t.plan_id = self.id
            t.jurisdiction = t.jurisdiction or self.jurisdiction
            t.target_year = t.target_year or self.horizon_year
            if t.baseline is None:
                t.baseline = self._baseline_for(t)
        return self

    def _baseline_for(self, t: Target) -> TargetBaseline | None:
        """The plan's own latest figure for the target's indicator and jurisdiction, if it states one."""
        found = [b for b in self.baselines if b.indicator == t.indicator and b.jurisdiction == t.jurisdiction]
        if not found:
            return None
        b = max(found, key=lambda b: b.year or (b.period_end.year if b.period_end else 0))
        if b.year is not None:
            return TargetBaseline(year=b.year, value=b.value, note=b.note)
        return TargetBaseline(year=None, value=b.value, note=b.note or f"span {b.period_label}")


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def plan_files(catalog_dir: Path) -> tuple[list[Path], list[Path]]:
    plans_dir = catalog_dir / "plans"
    all_files = sorted(plans_dir.glob("*.yaml")) if plans_dir.is_dir() else []
    annexes = [p for p in all_files if p.name.endswith(ANNEX_SUFFIX)]
    return [p for p in all_files if p not in annexes], annexes


def _catalog_dir(catalog_dir: Path | None) -> Path:
    if catalog_dir is None:
        from chitieu.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    return Path(catalog_dir)


def load_plans(catalog_dir: Path | None = None) -> list[Plan]:
    """Every plan of the catalog with its annex targets merged in, defaults filled, sorted by id."""
    root = _catalog_dir(catalog_dir)
    plan_paths, annex_paths = plan_files(root)
    plans: dict[str, Plan] = {}
    for path in plan_paths:
        plan = Plan.model_validate(read_yaml(path))
        if plan.id in plans:
            raise ValueError(f"{path}: plan id {plan.id} defined twice")
        plans[plan.id] = plan
    for path in annex_paths:
        doc = read_yaml(path) or {}
        plan_id = doc.get("plan")
        if plan_id not in plans:
            raise ValueError(f"{path}: annex for unknown plan {plan_id!r}")
        plans[plan_id].targets.extend(Target.model_validate(t) for t in doc.get("targets") or [])
    return [plans[k].finalise() for k in sorted(plans)]


def all_targets(plans: list[Plan]) -> list[Target]:
    return [t for p in plans for t in p.targets]
