"""Alert rules: findings from the latest evaluation run, the sources' release lags and the plans'
reporting obligations. Pure reads: nothing here writes to the database.

- behind_trajectory: the headline verdict of a target's overall row is behind (group `behind` of
  chitieu.statuses: needs_acceleration, limited_progress, deteriorating, missed), milestones apart;
- status_worsened: the latest headline ranks worse (STATUS_RANK) than the previous run's for the same row;
- every_year_missed: each `missed` row (one finding per checked year);
- milestone_overdue: status milestone_overdue;
- data_stale: per (source, indicator, period type), the period after the latest loaded one has ended
  and the source's expected_release_lag has passed since, relative to `now`;
- report_due: a reporting obligation's next due date lies within CHITIEU_DEADLINE_WARNING_DAYS of today.

Status words come from chitieu.statuses (the one vocabulary), never from here.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from chitieu import statuses, vietnam_time
from chitieu.alerts.findings import RULES, Finding, dashboard_link, fmt_num, worst
from chitieu.assess import formulas
from chitieu.evaluate.compute import RESULT_COLUMNS
from chitieu.ingest.normalize import format_period
from chitieu.settings import get_settings

# Better first, by the vocabulary's severity. Statuses of the no-data group (insufficient_data,
# no_data) are never compared.
STATUS_RANK: dict[str, int] = {s.key: s.severity for s in statuses.STATUSES if s.group != "no_data"}
BEHIND_STATUSES = tuple(
    s.key for s in statuses.STATUSES if s.group == "behind" and not s.key.startswith("milestone_")
)
EVALUATION_RULES = ("behind_trajectory", "status_worsened", "every_year_missed", "milestone_overdue")
OPERATOR_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "="}
FLAG_VI = {
    "revision_driven": "tình trạng thay đổi chỉ do số liệu được điều chỉnh",
    "cohort_changed": "nhóm xếp hạng đã thay đổi (63 → 34 tỉnh)",
    "successor_data": "đánh giá trên số liệu của tỉnh kế thừa",
    "relative_national": "so với số liệu cả nước cùng năm",
    "parent_share": "tỷ trọng trong chỉ tiêu cha",
    "provisional_data": "có số liệu sơ bộ",
}
PERIOD_MONTHS = {"Y": 12, "H": 6, "Q": 3, "M": 1}
RECURRENCE_YEARS = {"every_3_years": 3, "every_5_years": 5}


# --- evaluation rules -------------------------------------------------------------------------------


def latest_runs(conn: psycopg.Connection) -> tuple[int | None, int | None]:
    """(latest, previous) finished evaluation run ids, by as_of then id (as the evaluations_latest
    view), so that a back-dated `evaluate --as-of` run for history never drives today's alerts."""
    rows = conn.execute(
        """SELECT r.id FROM evaluation_runs r
           WHERE r.finished_at IS NOT NULL AND EXISTS (SELECT 1 FROM evaluations e WHERE e.run_id = r.id)
           ORDER BY r.as_of DESC, r.id DESC LIMIT 2"""
    ).fetchall()
    if not rows:
        rows = conn.execute("SELECT DISTINCT run_id FROM evaluations ORDER BY run_id DESC LIMIT 2").fetchall()
    ids = [r[0] for r in rows]
    return (ids[0] if ids else None, ids[1] if len(ids) > 1 else None)


def _rank_sql(column: str) -> sql.Composed:
    """The severity rank of a status column, as a CASE over STATUS_RANK."""
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(k), sql.Literal(v)) for k, v in STATUS_RANK.items()
    )
    return sql.SQL("CASE {} {} END").format(sql.SQL(column), whens)


_EVALUATION_SQL = sql.SQL("""
SELECT {evaluation}, e.as_of, e.run_id,
       t.kind, t.operator, t.value AS target_value, t.value_max, t.lead_agency, t.milestone_object,
       t.due_date, p.document_number, p.title AS plan_title, j.name AS jurisdiction_name,
       dj.name AS data_jurisdiction_name, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en,
       i.unit, prev.status AS prev_status, prev.headline_status AS prev_headline_status,
       prev.will_meet AS prev_will_meet, prev.current_value AS prev_value, prev.current_year AS prev_year
FROM evaluation_run_rows(%(latest)s, %(targets)s::text[]) e
LEFT JOIN targets t ON t.id = e.target_id
LEFT JOIN plans p ON p.id = e.plan_id
LEFT JOIN jurisdictions j ON j.id = e.jurisdiction_id
LEFT JOIN jurisdictions dj ON dj.id = e.data_jurisdiction_id
LEFT JOIN indicators i ON i.code = e.indicator_code
LEFT JOIN evaluation_run_rows(%(prev)s, %(targets)s::text[]) prev
       ON prev.target_id = e.target_id
      AND prev.jurisdiction_id = e.jurisdiction_id
      AND coalesce(prev.check_year, -1) = coalesce(e.check_year, -1)
WHERE (e.status IN ({behind}, 'milestone_overdue')
       OR e.headline_status IN ({behind})
       OR e.will_meet IS FALSE
       OR ({rank_latest}) > ({rank_prev}))
  AND (%(targets)s::text[] IS NULL OR e.target_id = ANY(%(targets)s::text[]))
ORDER BY e.plan_id, e.jurisdiction_id, e.indicator_code, e.target_year, e.check_year
""").format(
    # Every result column but the inputs (the alert texts never quote them).
    evaluation=sql.SQL(", ").join(sql.Identifier("e", c) for c in RESULT_COLUMNS if c != "inputs"),
    behind=sql.SQL(", ").join(sql.Literal(k) for k in BEHIND_STATUSES),
    rank_latest=_rank_sql("coalesce(e.headline_status, e.status)"),
    rank_prev=_rank_sql("prev.status"),
)


def headline_of(status: str, will_meet: bool | None, headline_status: str | None = None) -> str:
    """The headline verdict of an evaluation row: as recorded, else (rows recorded before the
    headline existed) by the same precedence from its status and projection."""
    if headline_status:
        return headline_status
    head, _ = formulas.headline(
        [status], [float("nan") if will_meet is None else float(will_meet)], [float("nan")]
    )
    return str(head[0])


def evaluation_findings(
    conn: psycopg.Connection, rules: Iterable[str] = EVALUATION_RULES, targets: list[str] | None = None
) -> list[Finding]:
    """The findings of the evaluation rules from the latest run (of these targets only, if given)."""
    wanted = set(rules)
    latest, prev = latest_runs(conn)
    if latest is None:
        return []
    base_url = get_settings().dashboard_base_url
    findings: list[Finding] = []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            _EVALUATION_SQL,
            {"latest": latest, "prev": prev if prev is not None else -1, "targets": targets},
        )
        for row in cur:
            row["headline"] = headline_of(row["status"], row["will_meet"], row["headline_status"])
            if row["prev_status"] is not None:
                row["prev_headline"] = headline_of(
                    row["prev_status"], row["prev_will_meet"], row["prev_headline_status"]
                )
            findings.extend(_findings_for_row(row, wanted, base_url))
    return findings


def _findings_for_row(row: dict[str, Any], wanted: set[str], base_url: str) -> list[Finding]:
    status = row["status"]
    headline = row["headline"]
    out: list[Finding] = []
    yearly = row["check_year"] is not None
    if "every_year_missed" in wanted and status == "missed" and yearly:
        out.append(_finding("every_year_missed", row, base_url, year=row["check_year"], severity="warning"))
    if "milestone_overdue" in wanted and status == "milestone_overdue":
        out.append(_finding("milestone_overdue", row, base_url, severity="critical"))
    # Exactly when the headline is behind (milestones have a rule of their own).
    if "behind_trajectory" in wanted and not yearly and headline in BEHIND_STATUSES:
        # Severity follows the ratio's verdict; a target behind only by its projection (or by a
        # missed year) is brought to notice without paging anyone.
        severity = {
            "deteriorating": "critical",
            "limited_progress": "warning",
            "needs_acceleration": "warning",
            "missed": "warning",
        }
        out.append(_finding("behind_trajectory", row, base_url, severity=severity.get(status, "info")))
    prev_rank = STATUS_RANK.get(row.get("prev_headline") or "")
    rank = STATUS_RANK.get(headline)
    # Milestones and every-year checks have rules of their own; a second notice would be noise.
    if (
        "status_worsened" in wanted
        and not yearly
        and not status.startswith("milestone_")
        and prev_rank is not None
        and rank is not None
        and rank > prev_rank
    ):
        out.append(_finding("status_worsened", row, base_url, severity="warning"))
    return out


def _target_text(row: dict[str, Any], *, vi: bool) -> str:
    unit = f" {row['unit']}" if row.get("unit") else ""
    if row.get("kind") == "milestone":
        obj = row.get("milestone_object") or row["indicator_code"]
        due = row.get("due_date")
        if vi:
            return f"hoàn thành {obj}" + (f" trước {due:%d/%m/%Y}" if due else "")
        return f"complete {obj}" + (f" by {due:%Y-%m-%d}" if due else "")
    if row.get("target_value") is None:
        return "—"
    op = OPERATOR_TEXT.get(row.get("operator") or "", row.get("operator") or "")
    value = fmt_num(row["target_value"], vi=vi)
    if row.get("value_max") is not None:
        value = f"{value}–{fmt_num(row['value_max'], vi=vi)}"
    if row.get("kind") == "growth":  # the target is a rate of growth, not an amount in the indicator's unit
        return f"tăng {op} {value} %/năm" if vi else f"growth {op} {value} % a year"
    return f"{op} {value}{unit}"


def _headline_reason(row: dict[str, Any], headline: str) -> tuple[str, str]:
    """Why the headline differs from the ratio's verdict (a sentence each), else ('', '')."""
    status = row["status"]
    if headline == status:
        return "", ""
    if headline == "missed":
        return (
            "Kết luận chung: có năm không đạt ngưỡng bắt buộc hằng năm.",
            "Headline: an every-year threshold was missed.",
        )
    return (
        f"Kết luận chung «{statuses.label_vi(headline)}» vì dự báo năm {row['target_year']} không đạt "
        f"mục tiêu, dù tỷ lệ tiến độ cho kết quả «{statuses.label_vi(status)}».",
        f"Headline '{statuses.label_en(headline)}' because the projection for {row['target_year']} misses "
        f"the target, although the progress ratio says '{statuses.label_en(status)}'.",
    )


def _lineage_text(row: dict[str, Any]) -> tuple[str, str]:
    """Which series the verdict was computed on, with names (a sentence each), else ('', '')."""
    lineage = row.get("lineage") or {}
    basis = row.get("series_basis") or lineage.get("basis")
    jname = row.get("jurisdiction_name") or row["jurisdiction_id"]
    dname = row.get("data_jurisdiction_name") or row.get("data_jurisdiction_id") or jname
    merger = lineage.get("merger") or {}
    on = merger.get("effective_on")
    when_vi = f" từ {date.fromisoformat(on):%d/%m/%Y}" if on else ""
    when_en = f" on {on}" if on else ""
    derived = lineage.get("derived_years") or []
    if basis == "successor_comparable":
        vi = (
            f"Chuỗi số liệu: {jname} đã hợp nhất vào {dname}{when_vi}; đánh giá trên chuỗi so sánh được "
            f"của {dname}, không ghép với số liệu của {jname}."
        )
        en = (
            f"Series: {jname} merged into {dname}{when_en}; judged on {dname}'s comparable series, never "
            f"spliced with {jname}'s figures."
        )
    elif basis == "own_until_ceased" and lineage.get("own_because") == "successor_series_too_short":
        vi = (
            f"Chuỗi số liệu: {jname} đã hợp nhất{when_vi}; chuỗi so sánh được của tỉnh mới chưa đủ hai năm "
            f"nên đánh giá trên số liệu của chính {jname} đến năm cuối cùng."
        )
        en = (
            f"Series: {jname} merged{when_en}; the new province's comparable series has fewer than two "
            f"years, so {jname} is judged on its own figures up to its last year."
        )
    elif basis == "own_until_ceased":
        vi = f"Chuỗi số liệu: chỉ tiêu số lượng của {jname} chỉ đánh giá trên số liệu của chính {jname}."
        en = f"Series: a count target of {jname}, judged on {jname}'s own figures only."
    elif derived:
        vi, en = f"Chuỗi số liệu của {dname}.", f"Series of {dname}."
    else:
        return "", ""
    if derived:
        years = ", ".join(str(y) for y in derived)
        vi += f" Các năm {years} được tính lại từ các tỉnh cũ."
        en += f" Years {years} rebuilt from the predecessor provinces."
    if lineage.get("not_derived"):
        vi += " Có năm không tính lại được (thiếu số liệu hoặc trọng số)."
        en += " Some years could not be rebuilt (missing figures or weights)."
    return vi, en


def _finding(
    rule: str, row: dict[str, Any], base_url: str, *, severity: str, year: int | None = None
) -> Finding:
    unit = f" {row['unit']}" if row.get("unit") else ""
    jname = row.get("jurisdiction_name") or row["jurisdiction_id"]
    iname_vi = row.get("indicator_name_vi") or row["indicator_code"]
    iname_en = row.get("indicator_name_en") or row["indicator_code"]
    T = row["target_year"]
    status = row["status"]
    cur = fmt_num(row["current_value"])
    cur_en = fmt_num(row["current_value"], vi=False)
    cy = row["current_year"]
    link = dashboard_link(base_url, row["plan_id"], row["jurisdiction_id"], row["indicator_code"])
    target_vi, target_en = _target_text(row, vi=True), _target_text(row, vi=False)

    if rule == "every_year_missed":
        vi = (
            f"{jname} — {iname_vi}: năm {year} không đạt chỉ tiêu hằng năm "
            f"({cur}{unit}, yêu cầu {target_vi} mỗi năm)."
        )
        en = f"{jname} — {iname_en}: {year} missed the every-year target ({cur_en}{unit}, needs {target_en})."
    elif rule == "milestone_overdue":
        vi = f"{jname} — {iname_vi}: quá hạn nhiệm vụ ({target_vi}), chưa có kết quả hoàn thành."
        en = f"{jname} — {iname_en}: milestone overdue ({target_en}), not reported done."
    else:
        will = {True: "đạt", False: "không đạt", None: "chưa xác định"}[row["will_meet"]]
        will_en = {True: "met", False: "missed", None: "unknown"}[row["will_meet"]]
        headline = row.get("headline") or status
        vi_parts = [
            f"{jname} — {iname_vi}: {statuses.label_vi(headline)}.",
            f"Hiện tại {cur}{unit} (năm {cy if cy is not None else '—'});",
            f"mục tiêu {target_vi} vào năm {T};",
        ]
        en_parts = [
            f"{jname} — {iname_en}: {statuses.label_en(headline)}.",
            f"Now {cur_en}{unit} ({cy if cy is not None else '—'});",
            f"target {target_en} by {T};",
        ]
        if row["expected_value"] is not None:
            vi_parts.append(f"theo lộ trình năm {cy} cần {fmt_num(row['expected_value'])}{unit};")
            en_parts.append(f"path value for {cy}: {fmt_num(row['expected_value'], vi=False)}{unit};")
        if row["projected_value"] is not None:
            vi_parts.append(f"dự báo năm {T}: {fmt_num(row['projected_value'])}{unit} ({will});")
            en_parts.append(f"projected {T}: {fmt_num(row['projected_value'], vi=False)}{unit} ({will_en});")
        if row["progress_ratio"] is not None:
            vi_parts.append(f"tỷ lệ tiến độ R = {fmt_num(row['progress_ratio'])}.")
            en_parts.append(f"progress ratio R = {fmt_num(row['progress_ratio'], vi=False)}.")
        why_vi, why_en = _headline_reason(row, headline)
        if why_vi:
            vi_parts.append(why_vi)
            en_parts.append(why_en)
        if rule == "status_worsened":
            prev = row.get("prev_headline") or row["prev_status"]
            vi_parts.insert(1, f"Xấu đi từ «{statuses.label_vi(prev)}» sang «{statuses.label_vi(headline)}».")
            en_parts.insert(
                1, f"Worsened from '{statuses.label_en(prev)}' to '{statuses.label_en(headline)}'."
            )
        vi, en = " ".join(vi_parts), " ".join(en_parts)
    flags = [f for f in (row.get("flags") or []) if f in FLAG_VI]
    if flags:
        vi += " Lưu ý: " + "; ".join(FLAG_VI[f] for f in flags) + "."
        en += " Note: " + ", ".join(flags) + "."
    line_vi, line_en = _lineage_text(row)
    if line_vi:
        vi += " " + line_vi
        en += " " + line_en

    labels = {
        "plan": row["plan_id"],
        "plan_document": row.get("document_number"),
        "jurisdiction": row["jurisdiction_id"],
        "jurisdiction_name": row.get("jurisdiction_name"),
        "data_jurisdiction": row.get("data_jurisdiction_id"),
        "indicator": row["indicator_code"],
        "indicator_name": row.get("indicator_name_vi"),
        "agency": row.get("lead_agency"),
        "target": row["target_id"],
        "target_year": str(T),
        "status": row.get("headline") or status,
    }
    detail = {
        "target_id": row["target_id"],
        "run_id": row["run_id"],
        "as_of": row["as_of"].isoformat() if row.get("as_of") else None,
        "status": row.get("headline") or status,
        "ratio_status": status,
        "headline_rule": row.get("headline_rule"),
        "series_basis": row.get("series_basis"),
        "previous_status": row.get("prev_headline") or row.get("prev_status"),
        "check_year": row["check_year"],
        "target_year": T,
        "target": target_vi,
        "target_en": target_en,
        "current_value": row["current_value"],
        "current_year": cy,
        "expected_value": row["expected_value"],
        "projected_value": row["projected_value"],
        "will_meet": row["will_meet"],
        "progress_ratio": row["progress_ratio"],
        "base_year": row["base_year"],
        "base_value": row["base_value"],
        "unit": row.get("unit"),
        "flags": list(row.get("flags") or []),
        "dashboard_url": link,
    }
    return Finding(
        rule=rule,
        scope=row["plan_id"],
        jurisdiction_id=row["jurisdiction_id"],
        subject=row["indicator_code"],
        year=year if year is not None else T,
        severity=severity,
        summary_vi=vi,
        summary_en=en,
        labels={k: v for k, v in labels.items() if v is not None},
        detail=detail,
        plan_id=row["plan_id"],
        indicator_code=row["indicator_code"],
        target_id=row["target_id"],
    )


# --- data staleness ---------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def next_release(period_type: str, last_period: date, lag: timedelta) -> tuple[date, date]:
    """(start of the period after `last_period`, the day its figures are due): that period's end + lag."""
    months = PERIOD_MONTHS[period_type]
    nxt = add_months(last_period, months)
    return nxt, add_months(nxt, months) + lag


def local_date(now: datetime) -> date:
    """The calendar day in Việt Nam: deadlines and releases are dated in local time."""
    return now.astimezone(vietnam_time.TZ).date() if now.tzinfo else now.date()


def stale_findings(conn: psycopg.Connection, now: datetime) -> list[Finding]:
    today = local_date(now)
    base_url = get_settings().dashboard_base_url
    findings: list[Finding] = []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT o.source_id, o.indicator_code, o.period_type, max(o.period_start) AS last_period,
                      max(o.loaded_at) AS last_loaded_at, count(DISTINCT o.jurisdiction_id) AS jurisdictions,
                      s.title, s.publisher, s.expected_release_lag AS lag,
                      i.name_vi, i.name_en
               FROM observations o
               JOIN sources s ON s.id = o.source_id
               LEFT JOIN indicators i ON i.code = o.indicator_code
               WHERE s.expected_release_lag IS NOT NULL AND o.period_type IN ('Y', 'H', 'Q', 'M')
                 AND o.loaded_at <= %s
               GROUP BY o.source_id, o.indicator_code, o.period_type, s.title, s.publisher,
                        s.expected_release_lag, i.name_vi, i.name_en
               ORDER BY o.source_id, o.indicator_code, o.period_type""",
            (now,),
        )
        for row in cur:
            nxt, due = next_release(row["period_type"], row["last_period"], row["lag"])
            if today < due:
                continue
            late_days = (today - due).days
            label = format_period(row["period_type"], nxt)
            last_label = format_period(row["period_type"], row["last_period"])
            iname_vi = row["name_vi"] or row["indicator_code"]
            iname_en = row["name_en"] or row["indicator_code"]
            loaded = row["last_loaded_at"]
            vi = (
                f"Chưa có số liệu {label} của «{iname_vi}» từ nguồn {row['title']} "
                f"(dự kiến công bố trước {due:%d/%m/%Y}, trễ {late_days} ngày). "
                f"Kỳ mới nhất: {last_label}, nạp lúc {loaded:%d/%m/%Y %H:%M}."
            )
            en = (
                f"No {label} figure for '{iname_en}' from {row['title']} "
                f"(expected by {due:%Y-%m-%d}, {late_days} days late). "
                f"Latest period {last_label}, loaded {loaded:%Y-%m-%d %H:%M}."
            )
            findings.append(
                Finding(
                    rule="data_stale",
                    scope=row["source_id"],
                    jurisdiction_id=None,
                    subject=row["indicator_code"],
                    year=nxt.year,
                    instance=label,
                    severity="warning" if late_days >= 90 else "info",
                    summary_vi=vi,
                    summary_en=en,
                    labels={
                        "source": row["source_id"],
                        "publisher": row["publisher"],
                        "indicator": row["indicator_code"],
                        "indicator_name": row["name_vi"],
                        "period": label,
                    },
                    detail={
                        "source_id": row["source_id"],
                        "period_type": row["period_type"],
                        "last_period": row["last_period"].isoformat(),
                        "last_loaded_at": loaded.isoformat(),
                        "expected_period": label,
                        "due_on": due.isoformat(),
                        "days_late": late_days,
                        "jurisdictions": row["jurisdictions"],
                        "dashboard_url": dashboard_link(base_url, None, None, row["indicator_code"]),
                    },
                    indicator_code=row["indicator_code"],
                )
            )
    return findings


# --- reporting deadlines ----------------------------------------------------------------------------


def _parse_due(text: str, year: int) -> date | None:
    text = text.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        month, day = (int(x) for x in text.split("-"))
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))
    except ValueError:
        return None


def next_due_date(
    recurrence: str, due_dates: Iterable[str], first_year: int | None, today: date
) -> date | None:
    """The first due date on or after `today`, or None (a past one-off, or no dates)."""
    candidates: list[date] = []
    dates = list(due_dates)
    if recurrence == "once":
        candidates = [
            d for t in dates if (d := _parse_due(t, today.year)) is not None and len(t.strip()) == 10
        ]
    else:
        step = RECURRENCE_YEARS.get(recurrence, 1)
        for year in range(today.year, today.year + step + 1):
            if first_year is not None and year < first_year:
                continue
            if step > 1 and (first_year is None or (year - first_year) % step):
                continue
            candidates += [d for t in dates if (d := _parse_due(t, year)) is not None]
    upcoming = sorted(d for d in candidates if d >= today)
    return upcoming[0] if upcoming else None


def deadline_findings(
    conn: psycopg.Connection, today: date, *, warning_days: int | None = None
) -> list[Finding]:
    """report_due findings: obligations whose next due date is within `warning_days` (default
    CHITIEU_DEADLINE_WARNING_DAYS) of `today`, counting today itself."""
    settings = get_settings()
    horizon = settings.deadline_warning_days if warning_days is None else warning_days
    findings: list[Finding] = []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT ro.plan_id, ro.code, ro.description, ro.recurrence, ro.due_dates, ro.first_year,
                      ro.recipient, p.document_number, p.title AS plan_title, p.jurisdiction_id,
                      j.name AS jurisdiction_name
               FROM reporting_obligations ro
               JOIN plans p ON p.id = ro.plan_id
               LEFT JOIN jurisdictions j ON j.id = p.jurisdiction_id
               ORDER BY ro.plan_id, ro.code"""
        )
        for row in cur:
            due = next_due_date(row["recurrence"], row["due_dates"] or [], row["first_year"], today)
            if due is None:
                continue
            days_left = (due - today).days
            if days_left > horizon:
                continue
            jname = row["jurisdiction_name"] or row["jurisdiction_id"]
            recipient = f" gửi {row['recipient']}" if row["recipient"] else ""
            recipient_en = f" to {row['recipient']}" if row["recipient"] else ""
            when_vi = "hôm nay" if days_left == 0 else f"còn {days_left} ngày"
            vi = (
                f"{jname}: hạn báo cáo «{row['description']}»{recipient} là {due:%d/%m/%Y} ({when_vi}) "
                f"theo {row['document_number']}."
            )
            en = (
                f"{jname}: report '{row['code']}'{recipient_en} due {due:%Y-%m-%d} "
                f"({days_left} days left) under {row['document_number']}."
            )
            findings.append(
                Finding(
                    rule="report_due",
                    scope=row["plan_id"],
                    jurisdiction_id=row["jurisdiction_id"],
                    subject=row["code"],
                    year=due.year,
                    instance=due.isoformat(),
                    severity="critical" if days_left <= 3 else "warning",
                    summary_vi=vi,
                    summary_en=en,
                    labels={
                        "plan": row["plan_id"],
                        "plan_document": row["document_number"],
                        "jurisdiction": row["jurisdiction_id"],
                        "jurisdiction_name": row["jurisdiction_name"],
                        "obligation": row["code"],
                        "recipient": row["recipient"],
                    },
                    detail={
                        "obligation": row["code"],
                        "description": row["description"],
                        "recurrence": row["recurrence"],
                        "due_on": due.isoformat(),
                        "days_left": days_left,
                        "recipient": row["recipient"],
                    },
                    plan_id=row["plan_id"],
                )
            )
    return findings


# --- all rules --------------------------------------------------------------------------------------


def collect_findings(
    conn: psycopg.Connection,
    now: datetime,
    rules: Iterable[str] | None = None,
    targets: list[str] | None = None,
) -> list[Finding]:
    """Every finding of the given rules (default all), one per fingerprint (the most severe); with
    `targets`, the evaluation rules' findings of those targets only."""
    wanted = set(RULES if rules is None else rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise ValueError(f"unknown alert rules: {', '.join(sorted(unknown))}")
    found: list[Finding] = []
    if wanted & set(EVALUATION_RULES):
        found += evaluation_findings(conn, wanted & set(EVALUATION_RULES), targets)
    if "data_stale" in wanted:
        found += stale_findings(conn, now)
    if "report_due" in wanted:
        found += deadline_findings(conn, local_date(now))
    return dedupe(found)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    by_key: dict[str, Finding] = {}
    for f in findings:
        key = f.fingerprint
        by_key[key] = worst(by_key[key], f) if key in by_key else f
    return list(by_key.values())
