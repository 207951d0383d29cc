"""Indicator detail: one indicator of one jurisdiction, its series against the planned path.

Opens on a jurisdiction and an indicator that have data (the variables list those first). The chart
draws the actual series (the province's own figures until 30 June 2025 and its successor's after, in
two colours), provisional points, the planned path, the 2030/2045 thresholds and the projection, each
in its own colour, with the 1 July 2025 merger marked by a vertical line. Units and decimals of the
indicator come from the catalog (query U, Grafana's "config from query results").
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    FieldColorModeId,
)

from chitieu.dashboards import common as c

UID = "chitieu-indicator-detail"
INDICATOR = "indicator_code = ${indicator:sqlstring}"
# The selected jurisdiction and the province(s) that succeeded it on 1 July 2025.
TERRITORY = """jurisdiction_id IN (
            SELECT ${jurisdiction:sqlstring}
            UNION ALL
            SELECT successor_id FROM jurisdiction_succession
            WHERE predecessor_id = ${jurisdiction:sqlstring})"""
SELECTION = f"jurisdiction_id = ${{jurisdiction:sqlstring}} AND {INDICATOR}"
MERGER = "2025-07-01"
MERGER_LABEL = "Sáp nhập tỉnh 1/7/2025"


def _line(color: str, dash: list[int] | None = None, *, points: bool = False) -> list[DynamicConfigValue]:
    props = [c.prop("color", {"mode": "fixed", "fixedColor": color})]
    if dash:
        props.append(c.prop("custom.lineStyle", {"fill": "dash", "dash": dash}))
    if not points:
        props.append(c.prop("custom.showPoints", "never"))
    return props


def unit_query() -> c.Sql:
    """The indicator's unit and decimals, applied to every number of the panel (configFromData)."""
    return c.sql(
        """
        SELECT 'suffix: ' || unit AS unit, decimals
        FROM dash_indicator_format WHERE code = ${indicator:sqlstring}
        """,
        "U",
    )


def config_from_unit_query() -> DataTransformerConfig:
    return c.transformation(
        "configFromData",
        {
            "configRefId": "U",
            "mappings": [
                {"fieldName": "unit", "handlerKey": "unit"},
                {"fieldName": "decimals", "handlerKey": "decimals"},
            ],
            "applyTo": {"id": "byType", "options": "number"},
        },
    )


def trajectory_timeseries() -> c.PanelBuilder:
    actual = c.sql(
        f"""
        SELECT "time", jurisdiction_name || CASE WHEN jurisdiction_id = ${{jurisdiction:sqlstring}} THEN ''
                                                 ELSE ' (tỉnh kế thừa)' END AS metric, value
        FROM dash_observation_series
        WHERE {TERRITORY} AND {INDICATOR} AND period_type = 'Y' AND $__timeFilter("time")
        ORDER BY 1, 2
        """,
        "A",
        "time_series",
    )
    provisional = c.sql(
        f"""
        SELECT "time", 'Số liệu sơ bộ' AS metric, value
        FROM dash_observation_series
        WHERE {TERRITORY} AND {INDICATOR} AND period_type = 'Y' AND status = 'provisional'
          AND $__timeFilter("time")
        ORDER BY 1
        """,
        "B",
        "time_series",
    )
    path = c.sql(
        f"""
        SELECT "time", 'Lộ trình đến ' || target_year AS metric, value
        FROM dash_target_path
        WHERE plan_id IN ($plan) AND {SELECTION}
        ORDER BY 1, 2
        """,
        "C",
        "time_series",
    )
    thresholds = c.sql(
        f"""
        SELECT "time", metric, value
        FROM dash_target_thresholds
        WHERE {SELECTION} AND $__timeFilter("time")
        ORDER BY 1, 2
        """,
        "D",
        "time_series",
    )
    projection = c.sql(
        f"""
        SELECT "time", 'Dự báo đến ' || target_year AS metric, value
        FROM dash_projection
        WHERE plan_id IN ($plan) AND {SELECTION}
        ORDER BY 1, 2
        """,
        "E",
        "time_series",
    )
    # Two points at the same instant: the series is drawn as a vertical line spanning the figures.
    merger = c.sql(
        f"""
        SELECT timestamptz '{MERGER} 00:00:00+07' AS "time", '{MERGER_LABEL}' AS metric, v AS value
        FROM (SELECT min(value) AS lo, max(value) AS hi FROM dash_observation_series
              WHERE {TERRITORY} AND {INDICATOR} AND period_type = 'Y') r
        CROSS JOIN LATERAL (VALUES (r.lo), (r.hi)) AS x (v)
        WHERE r.lo IS NOT NULL AND EXISTS (SELECT 1 FROM jurisdiction_succession
                                           WHERE predecessor_id = ${{jurisdiction:sqlstring}})
        """,
        "F",
        "time_series",
    )
    return (
        c.timeseries_panel(
            "Diễn biến so với lộ trình, ngưỡng 2030 và 2045",
            c.describe(
                "Số liệu hằng năm (bản mới nhất) của địa bàn và, từ 1/7/2025, của tỉnh kế thừa; điểm sơ bộ "
                "màu cam; đường lộ trình từ năm gốc đến mục tiêu; ngưỡng 2030 và 2045 (mục tiêu của địa bàn, "
                "nếu không có thì của cả nước); dự báo đến năm mục tiêu; vạch dọc: sáp nhập 1/7/2025.",
                "Annual figures of the jurisdiction and, from 1 July 2025, of its successor; provisional "
                "points "
                "in orange; the planned path; the 2030/2045 thresholds; the projection; the vertical line "
                "marks "
                "the 1 July 2025 merger.",
            ),
            actual,
            provisional,
            path,
            thresholds,
            projection,
            merger,
            unit_query(),
            h=12,
        )
        .with_transformation(config_from_unit_query())
        # the jurisdiction's own series in blue; every other line has its own colour below
        .color_scheme(dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color("blue"))
        .override_by_regexp(".*\\(tỉnh kế thừa\\)$", _line("purple", points=True))
        .override_by_name(
            "Số liệu sơ bộ",
            [
                c.prop("custom.drawStyle", "points"),
                c.prop("custom.pointSize", 12),
                c.prop("color", {"mode": "fixed", "fixedColor": "orange"}),
            ],
        )
        .override_by_regexp("^Lộ trình .*", _line("green", [10, 10]))
        .override_by_regexp("^Ngưỡng 2030.*", _line("red", [4, 4]))
        .override_by_regexp("^Ngưỡng 2045.*", _line("dark-red", [4, 4]))
        .override_by_regexp("^Dự báo .*", _line("yellow", [2, 6], points=True))
        .override_by_name(MERGER_LABEL, _line("gray", [3, 3]))
    )


def targets_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT status AS "Kết luận", target_year AS "Năm mục tiêu", check_year AS "Năm kiểm tra",
               target_text AS "Mục tiêu",
               base_year AS "Năm gốc", current_text AS "Số liệu mới nhất", current_year AS "Năm số liệu",
               expected_text AS "Theo lộ trình", projected_text AS "Dự báo", notes_vi AS "Ghi chú",
               data_jurisdiction_name AS "Số liệu của", cite_document AS "Văn bản", cite_section AS "Mục",
               cite_quote AS "Trích dẫn"
        FROM dash_status_latest
        WHERE plan_id IN ($plan) AND {SELECTION}
        ORDER BY target_year, check_year NULLS FIRST
        """
    )
    return (
        c.table_panel(
            "Mục tiêu, kết luận và trích dẫn",
            c.describe(
                "Các mục tiêu của chỉ tiêu này với kết luận mới nhất và câu trích từ văn bản kế hoạch; cột "
                "\u201cSố liệu của\u201d ghi tỉnh kế thừa khi dùng số liệu sau sáp nhập 2025.",
                "The indicator's targets with their latest verdict and the plan's sentence they come from.",
            ),
            query,
            h=8,
        )
        .override_by_name(
            "Kết luận",
            [
                c.prop("mappings", [m.to_json() for m in c.status_mappings()]),
                c.prop("custom.cellOptions", c.colored_cells().to_json()),
                c.prop("custom.width", 140),
            ],
        )
        .override_by_name("Trích dẫn", [c.prop("custom.width", 420)])
    )


def observations_table() -> c.PanelBuilder:
    query = c.sql(
        f"""
        SELECT status AS "Tình trạng", period_label AS "Kỳ", jurisdiction_name AS "Địa bàn",
               value AS "Giá trị", source_id AS "Nguồn", file_name AS "Tệp", sheet AS "Trang tính",
               cell AS "Ô", fetched_at AS "Lấy về lúc", note AS "Ghi chú"
        FROM dash_observation_series
        WHERE {TERRITORY} AND {INDICATOR} AND $__timeFilter("time")
        ORDER BY period_start DESC, jurisdiction_name
        LIMIT 500
        """
    )
    return (
        c.table_panel(
            "Số liệu và nguồn gốc",
            c.describe(
                "Bản mới nhất của từng số liệu với nguồn gốc (nguồn, tệp, trang tính, ô, thời điểm lấy về); "
                "\u201csơ bộ\u201d là số liệu ước tính.",
                "Current vintage of every figure with its provenance; 'provisional' marks preliminary "
                "figures.",
            ),
            query,
            h=8,
        )
        .with_target(unit_query())
        .with_transformation(config_from_unit_query())
        .override_by_name("Tình trạng", c.mapped_column(c.OBSERVATION_STATUS, width=95))
    )


def build() -> dashboard.Dashboard:
    return (
        c.new_dashboard(
            UID,
            "Chỉ Tiêu – Chi tiết chỉ tiêu",
            c.describe(
                "Một chỉ tiêu của một địa bàn: diễn biến, lộ trình, ngưỡng, dự báo, mục tiêu và nguồn gốc "
                "số liệu.",
                "One indicator of one jurisdiction: series, planned path, thresholds, projection, targets, "
                "provenance.",
            ),
            time_from="now-11y/y",
            time_to="now+6y/y",
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
