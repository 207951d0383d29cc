"""Declarative source specs: catalog/sources/*.yaml, validated by the `SourceSpec` model (the published
schemas/source-spec.schema.json is generated from it).

A spec says where a recurring export lives (URL or path), how to read it (sheet, header row,
column -> field mapping, constants, unit conversions) and when it should arrive (schedule,
expected release lag). Kind-specific settings of the portal connectors live in `options`.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import psycopg
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from chitieu.errors import ChitieuError
from chitieu.settings import PROJECT_ROOT, get_settings

Kind = Literal["spreadsheet", "ckan", "dkan", "pxweb", "html_table", "json_766"]
Field_ = Literal["jurisdiction", "jurisdiction_code", "indicator", "period", "value", "unit", "status"]
ConstantField = Literal["jurisdiction", "indicator", "period", "unit", "status"]
KINDS: tuple[str, ...] = get_args(Kind)
FIELDS: tuple[str, ...] = get_args(Field_)
_SCHEDULE_PATTERN = r"^(@(once|hourly|daily|weekly|monthly|quarterly|yearly|annually)|\S+(\s+\S+){4})$"
# The schema's form of the lag; _LAG_RE adds the look-ahead (a bare 'P') that JSON Schema engines lack.
_LAG_PATTERN = r"^(\d+\s*(days?|weeks?|months?|years?)|P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?)$"
_LAG_RE = re.compile(r"^(\d+\s*(days?|weeks?|months?|years?)|P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?)$")
_LAG_UNITS_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


class SpecError(ChitieuError, ValueError):
    """A source spec that does not validate."""

    code = "invalid_source_spec"


@with_config(ConfigDict(extra="allow"))
class SpecOptions(TypedDict, total=False):
    """Kind-specific settings read by the connector; the keys every kind shares are typed here."""

    decimal_mark: Literal[".", ","]  # the other mark groups thousands (default: the Vietnamese rules)
    allow_out_of_force: bool


class SourceSpec(BaseModel):
    """A recurring export: where it lives, how to read it, when it should arrive."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Chỉ Tiêu source spec (catalog/sources/*.yaml)",
        # What `_where` checks, for readers of the published schema.
        json_schema_extra={
            "not": {"required": ["url", "path"]},
            "if": {"properties": {"kind": {"const": "spreadsheet"}}},
            "then": {"anyOf": [{"required": ["url"]}, {"required": ["path"]}]},
        },
    )

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    kind: Kind
    title: str = Field(min_length=1)
    publisher: str | None = None
    # may contain '{publisher_base_url}'
    url: str | None = Field(default=None, pattern=r"^(https?://|\{publisher_base_url\})")
    path: str | None = Field(default=None, min_length=1)  # relative to the project root, or absolute
    sheet: str | None = None
    header_row: int | None = Field(default=None, ge=1)  # 1-based row of the header
    # field -> column header as written
    columns: dict[Field_, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    indicator: str | None = None  # constant indicator (code, name or alias)
    constants: dict[ConstantField, Any] = Field(default_factory=dict)  # field -> constant value
    # 'ratio_to_pct' or indicator code -> x
    unit_conversions: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    period: str | None = None  # constant period as written ('2024', '2024-H1')
    status: Literal["final", "provisional"] | None = None  # constant status
    priority: int = Field(
        default=0,
        description="precedence among sources giving the same figure with the same status: the higher wins",
    )
    schedule: str | None = Field(default=None, pattern=_SCHEDULE_PATTERN)  # cron or '@yearly' style preset
    # '120 days' or ISO 8601 'P120D'
    expected_release_lag: str | None = Field(default=None, pattern=_LAG_PATTERN)
    resources: list[str] = Field(default_factory=list)
    options: SpecOptions = Field(default_factory=lambda: SpecOptions())

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        # Resolved when the spec is loaded, so every connector reads a plain URL from spec.url.
        if v is None or "{publisher_base_url}" not in v:
            return v
        return v.replace("{publisher_base_url}", get_settings().publisher_base_url.rstrip("/"))

    @field_validator("expected_release_lag")
    @classmethod
    def _lag(cls, v: str | None) -> str | None:
        if v is not None and not _LAG_RE.match(v.strip()):
            raise ValueError("expected_release_lag must look like '120 days' or 'P120D'")
        return v

    @model_validator(mode="after")
    def _where(self) -> SourceSpec:
        if self.kind == "spreadsheet" and not (self.url or self.path):
            raise ValueError("a spreadsheet source needs a url or a path")
        if self.url and self.path:
            raise ValueError("give either url or path, not both")
        return self

    # -- resolved values -----------------------------------------------------------------------
    def resolved_url(self) -> str | None:
        if self.url is None:
            return None
        return self.url.replace("{publisher_base_url}", get_settings().publisher_base_url.rstrip("/"))

    def resolved_path(self) -> Path | None:
        if self.path is None:
            return None
        p = Path(self.path)
        return p if p.is_absolute() else PROJECT_ROOT / p

    def release_lag(self) -> timedelta | None:
        """The expected lag as a timedelta (months count 30 days, years 365)."""
        if self.expected_release_lag is None:
            return None
        text = self.expected_release_lag.strip()
        m = re.match(r"^(\d+)\s*(day|week|month|year)s?$", text)
        if m:
            return timedelta(days=int(m.group(1)) * _LAG_UNITS_DAYS[m.group(2)])
        m = re.match(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$", text)
        if not m:
            return None
        y, mo, w, d = (int(g) if g else 0 for g in m.groups())
        return timedelta(days=365 * y + 30 * mo + 7 * w + d)

    def multiplier_for(self, indicator_code: str, value_type: str) -> float:
        """Spec-level conversion: a per-indicator multiplier, or 'ratio_to_pct' for shares."""
        if indicator_code in self.unit_conversions:
            return float(self.unit_conversions[indicator_code])
        if value_type == "share_pct" and "ratio_to_pct" in self.unit_conversions:
            return float(self.unit_conversions["ratio_to_pct"])
        if value_type == "index_0_1" and "pct_to_ratio" in self.unit_conversions:
            return float(self.unit_conversions["pct_to_ratio"])
        return 1.0


def parse_spec(doc: Any, *, origin: str = "<spec>") -> SourceSpec:
    """Validate one spec document; every error names the field it is about."""
    try:
        return SourceSpec.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        lines = [f"{origin}: {'/'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in errors]
        raise SpecError("\n".join(lines), "mô tả nguồn không hợp lệ:\n" + "\n".join(lines)) from exc


def load_source_specs(dir: Path | None = None) -> list[SourceSpec]:
    """Every spec in catalog/sources (or `dir`), sorted by id; ids must be unique."""
    directory = Path(dir) if dir is not None else get_settings().sources_dir
    specs: dict[str, SourceSpec] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        with path.open(encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        spec = parse_spec(doc, origin=path.name)
        if spec.id in specs:
            raise SpecError(
                f"{path.name}: source id {spec.id!r} is defined twice",
                f"{path.name}: mã nguồn {spec.id!r} được khai báo hai lần",
            )
        specs[spec.id] = spec
    return [specs[k] for k in sorted(specs)]


def get_source_spec(spec_id: str, dir: Path | None = None) -> SourceSpec:
    for spec in load_source_specs(dir):
        if spec.id == spec_id:
            return spec
    raise SpecError(f"no source spec with id {spec_id!r}", f"không có mô tả nguồn nào mang mã {spec_id!r}")


UPLOAD_SOURCE_ID = "upload"


def upsert_sources(conn: psycopg.Connection, specs: list[SourceSpec] | None = None) -> int:
    """Write the specs (and the 'upload' pseudo-source) to `sources`; returns the rows written."""
    specs = load_source_specs() if specs is None else specs
    rows: list[tuple[Any, ...]] = [
        (
            UPLOAD_SOURCE_ID,
            "upload",
            "Tệp tải lên / uploaded files",
            None,
            None,
            None,
            None,
            json.dumps({}),
        )
    ]
    for s in specs:
        rows.append(
            (
                s.id,
                s.kind,
                s.title,
                s.publisher,
                s.url or s.path,
                s.schedule,
                s.release_lag(),
                json.dumps(s.model_dump(mode="json"), ensure_ascii=False),
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO sources (id, kind, title, publisher, url, schedule, expected_release_lag, spec)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)
               ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, title = EXCLUDED.title,
                   publisher = EXCLUDED.publisher, url = EXCLUDED.url, schedule = EXCLUDED.schedule,
                   expected_release_lag = EXCLUDED.expected_release_lag, spec = EXCLUDED.spec""",
            rows,
        )
    if not conn.autocommit:
        conn.commit()
    return len(rows)
