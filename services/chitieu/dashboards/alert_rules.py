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

from chitieu.dashboards import common as c

GROUP = "chitieu-nq57"
GROUP_INTERVAL_S = 3600  # figures change at most daily; hourly evaluation is plenty
ORG_ID = 1
EXPR = DataSourceRef(type_val="__expr__", uid="__expr__")


@dataclass(frozen=True)
class RuleSpec:
    uid: str
    rule: str  # our rule name (chitieu.alerts vocabulary)
    title: str
    summary_vi: str
    description_en: str
    sql: str
    evaluator: str  # gt | lt
    threshold: float
    severity: str = "warning"
    dashboard_uid: str = "chitieu-overview"


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        uid="chitieu-behind-trajectory",
        rule="behind_trajectory",
        title="Chỉ tiêu chậm so với lộ trình",
        summary_vi="{{ $labels.plan_id }} / {{ $labels.jurisdiction_id }}: {{ $values.B }} chỉ tiêu "
        "cần đẩy nhanh, "
        "tiến triển hạn chế, đi xuống hoặc dự báo không đạt.",
        description_en="Targets needing acceleration, with limited progress, deteriorating or "
        "projected to miss.",
        sql="""
            SELECT plan_id, jurisdiction_id, targets::float8 AS value
            FROM dash_behind_trajectory
            ORDER BY 1, 2
        """,
        evaluator="gt",
        threshold=0,
    ),
    RuleSpec(
        uid="chitieu-every-year-missed",
        rule="every_year_missed",
        title="Không đạt chỉ tiêu hằng năm",
        summary_vi="{{ $labels.plan_id }} / {{ $labels.jurisdiction_id }} / {{ $labels.indicator_code }}: "
        "không đạt mức tối thiểu hằng năm trong {{ $values.B }} năm.",
        description_en="An every-year constraint failed for one or more years.",
        sql="""
            SELECT plan_id, jurisdiction_id, indicator_code, count(*)::float8 AS value
            FROM dash_status_latest
            WHERE check_year IS NOT NULL AND status = 'missed'
            GROUP BY plan_id, jurisdiction_id, indicator_code
            ORDER BY 1, 2, 3
        """,
        evaluator="gt",
        threshold=0,
    ),
    RuleSpec(
        uid="chitieu-milestone-overdue",
        rule="milestone_overdue",
        title="Nhiệm vụ quá hạn",
        summary_vi="{{ $labels.plan_id }} / {{ $labels.jurisdiction_id }} / {{ $labels.indicator_code }}: "
        "nhiệm vụ đã quá hạn mà chưa hoàn thành.",
        description_en="A milestone passed its due date without being recorded as done.",
        sql="""
            SELECT plan_id, jurisdiction_id, indicator_code, count(*)::float8 AS value
            FROM dash_status_latest
            WHERE status = 'milestone_overdue'
            GROUP BY plan_id, jurisdiction_id, indicator_code
            ORDER BY 1, 2, 3
        """,
        evaluator="gt",
        threshold=0,
        severity="critical",
    ),
    RuleSpec(
        uid="chitieu-data-stale",
        rule="data_stale",
        title="Nguồn số liệu quá hạn công bố",
        summary_vi="Nguồn {{ $labels.source_id }} chưa có số liệu kỳ mới, quá hạn dự kiến {{ "
        "$values.B }} ngày.",
        description_en="No new figure from a source after its expected release (next period end + "
        "release lag).",
        sql="""
            SELECT source_id, greatest(coalesce(days_overdue, 0), 1)::float8 AS value
            FROM dash_source_freshness
            WHERE is_stale
            ORDER BY 1
        """,
        evaluator="gt",
        threshold=0,
        dashboard_uid="chitieu-data-operations",
    ),
    RuleSpec(
        uid="chitieu-report-due",
        rule="report_due",
        title="Báo cáo sắp đến hạn",
        summary_vi="{{ $labels.plan_id }}: báo cáo {{ $labels.code }} đến hạn sau {{ $values.B }} ngày.",
        description_en="A reporting obligation of a plan is due within 14 days.",
        sql="""
            SELECT plan_id, code, days_until::float8 AS value
            FROM dash_reports_due
            ORDER BY 1, 2
        """,
        evaluator="lt",
        threshold=15,  # due within 14 days (DEADLINE_WARNING_DAYS)
        severity="info",
        dashboard_uid="chitieu-data-operations",
    ),
)


def _rule(spec: RuleSpec) -> alert_builder.Rule:
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
        .folder_uid(c.FOLDER_UID)
        .rule_group(GROUP)
        .org_id(ORG_ID)
        .is_paused(False)
        .labels({"rule": spec.rule, "severity": spec.severity, "system": "chitieu"})
        .annotations(
            {
                "summary": spec.summary_vi,
                "description": spec.description_en,
                "__dashboardUid__": spec.dashboard_uid,
            }
        )
    )


def api_rules() -> list[dict[str, Any]]:
    """Alert rules in the provisioning API's shape (POST/PUT /api/v1/provisioning/alert-rules)."""
    out = []
    for spec in RULES:
        text = JSONEncoder(sort_keys=True).encode(_rule(spec).build())
        out.append(json.loads(text))
    return out


def provisioning_document() -> dict[str, Any]:
    """The same rules as a Grafana alerting file-provisioning document."""
    rules = []
    for rule in api_rules():
        rules.append(
            {
                "uid": rule["uid"],
                "title": rule["title"],
                "condition": rule["condition"],
                "data": rule["data"],
                "noDataState": rule["noDataState"],
                "execErrState": rule["execErrState"],
                "for": rule["for"],
                "labels": rule["labels"],
                "annotations": rule["annotations"],
                "isPaused": rule.get("isPaused", False),
            }
        )
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": ORG_ID,
                "name": GROUP,
                "folder": c.FOLDER_TITLE,
                "interval": f"{GROUP_INTERVAL_S // 3600}h",
                "rules": rules,
            }
        ],
    }
