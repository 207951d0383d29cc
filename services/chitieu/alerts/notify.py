"""Sending one message through apprise (email, Slack, Telegram, MS Teams, JSON webhook...)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import apprise

from chitieu.alerts.routes import MissingSecret, expand_env, redact, referenced_values

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
            f"thiếu biến môi trường {exc.args[0]} cho kênh / missing environment variable {exc.args[0]} "
            f"for channel {redact(url)}",
        )
    secrets = referenced_values(url)
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
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
        ok = sender.notify(
            body=body, title=subject, notify_type=notify_type, body_format=apprise.NotifyFormat.TEXT
        )
        captured = logs.getvalue().strip()
    if ok:
        return Delivery(True)
    reason = captured.splitlines()[-1] if captured else "apprise returned failure"
    return Delivery(False, _scrub(f"gửi thất bại / delivery failed: {reason}", secrets)[:2000])
