"""Notification texts, in Vietnamese first (the English summary follows for non-Vietnamese readers)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from chitieu import vietnam_time
from chitieu.alerts.findings import RULE_NAMES_EN, RULE_NAMES_VI, dashboard_link
from chitieu.settings import get_settings

EVENT_TAG_VI = {
    "firing": "CẢNH BÁO",
    "repeat": "NHẮC LẠI",
    "resolved": "ĐÃ HẾT CẢNH BÁO",
    "deadline": "HẠN BÁO CÁO",
    "test": "THỬ NGHIỆM",
    "digest": "TỔNG HỢP",
}
EVENT_COUNT_VI = {
    "firing": "cảnh báo mới",
    "repeat": "nhắc lại",
    "resolved": "đã hết cảnh báo",
    "deadline": "hạn báo cáo",
}
EVENT_COUNT_EN = {
    "firing": "new alerts",
    "repeat": "reminders",
    "resolved": "resolved",
    "deadline": "deadlines",
}
SEVERITY_ORDER = ("info", "warning", "critical")
SEVERITY_VI = {"info": "thông tin", "warning": "cảnh báo", "critical": "nghiêm trọng"}


def _when(ts: datetime | None) -> str:
    return ts.astimezone(vietnam_time.TZ).strftime("%d/%m/%Y %H:%M") if ts else "—"


def render(alert: dict[str, Any], event: str, now: datetime) -> tuple[str, str]:
    """(subject, body) of a notice about one alert row (as read from the alerts table)."""
    labels: dict[str, str] = alert.get("labels") or {}
    detail: dict[str, Any] = alert.get("detail") or {}
    rule = alert["rule"]
    where = labels.get("jurisdiction_name") or labels.get("jurisdiction") or labels.get("source") or ""
    what = labels.get("indicator_name") or labels.get("indicator") or labels.get("obligation") or ""
    subject = f"[Chỉ Tiêu][{EVENT_TAG_VI.get(event, event.upper())}] {RULE_NAMES_VI.get(rule, rule)}"
    subject += "".join(f" — {part}" for part in (where, what) if part)
    if alert.get("target_year") and rule != "report_due":
        subject += f" ({alert['target_year']})"

    link = detail.get("dashboard_url") or dashboard_link(
        get_settings().dashboard_base_url,
        alert.get("plan_id"),
        alert.get("jurisdiction_id"),
        alert.get("indicator_code"),
    )
    lines: list[str] = []
    if event == "resolved":
        lines.append(f"Điều kiện cảnh báo không còn từ {_when(alert.get('resolved_at') or now)}.")
        lines.append(f"Nội dung cảnh báo trước đó: {alert['summary_vi']}")
    else:
        if event == "repeat":
            lines.append(f"Cảnh báo vẫn còn hiệu lực từ {_when(alert.get('opened_at'))}.")
        lines.append(alert["summary_vi"])
    lines.append("")
    lines.append(
        f"Quy tắc: {RULE_NAMES_VI.get(rule, rule)} ({rule}) · Mức độ: "
        f"{SEVERITY_VI.get(alert['severity'], alert['severity'])}"
    )
    if labels.get("plan"):
        lines.append(f"Kế hoạch: {labels.get('plan_document', '')} ({labels['plan']})".replace(" ()", ""))
    if labels.get("agency"):
        lines.append(f"Cơ quan chủ trì: {labels['agency']}")
    if labels.get("source"):
        lines.append(f"Nguồn số liệu: {labels['source']}")
    lines.append(f"Mở lúc: {_when(alert.get('opened_at'))} · Mã cảnh báo: {alert['id']}")
    if rule != "report_due":
        lines.append(f"Xem chi tiết: {link}")
    lines.append("")
    lines.append(
        f"— {RULE_NAMES_EN.get(rule, rule)}"
        + (" (resolved)" if event == "resolved" else "")
        + f": {alert.get('summary_en') or ''}"
    )
    return subject, "\n".join(lines)


def render_test(route: str, now: datetime) -> tuple[str, str]:
    subject = f"[Chỉ Tiêu][{EVENT_TAG_VI['test']}] Kiểm tra tuyến thông báo «{route}»"
    body = (
        f"Đây là tin thử của hệ thống Chỉ Tiêu gửi qua tuyến «{route}» lúc {_when(now)}. "
        "Nếu bạn nhận được tin này, kênh đã được cấu hình đúng.\n\n"
        f"— Test message from Chỉ Tiêu through route '{route}'."
    )
    return subject, body


def render_digest(route: str, items: list[dict[str, Any]], now: datetime) -> tuple[str, str, dict[str, Any]]:
    """(subject, body, payload) of one message carrying several outbox rows of one channel: each
    notice's subject and first line, so the reader sees them all and opens the dashboard for more."""
    counts = Counter(str(i["event"]) for i in items)
    parts_vi = ", ".join(f"{n} {EVENT_COUNT_VI.get(e, e)}" for e, n in counts.most_common())
    parts_en = ", ".join(f"{n} {EVENT_COUNT_EN.get(e, e)}" for e, n in counts.most_common())
    subject = f"[Chỉ Tiêu][{EVENT_TAG_VI['digest']}] {len(items)} thông báo — tuyến «{route}»"
    lines = [f"{len(items)} thông báo đến hạn lúc {_when(now)} được gộp thành một tin ({parts_vi}):", ""]
    for item in items:
        lines.append(f"• {item['subject'].removeprefix('[Chỉ Tiêu]')}")
        first = next((ln for ln in str(item["body"]).splitlines() if ln.strip()), "")
        if first:
            lines.append(f"  {first}")
    lines += ["", f"Xem bảng điều khiển: {get_settings().dashboard_base_url}", ""]
    lines.append(f"— Digest of {len(items)} notices for route '{route}' ({parts_en}); each is listed above.")
    severities = [str((i.get("payload") or {}).get("severity", "info")) for i in items]
    severity = max(severities, key=lambda x: SEVERITY_ORDER.index(x) if x in SEVERITY_ORDER else 0)
    event = "resolved" if set(counts) == {"resolved"} else "digest"
    return subject, "\n".join(lines), {"event": event, "severity": severity, "count": len(items)}
