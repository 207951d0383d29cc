"""A finding: one rule's verdict about one (plan, jurisdiction, indicator, year), before any lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

RULES: tuple[str, ...] = (
    "behind_trajectory",
    "status_worsened",
    "every_year_missed",
    "milestone_overdue",
    "data_stale",
    "report_due",
)
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
INDICATOR_DASHBOARD_UID = "chitieu-indicator-detail"

RULE_NAMES_VI = {
    "behind_trajectory": "Chậm so với lộ trình",
    "status_worsened": "Tình trạng xấu đi",
    "every_year_missed": "Không đạt chỉ tiêu hằng năm",
    "milestone_overdue": "Quá hạn mốc nhiệm vụ",
    "data_stale": "Chưa có số liệu mới",
    "report_due": "Sắp đến hạn báo cáo",
}
RULE_NAMES_EN = {
    "behind_trajectory": "Behind trajectory",
    "status_worsened": "Status worsened",
    "every_year_missed": "Every-year constraint missed",
    "milestone_overdue": "Milestone overdue",
    "data_stale": "Data stale",
    "report_due": "Report due",
}


@dataclass(frozen=True)
class Finding:
    """What a rule found. `subject` is the indicator code, or the obligation code for report_due;
    `year` is the target year (the checked year for every_year_missed, the expected period's year
    for data_stale, the due date's year for report_due); `scope` is the plan id, or the source id
    for data_stale; `instance` tells apart findings that share the rest of the key (a due date)."""

    rule: str
    scope: str | None
    jurisdiction_id: str | None
    subject: str | None
    year: int | None
    severity: str
    summary_vi: str
    summary_en: str
    labels: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    plan_id: str | None = None
    indicator_code: str | None = None
    target_id: str | None = None
    instance: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown alert rule {self.rule!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def fingerprint(self) -> str:
        parts = [self.rule, self.scope, self.jurisdiction_id, self.subject, self.year]
        if self.instance:
            parts.append(self.instance)
        return "|".join("" if p is None else str(p) for p in parts)

    def all_labels(self) -> dict[str, str]:
        """Labels for silences and routes: the given ones plus rule and severity, never None."""
        labels = {k: str(v) for k, v in self.labels.items() if v is not None and v != ""}
        labels["rule"] = self.rule
        labels["severity"] = self.severity
        return labels


def worst(a: Finding, b: Finding) -> Finding:
    """Of two findings with one fingerprint (two targets of one indicator and year), the more severe."""
    return a if SEVERITIES.index(a.severity) >= SEVERITIES.index(b.severity) else b


def fmt_num(value: float | None, *, vi: bool = True, digits: int = 2) -> str:
    """12.5 -> '12,5' in Vietnamese (decimal comma, dot thousands), '12.5' in English."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if vi:
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def dashboard_link(
    base_url: str, plan_id: str | None, jurisdiction_id: str | None, indicator: str | None
) -> str:
    params = [
        (f"var-{name}", value)
        for name, value in (("plan", plan_id), ("jurisdiction", jurisdiction_id), ("indicator", indicator))
        if value
    ]
    query = f"?{urlencode(params)}" if params else ""
    return f"{base_url.rstrip('/')}/d/{INDICATOR_DASHBOARD_UID}{query}"
