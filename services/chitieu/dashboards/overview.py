"""Leadership overview: where every target stands, what is firing, latest figures against 2030."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import FieldColorModeId

from chitieu.dashboards import common as c

UID = "chitieu-overview"
PANEL_ALERTS = "Cảnh báo đang mở"
PROVINCIAL = "jurisdiction_level IN ('province', 'national')"


def targets_stat(title: str, description: str, column: str, color: str) -> c.PanelBuilder:
    return c.stat_panel(
        title,
        description,
        c.sql(f"SELECT coalesce(sum({column}), 0) AS value FROM dash_status_counts WHERE plan_id IN ($plan)"),
    ).color_scheme(dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color(color))


def alerts_firing_stat() -> c.PanelBuilder:
    return c.stat_panel(
        "Số cảnh báo đang mở",
        "Alerts currently firing for the selected plans (and alerts not tied to a plan, e.g. stale data).",
        c.sql("SELECT count(*) AS value FROM dash_alerts_firing WHERE plan_id IS NULL OR plan_id IN ($plan)"),
    ).thresholds(c.thresholds((None, "green"), (1, "red")))


def status_counts_barchart() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT coalesce(plan_title, plan_id) AS "Kế hoạch",
               achieved AS "Đã đạt", on_track AS "Đúng tiến độ", needs_acceleration AS "Cần đẩy nhanh",
               limited_progress AS "Tiến triển hạn chế", deteriorating AS "Đi xuống / quá hạn",
               no_data AS "Chưa đủ số liệu"
        FROM dash_status_counts
        WHERE plan_id IN ($plan)
        ORDER BY 1
        """
    )
    colors = {
        "Đã đạt": "green",
        "Đúng tiến độ": "semi-dark-green",
        "Cần đẩy nhanh": "yellow",
        "Tiến triển hạn chế": "orange",
        "Đi xuống / quá hạn": "red",
        "Chưa đủ số liệu": "gray",
    }
    panel = c.barchart_panel(
        "Số chỉ tiêu theo trạng thái, từng kế hoạch",
        "Targets per plan by status of their latest evaluation (every-year misses are counted separately).",
        query,
        x_field="Kế hoạch",
        stacked=True,
        w=12,
        h=9,
    )
    for name, color in colors.items():
        panel = panel.override_by_name(name, [c.prop("color", {"mode": "fixed", "fixedColor": color})])
    return panel


def alerts_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT first_fired_at AS "Từ lúc", rule AS "Quy tắc", severity AS "Mức độ",
               jurisdiction_name AS "Địa bàn", indicator_name AS "Chỉ tiêu", target_year AS "Năm mục tiêu",
               summary_vi AS "Nội dung"
        FROM dash_alerts_firing
        WHERE plan_id IS NULL OR plan_id IN ($plan)
        ORDER BY first_fired_at DESC
        LIMIT 200
        """
    )
    return c.table_panel(
        PANEL_ALERTS,
        "Firing alerts (behind trajectory, status worsened, every-year misses, overdue milestones, "
        "stale data, "
        "reports due), newest first.",
        query,
        w=12,
        h=9,
    )


def status_grid_table() -> c.PanelBuilder:
    # One cell per (jurisdiction, indicator): the worst status among that pair's targets.
    query = c.sql(
        f"""
        SELECT DISTINCT ON (jurisdiction_name, indicator_name)
               jurisdiction_name AS "Địa bàn", indicator_name AS "Chỉ tiêu", status AS "Trạng thái"
        FROM dash_status_latest
        WHERE plan_id IN ($plan) AND check_year IS NULL AND {PROVINCIAL}
        ORDER BY jurisdiction_name, indicator_name, severity DESC, target_year
        """
    )
    return (
        c.table_panel(
            "Bảng trạng thái: địa bàn × chỉ tiêu",
            "Status grid: one row per jurisdiction, one column per indicator, coloured by the status of the "
            "latest evaluation (the worst one when a pair has several targets).",
            query,
            h=12,
        )
        .with_transformation(
            c.transformation(
                "groupingToMatrix",
                {
                    "columnField": "Chỉ tiêu",
                    "rowField": "Địa bàn",
                    "valueField": "Trạng thái",
                    "emptyValue": "null",
                },
            )
        )
        .mappings(c.status_mappings())
        .cell_options(c.colored_cells())
        .override_by_name("Địa bàn\\Chỉ tiêu", [c.prop("custom.cellOptions", {"type": "auto"})])
    )


def latest_vs_2030_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT jurisdiction_name AS "Địa bàn", indicator_name AS "Chỉ tiêu", unit AS "Đơn vị",
               current_value AS "Số liệu mới nhất", current_year AS "Năm số liệu",
               CASE WHEN target_kind = 'growth' THEN 'tăng ' || operator || ' (%/năm)' ELSE operator END
                   AS "Điều kiện", target_value AS "Mục tiêu 2030", expected_value AS "Theo lộ trình",
               projected_value AS "Dự báo 2030", progress_ratio AS "Tỷ lệ tiến độ", status AS "Trạng thái",
               array_to_string(flags, ', ') AS "Ghi chú"
        FROM dash_status_latest
        WHERE plan_id IN ($plan) AND check_year IS NULL AND target_year = 2030 AND {PROVINCIAL}
        ORDER BY severity DESC, jurisdiction_name, indicator_name
        LIMIT 500
        """
    )
    return (
        c.table_panel(
            "Số liệu mới nhất so với mục tiêu 2030",
            "Each province's latest figure against its 2030 target: the value expected on the "
            "planned path in "
            "that year, the projection to 2030 and the progress ratio R (actual ÷ required growth).",
            query,
            h=12,
        )
        .override_by_name(
            "Trạng thái",
            [
                c.prop("mappings", [m.to_json() for m in c.status_mappings()]),
                c.prop("custom.cellOptions", c.colored_cells().to_json()),
            ],
        )
        .override_by_name(
            "Tỷ lệ tiến độ",
            [
                c.prop("decimals", 2),
                c.prop("custom.cellOptions", {"type": "gauge", "mode": "basic"}),
                c.prop("min", -1),
                c.prop("max", 1.5),
                c.prop(
                    "thresholds",
                    {
                        "mode": "absolute",
                        "steps": [
                            {"color": "red", "value": None},
                            {"color": "orange", "value": 0},
                            {"color": "yellow", "value": 0.6},
                            {"color": "green", "value": 0.95},
                        ],
                    },
                ),
            ],
        )
    )


def build() -> dashboard.Dashboard:
    return (
        c.new_dashboard(
            UID,
            "Chỉ Tiêu – Tổng quan lãnh đạo",
            "Leadership overview of the Resolution 57-NQ/TW indicator targets: statuses, alerts, "
            "latest figures.",
            time_from="now-10y",
            time_to="now",
        )
        .with_variable(c.plan_variable())
        .with_row(c.text_row("Tổng quan"))
        .with_panel(
            targets_stat("Số chỉ tiêu", "Targets evaluated in the selected plans.", "targets", "blue")
        )
        .with_panel(
            targets_stat("Đã đạt", "Targets already achieved (or milestones done).", "achieved", "green")
        )
        .with_panel(
            targets_stat(
                "Cần đẩy nhanh hoặc chậm",
                "Targets needing acceleration, with limited progress or deteriorating.",
                "needs_acceleration + limited_progress + deteriorating",
                "orange",
            )
        )
        .with_panel(alerts_firing_stat())
        .with_row(c.text_row("Trạng thái và cảnh báo"))
        .with_panel(status_counts_barchart())
        .with_panel(alerts_table())
        .with_panel(status_grid_table())
        .with_row(c.text_row("Số liệu so với mục tiêu 2030"))
        .with_panel(latest_vs_2030_table())
    )
