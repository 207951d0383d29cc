"""Province comparison: one indicator across provinces, before and after the 1 July 2025 merger."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import FieldColorModeId

from chitieu.dashboards import common as c
from chitieu.dashboards import indicator_detail

UID = "chitieu-province-comparison"
INDICATOR = "indicator_code = ${indicator:sqlstring}"


def era_timeseries(title: str, description: str, era_filter: str) -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT "time", jurisdiction_name AS metric, value
        FROM dash_province_series
        WHERE {INDICATOR} AND level = 'province' AND {era_filter} AND period_type = 'Y'
          AND $__timeFilter("time")
        ORDER BY 1, 2
        """,
        "A",
        "time_series",
    )
    return (
        c.timeseries_panel(title, description, query, w=12, h=11)
        .with_target(indicator_detail.unit_query())
        .with_transformation(indicator_detail.config_from_unit_query())
    )


def national_timeseries() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT "time", jurisdiction_name AS metric, value
        FROM dash_province_series
        WHERE {INDICATOR} AND level = 'national' AND period_type = 'Y' AND $__timeFilter("time")
        ORDER BY 1
        """,
        "A",
        "time_series",
    )
    return (
        c.timeseries_panel(
            "Cả nước",
            c.describe(
                "Số liệu cả nước của chỉ tiêu, mốc so sánh cho các mục tiêu tương đối.",
                "The national series of the indicator, the reference for relative targets.",
            ),
            query,
            indicator_detail.unit_query(),
            w=24,
            h=8,
        )
        .with_transformation(indicator_detail.config_from_unit_query())
        .color_scheme(dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color("purple"))
    )


def latest_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT status AS "Tình trạng", "Tỉnh", era AS "Giai đoạn", successor_names AS "Tỉnh kế thừa",
               "Năm", dash_figure(value, f.decimals, f.unit) AS "Giá trị"
        FROM (
            SELECT DISTINCT ON (jurisdiction_id) jurisdiction_name AS "Tỉnh", era, successor_names,
                   to_char(period_start, 'YYYY') AS "Năm", value, status, indicator_code
            FROM dash_province_series
            WHERE {INDICATOR} AND level IN ('province', 'national') AND period_type = 'Y'
            ORDER BY jurisdiction_id, period_start DESC
        ) latest
        JOIN dash_indicator_format f ON f.code = latest.indicator_code
        ORDER BY value DESC NULLS LAST
        """
    )
    return c.table_panel(
        "Số liệu mới nhất của từng tỉnh (trước và sau sáp nhập)",
        c.describe(
            "Số liệu năm mới nhất của từng tỉnh: 63 tỉnh đến 30/6/2025 kèm tỉnh kế thừa, và 34 tỉnh từ "
            "1/7/2025.",
            "Latest annual figure of every province: the 63 until 30 June 2025 with their successor, and the "
            "34 from 1 July 2025.",
        ),
        query,
        w=12,
        h=12,
    ).override_by_name("Tình trạng", c.mapped_column(c.OBSERVATION_STATUS, width=90))


def latest_barchart() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT "Tỉnh", "Giá trị" FROM (
            SELECT DISTINCT ON (jurisdiction_id) jurisdiction_name AS "Tỉnh", value AS "Giá trị", level
            FROM dash_province_series
            WHERE {INDICATOR} AND period_type = 'Y'
              AND (level = 'national' OR (level = 'province' AND era NOT LIKE 'Trước%'))
            ORDER BY jurisdiction_id, period_start DESC
        ) latest
        ORDER BY level = 'national' DESC, "Giá trị" DESC
        """
    )
    return (
        c.barchart_panel(
            "34 tỉnh sau sáp nhập so với cả nước (số liệu mới nhất)",
            c.describe(
                "Số liệu mới nhất của từng tỉnh sau sáp nhập bên cạnh số liệu cả nước (cột đầu).",
                "Latest figure of each post-merger province beside the national figure (first bar).",
            ),
            query,
            x_field="Tỉnh",
            w=12,
            h=12,
        )
        .with_target(indicator_detail.unit_query())
        .with_transformation(indicator_detail.config_from_unit_query())
    )


def build() -> dashboard.Dashboard:
    return (
        c.new_dashboard(
            UID,
            "Chỉ Tiêu – So sánh giữa các tỉnh",
            c.describe(
                "Một chỉ tiêu ở các tỉnh trước và sau sáp nhập ngày 1/7/2025 (63 → 34 tỉnh) và cả nước.",
                "One indicator across provinces before and after the 1 July 2025 merger (63 -> 34), with the "
                "national series.",
            ),
            time_from="now-11y/y",
            time_to="now/y",
        )
        .with_variable(c.indicator_variable(filtered=False))
        .with_row(c.text_row("Chuỗi số liệu"))
        .with_panel(
            era_timeseries(
                "Các tỉnh trước sáp nhập (đến 30/6/2025)",
                c.describe(
                    "Các tỉnh của bản đồ 63 tỉnh, đến 30/6/2025.", "The 63 provinces, until 30 June 2025."
                ),
                "era LIKE 'Trước%'",
            )
        )
        .with_panel(
            era_timeseries(
                "Các tỉnh sau sáp nhập (từ 1/7/2025)",
                c.describe(
                    "34 tỉnh từ 1/7/2025 (số liệu trước ngày này là số liệu cơ quan công bố tính lại cho "
                    "tỉnh mới).",
                    "The 34 provinces from 1 July 2025 (earlier figures are those a publisher back-cast).",
                ),
                "era NOT LIKE 'Trước%'",
            )
        )
        .with_panel(national_timeseries())
        .with_row(c.text_row("Số liệu mới nhất"))
        .with_panel(latest_table())
        .with_panel(latest_barchart())
    )
