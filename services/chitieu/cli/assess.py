"""`chitieu assess CASE.json`: the assessment contract for one case, printed as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from chitieu.assess.core import CaseError, assess


def assess_command(
    case_file: Path = typer.Argument(..., help="Tệp JSON một trường hợp ('-' = stdin) / case JSON file"),
) -> None:
    """Đánh giá một trường hợp / assess one case (contract of issue 5 §1) and print the JSON result."""
    try:
        text = sys.stdin.read() if str(case_file) == "-" else case_file.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"không đọc được tệp / cannot read {case_file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        case = json.loads(text)
    except json.JSONDecodeError as exc:
        typer.echo(f"JSON không hợp lệ / invalid JSON in {case_file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        result = assess(case)
    except CaseError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("assess")(assess_command)
