"""Response schemas of the API (what the OpenAPI document shows, and what schemathesis checks
every answer against). Routes serialise rows straight to JSON; these describe them."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from chitieu.api.problems import ProblemDetail
from chitieu.uploads.jobs import State as JobState
from chitieu.uploads.report import REJECTED_CAP, SAMPLE_ROWS

_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*")


def _iso_text(value: Any) -> Any:
    """pydantic also reads a number (`0`, `"0"`) as seconds since 1970: a client sending one meant
    something else, so only the ISO 8601 text of a date or time is taken."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            "expected an ISO 8601 date or time (2025-07-01, 2025-07-01T08:00:00+07:00), not a number"
        )
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]

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


# What an alert says about the engineers' handling of it rather than about the target: not shown to
# readers without a key (CHITIEU_API_PUBLIC_READ), in the JSON reads and the export alike.
ALERT_INTERNAL_FIELDS = ("last_notified_at", "silenced_by")


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
    last_notified_at: datetime | None = Field(default=None, description="Absent for readers without a key")
    resolved_at: datetime | None
    silenced_by: int | None = Field(
        default=None, description="The silence holding it back; absent for readers without a key"
    )


class SilenceIn(BaseModel):
    duration: str = Field(
        pattern=r"^\s*0*[1-9]\d*\s*[mhdwMHDW]\s*$", examples=["30d"], description="m, h, d or w; more than 0"
    )
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
    expires_at: IsoDateTime | None = Field(
        default=None, description="Must be in the future; without an offset: Vietnam time (UTC+7)"
    )


class ApiKeyCreated(ApiKey):
    token: str = Field(description="Shown once; store it now, only its hash is kept")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    database: bool
    migrations_current: bool
    pending_migrations: list[str]
    postgresql: str | None = Field(default=None, description="Shown to engineers' and admins' keys only")
    timescaledb: str | None = Field(default=None, description="Shown to engineers' and admins' keys only")


# --- uploads --------------------------------------------------------------------------------------------


class RejectedRow(BaseModel):
    sheet: str | None = Field(examples=["Mẫu nhập liệu"])
    row: int | None = Field(description="Row number in the sheet (1-based)", examples=[14])
    column: str | None = Field(examples=["Giá trị"])
    raw: str | None = Field(description="The cell's text as uploaded", examples=["mười hai"])
    reason_code: str | None = Field(examples=["unparsable_value"])
    reason_vi: str = Field(examples=["không đọc được giá trị 'mười hai'"])
    reason_en: str = Field(examples=["unreadable value 'mười hai'"])


class IngestError(BaseModel):
    """Why a whole file was rejected, each language apart."""

    code: str | None = Field(
        description="null in reports recorded before the code was kept", examples=["unreadable_file"]
    )
    vi: str = Field(examples=["tệp không phải là bảng tính Excel hợp lệ"])
    en: str = Field(examples=["the file is not a valid Excel workbook"])


class IngestSummary(BaseModel):
    file: str | None = Field(examples=["mau-nhap-lieu-4-tinh-2020-2025.xlsx"])
    source: str = Field(examples=["upload"])
    sha256: str | None = Field(examples=["9f2c0c5e4b…"])
    batch_id: int | None = Field(description="The load_batches row (provenance of every figure loaded)")
    status: Literal["loaded", "skipped", "rejected", "dry_run", "failed"] = Field(examples=["loaded"])
    read: int = Field(description="Rows read", examples=[146])
    loaded: int = Field(description="Rows written: new figures and revisions", examples=[144])
    new: int = Field(examples=[143])
    unchanged: int = Field(
        description="Figures equal to their current vintage (nothing written)", examples=[0]
    )
    revised: int = Field(
        description="Figures that differ from their current vintage (a new vintage)", examples=[1]
    )
    rejected: int = Field(examples=[2])
    missing_skipped: int = Field(description="Cells marked missing ('-', 'x', '..'), skipped", examples=[0])
    resolved_rejections: int = Field(
        default=0,
        description="Rows that earlier loads of this same file had rejected and that passed this time "
        "(their quarantine entries are marked resolved)",
        examples=[0],
    )
    reprocess_of: int | None = Field(
        default=None, description="A reprocess: the batch that first loaded this file", examples=[None]
    )
    error: IngestError | None = Field(description="Why the whole file was rejected")
    reconciliation: dict[str, int] | None = Field(
        default=None,
        description="Where every non-empty cell of the file's tables went: cells = loaded + unchanged + "
        "duplicate + rejected + label + missing",
        examples=[
            {
                "cells": 160,
                "loaded": 144,
                "unchanged": 0,
                "duplicate": 0,
                "rejected": 2,
                "label": 14,
                "missing": 0,
            }
        ],
    )


class UploadReport(BaseModel):
    """The validation report."""

    summary: IngestSummary
    rejected: list[RejectedRow] = Field(description=f"The rejected rows, at most {REJECTED_CAP}")
    rejected_total: int = Field(examples=[2])
    observations_sample: list[dict[str, Any]] = Field(
        description=f"Dry runs: the first {SAMPLE_ROWS} figures that would be loaded, with their provenance"
    )
    observations_total: int = Field(description="Dry runs: how many figures would be loaded", examples=[0])
    notes: list[str] = Field(description="What the reader noticed (sheets without a table, …)")


class UploadJobBrief(BaseModel):
    id: uuid.UUID
    status_url: str = Field(examples=["/api/v1/uploads/7d0c2a8e-1f7b-4c55-9d8e-2b1f0c3a4d5e"])
    state: JobState = Field(
        description="queued → running → done (the report says what loading did) or failed (`error` says why)"
    )
    file_name: str = Field(examples=["mau-nhap-lieu-4-tinh-2020-2025.xlsx"])
    file_sha256: str = Field(description="The archive key of the uploaded bytes")
    size_bytes: int = Field(examples=[10934])
    indicator: str | None = Field(description="The indicator given for a single-indicator sheet")
    dry_run: bool
    reprocess: bool = Field(description="Loaded again although this file was loaded before")
    uploaded_by: str | None = Field(description="The API key's name", examples=["sở KH&CN Ninh Thuận"])
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="Runs started (a stopped API resumes its jobs)", examples=[1])
    batch_id: int | None
    result_status: str | None = Field(
        description="loaded | skipped | rejected | dry_run; null until done", examples=["loaded"]
    )
    error: ProblemDetail | None = Field(
        description="Why the file was refused or could not be loaded: a problem document, English and "
        "Vietnamese apart, with the status an answer carrying it has (4xx: the file was refused; 5xx: "
        "the failure was ours) and the job's URL as its instance"
    )
    summary: IngestSummary | None


class UploadJob(UploadJobBrief):
    report: UploadReport | None = Field(description="The validation report, once done")


class UploadProblem(BaseModel):
    """A refused upload: the problem, and the job that keeps the archived file and its report."""

    type: str = Field(examples=["urn:chitieu:problem:upload-rejected"])
    title: str
    status: int = Field(examples=[422])
    detail: str
    title_vi: str
    detail_vi: str
    instance: str | None = None
    job_id: uuid.UUID | None = Field(default=None, description="Absent when nothing was kept (an empty file)")
    status_url: str | None = None
    report: UploadReport | None = None
