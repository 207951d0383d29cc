"""Sending one message through apprise (email, Slack, Telegram, MS Teams, JSON webhook...).

Every message carries its notice id (stable across retries of the same notice), so that a receiver
can drop a copy it already has: webhooks (json, xml, form) get it as the `X-Chitieu-Notice-Id`
header and the `notice_id` field of their payload, e-mail as that header, every other kind (chat
services, whose APIs take no such key) as the last line of the text. Each send has a connect and a
read timeout (CHITIEU_NOTIFY_TIMEOUT_SECONDS, CHITIEU_NOTIFY_TIMEOUTS per kind, or the channel URL's own
`cto`/`rto`). A send that timed out after the request went out is `unknown`: the receiver may well have it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import apprise

from chitieu.alerts.channels import MissingSecret, expand_env, redact, referenced_values
from chitieu.settings import get_settings

NOTICE_HEADER = "X-Chitieu-Notice-Id"
WEBHOOK_KINDS = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
MAIL_KINDS = frozenset({"mailto", "mailtos"})

NOTIFY_TYPES = {
    "critical": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "info": apprise.NotifyType.INFO,
}


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None
    permanent: bool = False  # retrying cannot help (a malformed URL)
    unknown: bool = False  # timed out waiting for the answer: the receiver may have the message


def kind_of(url: str) -> str:
    return url.partition("://")[0].lower()


def timeout_for(kind: str) -> float:
    settings = get_settings()
    return float(settings.notify_timeouts.get(kind, settings.notify_timeout_seconds))


def with_notice(url: str, body: str, notice_id: str | None) -> tuple[str, str]:
    """The URL with its timeouts and the notice id where the kind can carry it; the body otherwise."""
    kind = kind_of(url)
    query = url.partition("?")[2]
    given = {part.partition("=")[0] for part in query.split("&") if part}
    seconds = f"{timeout_for(kind):g}"
    params = {name: seconds for name in ("cto", "rto") if name not in given}
    if notice_id is not None:
        if kind in WEBHOOK_KINDS or kind in MAIL_KINDS:
            params["+" + NOTICE_HEADER] = notice_id
            if kind in WEBHOOK_KINDS:
                params[":notice_id"] = notice_id
        else:
            body = f"{body}\n\nMã thông báo / notice id: {notice_id}"
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    return url, body


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


def deliver(url: str, subject: str, body: str, payload: dict[str, Any]) -> Delivery:
    """Expand `${ENV}` references, send, and report; the expanded URL is never returned or stored."""
    try:
        expanded = expand_env(url)
    except MissingSecret as exc:
        return Delivery(
            False,
            f"thiếu biến môi trường {exc.name} cho kênh / missing environment variable {exc.name} "
            f"for channel {redact(url)}",
        )
    secrets = referenced_values(url)
    expanded, body = with_notice(expanded, body, payload.get("notice_id"))
    sender = apprise.Apprise()
    if not sender.add(expanded):
        return Delivery(
            False,
            _scrub(f"URL kênh không hợp lệ / invalid or unsupported channel URL: {redact(url)}", secrets),
            permanent=True,
        )
    if payload.get("event") == "resolved":
        notify_type = apprise.NotifyType.SUCCESS
    else:
        notify_type = NOTIFY_TYPES.get(str(payload.get("severity")), apprise.NotifyType.INFO)
    # DEBUG: apprise names the socket error (which timeout) only at that level.
    with apprise.LogCapture(  # type: ignore[no-untyped-call]  # apprise's constructor is unannotated
        level=logging.DEBUG, fmt="%(levelname)s %(message)s"
    ) as logs:
        ok = sender.notify(
            body=body, title=subject, notify_type=notify_type, body_format=apprise.NotifyFormat.TEXT
        )
        captured = logs.getvalue().strip().splitlines()
    if ok:
        return Delivery(True)
    warnings = [line.partition(" ")[2] for line in captured if line.startswith(("WARNING", "ERROR"))]
    reason = warnings[-1] if warnings else "apprise returned failure"
    if _answer_timed_out(captured):
        text = f"không rõ đã nhận chưa (hết giờ chờ trả lời) / outcome unknown (no answer in time): {reason}"
        return Delivery(False, _scrub(text, secrets)[:2000], unknown=True)
    return Delivery(False, _scrub(f"gửi thất bại / delivery failed: {reason}", secrets)[:2000])


def _answer_timed_out(log_lines: list[str]) -> bool:
    """Sent, then no answer in time (a read timeout). A connect timeout is not: nothing went out."""
    for line in log_lines:
        lowered = line.lower()
        if "timed out" in lowered and "connect timeout" not in lowered and "connecttimeout" not in lowered:
            return True
    return False
