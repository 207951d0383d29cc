"""`chitieu catalog check|schemas|load|export|import-annex|resolve`."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Danh mục chỉ tiêu / the target catalog.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

CatalogDir = typer.Option(None, "--catalog-dir", help="Catalog directory (default: CHITIEU_CATALOG_DIR).")


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"


@app.command()
def check(catalog_dir: Path | None = CatalogDir) -> None:
    """Validate every catalog file against its model, plus cross-file checks."""
    from chitieu.catalog.check import check_catalog

    violations = check_catalog(catalog_dir)
    if violations:
        for v in violations:
            err.print(f"[red]✗[/red] {v}", highlight=False, soft_wrap=True)
        err.print(f"[red]{len(violations)} lỗi / violations[/red]")
        raise typer.Exit(1)
    from chitieu.catalog.plans import load_plans

    plans = load_plans(catalog_dir)
    n = sum(len(p.targets) for p in plans)
    console.print(f"[green]✓[/green] danh mục hợp lệ / catalog valid: {len(plans)} plans, {n} targets")


@app.command()
def schemas(
    directory: Path | None = typer.Option(None, "--dir", help="Where the schemas go (default: schemas/)."),
    check_only: bool = typer.Option(False, "--check", help="Only report files that differ; exit 1 if any."),
) -> None:
    """Write the published JSON Schemas (catalog files, source specs) generated from the models."""
    from chitieu.catalog import schemas as published
    from chitieu.settings import PROJECT_ROOT

    target = directory or PROJECT_ROOT / "schemas"
    if check_only:
        stale = published.stale(target)
        for name in stale:
            err.print(
                f"[red]✗[/red] {target / name} khác mô hình / differs from the models",
                highlight=False,
                soft_wrap=True,
            )
        if stale:
            raise typer.Exit(1)
        console.print("[green]✓[/green] lược đồ khớp mô hình / schemas match the models")
        return
    for path in published.write(target):
        console.print(f"wrote {path}")


@app.command()
def load(catalog_dir: Path | None = CatalogDir) -> None:
    """Upsert the catalog into the database (idempotent); also the source specs when available."""
    from chitieu.catalog.check import check_catalog
    from chitieu.catalog.loader import load_catalog
    from chitieu.db.connect import connect

    violations = check_catalog(catalog_dir)
    if violations:
        for v in violations:
            err.print(f"[red]✗[/red] {v}", highlight=False, soft_wrap=True)
        err.print("[red]Danh mục có lỗi, không nạp / the catalog has errors, nothing loaded[/red]")
        raise typer.Exit(1)
    with connect() as conn:
        counts = load_catalog(conn, catalog_dir)
        try:
            from chitieu.ingest.specs import upsert_sources  # written by the ingestion helper
        except ImportError:
            upsert_sources = None  # type: ignore[assignment]
        if upsert_sources is not None:
            counts["source_specs"] = upsert_sources(conn)
        conn.commit()
    table = Table("bảng / table", "thay đổi / changed", title="chitieu catalog load")
    for key, value in counts.items():
        table.add_row(key, str(value))
    console.print(table)


@app.command()
def export(
    format: ExportFormat = typer.Option(ExportFormat.json, "--format", help="json (an array) or csv."),
    catalog_dir: Path | None = CatalogDir,
) -> None:
    """Print every target (no database needed)."""
    from chitieu.catalog.export import export_targets

    rows = export_targets(catalog_dir)
    if format is ExportFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    import csv

    flat = []
    for r in rows:
        f = {k: v for k, v in r.items() if k not in ("jurisdiction", "source", "baseline")}
        for k in ("jurisdiction", "source", "baseline"):
            for kk, vv in (r.get(k) or {}).items():
                f[f"{k}_{kk}"] = vv
        flat.append(f)
    fields = sorted({k for f in flat for k in f}, key=lambda k: (k != "id", k))
    writer = csv.DictWriter(sys.stdout, fieldnames=fields)
    writer.writeheader()
    writer.writerows(flat)


@app.command("import-annex")
def import_annex_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Annex table (xlsx, xls, ods, csv)."),
    plan: str = typer.Option(..., "--plan", help="Plan id, e.g. ninh-binh-kh-03-nq-cp."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Name or code (default: the plan's)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the result as JSON; write nothing."),
    load_db: bool = typer.Option(False, "--load", help="Also load the catalog into the database."),
    catalog_dir: Path | None = CatalogDir,
) -> None:
    """Turn a plan's indicator annex into targets: writes catalog/plans/<plan>.annex.yaml."""
    from chitieu.catalog.annex import AnnexError, import_annex, write_annex

    try:
        result = import_annex(file, plan, jurisdiction=jurisdiction, catalog_dir=catalog_dir)
    except AnnexError as exc:
        err.print(f"[red]{exc.both()}[/red]")
        raise typer.Exit(1) from exc
    if dry_run:
        doc = result.to_document()
        doc["rows_read"] = result.rows_read
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    from chitieu.catalog.check import check_catalog

    out = write_annex(result, catalog_dir)
    console.print(
        f"[green]✓[/green] {out}: {len(result.targets)} targets, {len(result.indicators)} plan-specific "
        f"indicators, {len(result.unparsed)} rows not parsed"
    )
    for row in result.unparsed:
        err.print(
            f"[yellow]dòng/row {row['row']}[/yellow]: {row['text']} — "
            f"{row['reason_vi']} / {row['reason_en']}",
            highlight=False,
        )
    violations = check_catalog(catalog_dir)
    if violations:
        for v in violations:
            err.print(f"[red]✗[/red] {v}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if load_db:
        from chitieu.catalog.loader import load_catalog
        from chitieu.db.connect import connect

        with connect() as conn:
            counts = load_catalog(conn, catalog_dir)
            conn.commit()
        console.print(counts)


@app.command()
def resolve(
    text: str = typer.Argument(..., help="A jurisdiction name, code or id."),
    on: str | None = typer.Option(None, "--on", help="Date in view, YYYY-MM-DD (default: today)."),
    catalog_dir: Path | None = CatalogDir,
) -> None:
    """Resolve a jurisdiction name or code for a date (52 is Bình Định before 2025-07-01, Gia Lai after)."""
    from chitieu.catalog.jurisdictions import load_jurisdictions

    reg = load_jurisdictions(catalog_dir)
    j = reg.resolve(text, on=date.fromisoformat(on) if on else None)
    if j is None:
        err.print(f"[red]Không nhận ra / not recognised: {text!r}[/red]")
        raise typer.Exit(1)
    succ = [f"{s.id} {s.name} ({eff})" for s, eff in reg.successors(j.id)]
    sys.stdout.write(
        json.dumps(
            {
                "id": j.id,
                "code": j.code,
                "name": j.name,
                "valid_from": j.valid_from.isoformat() if j.valid_from else None,
                "valid_to": j.valid_to.isoformat() if j.valid_to else None,
                "successors": succ,
            },
            ensure_ascii=False,
        )
        + "\n"
    )
