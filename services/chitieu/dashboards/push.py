"""Push folder, datasource, dashboards, alert rules and annotations to a Grafana server (grafana-client).

Idempotent: each object is read first (by its stable uid) and written only when what Grafana holds
differs from what we would send, so a second push changes nothing. Annotations carry a `key:...`
tag naming the event they record (alert opened/resolved, data revision batch); events whose key
is already present in Grafana are not written again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError
from psycopg.conninfo import conninfo_to_dict

from chitieu.dashboards import alert_rules, build, common
from chitieu.settings import Settings

KEY_PREFIX = "key:"


@dataclass
class PushSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    annotations_added: int = 0
    annotations_present: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.annotations_added)

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "annotations_added": self.annotations_added,
            "annotations_present": self.annotations_present,
        }


@dataclass(frozen=True)
class Annotation:
    key: str
    time_ms: int
    kind: str  # alert-opened | alert-resolved | data-revision
    text: str

    @property
    def tags(self) -> list[str]:
        return [common.ANNOTATION_TAG, self.kind, KEY_PREFIX + self.key]


def client(settings: Settings) -> GrafanaApi:
    token = settings.grafana_token.get_secret_value() if settings.grafana_token else None
    api: GrafanaApi = GrafanaApi.from_url(settings.grafana_url, credential=token, timeout=30.0)
    return api


def contains(actual: Any, desired: Any) -> bool:
    """True when `actual` holds everything in `desired` (Grafana adds ids, versions and defaults)."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(contains(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return bool(actual == desired)


def _get(call: Any, *args: Any) -> Any | None:
    try:
        return call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise


def datasource_payload(settings: Settings) -> dict[str, Any]:
    params = conninfo_to_dict(settings.dsn())
    host = settings.grafana_db_host or f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}"
    database = settings.grafana_db_name or str(params.get("dbname", "chitieu"))
    return {
        "name": common.DATASOURCE_NAME,
        "uid": common.DATASOURCE_UID,
        "type": common.PLUGIN,
        "access": "proxy",
        "url": host,
        "user": settings.readonly_db_user,
        "isDefault": True,
        "jsonData": {
            "database": database,
            "sslmode": "disable",
            "postgresVersion": 1500,
            "timescaledb": True,
            "maxOpenConns": 10,
            "timeInterval": "1d",
        },
    }


def push_folder(api: GrafanaApi, title: str, summary: PushSummary) -> str:
    """Make sure our folder exists; returns its uid.

    Grafana's file provisioning can only name a rule group's folder by title, and creates it with a
    random uid when none of that title exists: a folder of our title is therefore ours, whatever its
    uid. Only when there is none is one created, with the uid `chitieu`.
    """
    name = f"folder/{common.FOLDER_UID}"
    existing = _get(api.folder.get_folder, common.FOLDER_UID)
    if existing is not None:
        if existing.get("title") != title:
            api.folder.update_folder(common.FOLDER_UID, title=title, overwrite=True)
            summary.updated.append(name)
        else:
            summary.unchanged.append(name)
        return common.FOLDER_UID
    for folder in api.folder.get_all_folders() or []:
        if folder.get("title") == title:
            summary.unchanged.append(f"folder/{folder['uid']}")
            return str(folder["uid"])
    api.folder.create_folder(title, uid=common.FOLDER_UID)
    summary.created.append(name)
    return common.FOLDER_UID


def push_datasource(api: GrafanaApi, settings: Settings, summary: PushSummary) -> None:
    name = f"datasource/{common.DATASOURCE_UID}"
    desired = datasource_payload(settings)
    # The password is write-only in Grafana: it is sent when the datasource is written, and a
    # changed password alone does not trigger a write (rotate it with provisioning or the UI).
    secret = {"secureJsonData": {"password": settings.readonly_db_password.get_secret_value()}}
    existing = _get(api.datasource.get_datasource_by_uid, common.DATASOURCE_UID)
    if existing is None:
        api.datasource.create_datasource({**desired, **secret})
        summary.created.append(name)
    elif not contains(existing, desired):
        api.datasource.update_datasource_by_uid(common.DATASOURCE_UID, {**desired, **secret})
        summary.updated.append(name)
    else:
        summary.unchanged.append(name)


def push_dashboards(api: GrafanaApi, folder_uid: str, summary: PushSummary) -> None:
    for uid, model in build.dashboard_models().items():
        name = f"dashboard/{uid}"
        existing = _get(api.dashboard.get_dashboard, uid)
        if existing is not None:
            current = dict(existing.get("dashboard") or {})
            same_folder = (existing.get("meta") or {}).get("folderUid") == folder_uid
            if same_folder and contains(current, model):
                summary.unchanged.append(name)
                continue
        api.dashboard.update_dashboard(
            {
                "dashboard": {**model, "id": None},
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "chitieu dashboards push",
            }
        )
        (summary.created if existing is None else summary.updated).append(name)


def push_alert_rules(api: GrafanaApi, folder_uid: str, summary: PushSummary) -> None:
    """Each rule by uid, then the group's evaluation interval.

    A rule created through the API joins its group with the group's interval, or Grafana's default
    (1 minute) for a new group; only PUT on the rule group sets it. That PUT replaces the whole
    group, so it carries every rule.
    """
    rules = alert_rules.api_rules(folder_uid)
    group_existed = _get(api.alertingprovisioning.get_rule_group, folder_uid, alert_rules.GROUP) is not None
    for rule in rules:
        name = f"alert-rule/{rule['uid']}"
        existing = _get(api.alertingprovisioning.get_alertrule, rule["uid"])
        if existing is None:
            api.alertingprovisioning.create_alertrule(rule)
            summary.created.append(name)
        elif not contains(existing, rule):
            api.alertingprovisioning.update_alertrule(rule["uid"], rule)
            summary.updated.append(name)
        else:
            summary.unchanged.append(name)
    name = f"rule-group/{alert_rules.GROUP}"
    group = _get(api.alertingprovisioning.get_rule_group, folder_uid, alert_rules.GROUP) or {}
    if group.get("interval") == alert_rules.GROUP_INTERVAL_S:
        summary.unchanged.append(name)
        return
    api.alertingprovisioning.update_rule_group(
        folder_uid,
        alert_rules.GROUP,
        {
            "title": alert_rules.GROUP,
            "folderUid": folder_uid,
            "interval": alert_rules.GROUP_INTERVAL_S,
            "rules": rules,
        },
    )
    (summary.updated if group_existed else summary.created).append(name)


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def annotation_events(conn: psycopg.Connection) -> list[Annotation]:
    """Alert openings and resolutions, and load batches that revised published figures."""
    events: list[Annotation] = []
    has_events = conn.execute("SELECT to_regclass('alert_events') IS NOT NULL").fetchone()
    if has_events and has_events[0]:
        # The alert lifecycle keeps one row per transition: every episode gets its own marks.
        rows = conn.execute(
            """SELECT e.id, e.event, e.at, a.id, a.rule, a.summary_vi
               FROM alert_events e JOIN alerts a ON a.id = e.alert_id
               WHERE e.event IN ('opened', 'reopened', 'resolved')
               ORDER BY e.id"""
        ).fetchall()
        for event_id, event, at, alert_id, rule, summary_vi in rows:
            kind = "alert-resolved" if event == "resolved" else "alert-opened"
            verb = "Đã hết" if event == "resolved" else "Cảnh báo"
            events.append(
                Annotation(
                    f"alert-event:{event_id}", _ms(at), kind, f"{verb} [{rule}] #{alert_id}: {summary_vi}"
                )
            )
    else:
        rows = conn.execute(
            "SELECT id, rule, summary_vi, first_fired_at, resolved_at, state FROM alerts ORDER BY id"
        ).fetchall()
        for alert_id, rule, summary_vi, fired, resolved, state in rows:
            events.append(
                Annotation(
                    f"alert-opened:{alert_id}:{_ms(fired)}",
                    _ms(fired),
                    "alert-opened",
                    f"Cảnh báo [{rule}] #{alert_id}: {summary_vi}",
                )
            )
            if state == "resolved" and resolved is not None:
                events.append(
                    Annotation(
                        f"alert-resolved:{alert_id}:{_ms(resolved)}",
                        _ms(resolved),
                        "alert-resolved",
                        f"Đã hết [{rule}] #{alert_id}: {summary_vi}",
                    )
                )
    for batch_id, source_id, file_name, revised, at in conn.execute(
        """SELECT id, source_id, file_name, rows_revised, coalesce(finished_at, started_at)
           FROM load_batches WHERE rows_revised > 0 ORDER BY id"""
    ).fetchall():
        events.append(
            Annotation(
                f"revision:batch:{batch_id}",
                _ms(at),
                "data-revision",
                f"Hiệu chỉnh số liệu: {revised} số liệu đã công bố được sửa (nguồn {source_id}, "
                f"tệp {file_name or '-'}, lô #{batch_id}) / {revised} published figures revised.",
            )
        )
    return events


def push_annotations(api: GrafanaApi, conn: psycopg.Connection, summary: PushSummary) -> None:
    present: set[str] = set()
    found = api.annotations.find_annotations(
        tags=[common.ANNOTATION_TAG], ann_type="annotation", limit=100000
    )
    for item in found or []:
        for tag in item.get("tags") or []:
            if tag.startswith(KEY_PREFIX):
                present.add(tag[len(KEY_PREFIX) :])
    for event in annotation_events(conn):
        if event.key in present:
            summary.annotations_present += 1
            continue
        api.annotations.add_annotation(
            time_from=event.time_ms, time_to=event.time_ms, tags=event.tags, text=event.text
        )
        present.add(event.key)
        summary.annotations_added += 1


def push(api: GrafanaApi, settings: Settings, conn: psycopg.Connection | None = None) -> PushSummary:
    """Make Grafana hold our folder, datasource, dashboards and alert rules (+ annotations if conn)."""
    summary = PushSummary()
    folder_uid = push_folder(api, settings.grafana_folder, summary)
    push_datasource(api, settings, summary)
    push_dashboards(api, folder_uid, summary)
    push_alert_rules(api, folder_uid, summary)
    if conn is not None:
        push_annotations(api, conn, summary)
    return summary
