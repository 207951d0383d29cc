"""Silences: label matchers with an expiry. A silenced alert keeps its state; only its notices stop.
Matching is exact equality on every matcher (the alert's labels jsonb contains the matchers)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chitieu.errors import ChitieuError
from chitieu.textnorm import nfc

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LABEL_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class SilenceError(ChitieuError, ValueError):
    """Bad silence input."""

    code = "bad-silence"
    http_status = 422  # the matchers or duration the client sent


def parse_duration(text: str) -> timedelta:
    """'30d' -> 30 days; units m, h, d, w."""
    m = _DURATION_RE.match(text)
    if not m or int(m.group(1)) <= 0:
        raise SilenceError(
            f"invalid duration '{text}' (e.g. 90m, 12h, 30d, 2w)",
            f"thời hạn '{text}' không hợp lệ (vd. 90m, 12h, 30d, 2w)",
        )
    return timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})


def parse_matchers(items: list[str]) -> dict[str, str]:
    """['jurisdiction=new-56', 'rule=data_stale'] -> {...}; values are NFC-normalized."""
    if not items:
        raise SilenceError("at least one --match is required", "cần ít nhất một điều kiện --match")
    matchers: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), nfc(value.strip())
        if not sep or not _LABEL_RE.match(key) or not value:
            raise SilenceError(
                f"matcher '{item}' must look like label=value",
                f"điều kiện '{item}' phải có dạng nhãn=giá_trị",
            )
        matchers[key] = value
    return matchers


def create_silence(
    conn: psycopg.Connection,
    matchers: dict[str, str],
    expires_at: datetime,
    *,
    comment: str | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> int:
    if not matchers:
        raise SilenceError("at least one matcher is required", "cần ít nhất một điều kiện")
    row = conn.execute(
        """INSERT INTO alert_silences (matchers, comment, created_by, created_at, expires_at)
           VALUES (%s, %s, %s, coalesce(%s, now()), %s) RETURNING id""",
        (Jsonb({k: nfc(v) for k, v in matchers.items()}), comment, created_by, now, expires_at),
    ).fetchone()
    assert row is not None
    return int(row[0])


def remove_silence(conn: psycopg.Connection, silence_id: int, now: datetime | None = None) -> bool:
    """Mark a silence removed; the next alert sync notifies what it was holding back."""
    cur = conn.execute(
        "UPDATE alert_silences SET removed_at = coalesce(%s, now()) WHERE id = %s AND removed_at IS NULL",
        (now, silence_id),
    )
    return cur.rowcount == 1


def list_silences(
    conn: psycopg.Connection, now: datetime, *, include_inactive: bool = False
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT s.*, (s.removed_at IS NULL AND s.expires_at > %(now)s) AS active,
                      (SELECT count(*) FROM alerts a
                       WHERE a.silenced_by = s.id AND a.state = 'firing') AS holding
               FROM alert_silences s
               WHERE %(all)s OR (s.removed_at IS NULL AND s.expires_at > %(now)s)
               ORDER BY s.id""",
            {"now": now, "all": include_inactive},
        )
        return cur.fetchall()
