"""Data operations, for engineers: freshness, load batches, rejections, DAG outcomes, outbox."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import common

from chitieu.dashboards import common as c

UID = "chitieu-data-operations"
PANEL_FRESHNESS = "Độ mới của từng nguồn so với lịch công bố"
PANEL_REPORTS = "Báo cáo đến hạn và quá hạn"


def freshness_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT CASE WHEN last_period_end IS NULL THEN 'never|Chưa từng có số liệu'
                    WHEN is_stale THEN 'stale|Quá hạn ' || days_overdue || ' ngày'
                    ELSE 'fresh|Đúng hạn' END AS "Tình trạng",
               coalesce(title, source_id) AS "Nguồn", publisher AS "Cơ quan công bố",
               schedule_vi AS "Lịch lấy",
               indicators AS "Số chỉ tiêu", to_char(last_period_end, 'DD/MM/YYYY') AS "Hết kỳ cuối",
               last_loaded_at AS "Nạp lần cuối",
               to_char(expected_next_release, 'DD/MM/YYYY') AS "Dự kiến có kỳ sau", source_id AS "Mã nguồn"
        FROM dash_source_freshness
        ORDER BY last_period_end IS NULL DESC, is_stale DESC, days_overdue DESC NULLS FIRST, source_id
        """
    )
    return c.table_panel(
        PANEL_FRESHNESS,
        c.describe(
            "Từng nguồn: hết kỳ số liệu cuối đã nhận và ngày dự kiến có kỳ sau (hết kỳ sau cộng độ trễ công "
            "bố của nguồn); quá hạn khi đã qua ngày đó mà chưa có số liệu mới.",
            "Per source: end of the last period delivered and when the next is due (end of the next period "
            "plus the release lag); overdue once that date has passed without new data.",
        ),
        query,
        h=9,
    ).override_by_name(
        "Tình trạng",
        [
            c.prop(
                "mappings",
                [
                    {
                        "type": "regex",
                        "options": {
                            "pattern": f"^{key}\\|(.*)$",
                            "result": {"text": "$1", "color": color, "index": i},
                        },
                    }
                    for i, (key, color) in enumerate(
                        (("never", "dark-red"), ("stale", "red"), ("fresh", "green"))
                    )
                ],
            ),
            c.prop("custom.cellOptions", c.colored_cells().to_json()),
            c.prop("custom.width", 150),
        ],
    )


def rows_per_day_timeseries() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT $__timeGroupAlias(started_at, 1d), sum(rows_loaded) AS "Dòng nạp mới",
               sum(rows_revised) AS "Dòng hiệu chỉnh", sum(rows_rejected) AS "Dòng bị loại"
        FROM dash_batches
        WHERE $__timeFilter(started_at)
        GROUP BY 1
        ORDER BY 1
        """,
        "A",
        "time_series",
    )
    return (
        c.timeseries_panel(
            "Số dòng nạp, hiệu chỉnh và bị loại theo ngày",
            c.describe(
                "Số dòng nạp mới, hiệu chỉnh (bản mới của số liệu đã có) và bị loại, theo ngày.",
                "Rows loaded, revised (new vintage of a known figure) and rejected, per day.",
            ),
            query,
            w=12,
            h=9,
        )
        .draw_style(common.GraphDrawStyle.BARS)
        .fill_opacity(80)
        .show_points(common.VisibilityMode.NEVER)
        .override_by_name("Dòng bị loại", [c.prop("color", {"mode": "fixed", "fixedColor": "red"})])
        .override_by_name("Dòng hiệu chỉnh", [c.prop("color", {"mode": "fixed", "fixedColor": "orange"})])
    )


def batches_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT d.batch_id AS "Lô", d.source_id AS "Nguồn", d.file_name AS "Tệp", d.status AS "Kết quả",
               d.started_at AS "Bắt đầu", d.duration_s AS "Thời gian (s)", d.rows_read AS "Đọc",
               d.rows_loaded AS "Nạp", d.rows_unchanged AS "Không đổi", d.rows_revised AS "Hiệu chỉnh",
               d.rows_rejected AS "Bị loại",
               (b.reconciliation->>'cells')::int AS "Ô trong bảng",
               (b.reconciliation->>'label')::int AS "Ô nhãn",
               (b.reconciliation->>'missing')::int AS "Ô trống (-, x)",
               (b.reconciliation->>'duplicate')::int AS "Ô trùng",
               d.error_vi AS "Lỗi"
        FROM dash_batches d
        LEFT JOIN load_batches b ON b.id = d.batch_id
        WHERE $__timeFilter(d.started_at)
        ORDER BY d.started_at DESC
        LIMIT 200
        """
    )
    return c.table_panel(
        "Các lô nạp gần đây",
        c.describe(
            "Các lô nạp trong khoảng thời gian, mới trước, với số dòng theo kết quả và nơi mỗi ô không "
            "trống của các bảng trong tệp đã đi đến (ô = đã nạp + không đổi + trùng + bị loại + nhãn + "
            "thiếu).",
            "Load batches in the time range, newest first, with row counts per outcome, and where every "
            "non-empty cell of the file's tables went (cells = loaded + unchanged + duplicate + rejected + "
            "label + missing).",
        ),
        query,
        w=12,
        h=9,
    ).override_by_name("Thời gian (s)", [c.prop("decimals", 1)])


def rejections_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT rejected_at AS "Lúc", source_id AS "Nguồn", file_name AS "Tệp", sheet AS "Trang tính",
               row_num AS "Dòng", column_name AS "Cột", raw AS "Giá trị gốc", reason_code AS "Mã lý do",
               reason_vi AS "Lý do", reason_en AS "Reason", resolved_by_batch AS "Đã nạp lại ở lô"
        FROM dash_rejections
        WHERE rejected_at BETWEEN to_timestamp($__unixEpochFrom()) AND to_timestamp($__unixEpochTo())
        ORDER BY rejected_at DESC
        LIMIT 500
        """
    )
    return c.table_panel(
        "Dòng bị loại gần đây và lý do",
        c.describe(
            "Dòng bị loại: ở đâu và vì sao (lý do tiếng Việt và tiếng Anh); cột cuối ghi lô đã nạp lại dòng "
            "sau khi xử lý lại.",
            "Quarantined rows with where they were and why; the last column names the batch that loaded the "
            "row after a reprocess.",
        ),
        query,
        h=9,
    )


def dag_runs_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT finished_at AS "Kết thúc", dag_id AS "DAG", run_id AS "Lượt chạy", run_type AS "Kiểu",
               outcome AS "Kết quả", tasks AS "Số task", succeeded AS "Thành công", failed AS "Thất bại",
               last_error AS "Lỗi gần nhất"
        FROM dash_dag_runs
        WHERE finished_at >= $__timeFrom()
        ORDER BY finished_at DESC
        LIMIT 200
        """
    )
    return c.table_panel(
        "Kết quả các lượt chạy DAG",
        c.describe(
            "Kết quả từng lượt chạy DAG, từ bản ghi các task của pipeline.",
            "Outcome of each DAG run, from the records the pipeline's tasks write.",
        ),
        query,
        w=12,
        h=9,
    ).override_by_name(
        "Kết quả",
        c.mapped_column(
            {
                "success": ("thành công", "green"),
                "retrying": ("đang thử lại", "orange"),
                "failed": ("thất bại", "red"),
            }
        ),
    )


def steps_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT started_at AS "Bắt đầu", step AS "Bước", subject AS "Đối tượng", run_id AS "Mã",
               outcome AS "Kết quả", duration_s AS "Thời gian (s)", detail AS "Chi tiết"
        FROM dash_pipeline_runs
        WHERE $__timeFilter(started_at)
        ORDER BY started_at DESC
        LIMIT 200
        """
    )
    return c.table_panel(
        "Các bước nạp và đánh giá",
        c.describe(
            "Các lô nạp và lượt đánh giá, từ bảng của hệ thống (có cả khi không có bản ghi Airflow).",
            "Ingestion batches and evaluation runs from our own tables (present even without Airflow "
            "records).",
        ),
        query,
        w=12,
        h=9,
    ).override_by_name("Thời gian (s)", [c.prop("decimals", 1)])


def outbox_stat(title: str, description: str, status: str, color: str) -> c.PanelBuilder:
    query = c.sql(
        f"SELECT coalesce(sum(notifications), 0) AS value FROM dash_outbox_state WHERE status = '{status}'"
    )
    return c.stat_panel(title, description, query, w=6, h=5).thresholds(
        c.thresholds((None, "green"), (1, color))
    )


def outbox_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT channel AS "Kênh", status AS "Trạng thái", notifications AS "Số thông báo",
               max_attempts AS "Số lần thử tối đa", oldest_pending_at AS "Chờ từ",
                   last_sent_at AS "Gửi lần cuối",
               last_error AS "Lỗi gần nhất"
        FROM dash_outbox_state
        ORDER BY channel, status
        """
    )
    return c.table_panel(
        "Hộp thư đi theo kênh",
        c.describe(
            "Hộp thư đi theo kênh và trạng thái (chờ, đã gửi, thất bại) với lỗi gửi gần nhất.",
            "Notification outbox per channel and state (pending, sent, dead) with the latest delivery error.",
        ),
        query,
        w=12,
        h=5,
    )


def reports_due_table() -> c.PanelBuilder:
    query = c.sql(
        """
        SELECT state AS "Tình trạng", next_due AS "Hạn", days_until AS "Còn (ngày)",
               plan_document AS "Kế hoạch", description AS "Báo cáo",
               CASE recurrence WHEN 'once' THEN 'một lần' WHEN 'half_yearly' THEN '6 tháng'
                    WHEN 'yearly' THEN 'hằng năm' WHEN 'every_3_years' THEN '3 năm'
                    WHEN 'every_5_years' THEN '5 năm' ELSE recurrence END AS "Định kỳ",
               CASE WHEN date_assumed THEN 'Hạn giả định 15/12 (kế hoạch không nêu ngày)' ELSE '' END
                   AS "Ghi chú",
               recipient AS "Nơi nhận"
        FROM dash_reports_due
        ORDER BY next_due, plan_id, code
        LIMIT 100
        """
    )
    return (
        c.table_panel(
            PANEL_REPORTS,
            c.describe(
                "Hạn báo cáo của các kế hoạch: hạn đã qua mà chưa ghi nhận báo cáo (bảng report_submissions) "
                "vẫn hiện màu đỏ đến khi có; báo cáo hằng năm không nêu ngày lấy hạn giả định 15/12.",
                "Reporting deadlines: a passed deadline with no report recorded stays red until one is; "
                "yearly "
                "reports without a stated date get an assumed 15 December.",
            ),
            query,
            h=8,
        )
        .override_by_name(
            "Tình trạng",
            c.mapped_column(
                {
                    "overdue": ("Quá hạn, chưa có báo cáo", "red"),
                    "due_soon": ("Sắp đến hạn (≤ 14 ngày)", "orange"),
                    "upcoming": ("Chưa đến hạn", "green"),
                },
                background=True,
                width=190,
            ),
        )
        .override_by_name(
            "Còn (ngày)",
            [
                c.prop("custom.cellOptions", {"type": "color-text"}),
                c.prop("decimals", 0),
                c.prop(
                    "thresholds",
                    {
                        "mode": "absolute",
                        "steps": [
                            {"color": "red", "value": None},
                            {"color": "orange", "value": 0},
                            {"color": "green", "value": 15},
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
            "Chỉ Tiêu – Vận hành dữ liệu",
            c.describe(
                "Cho kỹ sư dữ liệu: độ mới của nguồn, lô nạp, dòng bị loại và lý do, kết quả DAG, hộp thư "
                "đi.",
                "For engineers: source freshness, load batches, rejected rows with reasons, DAG outcomes, "
                "outbox.",
            ),
            time_from="now-30d",
            time_to="now",
        )
        .with_row(c.text_row("Độ mới của nguồn"))
        .with_panel(freshness_table())
        .with_row(c.text_row("Nạp dữ liệu"))
        .with_panel(rows_per_day_timeseries())
        .with_panel(batches_table())
        .with_panel(rejections_table())
        .with_row(c.text_row("Pipeline"))
        .with_panel(dag_runs_table())
        .with_panel(steps_table())
        .with_row(c.text_row("Thông báo và báo cáo"))
        .with_panel(
            outbox_stat(
                "Thông báo chờ gửi",
                c.describe("Thông báo đang chờ gửi.", "Notifications waiting for delivery."),
                "pending",
                "orange",
            )
        )
        .with_panel(
            outbox_stat(
                "Thông báo thất bại",
                c.describe("Thông báo đã bỏ sau mọi lần thử.", "Notifications given up after all retries."),
                "dead",
                "red",
            )
        )
        .with_panel(outbox_table())
        .with_panel(reports_due_table())
    )
