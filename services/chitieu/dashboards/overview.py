"""Leadership overview: in ten seconds, which province is on track on which headline indicator.

First row: counters by headline verdict (achieved, on track, behind, no data, milestones due) and
the scorecard, provinces x headline indicators (dashboards/scorecard.yaml), each cell the verdict's
colour with the latest figure (decimal comma, unit) and the direction of its last change, linking
to the indicator's detail. Then the alerts, targets by verdict per province, and every target's
latest figure against 2030, worst first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import FieldColorModeId

from chitieu import statuses
from chitieu.alerts.findings import RULE_NAMES_VI
from chitieu.dashboards import common as c
from chitieu.dashboards import indicator_detail
from chitieu.settings import PROJECT_ROOT

UID = "chitieu-overview"
PANEL_ALERTS = "Cảnh báo đang mở"
PANEL_SCORECARD = "Bảng điểm: tỉnh × chỉ tiêu chủ chốt"
PROVINCIAL = "jurisdiction_level IN ('province', 'national')"
SCORECARD_FILE = PROJECT_ROOT / "dashboards" / "scorecard.yaml"
CATALOG_INDICATORS = PROJECT_ROOT / "catalog" / "indicators.yaml"
SEVERITY_VI = {
    "info": ("thông tin", "blue"),
    "warning": ("cảnh báo", "orange"),
    "critical": ("nghiêm trọng", "red"),
}


def headline_indicators(path: Path = SCORECARD_FILE) -> list[dict[str, str]]:
    """The scorecard's columns: code, label and unit (from catalog/indicators.yaml)."""
    catalog = {
        i["code"]: i for i in yaml.safe_load(CATALOG_INDICATORS.read_text(encoding="utf-8"))["indicators"]
    }
    out = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["headline_indicators"]:
        if item["code"] not in catalog:
            raise ValueError(f"{path.name}: {item['code']} is not in catalog/indicators.yaml")
        out.append({"code": item["code"], "label": item["label"], "unit": catalog[item["code"]]["unit"]})
    return out


def verdict_cell_mappings() -> list[dict[str, Any]]:
    """A cell holds 'status|text': coloured by the status, showing the text (regex mapping, $1)."""
    mappings = [
        {
            "type": "regex",
            "options": {
                "pattern": f"^{s.key}\\|(.*)$",
                "result": {"text": "$1", "color": s.color, "index": i},
            },
        }
        for i, s in enumerate(statuses.STATUSES)
    ]
    mappings.append(
        {
            "type": "special",
            "options": {"match": "null", "result": {"text": "–", "color": "transparent", "index": 99}},
        }
    )
    return mappings


def counter(title: str, description: str, sql: str, color: str) -> c.PanelBuilder:
    return c.stat_panel(title, description, c.sql(sql), w=4, h=4).color_scheme(
        dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color(color)
    )


# One colour per headline group, for the counters and the bars (a group's statuses have several).
GROUP_COLORS: dict[statuses.Group, str] = {
    "achieved": "green",
    "on_track": "semi-dark-green",
    "behind": "red",
    "no_data": "gray",
    "not_due": "blue",
}


def _group_counter(group: statuses.Group, column: str, meaning_vi: str, meaning_en: str) -> c.PanelBuilder:
    vi, en = statuses.GROUP_LABELS[group]
    color = GROUP_COLORS[group]
    return counter(
        vi,
        c.describe(
            f"Số chỉ tiêu {meaning_vi} (theo kết luận chính của lần đánh giá mới nhất).",
            f"Targets {meaning_en} (headline verdict of the latest evaluation).",
        ),
        f'SELECT coalesce(sum({column}), 0) AS "{en}" FROM dash_headline_counts WHERE plan_id IN ($plan)',
        color,
    )


def no_data_counter() -> c.PanelBuilder:
    vi, _ = statuses.GROUP_LABELS["no_data"]
    query = c.sql(
        """
        SELECT coalesce(sum(no_data), 0) AS "Số chỉ tiêu",
               round(100.0 * coalesce(sum(no_data), 0) / nullif(sum(targets), 0)) AS "Tỷ lệ"
        FROM dash_headline_counts WHERE plan_id IN ($plan)
        """
    )
    return (
        c.stat_panel(
            vi,
            c.describe(
                "Chỉ tiêu chưa có (đủ) số liệu để đánh giá, và tỷ lệ của chúng trong tổng số chỉ tiêu.",
                "Targets without (enough) figures to assess, and their share of all targets.",
            ),
            query,
            w=4,
            h=4,
        )
        .color_scheme(dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color("gray"))
        .override_by_name("Tỷ lệ", [c.prop("unit", "percent"), c.prop("decimals", 0)])
    )


def scorecard_table(columns: list[dict[str, str]] | None = None) -> c.PanelBuilder:
    columns = columns or headline_indicators()
    pivots = ",\n".join(
        f"       max(s.cell) FILTER (WHERE s.indicator_code = '{col['code']}') AS \"{col['code']}\""
        for col in columns
    )
    query = c.sql(
        f"""
        SELECT s.jurisdiction_id, s.province AS "Tỉnh (→ tỉnh từ 1/7/2025)",
{pivots},
               CASE WHEN max(v.targets) = 0 THEN 'no_data|không có chỉ tiêu định lượng'
                    ELSE 'no_data|' || max(v.share_pct) || ' % (' || max(v.without_data) || '/'
                         || max(v.targets) || ' chỉ tiêu)' END AS "Chưa có số liệu"
        FROM dash_scorecard s
        LEFT JOIN dash_scorecard_coverage v ON v.plan_id = s.plan_id AND v.jurisdiction_id = s.jurisdiction_id
        WHERE s.plan_id IN ($plan)
        GROUP BY s.jurisdiction_id, s.province
        ORDER BY s.province
        """
    )
    legend = "; ".join(f"{s.label_vi} = {s.color}" for s in statuses.STATUSES if s.group != "not_due")
    panel = (
        c.table_panel(
            PANEL_SCORECARD,
            c.describe(
                "Mỗi ô: màu = kết luận chính về chỉ tiêu gần nhất của tỉnh (2030 trước), số liệu mới nhất, "
                "mũi tên = chiều thay đổi gần nhất, (năm số liệu). Bấm vào ô để xem chi tiết chỉ tiêu của "
                "tỉnh. "
                f"Cột cuối: tỷ lệ chỉ tiêu chưa có số liệu. Màu: {legend}.",
                "Each cell: colour = headline verdict of the province's nearest target (2030 first), latest "
                "figure, arrow = last change, (data year). Click a cell for the indicator's detail. Last "
                "column: share of the province's targets without data.",
            ),
            query,
            h=7,
        )
        .filterable(False)
        .mappings(verdict_cell_mappings())  # type: ignore[arg-type]
        .cell_options(c.colored_cells())
        .override_by_name("jurisdiction_id", [c.prop("custom.hidden", True)])
        .override_by_name(
            "Tỉnh (→ tỉnh từ 1/7/2025)",
            [c.prop("custom.cellOptions", {"type": "auto"}), c.prop("custom.width", 230)],
        )
    )
    for col in columns:
        link = (
            f"/d/{indicator_detail.UID}/?var-indicator={col['code']}"
            "&var-jurisdiction=${__data.fields.jurisdiction_id}&${plan:queryparam}"
        )
        panel = panel.override_by_name(
            col["code"],
            [
                c.prop("displayName", f"{col['label']} ({col['unit']})"),
                c.prop("links", [{"title": "Chi tiết chỉ tiêu", "url": link}]),
            ],
        )
    return panel


def status_counts_barchart() -> c.PanelBuilder:
    groups: list[statuses.Group] = ["achieved", "on_track", "behind", "no_data", "not_due"]
    columns = ", ".join(f'{g} AS "{statuses.GROUP_LABELS[g][0]}"' for g in groups)
    query = c.sql(
        f"""
        SELECT coalesce(p.jurisdiction_name, h.plan_id) || ' – ' || p.document_number AS "Kế hoạch", {columns}
        FROM dash_headline_counts h
        JOIN dash_plans p ON p.id = h.plan_id
        WHERE h.plan_id IN ($plan)
        ORDER BY p.kind DESC, 1
        """
    )
    panel = c.barchart_panel(
        "Chỉ tiêu theo kết luận, từng tỉnh / kế hoạch",
        c.describe(
            "Số chỉ tiêu của mỗi kế hoạch theo kết luận chính (mỗi chỉ tiêu một lần; các năm không đạt "
            "ngưỡng hằng năm không tính riêng).",
            "Targets of each plan by headline verdict (each target once).",
        ),
        query,
        x_field="Kế hoạch",
        stacked=True,
        w=12,
        h=8,
    )
    for g in groups:
        panel = panel.override_by_name(
            statuses.GROUP_LABELS[g][0], [c.prop("color", {"mode": "fixed", "fixedColor": GROUP_COLORS[g]})]
        )
    return panel


def alerts_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT rule AS "Loại", summary_vi AS "Nội dung", severity AS "Mức độ",
               jurisdiction_name AS "Địa bàn", first_fired_at AS "Từ lúc"
        FROM dash_alerts_firing
        WHERE plan_id IS NULL OR plan_id IN ($plan)
        ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, first_fired_at DESC
        LIMIT 200
        """
    )
    return (
        c.table_panel(
            PANEL_ALERTS,
            c.describe(
                "Cảnh báo đang mở (chậm so với lộ trình, xấu đi, không đạt hằng năm, mốc quá hạn, nguồn số "
                "liệu quá hạn, báo cáo đến hạn), nghiêm trọng trước, mới trước.",
                "Firing alerts, most severe and newest first.",
            ),
            query,
            w=12,
            h=8,
        )
        .override_by_name(
            "Loại",
            [
                c.prop("mappings", c.value_mappings({k: (v, "text") for k, v in RULE_NAMES_VI.items()})),
                c.prop("custom.width", 150),
            ],
        )
        .override_by_name(
            "Mức độ",
            [
                c.prop("mappings", c.value_mappings(SEVERITY_VI)),
                c.prop("custom.cellOptions", c.colored_cells().to_json()),
                c.prop("custom.width", 95),
            ],
        )
        .override_by_name("Nội dung", [c.prop("custom.width", 380)])
    )


def latest_vs_2030_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT status AS "Kết luận", jurisdiction_name AS "Địa bàn", indicator_name AS "Chỉ tiêu",
               current_text AS "Số liệu mới nhất", current_year AS "Năm",
               target_text AS "Mục tiêu 2030",
               expected_text AS "Theo lộ trình", projected_text AS "Dự báo 2030", notes_vi AS "Ghi chú"
        FROM dash_status_latest
        WHERE plan_id IN ($plan) AND check_year IS NULL AND target_year = 2030 AND {PROVINCIAL}
        ORDER BY severity DESC, jurisdiction_name, indicator_name
        LIMIT 500
        """
    )
    return (
        c.table_panel(
            "Số liệu mới nhất so với mục tiêu 2030",
            c.describe(
                "Mỗi chỉ tiêu 2030 của các tỉnh: kết luận (xấu nhất trước; chưa có số liệu sau các chỉ "
                "tiêu chậm), "
                "số liệu mới nhất, mục tiêu, giá trị theo lộ trình năm đó và dự báo đến 2030.",
                "Every 2030 target: verdict (worst first, no data after behind), latest figure, target, "
                "value "
                "expected on the planned path that year and the projection to 2030.",
            ),
            query,
            h=12,
        )
        .override_by_name(
            "Kết luận",
            [
                c.prop("mappings", [m.to_json() for m in c.status_mappings()]),
                c.prop("custom.cellOptions", c.colored_cells().to_json()),
                c.prop("custom.width", 140),
            ],
        )
        .override_by_name("Chỉ tiêu", [c.prop("custom.width", 330)])
        .override_by_name("Năm", [c.prop("custom.width", 55)])
    )


def build() -> dashboard.Dashboard:
    return (
        c.new_dashboard(
            UID,
            "Chỉ Tiêu – Tổng quan lãnh đạo",
            c.describe(
                "Các chỉ tiêu thực hiện Nghị quyết 57-NQ/TW: tỉnh nào đúng lộ trình ở chỉ tiêu nào, cảnh "
                "báo, "
                "số liệu mới nhất.",
                "Leadership overview of the Resolution 57-NQ/TW targets: verdicts, alerts, latest figures.",
            ),
            time_from="now-10y",
            time_to="now",
        )
        .with_variable(c.plan_variable())
        .with_row(c.text_row("Bảng điểm"))
        .with_panel(_group_counter("achieved", "achieved", "đã đạt", "achieved"))
        .with_panel(_group_counter("on_track", "on_track", "đúng lộ trình", "on track"))
        .with_panel(_group_counter("behind", "behind", "chậm so với lộ trình", "behind"))
        .with_panel(no_data_counter())
        .with_panel(
            counter(
                "Mốc đến hạn",
                c.describe(
                    "Mốc nhiệm vụ đã đến hạn (năm nay hoặc trước) mà chưa ghi nhận hoàn thành.",
                    "Milestones due this year or earlier and not recorded as done.",
                ),
                'SELECT coalesce(sum(milestones_due), 0) AS "Milestones due" FROM dash_headline_counts '
                "WHERE plan_id IN ($plan)",
                "purple",
            )
        )
        .with_panel(
            c.stat_panel(
                "Số cảnh báo đang mở",
                c.describe(
                    "Số cảnh báo đang mở của các kế hoạch đã chọn (và cảnh báo không gắn kế hoạch).",
                    "Alerts firing for the selected plans (and alerts not tied to a plan).",
                ),
                c.sql(
                    'SELECT count(*) AS "Alerts" FROM dash_alerts_firing '
                    "WHERE plan_id IS NULL OR plan_id IN ($plan)"
                ),
                w=4,
                h=4,
            ).thresholds(c.thresholds((None, "green"), (1, "red")))
        )
        .with_panel(scorecard_table())
        .with_row(c.text_row("Cảnh báo và kết luận"))
        .with_panel(alerts_table())
        .with_panel(status_counts_barchart())
        .with_row(c.text_row("Số liệu so với mục tiêu 2030"))
        .with_panel(latest_vs_2030_table())
    )
