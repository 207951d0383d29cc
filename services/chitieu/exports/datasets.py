"""What the exports contain: the datasets, their columns (a stable English name, a Vietnamese title,
a meaning) and their SQL; and the CSV as PostgreSQL writes it.

CSV is written by PostgreSQL itself (COPY (SELECT ...) TO STDOUT, FORMAT csv, see `csv_copy`): the
API passes it on as it arrives and `chitieu status --format csv` prints it, so memory stays flat
whatever the row count. XLSX goes through chitieu.exports.xlsx.

Times are written in Vietnam's time (UTC+7), the users' clock: ISO 8601 with the offset in CSV, and
as Excel date-times (which have no offset) in XLSX, with the legend sheet saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from psycopg import sql

from chitieu.exports import statuses as status_table
from chitieu.vietnam_time import TZ_NAME

Kind = Literal["text", "int", "float", "bool", "date", "datetime", "list", "json"]
Dataset = Literal["targets", "statuses", "observations", "alerts"]
DATASETS: tuple[Dataset, ...] = ("targets", "statuses", "observations", "alerts")

CSV_MEDIA = "text/csv"
BOM = "\ufeff".encode()  # so that Excel on a Vietnamese Windows reads UTF-8, not cp1258
# Text that spreadsheet programs would run as a formula when they open a CSV (OWASP "CSV injection").
_FORMULA_START = "('=', '+', '-', '@', chr(9), chr(13))"


@dataclass(frozen=True)
class Column:
    name: str  # the stable English header
    expr: str  # its SQL expression
    title_vi: str
    kind: Kind = "text"
    description: str = ""

    @property
    def width(self) -> float:
        if self.kind == "datetime":
            return 20
        if self.kind in ("date", "int", "float", "bool"):
            return 12
        return 60 if self.name in ("citation_quote", "summary_vi", "summary_en", "detail") else 22


@dataclass(frozen=True)
class Spec:
    dataset: Dataset
    title_vi: str
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def only(self, names: Sequence[str]) -> Spec:
        """The same dataset with the named columns only, in that order."""
        by_name = {c.name: c for c in self.columns}
        return replace(self, columns=tuple(by_name[n] for n in names))

    def select(self, *, as_csv_text: bool = False) -> sql.Composable:
        def one(c: Column) -> sql.Composable:
            expr = _csv_text(c) if as_csv_text else c.expr
            return sql.SQL("{} AS {}").format(sql.SQL(expr), sql.Identifier(c.name))

        return sql.SQL(", ").join(one(c) for c in self.columns)


def _guard(expr: str) -> str:
    return f"CASE WHEN left({expr}, 1) IN {_FORMULA_START} THEN chr(39) || {expr} ELSE {expr} END"


def _csv_text(col: Column) -> str:
    """The column as the CSV's text, formatted by PostgreSQL (COPY writes the file); numbers and dates
    in their ISO forms: the transaction sets DateStyle, extra_float_digits and Vietnam's time zone."""
    e = col.expr
    if col.kind == "text":
        return _guard(e)
    if col.kind == "bool":
        return f"CASE WHEN {e} THEN 'true' WHEN NOT {e} THEN 'false' END"
    if col.kind == "datetime":
        return f"""to_char({e}, 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM')"""
    if col.kind == "list":
        return _guard(f"array_to_string({e}, ';')")
    if col.kind == "json":
        return f"({e})::text"
    return e


C = Column
TARGETS = Spec(
    "targets",
    "Mục tiêu",
    (
        C("id", "t.id", "Mã mục tiêu"),
        C("plan_id", "t.plan_id", "Chương trình/kế hoạch"),
        C("jurisdiction_id", "t.jurisdiction_id", "Mã địa phương"),
        C("jurisdiction_name", "j.name", "Địa phương"),
        C("indicator_code", "t.indicator_code", "Mã chỉ tiêu"),
        C("indicator_name_vi", "i.name_vi", "Tên chỉ tiêu"),
        C("indicator_name_en", "i.name_en", "Tên chỉ tiêu (tiếng Anh)"),
        C("unit", "i.unit", "Đơn vị tính"),
        C("target_year", "t.target_year", "Năm mục tiêu", "int"),
        C("kind", "t.kind", "Loại mục tiêu", description="level, rank, count, growth or milestone"),
        C("operator", "t.operator", "Phép so sánh", description=">=, >, <=, < or ="),
        C("value", "t.value", "Giá trị mục tiêu", "float"),
        C("value_max", "t.value_max", "Giá trị tối đa (khoảng)", "float"),
        C("every_year", "t.every_year", "Phải đạt hằng năm", "bool"),
        C("parent_target_id", "t.parent_target_id", "Mục tiêu cha"),
        C("relative_to", "t.relative_to", "So với", description="national: relative to the national figure"),
        C("milestone_object", "t.milestone_object", "Nội dung mốc"),
        C("due_date", "t.due_date", "Hạn hoàn thành", "date"),
        C("baseline_year", "t.baseline_year", "Năm gốc", "int"),
        C("baseline_value", "t.baseline_value", "Giá trị năm gốc", "float"),
        C("baseline_note", "t.baseline_note", "Ghi chú về năm gốc"),
        C("lead_agency", "t.lead_agency", "Cơ quan chủ trì"),
        C("needs_review", "t.needs_review", "Cần rà soát", "bool"),
        C(
            "citation_document",
            "t.cite_document",
            "Văn bản",
            description="The document the target comes from",
        ),
        C("citation_section", "t.cite_section", "Mục trong văn bản"),
        C("citation_quote", "t.cite_quote", "Trích dẫn nguyên văn", description="The sentence, verbatim"),
    ),
)

STATUSES = Spec(
    "statuses",
    "Tình trạng thực hiện",
    (
        C("target_id", "l.target_id", "Mã mục tiêu"),
        C("plan_id", "l.plan_id", "Chương trình/kế hoạch"),
        C("jurisdiction_id", "l.jurisdiction_id", "Mã địa phương"),
        C("jurisdiction_name", "j.name", "Địa phương"),
        C("data_jurisdiction_id", "l.data_jurisdiction_id", "Địa phương có số liệu được dùng",
          description="Whose data was used (a successor after the 2025 merger)"),
        C("indicator_code", "l.indicator_code", "Mã chỉ tiêu"),
        C("indicator_name_vi", "i.name_vi", "Tên chỉ tiêu"),
        C("unit", "i.unit", "Đơn vị tính"),
        C("target_year", "l.target_year", "Năm mục tiêu", "int"),
        C("check_year", "l.check_year", "Năm kiểm tra (chỉ tiêu hằng năm)", "int"),
        C("headline_status", "hv.key", "Mã kết luận", description="The headline verdict (status key)"),
        C("headline_label_vi", "hv.label_vi", "Kết luận"),
        C("headline_label_en", "hv.label_en", "Kết luận (tiếng Anh)"),
        C("headline_group", "hv.grp", "Nhóm kết luận",
          description="achieved, on_track, behind, no_data or not_due"),
        C("headline_rule", "l.headline_rule", "Căn cứ kết luận",
          description="status, ratio, projection or every_year_missed"),
        C("status", "l.status", "Mã tình trạng",
          description="The progress ratio's verdict, a component of the headline"),
        C("status_label_vi", "sl.label_vi", "Tình trạng"),
        C("progress_ratio", "l.progress_ratio", "Tỷ lệ tiến độ", "float",
          "Actual over expected progress (on track >= 0.95)"),
        C("expected_value", "l.expected_value", "Giá trị cần đạt theo lộ trình", "float"),
        C("current_value", "l.current_value", "Giá trị hiện tại", "float"),
        C("current_year", "l.current_year", "Năm của giá trị hiện tại", "int"),
        C("projected_value", "l.projected_value", "Giá trị dự báo năm mục tiêu", "float"),
        C("will_meet", "l.will_meet", "Dự báo đạt", "bool"),
        C("anticipated_gap", "l.anticipated_gap", "Khoảng cách dự kiến", "float",
          "ESCAP G: <= 0 will meet, <= 1 acceleration needed, > 1 trend must reverse"),
        C("series_basis", "l.series_basis", "Chuỗi số liệu được dùng",
          description="own, successor_comparable or own_until_ceased"),
        C("base_year", "l.base_year", "Năm gốc", "int"),
        C("base_value", "l.base_value", "Giá trị năm gốc", "float"),
        C("flags", "l.flags", "Ghi chú đánh giá", "list", "Flags, separated by ';'"),
        C("run_id", "l.run_id", "Lượt đánh giá", "int"),
        C("evaluated_at", "l.evaluated_at", "Thời điểm đánh giá", "datetime"),
        C("as_of", "l.as_of", "Số liệu tính đến", "datetime"),
    ),
)  # fmt: skip

OBSERVATIONS = Spec(
    "observations",
    "Số liệu",
    (
        C("jurisdiction_id", "o.jurisdiction_id", "Mã địa phương"),
        C("jurisdiction_name", "j.name", "Địa phương"),
        C("indicator_code", "o.indicator_code", "Mã chỉ tiêu"),
        C("indicator_name_vi", "i.name_vi", "Tên chỉ tiêu"),
        C("unit", "i.unit", "Đơn vị tính"),
        C("period_type", "o.period_type", "Loại kỳ", "text","Y year, H half, Q quarter, M month, R span"),
        C("period_start", "o.period_start", "Đầu kỳ", "date"),
        C("period_end", "o.period_end", "Cuối kỳ (kỳ nhiều năm)", "date"),
        C("value", "o.value", "Giá trị", "float"),
        C("status", "o.status", "Trạng thái số liệu", description="final or provisional"),
        C("source", "o.source_id", "Nguồn"),
        C("file", "o.file_name", "Tệp"),
        C("sha256", "o.file_sha256", "Mã băm SHA-256 của tệp"),
        C("sheet", "o.sheet", "Trang tính"),
        C("row", "o.row_num", "Dòng", "int"),
        C("cell", "o.cell", "Ô"),
        C("fetched_at", "o.fetched_at", "Thời điểm lấy tệp", "datetime"),
        C("loaded_at", "o.loaded_at", "Thời điểm nạp (phiên bản)", "datetime",
          "When this vintage was loaded: what as_of compares with"),
        C("batch_id", "o.batch_id", "Lượt nạp", "int"),
        C("note", "o.note", "Ghi chú"),
    ),
)  # fmt: skip

ALERTS = Spec(
    "alerts",
    "Cảnh báo",
    (
        C("id", "a.id", "Mã cảnh báo", "int"),
        C("rule", "a.rule", "Quy tắc"),
        C("state", "a.state", "Trạng thái", description="firing or resolved"),
        C("severity", "a.severity", "Mức độ"),
        C("plan_id", "a.plan_id", "Chương trình/kế hoạch"),
        C("jurisdiction_id", "a.jurisdiction_id", "Mã địa phương"),
        C("jurisdiction_name", "j.name", "Địa phương"),
        C("indicator_code", "a.indicator_code", "Mã chỉ tiêu"),
        C("target_year", "a.target_year", "Năm mục tiêu", "int"),
        C("target_id", "a.target_id", "Mã mục tiêu"),
        C("summary_vi", "a.summary_vi", "Nội dung"),
        C("summary_en", "a.summary_en", "Nội dung (tiếng Anh)"),
        C("first_fired_at", "a.first_fired_at", "Phát sinh lúc", "datetime"),
        C("last_seen_at", "a.last_seen_at", "Ghi nhận gần nhất", "datetime"),
        C("last_notified_at", "a.last_notified_at", "Thông báo gần nhất", "datetime"),
        C("resolved_at", "a.resolved_at", "Đã xử lý lúc", "datetime"),
        C("silenced_by", "a.silenced_by", "Tạm tắt bởi lệnh số", "int"),
        C("fingerprint", "a.fingerprint", "Dấu nhận dạng"),
        C("labels", "a.labels", "Nhãn", "json"),
        C("detail", "a.detail", "Chi tiết", "json"),
    ),
)

SPECS: dict[Dataset, Spec] = {s.dataset: s for s in (TARGETS, STATUSES, OBSERVATIONS, ALERTS)}


@dataclass(frozen=True)
class Filters:
    plan: str | None = None
    jurisdiction_ids: list[str] | None = None
    indicator: str | None = None
    statuses: list[str] | None = None
    headlines: list[str] | None = None
    state: str | None = None
    rule: str | None = None
    as_of: datetime | None = None
    run_id: int | None = None  # statuses as_of: the run current then (chitieu.api.queries.run_as_of)
    all_vintages: bool = False
    data_jurisdiction: bool = False  # statuses: the places also match as the data's jurisdiction


# FROM, WHERE and ORDER BY of the datasets other than the statuses (chitieu.exports.statuses).
_BODIES: dict[Dataset, sql.SQL] = {
    "targets": sql.SQL(
        """FROM targets t
            JOIN indicators i ON i.code = t.indicator_code
            JOIN jurisdictions j ON j.id = t.jurisdiction_id
            WHERE (%(plan)s::text IS NULL OR t.plan_id = %(plan)s)
              AND (%(jids)s::text[] IS NULL OR t.jurisdiction_id = ANY(%(jids)s))
              AND (%(ind)s::text IS NULL OR t.indicator_code = %(ind)s)
            ORDER BY t.id"""
    ),
    # A plan narrows to the figures it is assessed on: its indicators, in its targets' jurisdictions
    # and their successors (a ceased province is continued on its successor's data).
    "observations": sql.SQL(
        """FROM observations o
            LEFT JOIN jurisdictions j ON j.id = o.jurisdiction_id
            LEFT JOIN indicators i ON i.code = o.indicator_code
            WHERE (%(jids)s::text[] IS NULL OR o.jurisdiction_id = ANY(%(jids)s))
              AND (%(ind)s::text IS NULL OR o.indicator_code = %(ind)s)
              AND (%(as_of)s::timestamptz IS NULL OR o.loaded_at <= %(as_of)s)
              AND (%(plan)s::text IS NULL OR EXISTS (
                    SELECT 1 FROM targets t
                    WHERE t.plan_id = %(plan)s AND t.indicator_code = o.indicator_code
                      AND (t.jurisdiction_id = o.jurisdiction_id
                           OR EXISTS (SELECT 1 FROM jurisdiction_succession s
                                      WHERE s.predecessor_id = t.jurisdiction_id
                                        AND s.successor_id = o.jurisdiction_id))))
            ORDER BY o.jurisdiction_id, o.indicator_code, o.period_type, o.period_start, o.loaded_at DESC"""
    ),
    "alerts": sql.SQL(
        """FROM alerts a
        LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id
        WHERE (%(state)s::text IS NULL OR a.state = %(state)s)
          AND (%(rule)s::text IS NULL OR a.rule = %(rule)s)
          AND (%(plan)s::text IS NULL OR a.plan_id = %(plan)s)
          AND (%(jids)s::text[] IS NULL OR a.jurisdiction_id = ANY(%(jids)s))
          AND (%(ind)s::text IS NULL OR a.indicator_code = %(ind)s)
        ORDER BY a.id DESC"""
    ),
}


def query(
    dataset: Dataset, f: Filters, *, as_csv_text: bool = False, spec: Spec | None = None
) -> tuple[sql.Composable, dict[str, Any]]:
    """The export's SELECT in a stable order, with its parameters; `as_csv_text`: every column as the
    text the CSV holds; `spec`: the dataset's columns when not all of them (SPECS[dataset])."""
    columns = (spec or SPECS[dataset]).select(as_csv_text=as_csv_text)
    params: dict[str, Any] = {
        "plan": f.plan,
        "jids": f.jurisdiction_ids,
        "ind": f.indicator,
        "statuses": f.statuses,
        "headlines": f.headlines,
        "state": f.state,
        "rule": f.rule,
        "as_of": f.as_of,
        "run": f.run_id,
    }
    if dataset == "statuses":
        # The same rows as the JSON /statuses, all of them in its key order.
        given = {name for name, v in params.items() if v is not None}
        if f.data_jurisdiction and "jids" in given:
            given = (given - {"jids"}) | {"jids_or_data"}
        rows = status_table.rows(f.run_id is not None, given)
        body = sql.SQL("{} ORDER BY {}").format(rows, status_table.KEY)
        return sql.SQL("SELECT {} {}").format(columns, body), params
    if dataset == "observations" and not f.all_vintages:
        pick = sql.SQL("DISTINCT ON (o.jurisdiction_id, o.indicator_code, o.period_type, o.period_start)")
        return sql.SQL("SELECT {} {} {}").format(pick, columns, _BODIES[dataset]), params
    return sql.SQL("SELECT {} {}").format(columns, _BODIES[dataset]), params


def csv_copy(select: sql.Composable) -> sql.Composed:
    """COPY of an export's SELECT (built with as_csv_text) as CSV with its header row."""
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(select)


# How PostgreSQL writes the CSV's dates, times and numbers: for the transaction that runs the COPY.
CSV_SETTINGS = sql.SQL(
    "SELECT set_config('TimeZone', {}, true), set_config('DateStyle', 'ISO, YMD', true),"
    " set_config('extra_float_digits', '1', true)"
).format(sql.Literal(TZ_NAME))
