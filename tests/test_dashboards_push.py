"""`chitieu dashboards push` against a local stand-in for Grafana's HTTP API on 127.0.0.1.

The stand-in keeps what it is sent and answers like Grafana does (404 for unknown uids, ids and
versions added on read, write-only secrets left out), and records every request.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest
from pydantic import SecretStr

from chitieu.dashboards import alert_rules, build, common
from chitieu.dashboards import push as pusher
from chitieu.settings import Settings


class FakeGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.annotations: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, Any, str | None]] = []
        self._ids = 0

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    @property
    def writes(self) -> list[tuple[str, str, Any, str | None]]:
        return [r for r in self.requests if r[0] != "GET"]

    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "folders"]:
            if method == "GET" and len(parts) == 3:
                found = self.folders.get(parts[2])
                return (200, found) if found else (404, {"message": "folder not found"})
            if method == "POST":
                self.folders[body["uid"]] = {"id": self.next_id(), "uid": body["uid"], "title": body["title"]}
                return 200, self.folders[body["uid"]]
            if method == "PUT":
                self.folders[parts[2]]["title"] = body["title"]
                return 200, self.folders[parts[2]]
        if parts[:2] == ["api", "datasources"]:
            if method == "GET" and parts[2] == "uid":
                found = self.datasources.get(parts[3])
                if not found:
                    return 404, {"message": "Data source not found"}
                shown = {k: v for k, v in found.items() if k != "secureJsonData"}
                return 200, {**shown, "secureJsonFields": {"password": True}, "readOnly": False, "orgId": 1}
            if method == "POST":
                self.datasources[body["uid"]] = {**body, "id": self.next_id()}
                return 200, {"id": self.datasources[body["uid"]]["id"], "message": "Datasource added"}
            if method == "PUT" and parts[2] == "uid":
                self.datasources[parts[3]] = {**body, "id": self.datasources[parts[3]]["id"]}
                return 200, {"message": "Datasource updated"}
        if parts[:3] == ["api", "dashboards", "uid"] and method == "GET":
            found = self.dashboards.get(parts[3])
            if not found:
                return 404, {"message": "Dashboard not found"}
            return 200, {
                "dashboard": copy.deepcopy(found["dashboard"]),
                "meta": {"folderUid": found["folderUid"]},
            }
        if parts[:3] == ["api", "dashboards", "db"] and method == "POST":
            dash = copy.deepcopy(body["dashboard"])
            previous = self.dashboards.get(dash["uid"])
            dash["id"] = previous["dashboard"]["id"] if previous else self.next_id()
            dash["version"] = previous["dashboard"]["version"] + 1 if previous else 1
            self.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": body.get("folderUid")}
            return 200, {
                "status": "success",
                "uid": dash["uid"],
                "version": dash["version"],
                "id": dash["id"],
            }
        if parts[:2] == ["api", "search"] and method == "GET":
            return 200, [
                {"uid": uid, "type": "dash-db", "title": d["dashboard"]["title"]}
                for uid, d in self.dashboards.items()
            ]
        if parts[:4] == ["api", "v1", "provisioning", "alert-rules"]:
            if method == "GET" and len(parts) == 5:
                found = self.rules.get(parts[4])
                return (
                    (200, {**found, "id": 7, "updated": "2026-01-01T00:00:00Z", "provenance": "api"})
                    if found
                    else (404, {"message": "rule not found"})
                )
            if method == "POST":
                self.rules[body["uid"]] = body
                return 201, body
            if method == "PUT":
                self.rules[parts[4]] = body
                return 200, body
        if parts[:2] == ["api", "annotations"]:
            if method == "GET":
                wanted = set(query.get("tags", []))
                return 200, [a for a in self.annotations if wanted <= set(a["tags"])]
            if method == "POST":
                self.annotations.append({**body, "id": self.next_id()})
                return 200, {"id": self.annotations[-1]["id"], "message": "Annotation added"}
        return 404, {"message": f"not implemented: {method} {path}"}


@pytest.fixture()
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.requests.append((self.command, self.path, body, self.headers.get("Authorization")))
            status, payload = fake.handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _settings(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        grafana_url=url,
        grafana_token=SecretStr("glsa_test_token"),
        database_url="postgresql://chitieu:pw@db.internal:5432/chitieu",
        grafana_db_host="timescaledb:5432",
        readonly_db_password=SecretStr("ro-secret"),
    )


def test_first_push_creates_everything_with_stable_uids(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = _settings(url)
    summary = pusher.push(pusher.client(settings), settings)

    assert summary.updated == [] and summary.unchanged == []
    assert set(summary.created) == (
        {f"folder/{common.FOLDER_UID}", f"datasource/{common.DATASOURCE_UID}"}
        | {f"dashboard/{uid}" for uid in build.dashboard_models()}
        | {f"alert-rule/{r.uid}" for r in alert_rules.RULES}
    )
    assert all(auth == "Bearer glsa_test_token" for *_, auth in fake.requests)
    assert fake.folders["chitieu"]["title"] == "Chỉ Tiêu"

    ds = fake.datasources[common.DATASOURCE_UID]
    assert ds["type"] == "grafana-postgresql-datasource" and ds["url"] == "timescaledb:5432"
    assert ds["user"] == "grafana_reader" and ds["secureJsonData"] == {"password": "ro-secret"}
    assert ds["jsonData"]["timescaledb"] is True and ds["jsonData"]["database"] == "chitieu"

    posted = [
        body for method, path, body, _ in fake.requests if method == "POST" and path == "/api/dashboards/db"
    ]
    assert sorted(b["dashboard"]["uid"] for b in posted) == sorted(build.dashboard_models())
    for body in posted:
        assert body["folderUid"] == "chitieu" and body["overwrite"] is True
        assert body["dashboard"] | {"id": None} == build.dashboard_models()[body["dashboard"]["uid"]] | {
            "id": None
        }

    for spec in alert_rules.RULES:
        rule = fake.rules[spec.uid]
        assert rule["folderUID"] == "chitieu" and rule["condition"] == "C"
        assert rule["data"][0]["datasourceUid"] == common.DATASOURCE_UID
        assert rule["labels"]["rule"] == spec.rule


def test_second_push_changes_nothing(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = _settings(url)
    pusher.push(pusher.client(settings), settings)
    writes_before = len(fake.writes)
    versions = {uid: d["dashboard"]["version"] for uid, d in fake.dashboards.items()}

    again = pusher.push(pusher.client(settings), settings)

    assert not again.changed and again.created == [] and again.updated == []
    assert len(fake.writes) == writes_before, fake.writes[writes_before:]
    assert {uid: d["dashboard"]["version"] for uid, d in fake.dashboards.items()} == versions


def test_push_repairs_what_was_changed_in_grafana(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = _settings(url)
    pusher.push(pusher.client(settings), settings)
    fake.dashboards["chitieu-overview"]["dashboard"]["title"] = "edited in the UI"
    fake.rules["chitieu-data-stale"]["for"] = "5m"
    fake.datasources[common.DATASOURCE_UID]["jsonData"]["timescaledb"] = False

    summary = pusher.push(pusher.client(settings), settings)

    assert sorted(summary.updated) == [
        "alert-rule/chitieu-data-stale",
        "dashboard/chitieu-overview",
        f"datasource/{common.DATASOURCE_UID}",
    ]
    assert summary.created == []
    assert fake.dashboards["chitieu-overview"]["dashboard"]["title"] == "Chỉ Tiêu – Tổng quan lãnh đạo"
    assert fake.dashboards["chitieu-overview"]["dashboard"]["version"] == 2
    assert fake.rules["chitieu-data-stale"]["for"] == "0s"
    assert fake.datasources[common.DATASOURCE_UID]["jsonData"]["timescaledb"] is True


@pytest.mark.db
def test_annotations_for_alerts_and_revisions_are_written_once(
    grafana: tuple[FakeGrafana, str], db: psycopg.Connection
) -> None:
    fake, url = grafana
    settings = _settings(url)
    fired = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    resolved = fired + timedelta(days=20)
    alert_id = db.execute(
        """INSERT INTO alerts (fingerprint, rule, plan_id, state, summary_vi, first_fired_at, last_seen_at,
                               resolved_at)
           VALUES ('behind_trajectory|p|j|i|2030', 'behind_trajectory', 'p', 'resolved',
               'Chậm so với lộ trình',
                   %s, %s, %s) RETURNING id""",
        (fired, resolved, resolved),
    ).fetchone()[0]  # type: ignore[index]
    db.execute(  # alert_events is part of the schema (035): no conditional path
        """INSERT INTO alert_events (alert_id, at, episode, event) VALUES
           (%(a)s, %(f)s, 1, 'opened'), (%(a)s, %(f)s, 1, 'notified'), (%(a)s, %(r)s, 1, 'resolved')""",
        {"a": alert_id, "f": fired, "r": resolved},
    )
    db.execute(
        """INSERT INTO load_batches (source_id, file_name, fetched_at, started_at, finished_at, status,
            rows_revised)
           VALUES ('gso', 'a.json', %(t)s, %(t)s, %(t)s, 'loaded', 0),
                  ('gso', 'b.json', %(t)s, %(t)s, %(t)s, 'loaded', 3)""",
        {"t": fired},
    )

    first = pusher.push(pusher.client(settings), settings, db)
    assert first.annotations_added == 3 and first.annotations_present == 0
    kinds = sorted(tag for a in fake.annotations for tag in a["tags"] if tag.startswith(("alert-", "data-")))
    assert kinds == ["alert-opened", "alert-resolved", "data-revision"]
    assert all("chitieu" in a["tags"] for a in fake.annotations)
    times = sorted(a["time"] for a in fake.annotations if "data-revision" not in a["tags"])
    assert times == [int(fired.timestamp() * 1000), int(resolved.timestamp() * 1000)]
    revision = next(a for a in fake.annotations if "data-revision" in a["tags"])
    assert "3" in revision["text"] and "b.json" in revision["text"]

    second = pusher.push(pusher.client(settings), settings, db)
    assert second.annotations_added == 0 and second.annotations_present == 3
    assert len(fake.annotations) == 3
    assert not second.changed


@pytest.mark.db
def test_cli_push_twice(
    grafana: tuple[FakeGrafana, str], db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from chitieu.cli import app
    from chitieu.settings import get_settings

    fake, url = grafana
    monkeypatch.setenv("GRAFANA_URL", url)
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_cli")
    get_settings.cache_clear()
    first = CliRunner().invoke(app, ["dashboards", "push"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"]
    writes = len(fake.writes)
    second = CliRunner().invoke(app, ["dashboards", "push"])
    assert second.exit_code == 0, second.output
    report = json.loads(second.output)
    assert report["created"] == [] and report["updated"] == [] and report["annotations_added"] == 0
    assert len(fake.writes) == writes
    assert all(auth == "Bearer glsa_cli" for *_, auth in fake.requests)
