"""Top-level `chitieu ingest` and `chitieu template` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _progress_bar() -> tuple[Any, Any]:
    """A rich progress bar when stdout is a terminal; (None, None) otherwise."""
    if not sys.stdout.isatty():
        return None, None
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("đọc tệp / reading", total=None)
    labels = {
        "parse": "đọc tệp / reading",
        "normalize": "chuẩn hoá / normalizing",
        "validate": "kiểm tra / validating",
        "copy": "nạp / loading",
        "upsert": "ghi phiên bản / writing vintages",
    }

    def update(stage: str, done: int, total: int) -> None:
        bar.update(task, description=labels.get(stage, stage), completed=done, total=total or None)

    return bar, update


def _summary_table(results: list[Any]) -> Table:
    table = Table(title="Kết quả nạp / load summary")
    for col in (
        "file",
        "batch",
        "status",
        "read",
        "loaded",
        "unchanged",
        "revised",
        "rejected",
        "missing",
        "cells",
        "labels",
        "dup",
    ):
        table.add_column(col, justify="right" if col not in ("file", "status") else "left")
    for r in results:
        table.add_row(
            str(r.file_name),
            str(r.batch_id or "-"),
            r.status,
            str(r.rows_read),
            str(r.rows_loaded),
            str(r.rows_unchanged),
            str(r.rows_revised),
            str(r.rows_rejected),
            str(r.rows_missing),
            str(r.reconciliation.get("cells", "-")),
            str(r.reconciliation.get("label", "-")),
            str(r.reconciliation.get("duplicate", "-")),
        )
    return table


def _rejected_table(result: Any, limit: int = 30) -> Table:
    table = Table(title=f"Dòng bị từ chối / rejected rows ({result.rows_rejected})")
    for col in ("sheet", "row", "cell", "raw", "lý do / reason"):
        table.add_column(col)
    for r in result.rejected[:limit]:
        table.add_row(
            str(r.get("sheet") or ""),
            str(r.get("row") or ""),
            str(r.get("column") or ""),
            str(r.get("raw") or ""),
            f"{r.get('reason_vi')}\n{r.get('reason_en')}",
        )
    return table


def ingest(
    path_or_url: str = typer.Argument(
        ..., help="tệp (xlsx, xls, ods, csv) hoặc URL / a file or an http(s) URL"
    ),
    source: str | None = typer.Option(None, "--source", help="id of a source spec in catalog/sources"),
    indicator: str | None = typer.Option(None, "--indicator", help="indicator code when the file has none"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="parse and validate only; print JSON, touch no database"
    ),
    fmt: str = typer.Option("table", "--format", help="table | json"),
    reprocess: bool = typer.Option(
        False,
        "--reprocess",
        help="nạp lại tệp đã nạp (sau khi sửa danh mục) / load a file already loaded again, after a "
        "catalog fix: rows it had rejected that pass now are added and their quarantine entries "
        "marked resolved; figures already stored add nothing",
    ),
) -> None:
    """Nạp số liệu từ tệp hoặc URL / load figures from a file or URL (archive, validate, load)."""
    from chitieu.ingest.intake import ingest_file, ingest_source
    from chitieu.ingest.specs import SpecError, get_source_spec

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    spec = None
    if source is not None:
        try:
            spec = get_source_spec(source)
        except SpecError as exc:
            err_console.print(f"[red]{exc.both()}[/red]")
            raise typer.Exit(2) from exc
    conn = None
    if not dry_run:
        from chitieu.db.connect import connect

        conn = connect(autocommit=True)
    bar, update = (None, None) if dry_run or fmt == "json" else _progress_bar()
    try:
        if bar is not None:
            bar.start()
        if spec is not None and path_or_url in ("-", spec.id):  # fetch from the spec's own url/path
            results = ingest_source(conn, spec, dry_run=dry_run, progress=update, reprocess=reprocess)
        else:
            results = [
                ingest_file(
                    conn,
                    Path(path_or_url) if "://" not in path_or_url else path_or_url,  # type: ignore[arg-type]
                    indicator=indicator,
                    spec=spec,
                    dry_run=dry_run,
                    progress=update,
                    reprocess=reprocess,
                )
            ]
    finally:
        if bar is not None:
            bar.stop()
        if conn is not None:
            conn.close()
    if dry_run or fmt == "json":
        if len(results) == 1:
            print(results[0].to_json(indent=2))
        else:
            import json

            print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2, default=str))
    else:
        console.print(_summary_table(results))
        for r in results:
            console.print(
                f"{r.file_name}: {r.status} (batch {r.batch_id or '-'}) — read {r.rows_read}, "
                f"loaded {r.rows_loaded}, "
                f"unchanged {r.rows_unchanged}, revised {r.rows_revised}, rejected {r.rows_rejected}"
                + (f", earlier rejections resolved {r.rows_resolved}" if r.rows_resolved else ""),
                soft_wrap=True,
            )
            if r.error:
                err_console.print(f"[red]{r.error.both()}[/red]")
            if r.status == "skipped":
                console.print(
                    "[dim]đã nạp trước đây; sau khi sửa danh mục dùng --reprocess để nạp lại / already "
                    "loaded; after a catalog fix, --reprocess loads it again[/dim]"
                )
            if r.rejected and r.status != "rejected":
                console.print(_rejected_table(r))
            for note in r.notes:
                console.print(f"[dim]{note}[/dim]")
    if any(r.status in ("rejected", "failed") for r in results):
        raise typer.Exit(1)


def template(
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="tên hoặc mã tỉnh / province name or code"),
    plan: str | None = typer.Option(None, "--plan", help="plan id (default: the province's plans)"),
    output: Path = typer.Option(..., "-o", "--output", help="FILE.xlsx"),
) -> None:
    """Tạo mẫu nhập liệu / write the data-entry template (long layout, dropdowns)."""
    from chitieu.ingest.template import TemplateError, write_template

    try:
        n = write_template(output, jurisdiction, plan)
    except TemplateError as exc:
        err_console.print(f"[red]{exc.both()}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{output}: {n} dòng cần điền / rows to fill")


def accept(
    rejection_id: int = typer.Argument(..., help="id of the quarantined row (rejected_rows.id)"),
    by: str = typer.Option(..., "--by", help="người chấp nhận / who accepts (written to the audit trail)"),
    note: str = typer.Option("", "--note", help="vì sao số liệu đúng / why the figure is right"),
) -> None:
    """Chấp nhận số liệu bị giữ lại do nghi sai đơn vị / accept a figure quarantined as a suspected
    unit error: it is loaded and the acceptance is written to the audit trail."""
    from chitieu.db.connect import connect
    from chitieu.ingest.accept import AcceptError, accept_quarantined

    with connect() as conn:
        try:
            done = accept_quarantined(conn, rejection_id, by, note)
        except AcceptError as exc:
            err_console.print(f"[red]{exc.both()}[/red]")
            raise typer.Exit(2) from exc
    fig = done.candidate
    what = "đã nạp / loaded" if done.loaded else "đã có sẵn / already current"
    console.print(
        f"{fig['jurisdiction_id']} {fig['indicator_code']} {fig['period_start']} = {fig['value']:g}: {what} "
        f"(audit {done.audit_id})"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("ingest")(ingest)
    app.command("template")(template)
    app.command("accept")(accept)
