"""Province comparison: one indicator across provinces, before and after the 1 July 2025 merger."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import FieldColorModeId

from chitieu.dashboards import common as c

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
    return c.timeseries_panel(title, description, query, w=12, h=11)


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
    return c.timeseries_panel(
        "Cả nước",
        "The national series of the indicator (jurisdiction 'vn'), the reference for relative targets.",
        query,
        w=24,
        h=8,
    ).color_scheme(dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color("purple"))


def latest_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT DISTINCT ON (jurisdiction_id)
               jurisdiction_name AS "Tỉnh", era AS "Giai đoạn", successor_names AS "Tỉnh kế thừa",
               to_char(period_start, 'YYYY') AS "Năm", value AS "Giá trị", status AS "Tình trạng"
        FROM dash_province_series
        WHERE {INDICATOR} AND level IN ('province', 'national') AND period_type = 'Y'
        ORDER BY jurisdiction_id, period_start DESC
        """
    )
    return c.table_panel(
        "Số liệu mới nhất của từng tỉnh (trước và sau sáp nhập)",
        "Latest annual figure of every province: the 63 provinces until 30 June 2025 with the province that "
        "succeeded them, and the 34 provinces from 1 July 2025.",
        query,
        w=12,
        h=12,
    ).sort_by([_sort("Giá trị", desc=True)])


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
    return c.barchart_panel(
        "34 tỉnh sau sáp nhập so với cả nước (số liệu mới nhất)",
        "Latest figure of each post-merger province beside the national figure (first bar).",
        query,
        x_field="Tỉnh",
        w=12,
        h=12,
    )


def _sort(name: str, *, desc: bool) -> common_builder.TableSortByFieldState:
    return common_builder.TableSortByFieldState().display_name(name).desc(desc)


def build() -> dashboard.Dashboard:
    return (
        c.new_dashboard(
            UID,
            "Chỉ Tiêu – So sánh giữa các tỉnh",
            "One indicator across provinces before and after the province merger of 1 July 2025 (63 -> 34), "
            "with the national series.",
            time_from="now-11y/y",
            time_to="now/y",
        )
        .with_variable(c.indicator_variable(filtered=False))
        .with_row(c.text_row("Chuỗi số liệu"))
        .with_panel(
            era_timeseries(
                "Các tỉnh trước sáp nhập (đến 30/6/2025)",
                "Provinces of the 63-province map, valid until 30 June 2025.",
                "era LIKE 'Trước%'",
            )
        )
        .with_panel(
            era_timeseries(
                "Các tỉnh sau sáp nhập (từ 1/7/2025)",
                "The 34 provinces from 1 July 2025 (series before that date are those published for "
                "the merged "
                "province, when a publisher back-cast them).",
                "era NOT LIKE 'Trước%'",
            )
        )
        .with_panel(national_timeseries())
        .with_row(c.text_row("Số liệu mới nhất"))
        .with_panel(latest_table())
        .with_panel(latest_barchart())
    )
