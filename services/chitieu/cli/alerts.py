"""`chitieu alerts ...`: list, silence, unsilence, test-route, sync, notify."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chitieu.jsonable import jsonable

app = typer.Typer(
    help="Cảnh báo / alerts: list, silence, unsilence, test-route, sync, notify", no_args_is_help=True
)
console = Console()
NowOpt = Annotated[
    str | None, typer.Option("--now", help="ISO timestamp to act as of (default: the current time)")
]


class Fmt(StrEnum):
    table = "table"
    json = "json"


class StateFilter(StrEnum):
    firing = "firing"
    resolved = "resolved"
    all = "all"


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"thời điểm không hợp lệ / invalid timestamp: {text}") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


@app.command("list")
def list_alerts(
    state: Annotated[
        StateFilter, typer.Option("--state", help="firing | resolved | all")
    ] = StateFilter.firing,
    rule: Annotated[str | None, typer.Option("--rule", help="only this rule")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="table | json")] = Fmt.table,
) -> None:
    """Liệt kê cảnh báo / list alerts."""
    from psycopg.rows import dict_row

    from chitieu.db.connect import connect

    with connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT id, state, rule, severity, plan_id, jurisdiction_id, indicator_code, target_year,
                      summary_vi, summary_en, labels, opened_at, last_seen_at, last_notified_at, resolved_at,
                      episode, notify_count, silenced_by
               FROM alerts
               WHERE (%(state)s = 'all' OR state = %(state)s) AND (%(rule)s::text IS NULL OR rule = %(rule)s)
               ORDER BY state, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, id""",
            {"state": state.value, "rule": rule},
        )
        rows = cur.fetchall()
    if fmt is Fmt.json:
        typer.echo(json.dumps(jsonable(rows, max_list=None), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Cảnh báo / alerts ({state.value}): {len(rows)}")
    for col in (
        "id",
        "state",
        "severity",
        "rule",
        "jurisdiction",
        "indicator",
        "year",
        "silenced",
        "summary",
    ):
        table.add_column(col, overflow="fold")
    colour = {"critical": "red", "warning": "yellow", "info": "cyan"}
    for r in rows:
        c = colour.get(r["severity"], "white") if r["state"] == "firing" else "green"
        table.add_row(
            str(r["id"]),
            r["state"],
            f"[{c}]{r['severity']}[/{c}]",
            r["rule"],
            r["jurisdiction_id"] or "",
            r["indicator_code"] or (r["labels"] or {}).get("obligation", ""),
            str(r["target_year"] or ""),
            f"#{r['silenced_by']}" if r["silenced_by"] else "",
            r["summary_vi"],
        )
    console.print(table)


@app.command()
def silence(
    match: Annotated[list[str], typer.Option("--match", help="label=value (repeatable; all must match)")],
    duration: Annotated[str, typer.Option("--for", help="how long: 90m, 12h, 30d, 2w")] = "7d",
    comment: Annotated[str | None, typer.Option("--comment", help="why")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who (default: $USER)")] = None,
) -> None:
    """Tạm dừng thông báo theo nhãn / silence notifications by label."""
    from chitieu.alerts.silences import SilenceError, create_silence, parse_duration, parse_matchers
    from chitieu.db.connect import connect

    try:
        matchers = parse_matchers(match)
        span = parse_duration(duration)
    except SilenceError as exc:
        _fail(exc.both())
        return
    now = datetime.now(UTC)
    with connect() as conn:
        sid = create_silence(
            conn, matchers, now + span, comment=comment, created_by=by or os.environ.get("USER")
        )
    console.print(
        f"Đã tạo silence #{sid} / silence #{sid} created: {json.dumps(matchers, ensure_ascii=False)} "
        f"until {(now + span).isoformat(timespec='minutes')}"
    )


@app.command()
def silences(
    all_: Annotated[bool, typer.Option("--all", help="include expired and removed")] = False,
) -> None:
    """Liệt kê silence / list silences."""
    from chitieu.alerts.silences import list_silences
    from chitieu.db.connect import connect

    with connect() as conn:
        rows = list_silences(conn, datetime.now(UTC), include_inactive=all_)
    table = Table(title=f"Silences: {len(rows)}")
    for col in ("id", "matchers", "expires_at", "active", "holding", "comment", "by"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            json.dumps(r["matchers"], ensure_ascii=False),
            r["expires_at"].isoformat(timespec="minutes"),
            "yes" if r["active"] else "no",
            str(r["holding"]),
            r["comment"] or "",
            r["created_by"] or "",
        )
    console.print(table)


@app.command()
def unsilence(silence_id: Annotated[int, typer.Argument(help="silence id")]) -> None:
    """Gỡ silence / remove a silence (held-back notices go out at the next sync)."""
    from chitieu.alerts.silences import remove_silence
    from chitieu.db.connect import connect

    with connect() as conn:
        ok = remove_silence(conn, silence_id)
    if not ok:
        _fail(f"không có silence đang hiệu lực #{silence_id} / no active silence #{silence_id}")
    console.print(f"Đã gỡ silence #{silence_id} / silence #{silence_id} removed")


@app.command("test-route")
def test_route(
    target: Annotated[str, typer.Argument(help="route name, or a jurisdiction id or name")],
) -> None:
    """Gửi tin thử qua một tuyến / send a test message through a route (enqueue + deliver now)."""
    from chitieu.alerts.channels import ChannelError, find_route, load_routes, redact
    from chitieu.alerts.outbox import send_test
    from chitieu.db.connect import connect
    from chitieu.textnorm import fold_key

    try:
        routes = load_routes()
    except ChannelError as exc:
        _fail(exc.both())
        return
    with connect(autocommit=True) as conn:
        labels = {"jurisdiction": target}
        for jid, name in conn.execute("SELECT id, name FROM jurisdictions").fetchall():
            if target == jid or fold_key(target) == fold_key(name):
                labels = {"jurisdiction": jid, "jurisdiction_name": name}
                break
        chosen = find_route(routes, target, labels)
        if not chosen:
            _fail(f"không tìm thấy tuyến cho '{target}' / no route for '{target}'")
        ids, summary = send_test(conn, chosen, datetime.now(UTC))
    for route in chosen:
        console.print(f"tuyến / route {route.name}: " + ", ".join(redact(c) for c in route.channels))
    console.print(f"gửi / sent {summary.sent}, thử lại / retry {summary.retried}, hỏng / dead {summary.dead}")
    for err in summary.errors:
        console.print(f"[red]{err}[/red]")
    if summary.sent < len(ids):
        raise typer.Exit(1)


@app.command()
def sync(
    now: NowOpt = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="only these rules (repeatable)")] = None,
) -> None:
    """Chạy quy tắc và cập nhật vòng đời cảnh báo / run the rules and update the alert lifecycle."""
    from chitieu.alerts.channels import ChannelError
    from chitieu.alerts.lifecycle import sync_alerts
    from chitieu.db.connect import connect

    with connect() as conn:
        try:
            summary = sync_alerts(conn, _now(now), rules=rule or None)
        except ChannelError as exc:
            _fail(exc.both())
            return
        except ValueError as exc:
            _fail(str(exc))
            return
    typer.echo(json.dumps(summary.to_json(), ensure_ascii=False))


@app.command()
def notify(
    now: NowOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many deliveries")] = 100,
    retry_dead: Annotated[
        bool, typer.Option("--retry-dead", help="re-queue dead notifications first")
    ] = False,
) -> None:
    """Gửi các thông báo đang chờ / deliver pending notifications from the outbox."""
    from chitieu.alerts import outbox
    from chitieu.db.connect import connect

    at = _now(now)
    with connect(autocommit=True) as conn:
        if retry_dead:
            outbox.retry_dead(conn, at)
        summary = outbox.drain(conn, at, limit=limit)
    typer.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    if summary.dead:
        raise typer.Exit(1)
