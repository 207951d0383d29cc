"""The catalog's files as models: the one definition `chitieu catalog check` validates with and the
published schemas/catalog.schema.json is generated from.

Plan files are `plans.Plan` itself; this module adds the indicator dictionary, the jurisdictions
file and the annex files the importer writes.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chitieu.catalog.indicators import Aggregation, Direction, ValueType
from chitieu.catalog.plans import Plan, Target
from chitieu.catalog.types import Code2, IndicatorCode, JurisdictionId, NonEmpty, PlanId


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorDoc(_Doc):
    """One entry of catalog/indicators.yaml (or of an annex's plan-specific indicators)."""

    code: IndicatorCode
    name_vi: NonEmpty
    name_en: NonEmpty
    aliases: list[NonEmpty] = Field(default_factory=list)
    unit: NonEmpty
    value_type: ValueType
    direction: Direction | None = None  # default: lower for ranks, else higher
    aggregation: Aggregation | None = None  # default: none for ranks, else sum
    aggregation_weight: IndicatorCode | None = None
    min_value: float | None = None
    max_value: float | None = None
    plan_specific: PlanId | None = None
    needs_review: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorDoc:
        if self.aggregation == "weighted_mean" and self.aggregation_weight is None:
            raise ValueError(f"{self.code}: a weighted mean needs aggregation_weight")
        if self.value_type == "rank" and self.direction not in (None, "lower"):
            raise ValueError(f"{self.code}: a rank is better when lower (direction: lower)")
        if self.value_type == "rank" and self.aggregation not in (None, "none"):
            raise ValueError(f"{self.code}: ranks do not aggregate (aggregation: none)")
        return self


class IndicatorsFile(_Doc):
    """catalog/indicators.yaml"""

    indicators: list[IndicatorDoc] = Field(min_length=1)


class NationalDoc(_Doc):
    id: Literal["vn"]
    code: NonEmpty
    name: NonEmpty
    aliases: list[NonEmpty] = Field(default_factory=list)


class MergerDoc(_Doc):
    effective_on: date | None = None
    legal_basis: NonEmpty | None = None


class NewProvincesDoc(_Doc):
    source: Literal["vietnam-provinces"] | None = None
    valid_from: date | None = None
    aliases: dict[Code2, list[NonEmpty]] = Field(default_factory=dict)


class OldProvinceDoc(_Doc):
    code: Code2
    name: NonEmpty
    successor: Code2
    valid_from: date | None = None
    valid_to: date | None = None
    aliases: list[NonEmpty] = Field(default_factory=list)


class OldProvincesDoc(_Doc):
    valid_to: date | None = None
    items: list[OldProvinceDoc] = Field(min_length=1)


class JurisdictionsFile(_Doc):
    """catalog/jurisdictions.yaml"""

    national: NationalDoc
    merger: MergerDoc | None = None
    new_provinces: NewProvincesDoc | None = None
    old_provinces: OldProvincesDoc


class UnparsedRow(_Doc):
    """An annex row the importer could not read, kept for a manual entry."""

    row: int
    text: str
    reason_vi: str
    reason_en: str


class AnnexFile(_Doc):
    """catalog/plans/<plan-id>.annex.yaml, written by `chitieu catalog import-annex`."""

    plan: PlanId
    source_file: str | None = None
    imported_at: str | None = None
    jurisdiction: JurisdictionId | None = None
    indicators: list[IndicatorDoc] = Field(default_factory=list)
    targets: list[Target]
    unparsed: list[UnparsedRow] = Field(default_factory=list)


# File kind -> its model; `check_catalog` and the published schema both read this table.
FILE_MODELS: dict[str, type[BaseModel]] = {
    "indicators": IndicatorsFile,
    "jurisdictions": JurisdictionsFile,
    "plan": Plan,
    "annex": AnnexFile,
}
