"""Alert lifecycle: findings open, refresh, re-open and resolve alerts, and enqueue their notices.

States: `firing` and `resolved`. One alert per fingerprint (rule|plan|jurisdiction|indicator|year),
kept forever; each firing stretch is an *episode*. In one transaction `sync_alerts`:

1. opens an alert for a new fingerprint, re-opens a resolved one (episode + 1), refreshes a firing
   one (last_seen_at, figures), and resolves a firing alert of the synced rules with no finding;
2. marks each firing alert silenced or not (an active silence whose matchers its labels contain);
3. enqueues, for alerts not silenced: the first notice of the episode (`firing`, or `deadline` for
   report_due), a `repeat` once `repeat_interval` has passed since the last notice, and a
   `resolved` notice for an alert resolved now that had been notified in its episode (never for
   report_due: a date that passed is not news).

Dedup keys come from (alert id, episode, event, notices sent so far, route, channel) and every
timestamp written is `now`, so a re-run with the same inputs and the same `now` changes nothing.
A silenced alert is notified on the first sync after its silence expires or is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chitieu.alerts import outbox
from chitieu.alerts.channels import Route, load_routes, select_routes
from chitieu.alerts.findings import RULES, Finding
from chitieu.alerts.messages import render
from chitieu.alerts.rules import EVALUATION_RULES, collect_findings, dedupe
from chitieu.settings import get_settings

SYNC_LOCK_KEY = 5_700_035  # advisory lock: one alert sync at a time


@dataclass
class SyncSummary:
    findings: int = 0
    opened: int = 0
    reopened: int = 0
    refreshed: int = 0
    resolved: int = 0
    firing: int = 0
    notifications: int = 0
    suppressed: int = 0
    unrouted: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


_STAGE_COLUMNS = (
    "fingerprint",
    "rule",
    "plan_id",
    "jurisdiction_id",
    "indicator_code",
    "target_year",
    "target_id",
    "severity",
    "summary_vi",
    "summary_en",
    "labels",
    "detail",
)


def _stage(conn: psycopg.Connection, findings: list[Finding]) -> None:
    conn.execute(
        """CREATE TEMP TABLE _alert_findings (
               fingerprint text PRIMARY KEY, rule text, plan_id text, jurisdiction_id text,
               indicator_code text, target_year integer, target_id text, severity text,
               summary_vi text, summary_en text, labels jsonb, detail jsonb) ON COMMIT DROP"""
    )
    with conn.cursor().copy(f"COPY _alert_findings ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as copy:
        for f in findings:
            copy.write_row(
                (
                    f.fingerprint,
                    f.rule,
                    f.plan_id,
                    f.jurisdiction_id,
                    f.indicator_code,
                    f.year,
                    f.target_id,
                    f.severity,
                    f.summary_vi,
                    f.summary_en,
                    Jsonb(f.all_labels()),
                    Jsonb(f.detail),
                )
            )


def _event(
    conn: psycopg.Connection,
    rows: Iterable[tuple[int, int]],
    now: datetime,
    event: str,
    details: list[dict[str, Any]] | None = None,
) -> None:
    """Record one lifecycle event per (alert id, episode), in one statement."""
    pairs = list(rows)
    if not pairs:
        return
    conn.execute(
        """INSERT INTO alert_events (alert_id, at, episode, event, detail)
           SELECT u.alert_id, %s, u.episode, %s, coalesce(d.value, '{}'::jsonb)
           FROM unnest(%s::bigint[], %s::integer[]) WITH ORDINALITY AS u(alert_id, episode, n)
           LEFT JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS d(value, n) ON d.n = u.n
           ORDER BY u.n""",
        (now, event, [p[0] for p in pairs], [p[1] for p in pairs], Jsonb(details or [])),
    )


def sync_alerts(
    conn: psycopg.Connection,
    now: datetime,
    findings: Iterable[Finding] | None = None,
    *,
    rules: Iterable[str] | None = None,
    routes: list[Route] | None = None,
    evaluated_by: int | None = None,
) -> SyncSummary:
    """Bring the alerts table and the outbox in line with the findings at `now`.

    `rules` are the rules this sync speaks for: their firing alerts without a finding resolve.
    Default: every rule when `findings` is None (they are then computed here), else the rules
    present in `findings` (so a partial list never resolves other rules' alerts).
    `evaluated_by`: a partial evaluation run; the sync then speaks for the evaluation rules and the
    targets that run evaluated only (the others' results, hence their findings, did not change).
    """
    given = None if findings is None else list(findings)
    targets = None if evaluated_by is None else _evaluated_targets(conn, evaluated_by)
    if targets is not None:
        rules = [r for r in (rules if rules is not None else EVALUATION_RULES) if r in EVALUATION_RULES]
    scope = _scope(given, rules)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # a naive time is taken as UTC, never as the server's zone
    settings = get_settings()
    repeat = timedelta(days=settings.alert_repeat_interval_days)
    route_list = load_routes() if routes is None else routes
    summary = SyncSummary()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SYNC_LOCK_KEY,))
        found = collect_findings(conn, now, scope, targets) if given is None else dedupe(given)
        outside = {f.rule for f in found} - set(scope)
        if outside:
            raise ValueError(f"findings of rules outside this sync's scope: {', '.join(sorted(outside))}")
        summary.findings = len(found)
        _stage(conn, found)
        params = {"now": now, "repeat": repeat, "scope": scope, "targets": targets}
        resolved_ids = _apply_findings(conn, params, summary)
        _mark_silenced(conn, now, resolved_ids)
        summary.notifications, summary.suppressed, summary.unrouted = _notify(
            conn, now, resolved_ids, route_list
        )
        row = conn.execute("SELECT count(*) FROM alerts WHERE state = 'firing'").fetchone()
        summary.firing = row[0] if row else 0
    return summary


def _evaluated_targets(conn: psycopg.Connection, run_id: int) -> list[str] | None:
    """The targets a partial run evaluated; None when the run is a full one (every target)."""
    row = conn.execute("SELECT base_run_id FROM evaluation_runs WHERE id = %s", (run_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    rows = conn.execute("SELECT DISTINCT target_id FROM evaluations WHERE run_id = %s", (run_id,)).fetchall()
    return [r[0] for r in rows]


def _scope(findings: list[Finding] | None, rules: Iterable[str] | None) -> list[str]:
    """The rules a sync speaks for (see sync_alerts)."""
    if findings is None:
        scope = list(RULES if rules is None else rules)
    else:
        scope = list(rules) if rules is not None else sorted({f.rule for f in findings})
    unknown = set(scope) - set(RULES)
    if unknown:
        raise ValueError(f"unknown alert rules: {', '.join(sorted(unknown))}")
    return scope


def _apply_findings(conn: psycopg.Connection, params: dict[str, Any], summary: SyncSummary) -> list[int]:
    """Open, re-open, refresh and resolve alerts from the staged findings; the ids resolved now."""
    now = params["now"]
    opened = conn.execute(
        """INSERT INTO alerts (fingerprint, rule, plan_id, jurisdiction_id, indicator_code, target_year,
                               target_id, state, severity, summary_vi, summary_en, labels, detail,
                               first_fired_at, last_seen_at, opened_at, repeat_interval)
           SELECT f.fingerprint, f.rule, f.plan_id, f.jurisdiction_id, f.indicator_code, f.target_year,
                  f.target_id, 'firing', f.severity, f.summary_vi, f.summary_en, f.labels, f.detail,
                  %(now)s, %(now)s, %(now)s, %(repeat)s
           FROM _alert_findings f
           WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.fingerprint = f.fingerprint)
           ORDER BY f.fingerprint
           RETURNING id, episode""",
        params,
    ).fetchall()
    _event(conn, opened, now, "opened")
    summary.opened = len(opened)

    reopened = conn.execute(
        """UPDATE alerts a SET state = 'firing', episode = a.episode + 1, notify_count = 0,
                  opened_at = %(now)s, last_seen_at = %(now)s, resolved_at = NULL,
                  severity = f.severity, summary_vi = f.summary_vi, summary_en = f.summary_en,
                  labels = f.labels, detail = f.detail, target_id = f.target_id,
                  repeat_interval = %(repeat)s
           FROM _alert_findings f
           WHERE a.fingerprint = f.fingerprint AND a.state = 'resolved'
           RETURNING a.id, a.episode""",
        params,
    ).fetchall()
    _event(conn, reopened, now, "reopened")
    summary.reopened = len(reopened)
    # Alerts opened or re-opened above already equal their finding and were seen at `now`,
    # so the refresh below leaves them alone.

    refreshed = conn.execute(
        """UPDATE alerts a SET last_seen_at = greatest(a.last_seen_at, %(now)s), severity = f.severity,
                  summary_vi = f.summary_vi, summary_en = f.summary_en, labels = f.labels,
                  detail = f.detail, target_id = f.target_id, repeat_interval = %(repeat)s
           FROM _alert_findings f
           WHERE a.fingerprint = f.fingerprint AND a.state = 'firing'
             AND (a.last_seen_at < %(now)s OR a.severity IS DISTINCT FROM f.severity
                  OR a.summary_vi IS DISTINCT FROM f.summary_vi OR a.labels IS DISTINCT FROM f.labels
                  OR a.detail IS DISTINCT FROM f.detail OR a.target_id IS DISTINCT FROM f.target_id
                  OR a.repeat_interval <> %(repeat)s)
           RETURNING a.id""",
        params,
    ).fetchall()
    summary.refreshed = len(refreshed)

    resolved = conn.execute(
        """UPDATE alerts a SET state = 'resolved', resolved_at = %(now)s
           WHERE a.state = 'firing' AND a.rule = ANY(%(scope)s)
             AND (%(targets)s::text[] IS NULL OR a.target_id = ANY(%(targets)s::text[]))
             AND NOT EXISTS (SELECT 1 FROM _alert_findings f WHERE f.fingerprint = a.fingerprint)
           RETURNING a.id, a.episode""",
        params,
    ).fetchall()
    _event(conn, resolved, now, "resolved")
    summary.resolved = len(resolved)
    return [r[0] for r in resolved]


def _mark_silenced(conn: psycopg.Connection, now: datetime, resolved_ids: list[int]) -> None:
    """Remember which silence holds each live alert; note when one starts to."""
    silenced = conn.execute(
        """WITH m AS (
               SELECT a.id, (SELECT s.id FROM alert_silences s
                             WHERE s.removed_at IS NULL AND s.expires_at > %(now)s
                               AND a.labels @> s.matchers
                             ORDER BY s.expires_at DESC, s.id LIMIT 1) AS sid
               FROM alerts a
               WHERE a.state = 'firing' OR a.id IN (SELECT unnest(%(resolved)s::bigint[])))
           UPDATE alerts a SET silenced_by = m.sid FROM m
           WHERE a.id = m.id AND a.silenced_by IS DISTINCT FROM m.sid
           RETURNING a.id, a.episode, a.silenced_by""",
        {"now": now, "resolved": resolved_ids},
    ).fetchall()
    held = [(aid, ep, sid) for aid, ep, sid in silenced if sid is not None]
    _event(conn, [(a, e) for a, e, _ in held], now, "suppressed", [{"silence_id": sid} for _, _, sid in held])


def _notify(
    conn: psycopg.Connection, now: datetime, resolved_ids: list[int], routes: list[Route]
) -> tuple[int, int, int]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT a.*, (a.silenced_by IS NOT NULL) AS is_silenced FROM alerts a
               WHERE (a.state = 'firing'
                      AND (a.notify_count = 0 OR a.last_notified_at + a.repeat_interval <= %(now)s))
                  OR (a.id IN (SELECT unnest(%(resolved)s::bigint[])) AND a.notify_count > 0
                      AND a.rule <> 'report_due')
               ORDER BY a.id""",
            {"now": now, "resolved": resolved_ids},
        )
        due = cur.fetchall()
    suppressed = unrouted = 0
    messages: list[outbox.Message] = []
    notified: list[tuple[int, int]] = []
    details: list[dict[str, Any]] = []
    for alert in due:
        if alert["is_silenced"]:
            suppressed += 1
            continue
        if alert["state"] == "resolved":
            event = "resolved"
        elif alert["notify_count"] == 0:
            event = "deadline" if alert["rule"] == "report_due" else "firing"
        else:
            event = "repeat"
        chosen = select_routes(routes, alert["labels"] or {})
        if not chosen:
            unrouted += 1
        subject, body = render(alert, event, now)
        payload = {
            "alert_id": alert["id"],
            "fingerprint": alert["fingerprint"],
            "rule": alert["rule"],
            "event": event,
            "severity": alert["severity"],
            "episode": alert["episode"],
            "labels": alert["labels"],
            "detail": alert["detail"],
        }
        prefix = f"alert:{alert['id']}:ep{alert['episode']}:{event}:{alert['notify_count']}"
        messages += outbox.messages_for(chosen, prefix, alert["id"], event, subject, body, payload)
        notified.append((alert["id"], alert["episode"]))
        details.append({"event": event, "routes": [r.name for r in chosen]})
    enqueued = len(outbox.enqueue(conn, messages, now))
    if notified:
        conn.execute(
            """UPDATE alerts SET last_notified_at = %s,
                      notify_count = notify_count + CASE WHEN state = 'firing' THEN 1 ELSE 0 END
               WHERE id IN (SELECT unnest(%s::bigint[]))""",
            (now, [n[0] for n in notified]),
        )
        _event(conn, notified, now, "notified", details)
    return enqueued, suppressed, unrouted
