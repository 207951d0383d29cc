"""The notification outbox: rows are enqueued inside the alert sync's transaction and delivered by
`drain`, one row per short transaction, locked with FOR UPDATE SKIP LOCKED so two drainers never
pick the same row. A failed delivery is retried with exponential backoff until CHITIEU_NOTIFY_MAX_ATTEMPTS,
then marked dead; nothing is ever deleted, so a channel that is down loses nothing.

Delivery is at-least-once: a notice is sent again when its first send may have arrived without our
knowing (no answer within the timeout, or a crash between the send and the commit of its row).
Every copy carries the same notice id (`notice_id`, derived from the row's dedup_key), which is
what a receiver de-duplicates on; see notify.py for where each channel kind carries it. A send
whose outcome is unknown is retried no sooner than CHITIEU_NOTIFY_UNKNOWN_BACKOFF_SECONDS. The dedup_key
(alert, episode, event, sequence, route, channel) keeps re-runs of the sync from enqueuing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chitieu.alerts.channels import Route, channel_id
from chitieu.alerts.messages import render_digest
from chitieu.alerts.notify import Delivery, deliver
from chitieu.settings import Settings, get_settings

MAX_BACKOFF = timedelta(days=1)
_NOTICE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:chitieu:notice")


def notice_id(dedup_keys: Iterable[str]) -> str:
    """The id every copy of a notice carries: the same for every retry of the same row (or the same
    rows of a digest), different for any other notice."""
    return str(uuid.uuid5(_NOTICE_NAMESPACE, "\n".join(sorted(dedup_keys))))


@dataclass(frozen=True)
class Message:
    dedup_key: str
    alert_id: int | None
    event: str
    channel: str
    target_url: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class DrainSummary:
    picked: int = 0
    sent: int = 0
    retried: int = 0
    unknown: int = 0  # rows whose send got no answer in time (retried later, also counted in retried)
    dead: int = 0
    digests: int = 0  # deliveries that carried several rows
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "picked": self.picked,
            "sent": self.sent,
            "digests": self.digests,
            "retried": self.retried,
            "unknown": self.unknown,
            "dead": self.dead,
            "errors": self.errors,
        }


def messages_for(
    routes: Iterable[Route],
    key_prefix: str,
    alert_id: int | None,
    event: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
) -> list[Message]:
    """One message per (route, channel); the channel URL is stored unexpanded (secrets stay in env)."""
    out = []
    for route in routes:
        for url in route.channels:
            out.append(
                Message(
                    dedup_key=f"{key_prefix}:{route.name}:{channel_id(url)}",
                    alert_id=alert_id,
                    event=event,
                    channel=route.name,
                    target_url=url,
                    subject=subject,
                    body=body,
                    payload=payload,
                )
            )
    return out


_STAGE_SQL = """CREATE TEMP TABLE IF NOT EXISTS _outbox_stage (
    ord integer, dedup_key text, alert_id bigint, event text, channel text, target_url text,
    subject text, body text, payload jsonb)"""


def enqueue(conn: psycopg.Connection, messages: Iterable[Message], now: datetime) -> list[int]:
    """Insert messages (COPY through a staging table); an existing dedup_key is left alone.
    Returns the ids of the rows inserted."""
    batch = list(messages)
    if not batch:
        return []
    with conn.transaction():
        conn.execute(_STAGE_SQL)
        conn.execute("DELETE FROM _outbox_stage")
        with conn.cursor().copy(
            "COPY _outbox_stage (ord, dedup_key, alert_id, event, channel, target_url, subject, body,"
            " payload) FROM STDIN"
        ) as copy:
            for i, m in enumerate(batch):
                copy.write_row(
                    (
                        i,
                        m.dedup_key,
                        m.alert_id,
                        m.event,
                        m.channel,
                        m.target_url,
                        m.subject,
                        m.body,
                        Jsonb(m.payload),
                    )
                )
        rows = conn.execute(
            """INSERT INTO notification_outbox
                   (dedup_key, alert_id, event, channel, target_url, subject, body, payload,
                    next_attempt_at, created_at)
               SELECT DISTINCT ON (dedup_key) dedup_key, alert_id, event, channel, target_url, subject, body,
                      payload, %(now)s, %(now)s
               FROM _outbox_stage ORDER BY dedup_key, ord
               ON CONFLICT (dedup_key) DO NOTHING
               RETURNING id""",
            {"now": now},
        ).fetchall()
        conn.execute("DELETE FROM _outbox_stage")
    return sorted(r[0] for r in rows)


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """Wait after the `attempts`-th failure: base, 2·base, 4·base ... capped at one day."""
    return min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


DIGEST_MAX_ITEMS = 50  # notices in one digest; a longer backlog goes out as several

_PICK = """SELECT id, dedup_key, event, target_url, subject, body, payload, attempts, channel
           FROM notification_outbox
           WHERE status = 'pending' AND next_attempt_at <= %(now)s
             AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))"""


def drain(
    conn: psycopg.Connection,
    now: datetime,
    *,
    limit: int = 100,
    only_ids: Iterable[int] | None = None,
    sender: Callable[[str, str, str, dict[str, Any]], Delivery] = deliver,
) -> DrainSummary:
    """Make up to `limit` deliveries of the rows due at `now`. Pass a connection that is not inside a
    transaction (autocommit is best) so that each delivery commits on its own.

    When CHITIEU_NOTIFY_DIGEST_THRESHOLD or more notices are due for one channel (a first sync, a backlog
    after an outage) they go out as one digest (up to DIGEST_MAX_ITEMS each); every row keeps its
    own status, so nothing is lost or sent twice whichever way it went."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    settings = get_settings()
    threshold = settings.notify_digest_threshold
    params = {"now": now, "ids": list(only_ids) if only_ids is not None else None}
    summary = DrainSummary()
    for _ in range(limit):
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_PICK + " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED", params)
            row = cur.fetchone()
            if row is None:
                break
            rows = [row]
            if threshold > 1 and row["event"] != "test":
                cur.execute(
                    _PICK
                    + """ AND id <> %(id)s AND channel = %(channel)s AND target_url = %(url)s
                          AND event <> 'test'
                        ORDER BY next_attempt_at, id LIMIT %(more)s FOR UPDATE SKIP LOCKED""",
                    {
                        **params,
                        "id": row["id"],
                        "channel": row["channel"],
                        "url": row["target_url"],
                        "more": DIGEST_MAX_ITEMS - 1,
                    },
                )
                more = cur.fetchall()
                if len(more) + 1 >= threshold:
                    rows += more
            summary.picked += len(rows)
            if len(rows) == 1:
                subject, body, payload = row["subject"], row["body"], row["payload"] or {}
            else:
                subject, body, payload = render_digest(row["channel"], rows, now)
                summary.digests += 1
            payload = {**payload, "notice_id": notice_id(r["dedup_key"] for r in rows)}
            result = sender(row["target_url"], subject, body, payload)
            _record(cur, rows, result, now, settings, summary)
    return summary


def _record(
    cur: psycopg.Cursor[Any],
    rows: list[dict[str, Any]],
    result: Delivery,
    now: datetime,
    settings: Settings,
    summary: DrainSummary,
) -> None:
    """The outcome of one delivery, on every row it carried."""
    if result.ok:
        cur.execute(
            """UPDATE notification_outbox SET status = 'sent', attempts = attempts + 1, sent_at = %s,
                      last_error = NULL WHERE id = ANY(%s)""",
            (now, [r["id"] for r in rows]),
        )
        summary.sent += len(rows)
        return
    ids = ", ".join(f"#{r['id']}" for r in rows[:5]) + (f" (+{len(rows) - 5})" if len(rows) > 5 else "")
    summary.errors.append(f"{ids} {rows[0]['channel']}: {result.error}")
    updates = []
    for r in rows:
        attempts = r["attempts"] + 1
        dead = result.permanent or attempts >= settings.notify_max_attempts
        wait = backoff(attempts, settings.notify_backoff_seconds)
        if result.unknown:
            wait = max(wait, timedelta(seconds=settings.notify_unknown_backoff_seconds))
            summary.unknown += not dead
        later = now + wait
        updates.append(
            ("dead" if dead else "pending", attempts, result.error, None if dead else later, r["id"])
        )
        summary.dead += dead
        summary.retried += not dead
    cur.executemany(
        """UPDATE notification_outbox SET status = %s, attempts = %s, last_error = %s,
                  next_attempt_at = coalesce(%s, next_attempt_at) WHERE id = %s""",
        updates,
    )


def retry_dead(conn: psycopg.Connection, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Put dead rows back in the queue (after a channel was fixed); returns how many."""
    id_list = list(ids) if ids is not None else None
    cur = conn.execute(
        """UPDATE notification_outbox SET status = 'pending', attempts = 0, next_attempt_at = %(now)s
           WHERE status = 'dead' AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))""",
        {"now": now, "ids": id_list},
    )
    return cur.rowcount


def send_test(
    conn: psycopg.Connection, routes: Iterable[Route], now: datetime
) -> tuple[list[int], DrainSummary]:
    """Enqueue a test message on every channel of `routes` and deliver those rows now.
    Each call is its own event, so its dedup key carries the time it was asked for."""
    from chitieu.alerts.messages import render_test

    messages: list[Message] = []
    for route in routes:
        subject, body = render_test(route.name, now)
        payload = {"event": "test", "route": route.name, "severity": "info"}
        messages += messages_for([route], f"test:{now.isoformat()}", None, "test", subject, body, payload)
    with conn.transaction():
        ids = enqueue(conn, messages, now)
    return ids, drain(conn, now, limit=max(len(ids), 1), only_ids=ids)
