"""Response schemas of the API (what the OpenAPI document shows, and what schemathesis checks
every answer against). Routes serialise rows straight to JSON; these describe them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal[
    "achieved",
    "milestone_done",
    "on_track",
    "milestone_pending",
    "needs_acceleration",
    "limited_progress",
    "insufficient_data",
    "no_data",
    "deteriorating",
    "missed",
    "milestone_overdue",
]


class Citation(BaseModel):
    document: str = Field(examples=["Chương trình hành động số 319-CTr/TU"])
    section: str | None = Field(examples=["II.1"])
    quote: str = Field(description="The sentence of the document the target comes from, verbatim")


class SuccessionLink(BaseModel):
    id: str = Field(examples=["new-56"])
    name: str = Field(examples=["Khánh Hòa"])
    effective_on: date = Field(examples=["2025-07-01"])
    legal_basis: str | None


class Jurisdiction(BaseModel):
    id: str = Field(examples=["old-58"])
    code: str = Field(examples=["58"])
    name: str = Field(examples=["Ninh Thuận"])
    level: Literal["national", "province", "commune"]
    parent_id: str | None
    valid_from: date | None
    valid_to: date | None = Field(description="Last day in force (inclusive); null: still in force")
    aliases: list[str]
    successors: list[SuccessionLink]
    predecessors: list[SuccessionLink]


class Indicator(BaseModel):
    code: str = Field(examples=["digital_economy_share_grdp"])
    name_vi: str = Field(examples=["Tỷ trọng kinh tế số trong GRDP"])
    name_en: str
    aliases: list[str]
    unit: str = Field(examples=["%"])
    value_type: str
    direction: Literal["higher", "lower"]
    aggregation: str
    min_value: float | None
    max_value: float | None
    plan_specific: str | None
    needs_review: bool
    description: str | None


class ReportingObligation(BaseModel):
    code: str
    description: str
    recurrence: str
    due_dates: list[str]
    first_year: int | None
    recipient: str | None


class Plan(BaseModel):
    id: str = Field(examples=["ninh-thuan-319-ctr-tu"])
    document_number: str = Field(examples=["319-CTr/TU"])
    title: str
    issuer: str
    issued_on: date | None
    jurisdiction_id: str
    jurisdiction_name: str
    kind: Literal["provincial", "national"]
    horizon_year: int
    targets: int = Field(description="Number of targets in the plan")
    reporting_obligations: list[ReportingObligation]


class Target(BaseModel):
    id: str = Field(examples=["ninh-thuan-319.t01"])
    plan_id: str
    indicator_code: str
    indicator_name_vi: str
    indicator_name_en: str
    unit: str
    jurisdiction_id: str
    jurisdiction_name: str
    target_year: int = Field(examples=[2030])
    kind: Literal["level", "rank", "count", "growth", "milestone"]
    operator: Literal[">=", ">", "<=", "<", "="] | None
    value: float | None
    value_max: float | None
    every_year: bool
    parent_target_id: str | None
    relative_to: str | None
    milestone_object: str | None
    due_date: date | None
    baseline_year: int | None
    baseline_value: float | None
    baseline_note: str | None
    lead_agency: str | None
    needs_review: bool
    citation: Citation


class Provenance(BaseModel):
    source_id: str
    batch_id: int | None
    file_sha256: str | None
    file_name: str | None
    sheet: str | None
    row: int | None
    cell: str | None
    fetched_at: datetime
    note: str | None


class Observation(BaseModel):
    period_type: Literal["Y", "H", "Q", "M", "R"]
    period_start: date
    period_end: date | None
    value: float
    status: Literal["final", "provisional"]
    loaded_at: datetime = Field(description="When this vintage was loaded")
    provenance: Provenance | None = Field(
        default=None, description="With `include=provenance`: where the figure came from"
    )


class Series(BaseModel):
    jurisdiction: Jurisdiction
    indicator: Indicator
    as_of: datetime | None = Field(description="null: the latest vintage of every figure")
    vintages: Literal["latest", "all"]
    observations: list[Observation]


class StatusRow(BaseModel):
    target_id: str
    plan_id: str
    jurisdiction_id: str
    jurisdiction_name: str | None
    data_jurisdiction_id: str | None = Field(
        description="Whose figures were used (a successor after 2025-07-01)"
    )
    indicator_code: str
    indicator_name_vi: str | None
    target_year: int
    check_year: int | None = Field(description="Set for each failed year of an every-year target")
    headline_status: Status = Field(examples=["needs_acceleration"], description="The headline verdict")
    headline_label_vi: str | None = Field(examples=["Cần đẩy nhanh"])
    headline_label_en: str | None = Field(examples=["Needs acceleration"])
    headline_group: Literal["achieved", "on_track", "behind", "no_data", "not_due"] | None
    headline_rule: str | None = Field(description="status, ratio, projection or every_year_missed")
    status: Status = Field(examples=["on_track"], description="The progress ratio's verdict (a component)")
    status_label_vi: str | None = Field(examples=["Đúng lộ trình"])
    anticipated_gap: float | None = Field(description="ESCAP G: <= 0 will meet, > 1 trend must reverse")
    series_basis: str | None = Field(description="own, successor_comparable or own_until_ceased")
    progress_ratio: float | None
    expected_value: float | None
    current_value: float | None
    current_year: int | None
    projected_value: float | None
    will_meet: bool | None
    base_year: int | None
    base_value: float | None
    flags: list[str]
    run_id: int
    evaluated_at: datetime
    as_of: datetime


class Alert(BaseModel):
    id: int
    fingerprint: str
    rule: str = Field(examples=["behind_trajectory"])
    plan_id: str | None
    jurisdiction_id: str | None
    indicator_code: str | None
    target_year: int | None
    target_id: str | None
    state: Literal["firing", "resolved"]
    severity: str
    summary_vi: str
    summary_en: str | None
    labels: dict[str, Any]
    detail: dict[str, Any]
    first_fired_at: datetime
    last_seen_at: datetime
    last_notified_at: datetime | None
    resolved_at: datetime | None
    silenced_by: int | None


class SilenceIn(BaseModel):
    duration: str = Field(pattern=r"^\s*\d+\s*[mhdwMHDW]\s*$", examples=["30d"], description="m, h, d or w")
    comment: str | None = Field(default=None, max_length=2000, examples=["đang bổ sung số liệu 2025"])


class SilenceRequest(SilenceIn):
    matchers: dict[str, str] = Field(
        min_length=1, examples=[{"jurisdiction": "new-56", "rule": "data_stale"}], description="label → value"
    )


class Silence(BaseModel):
    id: int
    matchers: dict[str, str]
    comment: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    removed_at: datetime | None
    active: bool
    holding: int = Field(description="Firing alerts this silence is holding back")


class ApiKey(BaseModel):
    id: int
    prefix: str = Field(examples=["3f9a1c02"])
    role: Literal["viewer", "engineer", "admin"]
    name: str
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyRequest(BaseModel):
    role: Literal["viewer", "engineer", "admin"]
    name: str = Field(min_length=1, max_length=200, examples=["Sở KH&CN Khánh Hòa — nhập liệu"])
    expires_at: datetime | None = None


class ApiKeyCreated(ApiKey):
    token: str = Field(description="Shown once; store it now, only its hash is kept")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    database: bool
    migrations_current: bool
    pending_migrations: list[str]
    postgresql: str | None = None
    timescaledb: str | None = None
