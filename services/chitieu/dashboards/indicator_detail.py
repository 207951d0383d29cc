"""Indicator detail: the actual series against the planned path, thresholds and projection."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from chitieu.dashboards import common as c

UID = "chitieu-indicator-detail"
INDICATOR = "indicator_code = ${indicator:sqlstring}"
SELECTION = f"jurisdiction_id IN ($jurisdiction) AND {INDICATOR}"


def _dashed(color: str, dash: list[int]) -> list[DynamicConfigValue]:
    return [
        c.prop("color", {"mode": "fixed", "fixedColor": color}),
        c.prop("custom.lineStyle", {"fill": "dash", "dash": dash}),
        c.prop("custom.showPoints", "never"),
    ]


def trajectory_timeseries() -> c.PanelBuilder:
    actual = c.sql(
        f"""
        SELECT "time", jurisdiction_name AS metric, value
        FROM dash_observation_series
        WHERE {SELECTION} AND period_type = 'Y' AND $__timeFilter("time")
        ORDER BY 1, 2
        """,
        "A",
        "time_series",
    )
    provisional = c.sql(
        f"""
        SELECT "time", jurisdiction_name || ' (sơ bộ)' AS metric, value
        FROM dash_observation_series
        WHERE {SELECTION} AND period_type = 'Y' AND status = 'provisional' AND $__timeFilter("time")
        ORDER BY 1, 2
        """,
        "B",
        "time_series",
    )
    path = c.sql(
        f"""
        SELECT "time", 'Lộ trình ' || target_year || ' – ' || jurisdiction_name AS metric, value
        FROM dash_target_path
        WHERE plan_id IN ($plan) AND {SELECTION}
        ORDER BY 1, 2
        """,
        "C",
        "time_series",
    )
    thresholds = c.sql(
        f"""
        SELECT "time", metric || ' – ' || jurisdiction_name AS metric, value
        FROM dash_target_thresholds
        WHERE {SELECTION} AND $__timeFilter("time")
        ORDER BY 1, 2
        """,
        "D",
        "time_series",
    )
    projection = c.sql(
        f"""
        SELECT "time", 'Dự báo ' || target_year || ' – ' || jurisdiction_name AS metric, value
        FROM dash_projection
        WHERE plan_id IN ($plan) AND {SELECTION}
        ORDER BY 1, 2
        """,
        "E",
        "time_series",
    )
    return (
        c.timeseries_panel(
            "Diễn biến so với lộ trình, ngưỡng 2030 và 2045",
            "Actual annual series (current vintage); provisional figures marked as large orange points; the "
            "planned straight path from the baseline to the target; the 2030 and 2045 thresholds (the "
            "jurisdiction's own target, else the national one) and the projection to the target year.",
            actual,
            provisional,
            path,
            thresholds,
            projection,
            h=13,
        )
        .override_by_regexp(
            ".*\\(sơ bộ\\)$",
            [
                c.prop("custom.drawStyle", "points"),
                c.prop("custom.pointSize", 12),
                c.prop("color", {"mode": "fixed", "fixedColor": "orange"}),
            ],
        )
        .override_by_regexp("^Lộ trình .*", _dashed("green", [10, 10]))
        .override_by_regexp("^Ngưỡng 2030.*", _dashed("red", [4, 4]))
        .override_by_regexp("^Ngưỡng 2045.*", _dashed("purple", [4, 4]))
        .override_by_regexp("^Dự báo .*", _dashed("blue", [2, 6]))
    )


def targets_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT jurisdiction_name AS "Địa bàn", target_year AS "Năm mục tiêu", check_year AS "Năm kiểm tra",
               CASE WHEN target_kind = 'growth' THEN 'tăng ' || operator || ' (%/năm)' ELSE operator END
                   AS "Điều kiện", target_value AS "Mục tiêu", target_value_max AS "Mục tiêu tối đa",
               base_year AS "Năm gốc", base_value AS "Giá trị gốc", current_year AS "Năm số liệu",
               current_value AS "Số liệu mới nhất", expected_value AS "Theo lộ trình",
               projected_value AS "Dự báo", progress_ratio AS "Tỷ lệ tiến độ", status AS "Trạng thái",
               array_to_string(flags, ', ') AS "Ghi chú", data_jurisdiction_name AS "Số liệu của",
               cite_document AS "Văn bản", cite_section AS "Mục", cite_quote AS "Trích dẫn"
        FROM dash_status_latest
        WHERE plan_id IN ($plan) AND {SELECTION}
        ORDER BY jurisdiction_name, target_year, check_year NULLS FIRST
        """
    )
    return (
        c.table_panel(
            "Mục tiêu, đánh giá và trích dẫn",
            "The targets of this indicator with their latest evaluation and the sentence of the plan "
            "they come "
            "from; the data-jurisdiction column names the successor province whose data was used "
            "after the 2025 merger.",
            query,
            h=9,
        )
        .override_by_name(
            "Trạng thái",
            [
                c.prop("mappings", [m.to_json() for m in c.status_mappings()]),
                c.prop("custom.cellOptions", c.colored_cells().to_json()),
            ],
        )
        .override_by_name("Tỷ lệ tiến độ", [c.prop("decimals", 2)])
    )


def observations_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT period_label AS "Kỳ", jurisdiction_name AS "Địa bàn", value AS "Giá trị", unit AS "Đơn vị",
               status AS "Tình trạng", source_id AS "Nguồn", file_name AS "Tệp", sheet AS "Trang tính",
               cell AS "Ô", fetched_at AS "Lấy về lúc", loaded_at AS "Nạp lúc", note AS "Ghi chú"
        FROM dash_observation_series
        WHERE {SELECTION} AND $__timeFilter("time")
        ORDER BY period_start DESC, jurisdiction_name
        LIMIT 500
        """
    )
    return c.table_panel(
        "Số liệu và nguồn gốc",
        "Current vintage of every figure with its provenance (source, file, sheet, cell, fetch and "
        "load times); "
        "'provisional' marks preliminary figures.",
        query,
        h=9,
    ).override_by_name(
        "Tình trạng",
        [
            c.prop(
                "mappings",
                [
                    {
                        "type": "value",
                        "options": {
                            "final": {"text": "chính thức", "color": "green", "index": 0},
                            "provisional": {"text": "sơ bộ", "color": "orange", "index": 1},
                        },
                    }
                ],
            ),
            c.prop("custom.cellOptions", {"type": "color-text"}),
        ],
    )


def build() -> dashboard.Dashboard:
    return (
        c.new_dashboard(
            UID,
            "Chỉ Tiêu – Chi tiết chỉ tiêu",
            "One indicator for the selected plans and jurisdictions: actual series, planned path, "
            "thresholds, "
            "projection, targets with citations and figures with provenance.",
            time_from="now-11y/y",
            time_to="now+20y/y",
        )
        .with_variable(c.plan_variable())
        .with_variable(c.jurisdiction_variable())
        .with_variable(c.indicator_variable())
        .with_row(c.text_row("Diễn biến"))
        .with_panel(trajectory_timeseries())
        .with_row(c.text_row("Mục tiêu và số liệu"))
        .with_panel(targets_table())
        .with_panel(observations_table())
    )
