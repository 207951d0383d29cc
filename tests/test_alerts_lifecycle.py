"""Alert lifecycle end to end: real TimescaleDB, a real HTTP webhook receiver and a real SMTP server
on 127.0.0.1, apprise in between. Evaluation rows are inserted directly (no evaluation engine)."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from psycopg import sql

from chitieu.alerts import outbox
from chitieu.alerts.lifecycle import sync_alerts
from chitieu.alerts.silences import create_silence, remove_silence
from chitieu.settings import get_settings

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


# --- real local receivers ---------------------------------------------------------------------------


class Webhook:
    """A JSON webhook on 127.0.0.1 that records what it accepts; `fail_next` answers HTTP 500."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failed: list[str] = []
        self.fail_next = 0
        self.slow_next = 0  # answer these many requests late (after taking them): a slow receiver
        self.slow_seconds = 0.0
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    if hook.fail_next > 0:
                        hook.fail_next -= 1
                        hook.failed.append(self.path)
                        self.send_response(500)
                        self.end_headers()
                        return
                    notice = self.headers.get("X-Chitieu-Notice-Id")
                    hook.received.append({"path": self.path, "header_notice_id": notice, **json.loads(body)})
                    slow = hook.slow_next > 0
                    hook.slow_next -= slow
                if slow:
                    time.sleep(hook.slow_seconds)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def at(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == "/" + path.lstrip("/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: ARG002 - aiosmtpd's handler signature
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(m["Subject"]))) for m in self.messages]

    def bodies(self) -> list[str]:
        out = []
        for m in self.messages:
            for part in m.walk():
                if part.get_content_type() == "text/plain":
                    out.append(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def routes_file(
    tmp_path: Path, webhook: Webhook, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> Path:
    _, port = smtp
    path = tmp_path / "routes.yaml"
    path.write_text(
        f"""
routes:
  - name: khanh-hoa
    match:
      jurisdiction: [new-56]
    channels:
      - "{webhook.url("/khanh-hoa")}"
      - "mailto://127.0.0.1:{port}?from=canhbao@chitieu.local&to=${{KH_MAIL_TO}}"
  - name: default
    default: true
    channels:
      - "{webhook.url("/default")}"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("CHITIEU_ROUTES_FILE", str(path))
    monkeypatch.setenv("KH_MAIL_TO", "sokhcn@khanhhoa.local")
    monkeypatch.setenv("CHITIEU_DASHBOARD_BASE_URL", "http://grafana.local:3000")
    monkeypatch.setenv("CHITIEU_NOTIFY_BACKOFF_SECONDS", "60")
    get_settings.cache_clear()
    return path


# --- catalog and evaluation rows --------------------------------------------------------------------


def seed_catalog(db: psycopg.Connection) -> None:
    db.execute(
        """INSERT INTO jurisdictions (id, code, name, level) VALUES
           ('vn', 'VN', 'Việt Nam', 'national'), ('new-56', '56', 'Khánh Hòa', 'province'),
           ('new-01', '01', 'Hà Nội', 'province')"""
    )
    db.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation) VALUES
           ('kinh_te_so_grdp', 'Tỷ trọng kinh tế số trong GRDP', 'Digital economy share of GRDP', '%',
            'share_pct', 'higher', 'weighted_mean'),
           ('chi_ns_khcn', 'Tỷ lệ chi ngân sách cho KH,CN&ĐMST', 'Budget share for S&T', '%',
            'share_pct', 'higher', 'none'),
           ('trung_tam_dlieu', 'Trung tâm dữ liệu tỉnh', 'Provincial data centre', 'mốc', 'count', 'higher',
            'none')"""
    )
    db.execute(
        """INSERT INTO plans (id, document_number, title, issuer, jurisdiction_id) VALUES
           ('khanh-hoa-57', '145/KH-UBND', 'Kế hoạch thực hiện NQ 57 tỉnh Khánh Hòa', 'UBND tỉnh Khánh Hòa',
            'new-56'),
           ('ha-noi-57', '88/KH-UBND', 'Kế hoạch thực hiện NQ 57 Hà Nội', 'UBND TP Hà Nội', 'new-01')"""
    )
    db.execute(
        """INSERT INTO targets (id, plan_id, indicator_code, jurisdiction_id, target_year, kind, operator,
                                value, every_year, lead_agency, cite_document, cite_quote, milestone_object,
                                due_date)
           VALUES
           ('kh.t01', 'khanh-hoa-57', 'kinh_te_so_grdp', 'new-56', 2030, 'level', '>=', 30, false,
            'Sở Khoa học và Công nghệ', '145/KH-UBND', 'kinh tế số đạt 30% GRDP', NULL, NULL),
           ('hn.t01', 'ha-noi-57', 'kinh_te_so_grdp', 'new-01', 2030, 'level', '>=', 40, false,
            'Sở Tài chính', '88/KH-UBND', 'kinh tế số đạt 40% GRDP', NULL, NULL),
           ('hn.t02', 'ha-noi-57', 'chi_ns_khcn', 'new-01', 2030, 'level', '>=', 3, true,
            'Sở Tài chính', '88/KH-UBND', 'chi tối thiểu 3% ngân sách mỗi năm', NULL, NULL),
           ('kh.m01', 'khanh-hoa-57', 'trung_tam_dlieu', 'new-56', 2026, 'milestone', NULL, NULL, false,
            'Sở Khoa học và Công nghệ', '145/KH-UBND', 'hoàn thành trung tâm dữ liệu',
            'trung tâm dữ liệu tỉnh', '2026-01-31')"""
    )


def ev(target_id: str, status: str, **kw: Any) -> dict[str, Any]:
    plan, jur, ind = {
        "kh.t01": ("khanh-hoa-57", "new-56", "kinh_te_so_grdp"),
        "hn.t01": ("ha-noi-57", "new-01", "kinh_te_so_grdp"),
        "hn.t02": ("ha-noi-57", "new-01", "chi_ns_khcn"),
        "kh.m01": ("khanh-hoa-57", "new-56", "trung_tam_dlieu"),
    }[target_id]
    row = {
        "target_id": target_id,
        "plan_id": plan,
        "jurisdiction_id": jur,
        "indicator_code": ind,
        "target_year": 2030,
        "check_year": None,
        "status": status,
        "progress_ratio": None,
        "expected_value": None,
        "current_value": None,
        "current_year": None,
        "projected_value": None,
        "will_meet": None,
        "base_year": None,
        "base_value": None,
        "flags": [],
    }
    row.update(kw)
    return row


def add_run(db: psycopg.Connection, as_of: datetime, rows: list[dict[str, Any]]) -> int:
    run = db.execute(
        "INSERT INTO evaluation_runs (as_of, finished_at) VALUES (%s, %s) RETURNING id", (as_of, as_of)
    ).fetchone()
    assert run is not None
    for r in rows:
        cols = ["evaluated_at", "run_id", "as_of", *r.keys()]
        db.execute(
            sql.SQL("INSERT INTO evaluations ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, cols)),
                sql.SQL(", ").join(sql.Placeholder() * len(cols)),
            ),
            [as_of, run[0], as_of, *r.values()],
        )
    return int(run[0])


BEHIND = {
    "progress_ratio": 0.72,
    "expected_value": 14.2,
    "current_value": 12.5,
    "current_year": 2025,
    "projected_value": 24.8,
    "will_meet": False,
    "base_year": 2020,
    "base_value": 8.0,
}


def snapshot(db: psycopg.Connection) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        db.execute("SELECT * FROM alerts ORDER BY id").fetchall(),
        db.execute("SELECT * FROM notification_outbox ORDER BY id").fetchall(),
        db.execute("SELECT * FROM alert_events ORDER BY id").fetchall(),
    )


# --- tests ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("routes_file")
def test_lifecycle_notifies_once_repeats_resolves_and_reopens(
    db: psycopg.Connection, webhook: Webhook, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    seed_catalog(db)
    add_run(
        db, T0 - timedelta(hours=1), [ev("kh.t01", "needs_acceleration", **BEHIND), ev("hn.t01", "on_track")]
    )

    s1 = sync_alerts(db, T0)
    assert (s1.opened, s1.resolved, s1.notifications) == (1, 0, 2)  # webhook + e-mail of route khanh-hoa
    alert = db.execute("SELECT fingerprint, state, severity, labels FROM alerts").fetchone()
    assert alert is not None
    assert alert[0] == "behind_trajectory|khanh-hoa-57|new-56|kinh_te_so_grdp|2030"
    assert alert[1:3] == ("firing", "warning")
    assert alert[3]["agency"] == "Sở Khoa học và Công nghệ"

    # Re-running with the same inputs and the same `now` changes nothing at all.
    before = snapshot(db)
    s1b = sync_alerts(db, T0)
    assert (s1b.opened, s1b.reopened, s1b.resolved, s1b.notifications) == (0, 0, 0, 0)
    assert snapshot(db) == before

    d1 = outbox.drain(db, T0)
    assert (d1.sent, d1.retried, d1.dead) == (2, 0, 0)
    [hook_msg] = webhook.at("/khanh-hoa")
    assert webhook.at("/default") == []
    assert "[CẢNH BÁO]" in hook_msg["title"]
    assert "Khánh Hòa" in hook_msg["title"]
    text = hook_msg["message"]
    for expected in (
        "Cần đẩy nhanh",
        "12,5 %",
        "(năm 2025)",
        "≥ 30 %",
        "2030",
        "14,2 %",
        "24,8 %",
        "không đạt",
        "R = 0,72",
        "145/KH-UBND",
        "Sở Khoa học và Công nghệ",
    ):
        assert expected in text, expected
    assert (
        "http://grafana.local:3000/d/chitieu-indicator-detail?var-plan=khanh-hoa-57"
        "&var-jurisdiction=new-56&var-indicator=kinh_te_so_grdp"
    ) in text
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["To"] == "sokhcn@khanhhoa.local"
    assert "Khánh Hòa" in mailbox.subjects()[0]
    assert "12,5 %" in mailbox.bodies()[0]
    # The secret-bearing variable is stored as a reference, never expanded.
    urls = [r[0] for r in db.execute("SELECT target_url FROM notification_outbox").fetchall()]
    assert any("${KH_MAIL_TO}" in u for u in urls)
    assert not any("khanhhoa.local" in u for u in urls)

    # Repeat interval (7 days): nothing after 3 days, one reminder after 7.
    assert sync_alerts(db, T0 + timedelta(days=3)).notifications == 0
    assert outbox.drain(db, T0 + timedelta(days=3)).picked == 0
    assert sync_alerts(db, T0 + timedelta(days=7)).notifications == 2
    assert sync_alerts(db, T0 + timedelta(days=7)).notifications == 0
    assert outbox.drain(db, T0 + timedelta(days=7)).sent == 2
    assert "[NHẮC LẠI]" in webhook.at("/khanh-hoa")[-1]["title"]
    assert sync_alerts(db, T0 + timedelta(days=10)).notifications == 0

    # The condition clears: resolved, with a resolved notice.
    add_run(db, T0 + timedelta(days=11), [ev("kh.t01", "on_track"), ev("hn.t01", "on_track")])
    s3 = sync_alerts(db, T0 + timedelta(days=12))
    assert (s3.resolved, s3.firing, s3.notifications) == (1, 0, 2)
    state = db.execute("SELECT state, resolved_at FROM alerts").fetchone()
    assert state == ("resolved", T0 + timedelta(days=12))
    outbox.drain(db, T0 + timedelta(days=12))
    assert "[ĐÃ HẾT CẢNH BÁO]" in webhook.at("/khanh-hoa")[-1]["title"]
    assert len(mailbox.messages) == 3

    # Fires again: the same alert re-opens (episode 2) and notifies as a new firing.
    add_run(
        db, T0 + timedelta(days=20), [ev("kh.t01", "limited_progress", **BEHIND), ev("hn.t01", "on_track")]
    )
    s4 = sync_alerts(db, T0 + timedelta(days=21))
    assert (s4.opened, s4.reopened, s4.notifications) == (1, 1, 4)  # + status_worsened, opened
    episodes = db.execute("SELECT count(*), max(episode) FROM alerts WHERE rule = 'behind_trajectory'")
    assert episodes.fetchone() == (1, 2)
    outbox.drain(db, T0 + timedelta(days=21))
    titles = [m["title"] for m in webhook.at("/khanh-hoa") if "Chậm so với lộ trình" in m["title"]]
    assert len(titles) == 4
    assert "[CẢNH BÁO]" in titles[-1]
    # status_worsened also fired (on_track -> limited_progress) and went to the same route
    worsened = db.execute("SELECT state FROM alerts WHERE rule = 'status_worsened'").fetchone()
    assert worsened == ("firing",)
    events = [
        r[0]
        for r in db.execute(
            "SELECT event FROM alert_events "
            "WHERE alert_id = (SELECT id FROM alerts WHERE rule = 'behind_trajectory') ORDER BY id"
        ).fetchall()
    ]
    assert events == ["opened", "notified", "notified", "resolved", "notified", "reopened", "notified"]


@pytest.mark.usefixtures("routes_file")
def test_failing_receiver_is_retried_with_backoff_and_delivers_exactly_once(
    db: psycopg.Connection, webhook: Webhook, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    seed_catalog(db)
    add_run(db, T0, [ev("hn.t01", "deteriorating", **BEHIND)])
    assert sync_alerts(db, T0).notifications == 1  # Hà Nội: default route only
    webhook.fail_next = 2

    d1 = outbox.drain(db, T0)
    assert (d1.picked, d1.sent, d1.retried) == (1, 0, 1)
    assert "gửi thất bại" in d1.errors[0]
    assert "delivery failed" in d1.errors[0]
    assert webhook.failed == ["/default"]  # the receiver really answered 500 once
    row = db.execute("SELECT status, attempts, next_attempt_at FROM notification_outbox").fetchone()
    assert row == ("pending", 1, T0 + timedelta(seconds=60))
    assert outbox.drain(db, T0 + timedelta(seconds=59)).picked == 0  # not before its backoff

    d2 = outbox.drain(db, T0 + timedelta(seconds=60))
    assert (d2.sent, d2.retried) == (0, 1)
    row = db.execute("SELECT status, attempts, next_attempt_at FROM notification_outbox").fetchone()
    assert row == ("pending", 2, T0 + timedelta(seconds=60 + 120))  # exponential: 60 s, then 120 s

    d3 = outbox.drain(db, T0 + timedelta(seconds=180))
    assert d3.sent == 1
    assert outbox.drain(db, T0 + timedelta(days=1)).picked == 0
    assert len(webhook.failed) == 2
    assert len(webhook.at("/default")) == 1
    assert db.execute("SELECT status, attempts, last_error FROM notification_outbox").fetchone() == (
        "sent",
        3,
        None,
    )
    # A re-run of the sync never enqueues the delivered notice again.
    assert sync_alerts(db, T0 + timedelta(seconds=180)).notifications == 0
    assert mailbox.messages == []


def test_channel_down_loses_nothing_until_dead_then_requeue(
    db: psycopg.Connection, routes_file: Path, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_catalog(db)
    routes_file.write_text(
        routes_file.read_text(encoding="utf-8").replace(webhook.url("/default"), "${OPS_HOOK_URL}"),
        encoding="utf-8",
    )
    down = _free_port()  # nothing listens there
    monkeypatch.setenv("OPS_HOOK_URL", f"json://127.0.0.1:{down}/ops")
    monkeypatch.setenv("CHITIEU_NOTIFY_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    add_run(db, T0, [ev("hn.t01", "deteriorating", **BEHIND)])
    sync_alerts(db, T0)
    assert db.execute("SELECT target_url FROM notification_outbox").fetchone() == ("${OPS_HOOK_URL}",)
    at = T0
    for expected_attempts in (1, 2):
        assert outbox.drain(db, at).retried == 1
        row = db.execute("SELECT status, attempts, next_attempt_at FROM notification_outbox").fetchone()
        assert row is not None
        assert row[:2] == ("pending", expected_attempts)
        at = row[2]
    assert outbox.drain(db, at).dead == 1
    assert db.execute("SELECT status, attempts FROM notification_outbox").fetchone() == ("dead", 3)
    # Fix the channel (its URL lives in the environment), re-queue: delivered once, original text.
    monkeypatch.setenv("OPS_HOOK_URL", webhook.url("/ops"))
    assert outbox.retry_dead(db, at) == 1
    assert outbox.drain(db, at).sent == 1
    assert outbox.drain(db, at + timedelta(days=2)).picked == 0
    [msg] = webhook.at("/ops")
    assert "Hà Nội" in msg["title"]
    assert "Đi xuống" in msg["message"]


@pytest.mark.usefixtures("routes_file")
def test_missing_secret_and_bad_url_are_reported_in_both_languages(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    messages = [
        outbox.Message("m:1", None, "test", "x", "${NOT_SET_ANYWHERE}", "s", "b", {}),
        outbox.Message("m:2", None, "test", "x", "nosuchscheme://whatever", "s", "b", {}),
    ]
    outbox.enqueue(db, messages, T0)
    d = outbox.drain(db, T0)
    assert (d.retried, d.dead) == (1, 1)  # a variable may be set later; a malformed URL never heals
    errors = dict(db.execute("SELECT dedup_key, last_error FROM notification_outbox").fetchall())
    assert "thiếu biến môi trường NOT_SET_ANYWHERE" in errors["m:1"]
    assert "missing environment" in errors["m:1"]
    assert "không hợp lệ" in errors["m:2"]
    assert "invalid" in errors["m:2"]


@pytest.mark.usefixtures("routes_file")
def test_silence_suppresses_until_removed_and_until_expiry(db: psycopg.Connection, webhook: Webhook) -> None:
    seed_catalog(db)
    removed = create_silence(db, {"jurisdiction": "new-56"}, T0 + timedelta(days=30), comment="đang xử lý")
    expiring = create_silence(db, {"plan": "ha-noi-57", "rule": "behind_trajectory"}, T0 + timedelta(days=2))
    add_run(db, T0, [ev("kh.t01", "needs_acceleration", **BEHIND), ev("hn.t01", "deteriorating", **BEHIND)])

    s1 = sync_alerts(db, T0)
    assert (s1.opened, s1.notifications, s1.suppressed) == (2, 0, 2)
    rows = dict(
        db.execute("SELECT jurisdiction_id, silenced_by FROM alerts WHERE state = 'firing'").fetchall()
    )
    assert rows == {"new-56": removed, "new-01": expiring}
    assert sync_alerts(db, T0 + timedelta(days=1)).notifications == 0
    assert db.execute("SELECT count(*) FROM notification_outbox").fetchone() == (0,)

    # Expiry: the Hà Nội alert is notified at the first sync after its silence ends.
    s2 = sync_alerts(db, T0 + timedelta(days=2, seconds=1))
    assert (s2.notifications, s2.suppressed) == (1, 1)  # Khánh Hòa still held
    outbox.drain(db, T0 + timedelta(days=2, seconds=1))
    assert len(webhook.at("/default")) == 1
    assert webhook.at("/khanh-hoa") == []

    # Removal: the Khánh Hòa alert goes out at the next sync.
    assert remove_silence(db, removed)
    s3 = sync_alerts(db, T0 + timedelta(days=3))
    assert s3.notifications == 2
    outbox.drain(db, T0 + timedelta(days=3))
    assert len(webhook.at("/khanh-hoa")) == 1
    assert "[CẢNH BÁO]" in webhook.at("/khanh-hoa")[0]["title"]
    events = db.execute("SELECT event FROM alert_events WHERE event = 'suppressed'").fetchall()
    assert len(events) == 2


@pytest.mark.usefixtures("routes_file", "webhook")
def test_resolved_while_silenced_sends_nothing_and_never_notified_sends_no_resolve(
    db: psycopg.Connection,
) -> None:
    seed_catalog(db)
    create_silence(db, {"indicator": "kinh_te_so_grdp"}, T0 + timedelta(days=30))
    add_run(db, T0, [ev("hn.t01", "deteriorating", **BEHIND)])
    sync_alerts(db, T0)
    add_run(db, T0 + timedelta(days=1), [ev("hn.t01", "on_track")])
    s = sync_alerts(db, T0 + timedelta(days=1))
    assert (s.resolved, s.notifications) == (1, 0)
    assert db.execute("SELECT count(*) FROM notification_outbox").fetchone() == (0,)


@pytest.mark.usefixtures("routes_file")
def test_two_drainers_never_send_the_same_row(db: psycopg.Connection, db_dsn: str, webhook: Webhook) -> None:
    seed_catalog(db)
    messages = [
        outbox.Message(
            f"manual:{i}", None, "test", "default", webhook.url("/default"), f"tin {i}", "nội dung", {}
        )
        for i in range(12)
    ]
    assert len(outbox.enqueue(db, messages, T0)) == 12
    assert outbox.enqueue(db, messages, T0) == []  # same dedup keys: nothing new
    results: list[outbox.DrainSummary] = []

    def run() -> None:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            results.append(outbox.drain(conn, T0))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 12
    titles = sorted(m["title"] for m in webhook.at("/default"))
    assert titles == sorted(f"tin {i}" for i in range(12))


def _notices(
    webhook: Webhook, path: str, n: int, *, event: str = "firing", severity: str = "warning"
) -> list:
    return [
        outbox.Message(
            f"{path}:{event}:{i}",
            None,
            event,
            path.strip("/"),
            webhook.url(path),
            f"[Chỉ Tiêu][CẢNH BÁO] Chậm so với lộ trình — tỉnh {i:02d}",
            f"Tỉnh {i:02d}: 40 % so với 55 % theo lộ trình.\n\nQuy tắc: …",
            {"event": event, "severity": severity},
        )
        for i in range(n)
    ]


def test_a_backlog_for_one_channel_goes_out_as_one_digest_and_every_row_is_sent(
    db: psycopg.Connection, webhook: Webhook
) -> None:
    # 12 notices for one channel (at the threshold of 10: a digest), 3 for another (one message each)
    outbox.enqueue(db, _notices(webhook, "/so-khcn", 12) + _notices(webhook, "/khanh-hoa", 3), T0)
    outbox.enqueue(db, _notices(webhook, "/so-khcn", 1, event="resolved", severity="critical"), T0)
    summary = outbox.drain(db, T0)
    assert (summary.picked, summary.sent, summary.digests) == (16, 16, 1)
    [digest] = webhook.at("/so-khcn")
    assert digest["title"] == "[Chỉ Tiêu][TỔNG HỢP] 13 thông báo — tuyến «so-khcn»"
    body = digest["message"]
    assert "12 cảnh báo mới, 1 đã hết cảnh báo" in body
    assert "12 new alerts, 1 resolved" in body
    assert all(f"• [CẢNH BÁO] Chậm so với lộ trình — tỉnh {i:02d}" in body for i in range(12))
    assert "Tỉnh 11: 40 % so với 55 % theo lộ trình." in body
    assert "Quy tắc" not in body
    assert digest["type"] == "failure"  # the most severe notice it carries (critical)
    assert len(webhook.at("/khanh-hoa")) == 3
    statuses = db.execute(
        "SELECT status, attempts, count(*) FROM notification_outbox GROUP BY 1, 2"
    ).fetchall()
    assert statuses == [("sent", 1, 16)]


def test_a_failed_digest_retries_every_row_and_long_backlogs_split(
    db: psycopg.Connection, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox.enqueue(db, _notices(webhook, "/default", outbox.DIGEST_MAX_ITEMS + 10), T0)
    webhook.fail_next = 1
    first = outbox.drain(db, T0, limit=1)
    assert (first.picked, first.sent, first.retried, first.digests) == (50, 0, 50, 1)
    assert webhook.failed == ["/default"]
    rows = db.execute(
        "SELECT attempts, next_attempt_at, count(*) FROM notification_outbox GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    assert rows == [(0, T0, 10), (1, T0 + timedelta(seconds=60), 50)]
    later = outbox.drain(db, T0 + timedelta(seconds=60))
    assert (later.sent, later.digests) == (60, 2)
    assert sorted(m["title"].split("] ")[1].split(" ")[0] for m in webhook.at("/default")) == ["10", "50"]
    # below the threshold (or with digests off) each notice is its own message
    monkeypatch.setenv("CHITIEU_NOTIFY_DIGEST_THRESHOLD", "0")
    get_settings.cache_clear()
    outbox.enqueue(db, _notices(webhook, "/ops", 11), T0)
    assert outbox.drain(db, T0).digests == 0
    assert len(webhook.at("/ops")) == 11


@pytest.mark.usefixtures("routes_file")
def test_report_due_notifies_deadline_and_resolves_silently(db: psycopg.Connection, webhook: Webhook) -> None:
    seed_catalog(db)
    db.execute(
        """INSERT INTO reporting_obligations (plan_id, code, description, recurrence, due_dates, recipient)
           VALUES ('khanh-hoa-57', 'bc-6-thang', 'Báo cáo sáu tháng kết quả thực hiện Nghị quyết 57',
                   'half_yearly', '{06-15,12-01}', 'Bộ Khoa học và Công nghệ')"""
    )
    june1 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    assert sync_alerts(db, june1 - timedelta(days=1)).opened == 0  # 15 days ahead: not yet
    s = sync_alerts(db, june1)
    assert (s.opened, s.notifications) == (1, 2)
    fp = db.execute("SELECT fingerprint, severity FROM alerts").fetchone()
    assert fp == ("report_due|khanh-hoa-57|new-56|bc-6-thang|2026|2026-06-15", "warning")
    outbox.drain(db, june1)
    [msg] = webhook.at("/khanh-hoa")
    assert "[HẠN BÁO CÁO]" in msg["title"]
    assert "15/06/2026" in msg["message"]
    assert "còn 14 ngày" in msg["message"]
    # after the due date the alert resolves without a notice
    s2 = sync_alerts(db, datetime(2026, 6, 16, 2, 0, tzinfo=UTC))
    assert (s2.resolved, s2.notifications) == (1, 0)


@pytest.mark.usefixtures("routes_file")
def test_a_slow_receiver_gets_one_notice_id_and_a_long_wait_before_any_copy(
    db: psycopg.Connection,
    webhook: Webhook,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, _ = smtp
    monkeypatch.setenv("CHITIEU_NOTIFY_TIMEOUTS", '{"json": 1}')
    monkeypatch.setenv("CHITIEU_NOTIFY_UNKNOWN_BACKOFF_SECONDS", "3600")
    get_settings.cache_clear()
    seed_catalog(db)
    add_run(db, T0, [ev("hn.t01", "deteriorating", **BEHIND)])
    assert sync_alerts(db, T0).notifications == 1
    webhook.slow_next, webhook.slow_seconds = 1, 4.0  # takes the notice, answers after the timeout

    first = outbox.drain(db, T0)
    assert (first.sent, first.unknown, first.retried) == (0, 1, 1)
    assert "outcome unknown" in first.errors[0]
    assert "không rõ" in first.errors[0]
    status, attempts, next_at = db.execute(
        "SELECT status, attempts, next_attempt_at FROM notification_outbox"
    ).fetchone()
    # Not the ordinary 60 s back-off: the receiver probably has it.
    assert (status, attempts, next_at) == ("pending", 1, T0 + timedelta(seconds=3600))
    assert outbox.drain(db, T0 + timedelta(seconds=3599)).picked == 0

    assert outbox.drain(db, T0 + timedelta(seconds=3600)).sent == 1
    copies = webhook.at("/default")
    assert len(copies) == 2  # at least once: the receiver got it twice ...
    ids = {(c["header_notice_id"], c["notice_id"]) for c in copies}
    assert len(ids) == 1  # ... with one notice id, in the header and the payload, to drop the copy by
    (header_id, payload_id) = ids.pop()
    assert header_id == payload_id
    assert uuid.UUID(header_id)
    # Another notice has another id.
    add_run(db, T0 + timedelta(days=1), [ev("hn.t01", "on_track")])
    sync_alerts(db, T0 + timedelta(days=1))
    outbox.drain(db, T0 + timedelta(days=1))
    assert len({c["notice_id"] for c in webhook.at("/default")}) == 2
    assert mailbox.messages == []


def test_every_channel_kind_carries_the_notice_id(smtp: tuple[Mailbox, int]) -> None:
    from chitieu.alerts.notify import deliver, with_notice

    mailbox, port = smtp
    url = f"mailto://127.0.0.1:{port}?from=canhbao@chitieu.local&to=so@chitieu.local"
    assert deliver(url, "Tiêu đề", "Nội dung", {"notice_id": "n-1", "severity": "info"}).ok
    assert mailbox.messages[0]["X-Chitieu-Notice-Id"] == "n-1"
    # A chat service takes no header: the id is the text's last line. Timeouts come from settings,
    # and a channel's own rto/cto win.
    chat, body = with_notice("tgram://bot/chat", "Nội dung", "n-2")
    assert body.endswith("notice id: n-2")
    assert "rto=10" in chat
    assert "cto=10" in chat
    own, _ = with_notice("json://h/p?rto=30", "x", None)
    assert "rto=30" in own
    assert own.count("rto=") == 1
    assert "cto=10" in own
