"""Every panel's, variable's and alert rule's SQL, macros expanded, run against the real TimescaleDB
through the read-only role, on a small data set inserted here; the columns each panel expects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from chitieu import statuses
from chitieu.dashboards import inventory, macros, overview, views
from chitieu.settings import get_settings

NOW = datetime.now(UTC)
RANGE = {"time_from": datetime(2015, 1, 1, tzinfo=UTC), "time_to": datetime(2046, 1, 1, tzinfo=UTC)}
PLANS = ["ninh-thuan-319", "ha-noi-57"]
VARIABLES: dict[str, str | list[str]] = {
    "plan": PLANS,
    "jurisdiction": "old-58",
    "indicator": "kinh_te_so_grdp",
}

TIME_SERIES = ["time", "metric", "value"]
# Columns of each panel's main query (ref A); ref U of a panel is its unit query.
UNIT_COLUMNS = ["unit", "decimals"]
EXPECTED_COLUMNS: dict[str, list[str]] = {
    "Đã đạt": ["Achieved"],
    "Đúng lộ trình": ["On track"],
    "Chậm so với lộ trình": ["Behind"],
    "Chưa có số liệu": ["Số chỉ tiêu", "Tỷ lệ"],
    "Mốc đến hạn": ["Milestones due"],
    "Số cảnh báo đang mở": ["Alerts"],
    "Bảng điểm: tỉnh × chỉ tiêu chủ chốt": [
        "jurisdiction_id",
        "Tỉnh (→ tỉnh từ 1/7/2025)",
        "digital_economy_share_grdp",
        "rnd_spending_share_grdp",
        "rnd_personnel_per_10k",
        "innovative_enterprise_share",
        "online_public_service_usage_rate",
        "cashless_transaction_share",
        "Chưa có số liệu",
    ],
    "Cảnh báo đang mở": ["Loại", "Nội dung", "Mức độ", "Địa bàn", "Từ lúc"],
    "Chỉ tiêu theo kết luận, từng tỉnh / kế hoạch": [
        "Kế hoạch",
        "Đã đạt",
        "Đúng lộ trình",
        "Chậm so với lộ trình",
        "Chưa có số liệu",
        "Chưa đến hạn",
    ],
    "Số liệu mới nhất so với mục tiêu 2030": [
        "Kết luận",
        "Địa bàn",
        "Chỉ tiêu",
        "Số liệu mới nhất",
        "Năm",
        "Mục tiêu 2030",
        "Theo lộ trình",
        "Dự báo 2030",
        "Ghi chú",
    ],
    "Diễn biến so với lộ trình, ngưỡng 2030 và 2045": TIME_SERIES,
    "Mục tiêu, kết luận và trích dẫn": [
        "Kết luận",
        "Năm mục tiêu",
        "Năm kiểm tra",
        "Mục tiêu",
        "Năm gốc",
        "Số liệu mới nhất",
        "Năm số liệu",
        "Theo lộ trình",
        "Dự báo",
        "Ghi chú",
        "Số liệu của",
        "Văn bản",
        "Mục",
        "Trích dẫn",
    ],
    "Số liệu và nguồn gốc": [
        "Tình trạng",
        "Kỳ",
        "Địa bàn",
        "Giá trị",
        "Nguồn",
        "Tệp",
        "Trang tính",
        "Ô",
        "Lấy về lúc",
        "Ghi chú",
    ],
    "Các tỉnh trước sáp nhập (đến 30/6/2025)": TIME_SERIES,
    "Các tỉnh sau sáp nhập (từ 1/7/2025)": TIME_SERIES,
    "Cả nước": TIME_SERIES,
    "Số liệu mới nhất của từng tỉnh (trước và sau sáp nhập)": [
        "Tình trạng",
        "Tỉnh",
        "Giai đoạn",
        "Tỉnh kế thừa",
        "Năm",
        "Giá trị",
    ],
    "34 tỉnh sau sáp nhập so với cả nước (số liệu mới nhất)": ["Tỉnh", "Giá trị"],
    "Độ mới của từng nguồn so với lịch công bố": [
        "Tình trạng",
        "Nguồn",
        "Cơ quan công bố",
        "Lịch lấy",
        "Số chỉ tiêu",
        "Hết kỳ cuối",
        "Nạp lần cuối",
        "Dự kiến có kỳ sau",
        "Mã nguồn",
    ],
    "Số dòng nạp, hiệu chỉnh và bị loại theo ngày": [
        "time",
        "Dòng nạp mới",
        "Dòng hiệu chỉnh",
        "Dòng bị loại",
    ],
    "Các lô nạp gần đây": [
        "Lô",
        "Nguồn",
        "Tệp",
        "Kết quả",
        "Bắt đầu",
        "Thời gian (s)",
        "Đọc",
        "Nạp",
        "Không đổi",
        "Hiệu chỉnh",
        "Bị loại",
        "Ô trong bảng",
        "Ô nhãn",
        "Ô trống (-, x)",
        "Ô trùng",
        "Lỗi",
    ],
    "Dòng bị loại gần đây và lý do": [
        "Lúc",
        "Nguồn",
        "Tệp",
        "Trang tính",
        "Dòng",
        "Cột",
        "Giá trị gốc",
        "Mã lý do",
        "Lý do",
        "Reason",
        "Đã nạp lại ở lô",
    ],
    "Kết quả các lượt chạy DAG": [
        "Kết thúc",
        "DAG",
        "Lượt chạy",
        "Kiểu",
        "Kết quả",
        "Số task",
        "Thành công",
        "Thất bại",
        "Lỗi gần nhất",
    ],
    "Các bước nạp và đánh giá": [
        "Bắt đầu",
        "Bước",
        "Đối tượng",
        "Mã",
        "Kết quả",
        "Thời gian (s)",
        "Chi tiết",
    ],
    "Thông báo chờ gửi": ["value"],
    "Thông báo thất bại": ["value"],
    "Hộp thư đi theo kênh": [
        "Kênh",
        "Trạng thái",
        "Số thông báo",
        "Số lần thử tối đa",
        "Chờ từ",
        "Gửi lần cuối",
        "Lỗi gần nhất",
    ],
    "Báo cáo đến hạn và quá hạn": [
        "Tình trạng",
        "Hạn",
        "Còn (ngày)",
        "Kế hoạch",
        "Báo cáo",
        "Định kỳ",
        "Ghi chú",
        "Nơi nhận",
    ],
}
# Panels that must show rows on the data inserted below (the others may legitimately be empty).
MUST_HAVE_ROWS = {
    "Số liệu mới nhất so với mục tiêu 2030",
    "Cảnh báo đang mở",
    "Bảng điểm: tỉnh × chỉ tiêu chủ chốt",
    "Chỉ tiêu theo kết luận, từng tỉnh / kế hoạch",
    "Diễn biến so với lộ trình, ngưỡng 2030 và 2045",
    "Mục tiêu, kết luận và trích dẫn",
    "Số liệu và nguồn gốc",
    "Các tỉnh trước sáp nhập (đến 30/6/2025)",
    "Các tỉnh sau sáp nhập (từ 1/7/2025)",
    "Cả nước",
    "Số liệu mới nhất của từng tỉnh (trước và sau sáp nhập)",
    "34 tỉnh sau sáp nhập so với cả nước (số liệu mới nhất)",
    "Độ mới của từng nguồn so với lịch công bố",
    "Số dòng nạp, hiệu chỉnh và bị loại theo ngày",
    "Các lô nạp gần đây",
    "Dòng bị loại gần đây và lý do",
    "Kết quả các lượt chạy DAG",
    "Các bước nạp và đánh giá",
    "Hộp thư đi theo kênh",
    "Báo cáo đến hạn và quá hạn",
}
ALERT_COLUMNS = {
    "chitieu-behind-trajectory": ["plan_id", "plan", "jurisdiction_id", "jurisdiction_name", "value"],
    "chitieu-every-year-missed": [
        "plan_id",
        "jurisdiction_id",
        "jurisdiction_name",
        "indicator_code",
        "indicator_name",
        "value",
    ],
    "chitieu-milestone-overdue": [
        "plan_id",
        "jurisdiction_id",
        "jurisdiction_name",
        "indicator_code",
        "indicator_name",
        "value",
    ],
    "chitieu-data-stale": ["source_id", "source_title", "value"],
    "chitieu-report-due": ["plan_id", "plan", "code", "report", "value"],
}


def _today(conn: psycopg.Connection) -> date:
    """The date the views read (`current_date`, the server's clock and time zone)."""
    row = conn.execute("SELECT current_date").fetchone()
    assert row is not None
    return row[0]


def seed(conn: psycopg.Connection) -> None:
    """A small, realistic slice: Ninh Thuận (ceased 30/6/2025) -> Khánh Hòa, Hà Nội, the nation."""
    today = _today(conn)
    conn.execute(
        """INSERT INTO jurisdictions (id, code, name, level, valid_from, valid_to) VALUES
           ('vn', 'VN', 'Việt Nam', 'national', NULL, NULL),
           ('old-01', '01', 'Hà Nội', 'province', NULL, '2025-06-30'),
           ('old-58', '58', 'Ninh Thuận', 'province', NULL, '2025-06-30'),
           ('old-56', '56', 'Khánh Hòa', 'province', NULL, '2025-06-30'),
           ('new-01', '01', 'Hà Nội', 'province', '2025-07-01', NULL),
           ('new-56', '56', 'Khánh Hòa', 'province', '2025-07-01', NULL)"""
    )
    conn.execute(
        """INSERT INTO jurisdiction_succession (predecessor_id, successor_id, effective_on) VALUES
           ('old-58', 'new-56', '2025-07-01'), ('old-56', 'new-56', '2025-07-01'),
           ('old-01', 'new-01', '2025-07-01')"""
    )
    conn.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation) VALUES
           ('kinh_te_so_grdp', 'Tỷ trọng kinh tế số trong GRDP', 'Digital economy share of GRDP', '%',
            'share_pct', 'higher', 'weighted_mean'),
           ('do_thi_thong_minh', 'Hoàn thành đô thị thông minh', 'Smart city completed', 'nhiệm vụ',
            'count', 'higher', 'none'),
           ('chi_khcn_ngan_sach', 'Chi KH&CN trong tổng chi ngân sách', 'S&T share of budget', '%',
            'share_pct', 'higher', 'none')"""
    )
    conn.execute(
        """INSERT INTO plans (id, document_number, title, issuer, jurisdiction_id) VALUES
           ('ninh-thuan-319', '319/KH-UBND', 'Kế hoạch thực hiện NQ 57 tỉnh Ninh Thuận',
               'UBND tỉnh Ninh Thuận',
            'old-58'),
           ('ha-noi-57', '57/KH-UBND', 'Kế hoạch thực hiện NQ 57 thành phố Hà Nội', 'UBND TP Hà Nội',
               'new-01'),
           ('nq57', '57-NQ/TW', 'Nghị quyết 57-NQ/TW', 'Bộ Chính trị', 'vn')"""
    )
    conn.execute(
        """INSERT INTO targets (id, plan_id, indicator_code, jurisdiction_id, target_year, kind,
            operator, value,
                                every_year, baseline_year, baseline_value, milestone_object, due_date,
                                cite_document, cite_section, cite_quote) VALUES
           ('ninh-thuan-319.t01', 'ninh-thuan-319', 'kinh_te_so_grdp', 'old-58', 2030, 'level', '>=',
               30, false,
            2020, 8, NULL, NULL, '319/KH-UBND', 'II.1', 'Kinh tế số đạt 30% GRDP'),
           ('ninh-thuan-319.t02', 'ninh-thuan-319', 'do_thi_thong_minh', 'old-58', 2025, 'milestone',
               NULL, NULL,
            false, NULL, NULL, 'đô thị thông minh Phan Rang', '2025-12-31', '319/KH-UBND', 'II.3',
            'Hoàn thành đô thị thông minh'),
           ('ninh-thuan-319.t03', 'ninh-thuan-319', 'chi_khcn_ngan_sach', 'old-58', 2030, 'level',
               '>=', 3, true,
            NULL, NULL, NULL, NULL, '319/KH-UBND', 'II.4', 'Chi tối thiểu 3% ngân sách hằng năm'),
           ('ha-noi-57.t01', 'ha-noi-57', 'kinh_te_so_grdp', 'new-01', 2030, 'level', '>=', 40, false,
            2024, 25, NULL, NULL, '57/KH-UBND', 'I', 'Kinh tế số đạt 40% GRDP'),
           ('nq57.t01', 'nq57', 'kinh_te_so_grdp', 'vn', 2030, 'level', '>=', 30, false, 2020, 12.7,
               NULL, NULL,
            '57-NQ/TW', 'II', 'kinh tế số đạt tối thiểu 30% GDP'),
           ('nq57.t02', 'nq57', 'kinh_te_so_grdp', 'vn', 2045, 'level', '>=', 50, false, NULL, NULL,
               NULL, NULL,
            '57-NQ/TW', 'II', 'kinh tế số đạt tối thiểu 50% GDP')"""
    )
    conn.execute(
        """INSERT INTO reporting_obligations (plan_id, code, description, recurrence, due_dates, first_year)
           VALUES ('ninh-thuan-319', 'bc-6-thang', 'Báo cáo 6 tháng', 'half_yearly', %(soon)s, %(year)s),
                  ('ninh-thuan-319', 'bc-dot-xuat', 'Báo cáo đột xuất', 'once', %(past)s, NULL),
                  ('ha-noi-57', 'bc-nam', 'Báo cáo năm', 'yearly', '{}', %(next_year)s)""",
        {
            "soon": [(today + timedelta(days=5)).strftime("%m-%d")],
            "year": (today + timedelta(days=5)).year,
            "past": [(today - timedelta(days=10)).isoformat()],
            "next_year": today.year + 1,
        },
    )
    conn.execute(
        """INSERT INTO sources (id, kind, title, publisher, schedule, expected_release_lag) VALUES
           ('gso-pxweb', 'pxweb', 'Niên giám thống kê', 'Cục Thống kê', 'yearly', interval '180 days'),
           ('so-khcn-xlsx', 'spreadsheet', 'Báo cáo Sở KH&CN', 'Sở KH&CN', 'half_yearly',
               interval '30 days')"""
    )
    batch_ids = [
        row[0]
        for row in conn.execute(
            """INSERT INTO load_batches (source_id, file_name, fetched_at, started_at, finished_at, status,
                                         rows_read, rows_loaded, rows_revised, rows_rejected)
               VALUES ('gso-pxweb', 'gso.json', %(t)s, %(t)s, %(t)s + interval '3 seconds', 'loaded',
                   20, 18, 0, 2),
                      ('gso-pxweb', 'gso-rev.json', %(t2)s, %(t2)s, %(t2)s + interval '2 seconds',
                          'loaded', 5, 0, 1, 0)
               RETURNING id""",
            {"t": NOW - timedelta(days=3), "t2": NOW - timedelta(days=1)},
        ).fetchall()
    ]
    rows = []
    first = NOW - timedelta(days=3)
    for year, value in [(2020, 8.0), (2021, 9.0), (2022, 10.5), (2023, 11.0), (2024, 12.0)]:
        rows.append(("old-58", "kinh_te_so_grdp", date(year, 1, 1), value, "final", batch_ids[0], first))
    rows.append(("new-56", "kinh_te_so_grdp", date(2025, 1, 1), 13.0, "provisional", batch_ids[0], first))
    for year, value in [(2023, 22.0), (2024, 25.0), (2025, 27.0)]:
        rows.append(("new-01", "kinh_te_so_grdp", date(year, 1, 1), value, "final", batch_ids[0], first))
    for year, value in [(2020, 12.7), (2022, 14.3), (2024, 18.3)]:
        rows.append(("vn", "kinh_te_so_grdp", date(year, 1, 1), value, "final", batch_ids[0], first))
    # A revision: a new vintage of Ninh Thuận 2024.
    rows.append(
        ("old-58", "kinh_te_so_grdp", date(2024, 1, 1), 12.4, "final", batch_ids[1], NOW - timedelta(days=1))
    )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type,
                value, status,
                                         source_id, batch_id, file_name, sheet, cell, fetched_at, loaded_at)
               VALUES (%s, %s, %s, 'Y', %s, %s, 'gso-pxweb', %s, 'gso.json', 'data', 'B7', %s, %s)""",
            [(*r[:6], r[6], r[6]) for r in rows],
        )
    conn.execute(
        """INSERT INTO rejected_rows (batch_id, source_id, file_name, sheet, row_num, column_name, raw,
            reason_code,
                                      reason_vi, reason_en, rejected_at)
           VALUES (%s, 'gso-pxweb', 'gso.json', 'data', 12, 'value', 'n/a', 'not_a_number',
                   'Giá trị không phải là số', 'Value is not a number', %s)""",
        (batch_ids[0], NOW - timedelta(days=3)),
    )
    run_id = conn.execute(
        "INSERT INTO evaluation_runs (as_of, finished_at, targets_count, results_count) VALUES (%s, "
        "%s, 5, 6) "
        "RETURNING id",
        (NOW, NOW),
    ).fetchone()[0]  # type: ignore[index]
    # fmt: off
    evaluations = [
        ("ninh-thuan-319.t01", "ninh-thuan-319", "old-58", "new-56", "kinh_te_so_grdp", 2030, None,
         "limited_progress", 0.41, 18.3, 12.4, 2024, 21.0, False, 2020, 8.0,
         ["successor_data", "revision_driven"]),
        ("ninh-thuan-319.t02", "ninh-thuan-319", "old-58", None, "do_thi_thong_minh", 2025, None,
         "milestone_overdue", None, None, None, None, None, None, None, None, []),
        ("ninh-thuan-319.t03", "ninh-thuan-319", "old-58", None, "chi_khcn_ngan_sach", 2030, 2024,
         "missed", None, None, 2.1, 2024, None, None, None, None, []),
        ("ha-noi-57.t01", "ha-noi-57", "new-01", None, "kinh_te_so_grdp", 2030, None,
         "on_track", 1.02, 26.7, 27.0, 2025, 41.0, True, 2024, 25.0, []),
        ("nq57.t01", "nq57", "vn", None, "kinh_te_so_grdp", 2030, None,
         "needs_acceleration", 0.8, 19.6, 18.3, 2024, 27.5, False, 2020, 12.7, []),
    ]
    # fmt: on
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO evaluations (evaluated_at, run_id, as_of, target_id, plan_id, jurisdiction_id,
                                        data_jurisdiction_id, indicator_code, target_year, check_year, status,
                                        progress_ratio, expected_value, current_value, current_year,
                                        projected_value, will_meet, base_year, base_value, flags)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [(NOW, run_id, NOW, *e) for e in evaluations],
        )
    alert_id = conn.execute(
        """INSERT INTO alerts (fingerprint, rule, plan_id, jurisdiction_id, indicator_code,
            target_year, target_id,
                               state, summary_vi, first_fired_at, last_seen_at)
           VALUES ('behind_trajectory|ninh-thuan-319|old-58|kinh_te_so_grdp|2030', 'behind_trajectory',
                   'ninh-thuan-319', 'old-58', 'kinh_te_so_grdp', 2030, 'ninh-thuan-319.t01', 'firing',
                   'Kinh tế số Ninh Thuận 12,4%% (2024), lộ trình 18,3%%', %s, %s) RETURNING id""",
        (NOW - timedelta(days=1), NOW),
    ).fetchone()[0]  # type: ignore[index]
    conn.execute(
        """INSERT INTO notification_outbox (dedup_key, alert_id, event, channel, target_url, subject,
            body, status,
                                            attempts, last_error, payload)
           VALUES ('a1|firing|email', %s, 'firing', 'email', 'mailto://x', 's', 'b', 'pending', 2,
                   'connection refused', %s)""",
        (alert_id, Jsonb({})),
    )
    conn.execute(  # pipeline_task_runs is part of the schema (050): no conditional path
        """INSERT INTO pipeline_task_runs (dag_id, run_id, task_id, state, finished_at, error) VALUES
           ('ingest_gso_pxweb', 'manual__1', 'fetch', 'success', %(t)s, NULL),
           ('ingest_gso_pxweb', 'manual__1', 'load', 'failed', %(t)s, 'boom')""",
        {"t": NOW - timedelta(hours=2)},
    )
    views.refresh(conn)


def _readonly(dsn: str) -> psycopg.Connection:
    settings = get_settings()
    params = conninfo_to_dict(dsn)
    params["user"] = settings.readonly_db_user
    params["password"] = settings.readonly_db_password.get_secret_value()
    return psycopg.connect(make_conninfo(**params), autocommit=True)  # type: ignore[arg-type]


@pytest.fixture
def seeded(db: psycopg.Connection, db_dsn: str) -> Iterator[psycopg.Connection]:
    seed(db)
    with _readonly(db_dsn) as ro:
        yield ro


def _run(
    conn: psycopg.Connection, raw_sql: str, variables: dict[str, str | list[str]] = VARIABLES
) -> tuple[list[str], list[tuple]]:
    cur = conn.execute(macros.expand(raw_sql, variables=variables, **RANGE))
    return [d.name for d in cur.description or []], cur.fetchall()


def test_every_panel_query_returns_its_columns(seeded: psycopg.Connection) -> None:
    queries = inventory.panel_queries()
    assert {q.panel_title for q in queries} == set(EXPECTED_COLUMNS), "a panel was added or renamed"
    with_rows = set()
    for q in queries:
        columns, rows = _run(seeded, q.raw_sql)
        assert columns == (UNIT_COLUMNS if q.ref_id == "U" else EXPECTED_COLUMNS[q.panel_title]), q.label
        if q.fmt == "time_series":
            assert columns[0] == "time", q.label
            assert all(r[0] is None or isinstance(r[0], datetime) for r in rows), q.label
        if rows:
            with_rows.add(q.panel_title)
    assert MUST_HAVE_ROWS - with_rows == set()


def test_panels_show_the_inserted_facts(seeded: psycopg.Connection, db: psycopg.Connection) -> None:
    by_title = {(q.panel_title, q.ref_id): q for q in inventory.panel_queries()}

    # the scorecard, with this data set's indicator as its one column
    scorecard = overview.scorecard_table([{"code": "kinh_te_so_grdp", "label": "Kinh tế số", "unit": "%"}])
    columns, cards = _run(seeded, scorecard.build().targets[0].raw_sql)  # type: ignore[index, union-attr]
    assert columns == ["jurisdiction_id", "Tỉnh (→ tỉnh từ 1/7/2025)", "kinh_te_so_grdp", "Chưa có số liệu"]
    nt_card = next(r for r in cards if r[0] == "old-58")
    assert nt_card[1] == "Ninh Thuận → Khánh Hòa"  # names, with the 2025 successor
    # headline verdict | figure with a decimal comma and unit, last change, data year
    assert nt_card[2] == "limited_progress|12,4 % ↑ (2024)"
    assert nt_card[3].startswith("no_data|")  # the no-data share is shown, not hidden

    _, counts = _run(seeded, by_title[("Chỉ tiêu theo kết luận, từng tỉnh / kế hoạch", "A")].raw_sql)
    ninh_thuan = next(r for r in counts if r[0].startswith("Ninh Thuận"))
    # 1 limited progress + 1 overdue milestone, both behind; the every-year miss is not a target row.
    assert ninh_thuan[1:] == (0, 0, 2, 0, 0)

    _, series = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "A")].raw_sql)
    nt_2024 = [r[2] for r in series if r[1] == "Ninh Thuận" and r[0].year == 2024]
    assert nt_2024 == [12.4], "the current vintage (the revision) is shown"
    assert {r[1] for r in series} == {
        "Ninh Thuận",
        "Khánh Hòa (tỉnh kế thừa)",
    }  # one territory and its successor
    _, provisional = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "B")].raw_sql)
    assert [r[1] for r in provisional] == ["Số liệu sơ bộ"]  # the successor's provisional 2025 point
    _, path = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "C")].raw_sql)
    nt_path = {r[0].year: r[2] for r in path if r[1] == "Lộ trình đến 2030"}
    assert nt_path[2020] == pytest.approx(8.0)
    assert nt_path[2030] == pytest.approx(30.0)
    assert nt_path[2025] == pytest.approx(19.0)
    _, thresholds = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "D")].raw_sql)
    assert {(r[1], r[2]) for r in thresholds} == {
        ("Ngưỡng 2030", 30.0),
        ("Ngưỡng 2045", 50.0),
    }  # 2045: national
    _, merger = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "F")].raw_sql)
    assert {r[0].date().isoformat() for r in merger} == {"2025-06-30"}  # 1 July 00:00 in Vietnam, in UTC
    assert len(merger) == 2
    assert merger[0][2] != merger[1][2]  # a vertical line spanning the figures
    _, unit = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "U")].raw_sql)
    assert unit == [("suffix: %", 1)]
    _, projection = _run(seeded, by_title[("Diễn biến so với lộ trình, ngưỡng 2030 và 2045", "E")].raw_sql)
    assert sorted((r[0].year, r[2]) for r in projection) == [
        (2024, 12.4),
        (2030, 21.0),
    ]

    _, latest = _run(
        seeded, by_title[("Số liệu mới nhất của từng tỉnh (trước và sau sáp nhập)", "A")].raw_sql
    )
    nt_row = next(r for r in latest if r[1].startswith("Ninh Thuận"))
    assert nt_row[2:] == ("Trước sáp nhập (63 tỉnh)", "Khánh Hòa", "2024", "12,4 %")
    kh_row = next(r for r in latest if r[1] == "Khánh Hòa")
    assert kh_row[0] == "provisional"
    assert kh_row[2] == "Sau sáp nhập (34 tỉnh)"

    _, freshness = _run(seeded, by_title[("Độ mới của từng nguồn so với lịch công bố", "A")].raw_sql)
    states = {r[-1]: r[0] for r in freshness}
    # gso: last period 2025 ends 2026-01-01; next (2026) ends 2027-01-01 + 180 days: not yet due.
    # so-khcn: has never delivered anything, said so (not "0 days overdue").
    assert states == {"gso-pxweb": "fresh|Đúng hạn", "so-khcn-xlsx": "never|Chưa từng có số liệu"}

    _, rejections = _run(seeded, by_title[("Dòng bị loại gần đây và lý do", "A")].raw_sql)
    assert rejections[0][8:] == ("Giá trị không phải là số", "Value is not a number", None)  # not reloaded

    sql = by_title[("Báo cáo đến hạn và quá hạn", "A")].raw_sql
    today = _today(seeded)
    _, due = _run(seeded, sql)
    # the overdue one stays (red) until a report is recorded; the yearly one gets its assumed date
    assert [(r[0], r[2], r[4]) for r in due] == [
        ("overdue", -10, "Báo cáo đột xuất"),
        ("due_soon", 5, "Báo cáo 6 tháng"),
        ("upcoming", (date(today.year + 1, 12, 15) - today).days, "Báo cáo năm"),
    ]
    assert due[2][6].startswith("Hạn giả định 15/12")
    db.execute(
        "INSERT INTO report_submissions (plan_id, code, due_date, submitted_on) VALUES ('ninh-thuan-319', "
        "'bc-dot-xuat', %s, %s)",
        (today - timedelta(days=10), today),
    )
    _, due = _run(seeded, sql)
    assert [r[4] for r in due] == ["Báo cáo 6 tháng", "Báo cáo năm"]


def test_variable_queries_offer_the_plans_targets(seeded: psycopg.Connection) -> None:
    results = {
        (q.dashboard_uid, q.panel_title): _run(seeded, q.raw_sql) for q in inventory.variable_queries()
    }
    for columns, _ in results.values():
        assert columns == ["__value", "__text"]
    assert {r[0] for r in results[("chitieu-overview", "$plan")][1]} == {
        "ninh-thuan-319",
        "ha-noi-57",
        "nq57",
    }
    jurisdictions = {r[0] for r in results[("chitieu-indicator-detail", "$jurisdiction")][1]}
    assert jurisdictions == {"old-58", "new-01"}  # of the selected plans only
    indicators = {r[0] for r in results[("chitieu-indicator-detail", "$indicator")][1]}
    assert indicators == {"kinh_te_so_grdp", "do_thi_thong_minh", "chi_khcn_ngan_sach"}


def test_alert_rule_queries_fire_on_the_inserted_facts(seeded: psycopg.Connection) -> None:
    results = {q.panel_title: _run(seeded, q.raw_sql) for q in inventory.alert_queries()}
    assert set(results) == set(ALERT_COLUMNS)
    for uid, (columns, _) in results.items():
        assert columns == ALERT_COLUMNS[uid], uid
    behind = results["chitieu-behind-trajectory"][1]
    assert [(r[0], r[2], r[4]) for r in behind] == [("ninh-thuan-319", "old-58", 1.0), ("nq57", "vn", 1.0)]
    assert behind[0][3] == "Ninh Thuận"  # names for the alert text, not ids
    missed = results["chitieu-every-year-missed"][1]
    assert [(r[0], r[1], r[3], r[5]) for r in missed] == [
        ("ninh-thuan-319", "old-58", "chi_khcn_ngan_sach", 1.0)
    ]
    overdue = results["chitieu-milestone-overdue"][1]
    assert [(r[0], r[1], r[3], r[5]) for r in overdue] == [
        ("ninh-thuan-319", "old-58", "do_thi_thong_minh", 1.0)
    ]
    assert [r[0] for r in results["chitieu-data-stale"][1]] == ["so-khcn-xlsx"]
    due = results["chitieu-report-due"][1]
    assert sorted((r[2], r[4]) for r in due if r[4] < 15) == [("bc-6-thang", 5.0), ("bc-dot-xuat", -10.0)]


def test_status_labels_view_matches_the_vocabulary(seeded: psycopg.Connection) -> None:
    rows = seeded.execute("SELECT status, label_vi, color, severity FROM dash_status_labels").fetchall()
    assert {r[0]: r[1:] for r in rows} == {
        s.key: (s.label_vi, s.color, s.severity) for s in statuses.STATUSES
    }


def test_readonly_role_cannot_write(seeded: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        seeded.execute("DELETE FROM alerts")


def _new_run(db: psycopg.Connection, as_of: datetime, status: str) -> None:
    run_id = db.execute(
        "INSERT INTO evaluation_runs (as_of, finished_at) VALUES (%s, now()) RETURNING id", (as_of,)
    ).fetchone()[0]  # type: ignore[index]
    db.execute(
        """INSERT INTO evaluations (evaluated_at, run_id, as_of, target_id, plan_id, jurisdiction_id,
                                    indicator_code, target_year, status)
           VALUES (now(), %s, %s, 'ha-noi-57.t01', 'ha-noi-57', 'new-01', 'kinh_te_so_grdp', 2030, %s)""",
        (run_id, as_of, status),
    )


def _statuses(db: psycopg.Connection) -> set[tuple[str, int | None, str]]:
    return set(db.execute("SELECT target_id, check_year, status FROM dash_status_latest").fetchall())


def test_refresh_follows_the_engines_latest_run(db: psycopg.Connection) -> None:
    seed(db)
    shown = _statuses(db)
    assert ("ha-noi-57.t01", None, "on_track") in shown
    assert len(shown) == 5

    _new_run(db, NOW + timedelta(hours=1), "achieved")
    assert _statuses(db) == shown, "nothing changes before the refresh"
    timings = views.refresh(db)
    assert set(timings) == {"dash_evaluations_latest", *views.MATERIALIZED_VIEWS}
    assert _statuses(db) == {("ha-noi-57.t01", None, "achieved")}

    # A back-dated run (`evaluate --as-of` in the past) is history: it does not replace today's statuses.
    _new_run(db, NOW - timedelta(days=30), "deteriorating")
    views.refresh(db)
    assert _statuses(db) == {("ha-noi-57.t01", None, "achieved")}
    assert _statuses(db) == set(
        db.execute("SELECT target_id, check_year, status FROM evaluations_latest").fetchall()
    )
    counts = db.execute("SELECT plan_id, targets, achieved FROM dash_status_counts").fetchall()
    assert counts == [("ha-noi-57", 1, 1)]


def test_a_growth_target_reads_as_a_rate_not_an_amount(
    db: psycopg.Connection, seeded: psycopg.Connection
) -> None:
    """'16' beside the unit 'đơn' would read as sixteen applications; the condition says it is growth."""
    db.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation)
           VALUES ('don_sang_che', 'Số lượng đơn đăng ký sáng chế', 'Patent applications', 'đơn', 'count',
                   'higher', 'sum')"""
    )
    db.execute(
        """INSERT INTO targets (id, plan_id, indicator_code, jurisdiction_id, target_year, kind, operator,
                                value, value_max, every_year, cite_document, cite_section, cite_quote)
           VALUES ('ninh-thuan-319.t09', 'ninh-thuan-319', 'don_sang_che', 'old-58', 2030, 'growth', '>=',
                   16, 18, false, '319/KH-UBND', 'II.5', 'Số đơn sáng chế tăng 16 - 18%/năm')"""
    )
    run_id = db.execute("SELECT max(id) FROM evaluation_runs").fetchone()[0]  # type: ignore[index]
    db.execute(
        """INSERT INTO evaluations (evaluated_at, run_id, as_of, target_id, plan_id, jurisdiction_id,
                                    indicator_code, target_year, status, current_value, current_year)
           VALUES (%s, %s, %s, 'ninh-thuan-319.t09', 'ninh-thuan-319', 'old-58', 'don_sang_che', 2030,
                   'on_track', 37, 2024)""",
        (NOW, run_id, NOW),
    )
    views.refresh(db)
    by_title = {(q.panel_title, q.ref_id): q for q in inventory.panel_queries()}
    for title, target_column in (
        ("Số liệu mới nhất so với mục tiêu 2030", "Mục tiêu 2030"),
        ("Mục tiêu, kết luận và trích dẫn", "Mục tiêu"),
    ):
        columns, rows = _run(
            seeded, by_title[(title, "A")].raw_sql, {**VARIABLES, "indicator": "don_sang_che"}
        )
        [row] = [dict(zip(columns, r, strict=True)) for r in rows if "37 đơn" in r]
        assert row[target_column] == "tăng >= 16,0–18,0 %/năm", title
        others = [r[columns.index(target_column)] for r in rows if "37 đơn" not in r]
        assert all(o is None or o.startswith((">=", "mốc")) for o in others), (title, others)
