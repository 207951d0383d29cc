"""The status vocabulary: the one place where a status's key, wording, colour and weight are defined.

Every surface that names a status (CLI, API, exports, alert texts, dashboards and the SQL views they
read) takes its words from here; a test fails when any of them uses another wording.

`group` is the headline category leadership counts (achieved, on track, behind, no data, not yet
due); `severity` orders rows worst first (higher is worse), so a target that is behind always sorts
above one that merely has no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from psycopg import sql

Group = Literal["achieved", "on_track", "behind", "no_data", "not_due"]


@dataclass(frozen=True)
class Status:
    key: str
    label_vi: str
    label_en: str
    color: str  # a Grafana colour name
    severity: int
    group: Group
    # what the status means, for help texts and legends (Vietnamese, then English)
    meaning_vi: str
    meaning_en: str


STATUSES: tuple[Status, ...] = (
    Status(
        "achieved",
        "Đã đạt",
        "Achieved",
        "green",
        0,
        "achieved",
        "Số liệu mới nhất đã đạt mục tiêu.",
        "The latest figure meets the target.",
    ),
    Status(
        "milestone_done",
        "Đã hoàn thành",
        "Milestone done",
        "green",
        0,
        "achieved",
        "Mốc đã được ghi nhận hoàn thành.",
        "The milestone has been recorded as done.",
    ),
    Status(
        "on_track",
        "Đúng lộ trình",
        "On track",
        "semi-dark-green",
        1,
        "on_track",
        "Tiến độ đủ để đạt mục tiêu đúng hạn.",
        "Progress is fast enough to meet the target in time.",
    ),
    Status(
        "milestone_pending",
        "Chưa đến hạn",
        "Not yet due",
        "blue",
        1,
        "not_due",
        "Mốc chưa đến hạn.",
        "The milestone is not yet due.",
    ),
    Status(
        "insufficient_data",
        "Chưa đủ số liệu",
        "Insufficient data",
        "text",
        3,
        "no_data",
        "Có số liệu nhưng chưa đủ để đánh giá (một năm, trái dấu, thiếu số liệu so sánh).",
        "Figures exist but cannot be assessed (one year, opposite signs, no comparison figure).",
    ),
    Status(
        "no_data",
        "Chưa có số liệu",
        "No data",
        "text",
        3,
        "no_data",
        "Chưa có số liệu nào cho chỉ tiêu này.",
        "No figure has been loaded for this target.",
    ),
    Status(
        "needs_acceleration",
        "Cần đẩy nhanh",
        "Needs acceleration",
        "yellow",
        4,
        "behind",
        "Có tiến bộ nhưng chưa đủ nhanh để đạt mục tiêu.",
        "Progressing, but not fast enough.",
    ),
    Status(
        "limited_progress",
        "Tiến triển chậm",
        "Limited progress",
        "orange",
        5,
        "behind",
        "Tiến bộ rất chậm so với yêu cầu.",
        "Progress is far slower than required.",
    ),
    Status(
        "deteriorating",
        "Đi xuống",
        "Deteriorating",
        "red",
        6,
        "behind",
        "Số liệu đang đi ngược mục tiêu.",
        "The figures are moving away from the target.",
    ),
    Status(
        "missed",
        "Không đạt trong năm",
        "Missed that year",
        "dark-red",
        6,
        "behind",
        "Không đạt ngưỡng bắt buộc hằng năm.",
        "The every-year threshold was not met.",
    ),
    Status(
        "milestone_overdue",
        "Quá hạn",
        "Milestone overdue",
        "dark-red",
        7,
        "behind",
        "Mốc đã quá hạn mà chưa hoàn thành.",
        "The milestone is past due and not done.",
    ),
)

BY_KEY: dict[str, Status] = {s.key: s for s in STATUSES}
KEYS: tuple[str, ...] = tuple(BY_KEY)

GROUP_LABELS: dict[Group, tuple[str, str]] = {
    "achieved": ("Đã đạt", "Achieved"),
    "on_track": ("Đúng lộ trình", "On track"),
    "behind": ("Chậm so với lộ trình", "Behind"),
    "no_data": ("Chưa có số liệu", "No data"),
    "not_due": ("Chưa đến hạn", "Not yet due"),
}


def status(key: str) -> Status:
    """The status named `key`; an unknown key is a programming error, not a label to invent."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown status {key!r}; known: {', '.join(KEYS)}") from None


def label_vi(key: str) -> str:
    return status(key).label_vi


def label_en(key: str) -> str:
    return status(key).label_en


def sql_values() -> str:
    """The vocabulary as a SQL VALUES list (status, label_vi, label_en, color, severity, grp), for the
    views that the dashboards read; a test checks the view against this."""

    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    rows = (
        f"({q(s.key)}, {q(s.label_vi)}, {q(s.label_en)}, {q(s.color)}, {s.severity}, {q(s.group)})"
        for s in STATUSES
    )
    return "VALUES " + ",\n       ".join(rows)


VOCABULARY_COLUMNS = ("key", "label_vi", "label_en", "color", "severity", "grp", "meaning_vi", "meaning_en")


def vocabulary_rows() -> list[tuple[str, str, str, str, int, str, str, str]]:
    """The rows of the SQL table status_vocabulary, in VOCABULARY_COLUMNS order."""
    return [
        (s.key, s.label_vi, s.label_en, s.color, s.severity, s.group, s.meaning_vi, s.meaning_en)
        for s in STATUSES
    ]


def sync_vocabulary(conn: Any) -> None:
    """Make the table status_vocabulary equal to this module (run by `chitieu db migrate`)."""
    comma = sql.SQL(", ")
    upsert = sql.SQL(
        "INSERT INTO status_vocabulary ({columns}) VALUES ({placeholders}) "
        "ON CONFLICT (key) DO UPDATE SET {updates}"
    ).format(
        columns=comma.join(map(sql.Identifier, VOCABULARY_COLUMNS)),
        placeholders=comma.join([sql.Placeholder()] * len(VOCABULARY_COLUMNS)),
        updates=comma.join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in VOCABULARY_COLUMNS[1:]
        ),
    )
    with conn.cursor() as cur:
        cur.execute("DELETE FROM status_vocabulary WHERE NOT (key = ANY(%s))", (list(KEYS),))
        cur.executemany(upsert, vocabulary_rows())
