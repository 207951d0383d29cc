"""`chitieu evaluate` and `chitieu status`: evaluate the catalog, show the latest statuses."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from chitieu import statuses
from chitieu.exports.datasets import CSV_SETTINGS, STATUSES, Filters, csv_copy, query

if TYPE_CHECKING:
    import pandas as pd

# The vocabulary's colours (Grafana names) as terminal styles.
COLOR_STYLE = {
    "green": "bold green",
    "semi-dark-green": "green",
    "blue": "cyan",
    "text": "dim",
    "yellow": "yellow",
    "orange": "dark_orange",
    "red": "bold red",
    "dark-red": "red",
}
# The columns `chitieu status` shows, defined by the statuses export.
STATUS_SPEC = STATUSES.only(
    [
        "plan_id",
        "target_id",
        "jurisdiction_id",
        "data_jurisdiction_id",
        "indicator_code",
        "target_year",
        "check_year",
        "headline_status",
        "headline_rule",
        "status",
        "progress_ratio",
        "current_value",
        "current_year",
        "expected_value",
        "projected_value",
        "will_meet",
        "anticipated_gap",
        "base_year",
        "base_value",
        "series_basis",
        "flags",
    ]
)


def styled(key: str) -> str:
    """'[style]Vietnamese label / key[/]' for a status key, from the vocabulary."""
    s = statuses.status(key)
    return f"[{COLOR_STYLE.get(s.color, '')}]{s.label_vi} / {key}[/]"


def parse_timestamp(text: str | None) -> datetime | None:
    """ISO date or timestamp; a naive one is taken as UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"thời điểm không hợp lệ / invalid timestamp {text!r} "
            "(ISO 8601, e.g. 2025-06-01 or 2025-06-01T08:00Z)"
        ) from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def evaluate_command(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Dữ liệu đã biết tại thời điểm này / data known at"
    ),
    as_json: bool = typer.Option(False, "--json", help="In kết quả dạng JSON / print the summary as JSON"),
    full: bool = typer.Option(
        False,
        "--full",
        help="Đánh giá lại mọi chỉ tiêu / evaluate every target again, not only those whose series "
        "changed since the latest run",
    ),
) -> None:
    """Đánh giá toàn bộ chỉ tiêu / evaluate every target from the data known at --as-of (default now)."""
    from chitieu.db.connect import connect
    from chitieu.evaluate.engine import evaluate

    when = parse_timestamp(as_of)
    with connect(autocommit=True) as conn:
        summary = evaluate(conn, when, full=full)
        if not summary.reused:
            # The latest-status table the API and the dashboards read (the evaluate DAG does the same).
            from chitieu.dashboards.views import refresh

            refresh(conn)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    from rich.console import Console

    console = Console()
    what = "không đổi, giữ lượt" if summary.reused else "đã ghi lượt"
    console.print(
        f"[bold]{what} / {'unchanged, kept run' if summary.reused else 'recorded run'} {summary.run_id}[/] "
        f"as_of {summary.as_of.isoformat()}: {summary.targets_count} chỉ tiêu / targets, "
        f"{summary.results_count} kết quả / results, {summary.seconds:.1f} s"
    )
    for status, count in summary.headline_counts.items():
        console.print(f"  {styled(status)}: {count}")
    for flag, count in summary.flag_counts.items():
        console.print(f"  flag {flag}: {count}")


def _filters(*, jurisdiction: str | None, plan: str | None) -> Filters:
    """The statuses' filters: places resolved as the API resolves them (chitieu.places), also matching
    the jurisdiction whose data was used; an unknown place is a usage error."""
    from chitieu.places import UnknownJurisdiction, jurisdiction_ids

    try:
        ids = jurisdiction_ids(jurisdiction)
    except UnknownJurisdiction as exc:
        raise typer.BadParameter(exc.both()) from exc
    return Filters(plan=plan, jurisdiction_ids=ids, data_jurisdiction=True)


def _recorded(conn: Any) -> bool:
    return conn.execute("SELECT 1 FROM evaluation_runs_latest").fetchone() is not None


def load_statuses(
    conn: Any, *, jurisdiction: str | None = None, plan: str | None = None, as_of: datetime | None = None
) -> tuple[pd.DataFrame, str]:
    """Latest recorded statuses (the statuses table, chitieu.exports.statuses), or, with as_of or
    before any run was recorded, computed from the data known then; and a note."""
    import pandas as pd

    from chitieu.evaluate.engine import compute_results

    filters = _filters(jurisdiction=jurisdiction, plan=plan)
    note = ""
    if as_of is None and _recorded(conn):
        select, params = query("statuses", filters, spec=STATUS_SPEC)
        cur = conn.execute(select, params)
        frame = pd.DataFrame(cur.fetchall(), columns=STATUS_SPEC.header)
    else:
        if as_of is None:
            note = "chưa có lượt đánh giá, tính tại chỗ / no recorded run yet: computed now, not recorded"
        else:
            note = f"tính theo dữ liệu đã biết tại / computed from the data known at {as_of.isoformat()}"
        frame = compute_results(conn, as_of)
        if not frame.empty:
            frame = frame[STATUS_SPEC.header]
            if filters.jurisdiction_ids is not None:
                ids = filters.jurisdiction_ids
                frame = frame[frame["jurisdiction_id"].isin(ids) | frame["data_jurisdiction_id"].isin(ids)]
            if plan:
                frame = frame[frame["plan_id"] == plan]
    if frame.empty:
        frame = pd.DataFrame(columns=STATUS_SPEC.header)
    for col in ("target_year", "check_year", "current_year", "base_year"):
        frame[col] = pd.array(frame[col].to_numpy(dtype=float), dtype="Int64") if len(frame) else frame[col]
    order = ["plan_id", "target_id", "check_year"]
    frame = frame.sort_values(order, na_position="first", kind="stable").reset_index(drop=True)
    return frame, note


def _print_csv(conn: Any, *, jurisdiction: str | None, plan: str | None) -> None:
    """The recorded statuses as the statuses export writes them (PostgreSQL's COPY, same columns)."""
    filters = _filters(jurisdiction=jurisdiction, plan=plan)
    select, params = query("statuses", filters, as_csv_text=True, spec=STATUS_SPEC)
    with conn.transaction():
        conn.execute(CSV_SETTINGS)
        with conn.cursor().copy(csv_copy(select), params) as copy:
            for chunk in copy:
                sys.stdout.buffer.write(chunk)
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def _plain(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def status_command(
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", "-j", help="Tên hoặc mã địa phương / name or id"
    ),
    plan: str | None = typer.Option(None, "--plan", "-p", help="Mã kế hoạch / plan id"),
    as_of: str | None = typer.Option(None, "--as-of", help="Theo dữ liệu đã biết tại / data known at"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
) -> None:
    """Trạng thái mới nhất của các chỉ tiêu / latest status of every target."""
    if fmt not in ("table", "json", "csv"):
        raise typer.BadParameter(f"định dạng không hợp lệ / invalid format {fmt!r}: table | json | csv")
    from rich.console import Console
    from rich.table import Table

    from chitieu.db.connect import connect

    when = parse_timestamp(as_of)
    with connect(autocommit=True) as conn:
        if fmt == "csv" and when is None and _recorded(conn):
            _print_csv(conn, jurisdiction=jurisdiction, plan=plan)
            return
        frame, note = load_statuses(conn, jurisdiction=jurisdiction, plan=plan, as_of=when)
    if note:
        typer.echo(note, err=True)
    if fmt == "json":
        records = [{k: _plain(v) for k, v in rec.items()} for rec in frame.to_dict("records")]
        typer.echo(json.dumps(records, ensure_ascii=False, default=str))
        return
    if fmt == "csv":
        out = frame.copy()
        out["flags"] = [";".join(f) if isinstance(f, list) else "" for f in out["flags"]]
        out.to_csv(sys.stdout, index=False)
        return
    table = Table(title="Chỉ Tiêu — trạng thái / status", show_lines=False)
    for col in (
        "plan",
        "target",
        "jurisdiction",
        "indicator",
        "year",
        "status",
        "ratio",
        "R",
        "current",
        "path",
        "proj.",
        "flags",
    ):
        table.add_column(col, overflow="fold")
    for rec in frame.to_dict("records"):
        year = rec["check_year"] if _plain(rec["check_year"]) is not None else rec["target_year"]
        jur = rec["jurisdiction_id"]
        if _plain(rec["data_jurisdiction_id"]) not in (None, jur):
            jur = f"{jur} → {rec['data_jurisdiction_id']}"
        cur = _fmt(rec["current_value"])
        if _plain(rec["current_year"]) is not None:
            cur = f"{cur} ({rec['current_year']})"
        table.add_row(
            rec["plan_id"],
            rec["target_id"],
            jur,
            rec["indicator_code"],
            _fmt(year),
            styled(rec["headline_status"]),
            rec["status"],
            _fmt(rec["progress_ratio"]),
            cur,
            _fmt(rec["expected_value"]),
            _fmt(rec["projected_value"]),
            _fmt(rec["flags"]),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(table)
    typer.echo(f"{len(frame)} dòng / rows", err=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("evaluate")(evaluate_command)
    app.command("status")(status_command)
