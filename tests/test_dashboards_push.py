"""`chitieu dashboards push` against a local stand-in for Grafana's HTTP API on 127.0.0.1.

The stand-in (chitieu.testing.grafana_server) keeps what it is sent, answers like Grafana does and
refuses with HTTP 400 what Grafana refuses (chitieu.testing.grafana_rules); every test also checks
that nothing was refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from chitieu.dashboards import alert_rules, build, common
from chitieu.dashboards import push as pusher
from chitieu.settings import Settings
from chitieu.testing import grafana_server
from chitieu.testing.grafana_server import FakeGrafana


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    with grafana_server.serve() as served:
        yield served


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

    assert fake.refused == []
    assert summary.updated == []
    assert summary.unchanged == []
    assert set(summary.created) == (
        {
            f"folder/{common.FOLDER_UID}",
            f"datasource/{common.DATASOURCE_UID}",
            f"rule-group/{alert_rules.GROUP}",
        }
        | {f"dashboard/{uid}" for uid in build.dashboard_models()}
        | {f"alert-rule/{r.uid}" for r in alert_rules.RULES}
    )
    # Grafana gives a new group its default 1-minute interval; push sets ours
    assert fake.group_intervals == {("chitieu", alert_rules.GROUP): alert_rules.GROUP_INTERVAL_S}
    assert all(auth == "Bearer glsa_test_token" for *_, auth in fake.requests)
    assert fake.folders["chitieu"]["title"] == "Chỉ Tiêu"

    ds = fake.datasources[common.DATASOURCE_UID]
    assert ds["type"] == "grafana-postgresql-datasource"
    assert ds["url"] == "timescaledb:5432"
    assert ds["user"] == "grafana_reader"
    assert ds["secureJsonData"] == {"password": "ro-secret"}
    assert ds["jsonData"]["timescaledb"] is True
    assert ds["jsonData"]["database"] == "chitieu"

    posted = [
        body for method, path, body, _ in fake.requests if method == "POST" and path == "/api/dashboards/db"
    ]
    assert sorted(b["dashboard"]["uid"] for b in posted) == sorted(build.dashboard_models())
    for body in posted:
        assert body["folderUid"] == "chitieu"
        assert body["overwrite"] is True
        assert body["dashboard"] | {"id": None} == build.dashboard_models()[body["dashboard"]["uid"]] | {
            "id": None
        }

    for spec in alert_rules.RULES:
        rule = fake.rules[spec.uid]
        assert rule["folderUID"] == "chitieu"
        assert rule["condition"] == "C"
        assert rule["data"][0]["datasourceUid"] == common.DATASOURCE_UID
        assert rule["labels"]["rule"] == spec.rule


def test_second_push_changes_nothing(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = _settings(url)
    pusher.push(pusher.client(settings), settings)
    writes_before = len(fake.writes)
    versions = {uid: d["dashboard"]["version"] for uid, d in fake.dashboards.items()}

    again = pusher.push(pusher.client(settings), settings)

    assert fake.refused == []
    assert not again.changed
    assert again.created == []
    assert again.updated == []
    assert len(fake.writes) == writes_before, fake.writes[writes_before:]
    assert {uid: d["dashboard"]["version"] for uid, d in fake.dashboards.items()} == versions


def test_push_repairs_what_was_changed_in_grafana(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = _settings(url)
    pusher.push(pusher.client(settings), settings)
    fake.dashboards["chitieu-overview"]["dashboard"]["title"] = "edited in the UI"
    fake.rules["chitieu-data-stale"]["for"] = "5m"
    fake.datasources[common.DATASOURCE_UID]["jsonData"]["timescaledb"] = False

    fake.group_intervals[("chitieu", alert_rules.GROUP)] = 60
    summary = pusher.push(pusher.client(settings), settings)

    assert fake.refused == []
    assert fake.group_intervals[("chitieu", alert_rules.GROUP)] == alert_rules.GROUP_INTERVAL_S
    assert sorted(summary.updated) == [
        "alert-rule/chitieu-data-stale",
        "dashboard/chitieu-overview",
        f"datasource/{common.DATASOURCE_UID}",
        f"rule-group/{alert_rules.GROUP}",
    ]
    assert summary.created == []
    assert fake.dashboards["chitieu-overview"]["dashboard"]["title"] == "Chỉ Tiêu – Tổng quan lãnh đạo"
    assert fake.dashboards["chitieu-overview"]["dashboard"]["version"] == 2
    assert fake.rules["chitieu-data-stale"]["for"] == "0s"
    assert fake.datasources[common.DATASOURCE_UID]["jsonData"]["timescaledb"] is True


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
    assert first.annotations_added == 3
    assert first.annotations_present == 0
    kinds = sorted(tag for a in fake.annotations for tag in a["tags"] if tag.startswith(("alert-", "data-")))
    assert kinds == ["alert-opened", "alert-resolved", "data-revision"]
    assert all("chitieu" in a["tags"] for a in fake.annotations)
    times = sorted(a["time"] for a in fake.annotations if "data-revision" not in a["tags"])
    assert times == [int(fired.timestamp() * 1000), int(resolved.timestamp() * 1000)]
    revision = next(a for a in fake.annotations if "data-revision" in a["tags"])
    assert "3" in revision["text"]
    assert "b.json" in revision["text"]

    second = pusher.push(pusher.client(settings), settings, db)
    assert second.annotations_added == 0
    assert second.annotations_present == 3
    assert len(fake.annotations) == 3
    assert not second.changed


@pytest.mark.usefixtures("db")
def test_cli_push_twice(grafana: tuple[FakeGrafana, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from chitieu.cli import app
    from chitieu.settings import get_settings

    fake, url = grafana
    monkeypatch.setenv("CHITIEU_GRAFANA_URL", url)
    monkeypatch.setenv("CHITIEU_GRAFANA_TOKEN", "glsa_cli")
    get_settings.cache_clear()
    first = CliRunner().invoke(app, ["dashboards", "push"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"]
    writes = len(fake.writes)
    second = CliRunner().invoke(app, ["dashboards", "push"])
    assert second.exit_code == 0, second.output
    report = json.loads(second.output)
    assert report["created"] == []
    assert report["updated"] == []
    assert report["annotations_added"] == 0
    assert len(fake.writes) == writes
    assert all(auth == "Bearer glsa_cli" for *_, auth in fake.requests)


def test_push_uses_the_folder_file_provisioning_made(grafana: tuple[FakeGrafana, str]) -> None:
    # Rule-file provisioning names the folder by title and gives it a random uid: push must put
    # dashboards and rules there, not make a second folder of the same title.
    fake, url = grafana
    fake.folders["Xk2P9q"] = {"id": 99, "uid": "Xk2P9q", "title": "Chỉ Tiêu"}
    settings = _settings(url)
    summary = pusher.push(pusher.client(settings), settings)

    assert fake.refused == []
    assert list(fake.folders) == ["Xk2P9q"]
    assert "folder/Xk2P9q" in summary.unchanged
    assert {d["folderUid"] for d in fake.dashboards.values()} == {"Xk2P9q"}
    assert {r["folderUID"] for r in fake.rules.values()} == {"Xk2P9q"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["annotations"].pop("__panelId__"), "both annotations"),
        (lambda r: r.update(folderUID="nope"), "folder nope not found"),
        (lambda r: r.update(condition="Z"), "does not exist"),
        (lambda r: r.update(execErrState="Failing"), "execErrState"),
        (lambda r: r.update(ruleGroup=""), "ruleGroup"),
    ],
)
def test_stand_in_refuses_rules_grafana_refuses(
    grafana: tuple[FakeGrafana, str], change: object, message: str
) -> None:
    fake, url = grafana
    fake.folders["chitieu"] = {"id": 1, "uid": "chitieu", "title": "Chỉ Tiêu"}
    good = alert_rules.api_rules()[0]
    assert httpx.post(f"{url}/api/v1/provisioning/alert-rules", json=good).status_code == 201
    bad = json.loads(json.dumps(good)) | {"uid": "chitieu-other", "title": "other"}
    change(bad)  # type: ignore[operator]
    response = httpx.post(f"{url}/api/v1/provisioning/alert-rules", json=bad)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"], response.text
    assert "chitieu-other" not in fake.rules


def test_stand_in_refuses_a_group_interval_off_the_scheduler_tick(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    fake.folders["chitieu"] = {"id": 1, "uid": "chitieu", "title": "Chỉ Tiêu"}
    rules = alert_rules.api_rules()
    path = f"{url}/api/v1/provisioning/folder/chitieu/rule-groups/{alert_rules.GROUP}"
    body = {"title": alert_rules.GROUP, "folderUid": "chitieu", "rules": rules}
    assert httpx.put(path, json=body | {"interval": 15}).status_code == 400
    assert httpx.put(path, json=body | {"interval": 3600}).status_code == 200
    assert httpx.get(path).json()["interval"] == 3600
    assert len(fake.rules) == len(rules)
