"""`chitieu alerts ...` commands and the alerts fed by the real evaluation engine."""

# The receivers and routes fixtures are shared with test_alerts_lifecycle by import.
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from chitieu.alerts import outbox
from chitieu.alerts.lifecycle import sync_alerts
from chitieu.cli import app
from chitieu.evaluate import engine
from test_alerts_lifecycle import (  # noqa: F401
    BEHIND,
    T0,
    Mailbox,
    Webhook,
    add_run,
    ev,
    routes_file,
    seed_catalog,
    smtp,
    snapshot,
    webhook,
)

runner = CliRunner()


@pytest.mark.usefixtures("routes_file", "smtp")
def test_cli_sync_list_silence_unsilence_notify(db: psycopg.Connection, webhook: Webhook) -> None:
    seed_catalog(db)
    add_run(db, T0, [ev("hn.t01", "deteriorating", **BEHIND)])

    r = runner.invoke(
        app,
        [
            "alerts",
            "silence",
            "--match",
            "jurisdiction=new-01",
            "--for",
            "30d",
            "--comment",
            "đang rà soát số liệu",
        ],
    )
    assert r.exit_code == 0, r.output
    sid = db.execute("SELECT id, matchers FROM alert_silences").fetchone()
    assert sid is not None
    assert sid[1] == {"jurisdiction": "new-01"}

    r = runner.invoke(app, ["alerts", "sync", "--now", T0.isoformat()])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["opened"], summary["notifications"], summary["suppressed"]) == (1, 0, 1)

    r = runner.invoke(app, ["alerts", "list", "--format", "json"])
    assert r.exit_code == 0, r.output
    [row] = json.loads(r.stdout)
    assert row["rule"] == "behind_trajectory"
    assert row["silenced_by"] == sid[0]
    assert "Đi xuống" in row["summary_vi"]
    r = runner.invoke(app, ["alerts", "list"])
    assert r.exit_code == 0
    assert "alerts (firing): 1" in r.stdout

    r = runner.invoke(app, ["alerts", "unsilence", str(sid[0])])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["alerts", "unsilence", str(sid[0])]).exit_code == 2  # already removed

    later = (T0 + timedelta(hours=1)).isoformat()
    r = runner.invoke(app, ["alerts", "sync", "--now", later])
    assert json.loads(r.stdout)["notifications"] == 1
    r = runner.invoke(app, ["alerts", "notify", "--now", later])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sent"] == 1
    assert len(webhook.at("/default")) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["alerts", "silence", "--match", "jurisdiction", "--for", "1d"], "nhãn=giá_trị"),
        (["alerts", "silence", "--match", "rule=data_stale", "--for", "soon"], "invalid duration"),
    ],
)
def test_cli_silence_refuses_bad_input(db: psycopg.Connection, args: list[str], needle: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert needle in r.output
    assert db.execute("SELECT count(*) FROM alert_silences").fetchone() == (0,)


@pytest.mark.usefixtures("routes_file")
def test_cli_test_route_by_name_and_by_jurisdiction_name(
    db: psycopg.Connection, webhook: Webhook, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    seed_catalog(db)
    r = runner.invoke(app, ["alerts", "test-route", "default"])
    assert r.exit_code == 0, r.output
    assert len(webhook.at("/default")) == 1
    assert "[THỬ NGHIỆM]" in webhook.at("/default")[0]["title"]
    r = runner.invoke(app, ["alerts", "test-route", "Khánh Hòa"])  # by name -> route khanh-hoa
    assert r.exit_code == 0, r.output
    assert len(webhook.at("/khanh-hoa")) == 1
    assert len(mailbox.messages) == 1
    # The route is printed with the secret-bearing variable as a reference, never expanded.
    assert "sokhcn@khanhhoa.local" not in r.stdout
    assert "KH_MAIL_TO" in r.stdout
    r = runner.invoke(app, ["alerts", "test-route", "Hà Nội"])  # no route of its own: the default one
    assert r.exit_code == 0
    assert len(webhook.at("/default")) == 2


@pytest.mark.usefixtures("routes_file")
def test_alerts_from_the_real_evaluation_engine(db: psycopg.Connection, webhook: Webhook) -> None:
    seed_catalog(db)
    db.execute("DELETE FROM targets WHERE id <> 'kh.t01'")
    db.execute(
        "INSERT INTO sources (id, kind, title) VALUES ('gso-nien-giam', 'spreadsheet', 'Niên giám thống kê')"
    )

    def obs(year: int, value: float, loaded: datetime) -> None:
        db.execute(
            """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,
                                         source_id, fetched_at, loaded_at)
               VALUES ('new-56', 'kinh_te_so_grdp', %s, 'Y', %s, 'gso-nien-giam', %s, %s)""",
            (date(year, 1, 1), value, loaded, loaded),
        )

    obs(2020, 8.0, T0 - timedelta(days=60))
    obs(2025, 12.5, T0 - timedelta(days=60))  # R = CAGR(12.5/8, 5 y) / CAGR(30/8, 10 y) ≈ 0.66
    engine.evaluate(db, as_of=T0 - timedelta(days=1))
    s1 = sync_alerts(db, T0, rules=["behind_trajectory", "status_worsened"])
    assert (s1.opened, s1.notifications) == (1, 2)  # route khanh-hoa: webhook + e-mail
    [(status, ratio)] = db.execute(
        "SELECT detail->>'status', (detail->>'progress_ratio')::float FROM alerts"
    ).fetchall()
    assert status == "needs_acceleration"
    assert ratio == pytest.approx(0.662, abs=0.01)

    # Evaluating again on the same data and syncing again changes nothing.
    before = snapshot(db)
    engine.evaluate(db, as_of=T0 - timedelta(days=1))
    sync_alerts(db, T0, rules=["behind_trajectory", "status_worsened"])
    assert snapshot(db) == before

    # A revision of 2025 (new vintage) puts it on track and on course (line 8 -> 20 reaches 32 in 2030).
    obs(2025, 20.0, T0 + timedelta(days=1))
    engine.evaluate(db, as_of=T0 + timedelta(days=2))
    s2 = sync_alerts(db, T0 + timedelta(days=2), rules=["behind_trajectory", "status_worsened"])
    assert (s2.resolved, s2.firing) == (1, 0)
    outbox.drain(db, T0 + timedelta(days=2))
    titles = [m["title"] for m in webhook.at("/khanh-hoa")]
    assert len(titles) == 2
    assert "[ĐÃ HẾT CẢNH BÁO]" in titles[1]
