"""Grafana-managed alert rules mirroring our own alert rules, as SQL over the dashboard views.

Our alert lifecycle (chitieu.alerts) is the system of record; these rules let a Grafana install show
and route the same conditions without our notifier. Each rule: query A (SQL, one row per alert
instance: text label columns + a numeric `value`), B reduces A to its last value, C compares B with a
threshold; C is the condition. Rows absent means OK (annual data: no rows is the healthy case).

The same definitions produce the file-provisioning YAML (infra/grafana/provisioning/alerting) and
the payloads `chitieu dashboards push` sends to the provisioning API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import alerting as alert_builder
from grafana_foundation_sdk.builders import expr as expr_builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from chitieu import statuses
from chitieu.dashboards import common as c
from chitieu.dashboards.data_operations import PANEL_FRESHNESS, PANEL_REPORTS
from chitieu.dashboards.overview import PANEL_ALERTS

GROUP = "chitieu-nq57"
GROUP_INTERVAL_S = 3600  # figures change at most daily; hourly evaluation is plenty
ORG_ID = 1
EXPR = DataSourceRef(type_val="__expr__", uid="__expr__")


@dataclass(frozen=True)
class RuleSpec:
    uid: str
    rule: str  # our rule name (chitieu.alerts vocabulary)
    title: str
    summary_vi: str  # a Go template over the query's label columns: names, never bare ids
    description_en: str
    sql: str
    evaluator: str  # gt | lt
    threshold: float
    panel: str  # title of the panel the alert links to (Grafana needs dashboard and panel, or neither)
    severity: str = "warning"
    dashboard_uid: str = "chitieu-overview"


def _meaning(key: str) -> str:
    return statuses.status(key).meaning_vi


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        uid="chitieu-behind-trajectory",
        rule="behind_trajectory",
        title=statuses.GROUP_LABELS["behind"][0],
        summary_vi="{{ $labels.jurisdiction_name }} ({{ $labels.plan }}): {{ $values.B }} chỉ tiêu "
        + statuses.GROUP_LABELS["behind"][0].lower()
        + ".",
        description_en="Targets whose headline verdict is behind (needs acceleration, limited progress, "
        "deteriorating, overdue).",
        sql="""
            SELECT plan_id, plan, jurisdiction_id, jurisdiction_name, targets::float8 AS value
            FROM dash_behind_trajectory
            ORDER BY 1, 3
        """,
        evaluator="gt",
        threshold=0,
        panel=PANEL_ALERTS,
    ),
    RuleSpec(
        uid="chitieu-every-year-missed",
        rule="every_year_missed",
        title=statuses.label_vi("missed"),
        summary_vi="{{ $labels.jurisdiction_name }} – {{ $labels.indicator_name }}: "
        + _meaning("missed").rstrip(".").lower()
        + " ({{ $values.B }} năm).",
        description_en="An every-year constraint failed for one or more years.",
        sql="""
            SELECT plan_id, jurisdiction_id, jurisdiction_name, indicator_code, indicator_name,
                   count(*)::float8 AS value
            FROM dash_status_latest
            WHERE check_year IS NOT NULL AND status = 'missed'
            GROUP BY plan_id, jurisdiction_id, jurisdiction_name, indicator_code, indicator_name
            ORDER BY 1, 2, 4
        """,
        evaluator="gt",
        threshold=0,
        panel=PANEL_ALERTS,
    ),
    RuleSpec(
        uid="chitieu-milestone-overdue",
        rule="milestone_overdue",
        title="Mốc nhiệm vụ: " + statuses.label_vi("milestone_overdue").lower(),
        summary_vi="{{ $labels.jurisdiction_name }} – {{ $labels.indicator_name }}: "
        + _meaning("milestone_overdue"),
        description_en="A milestone passed its due date without being recorded as done.",
        sql="""
            SELECT plan_id, jurisdiction_id, jurisdiction_name, indicator_code, indicator_name,
                   count(*)::float8 AS value
            FROM dash_status_latest
            WHERE status = 'milestone_overdue'
            GROUP BY plan_id, jurisdiction_id, jurisdiction_name, indicator_code, indicator_name
            ORDER BY 1, 2, 4
        """,
        evaluator="gt",
        threshold=0,
        severity="critical",
        panel=PANEL_ALERTS,
    ),
    RuleSpec(
        uid="chitieu-data-stale",
        rule="data_stale",
        title="Nguồn số liệu quá hạn công bố",
        summary_vi="Nguồn “{{ $labels.source_title }}”: chưa có số liệu kỳ mới, quá hạn dự kiến "
        "{{ $values.B }} ngày.",
        description_en="No new figure from a source after its expected release (next period end + "
        "release lag).",
        sql="""
            SELECT source_id, coalesce(title, source_id) AS source_title,
                   greatest(coalesce(days_overdue, 0), 1)::float8 AS value
            FROM dash_source_freshness
            WHERE is_stale
            ORDER BY 1
        """,
        evaluator="gt",
        threshold=0,
        dashboard_uid="chitieu-data-operations",
        panel=PANEL_FRESHNESS,
    ),
    RuleSpec(
        uid="chitieu-report-due",
        rule="report_due",
        title="Báo cáo sắp đến hạn hoặc quá hạn",
        summary_vi="{{ $labels.plan }}: báo cáo “{{ $labels.report }}” – còn {{ $values.B }} ngày "
        "(số âm: đã quá hạn).",
        description_en="A reporting obligation of a plan is due within 14 days, or overdue without a "
        "recorded report.",
        sql="""
            SELECT plan_id, coalesce(plan_document, plan_id) AS plan, code, description AS report,
                   days_until::float8 AS value
            FROM dash_reports_due
            ORDER BY 1, 3
        """,
        evaluator="lt",
        threshold=15,  # due within 14 days (CHITIEU_DEADLINE_WARNING_DAYS), or overdue
        severity="info",
        dashboard_uid="chitieu-data-operations",
        panel=PANEL_REPORTS,
    ),
)


def panel_id(models: dict[str, dict[str, Any]], dashboard_uid: str, title: str) -> int:
    """Id of the panel titled `title` in the built dashboard (ids are assigned in layout order)."""
    for panel in models[dashboard_uid]["panels"]:
        if panel["title"] == title:
            return int(panel["id"])
    raise KeyError(f"no panel {title!r} in {dashboard_uid}")


def _rule(spec: RuleSpec, folder_uid: str, panel: int) -> alert_builder.Rule:
    query = (
        alert_builder.Query("A")
        .datasource_uid(c.DATASOURCE_UID)
        .relative_time_range(alerting.RelativeTimeRange(from_val=600, to=0))
        .model(
            c.Sql(spec.sql)
            .ref_id("A")
            .format("table")
            # Alert queries run without dashboard variables: name the datasource itself.
            .datasource(DataSourceRef(type_val=c.PLUGIN, uid=c.DATASOURCE_UID))
        )
    )
    reduce = (
        alert_builder.Query("B")
        .datasource_uid("__expr__")
        .model(expr_builder.TypeReduce().expression("A").reducer("last").datasource(EXPR).ref_id("B"))
    )
    threshold = (
        alert_builder.Query("C")
        .datasource_uid("__expr__")
        .model(
            expr_builder.TypeThreshold()
            .expression("B")
            .datasource(EXPR)
            .ref_id("C")
            .conditions(
                [
                    expr_builder.ExprTypeThresholdConditions().evaluator(
                        expr_builder.ExprTypeThresholdConditionsEvaluator()
                        .type(spec.evaluator)  # type: ignore[arg-type]
                        .params([spec.threshold])
                    )
                ]
            )
        )
    )
    return (
        alert_builder.Rule(spec.title)
        .uid(spec.uid)
        .queries([query, reduce, threshold])
        .condition("C")
        .for_val("0s")
        .no_data_state("OK")
        .exec_err_state("Error")
        .folder_uid(folder_uid)
        .rule_group(GROUP)
        .org_id(ORG_ID)
        .is_paused(False)
        .labels({"rule": spec.rule, "severity": spec.severity, "system": "chitieu"})
        .annotations(
            {
                "summary": spec.summary_vi,
                "description": spec.description_en,
                "__dashboardUid__": spec.dashboard_uid,
                "__panelId__": str(panel),
            }
        )
    )


def api_rules(folder_uid: str = c.FOLDER_UID) -> list[dict[str, Any]]:
    """Alert rules in the provisioning API's shape (POST/PUT /api/v1/provisioning/alert-rules)."""
    from chitieu.dashboards import build  # build imports this module

    models = build.dashboard_models()
    out = []
    for spec in RULES:
        rule = _rule(spec, folder_uid, panel_id(models, spec.dashboard_uid, spec.panel))
        text = JSONEncoder(sort_keys=True).encode(rule.build())
        out.append(json.loads(text))
    return out


# Fields Grafana's rule-file reader passes through environment interpolation (values.StringValue /
# StringMapValue.Value in pkg/services/provisioning/alerting/rules_types.go): a literal `$` in them
# must be written `$$`. Annotations and query models are read raw: written as they are meant.
INTERPOLATED_RULE_FIELDS = ("uid", "title", "condition", "for", "noDataState", "execErrState", "labels")


def escape_dollars(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [escape_dollars(v) for v in value]
    if isinstance(value, dict):
        return {k: escape_dollars(v) for k, v in value.items()}
    return value


def provisioning_document() -> dict[str, Any]:
    """The same rules as a Grafana alerting file-provisioning document.

    The group names its folder by title (the only way a rule file can): the dashboards' provider
    names the same folder by title too, so both land in one folder whichever Grafana creates first.
    """
    rules = []
    for rule in api_rules():
        item = {
            key: rule[key]
            for key in (
                "uid",
                "title",
                "condition",
                "data",
                "noDataState",
                "execErrState",
                "for",
                "labels",
                "annotations",
            )
        }
        item["isPaused"] = rule.get("isPaused", False)
        rules.append({k: escape_dollars(v) if k in INTERPOLATED_RULE_FIELDS else v for k, v in item.items()})
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": ORG_ID,
                "name": escape_dollars(GROUP),
                "folder": escape_dollars(c.FOLDER_TITLE),
                "interval": f"{GROUP_INTERVAL_S // 3600}h",
                "rules": rules,
            }
        ],
    }
