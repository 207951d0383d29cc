"""`chitieu assess CASE`: the assessment contract, one case (a JSON document) or many (JSON lines).

This module is imported on the fast path of `chitieu assess` (see `chitieu.cli.main`): it imports
only typer and the method, never the database, pandas or the other areas.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer


def _result_line(case: Any, number: int | None = None) -> tuple[str, bool]:
    """(JSON text of the result or of the error, ok)."""
    from chitieu.assess.core import CaseError, assess

    try:
        return json.dumps(assess(case), ensure_ascii=False), True
    except CaseError as exc:
        if number is None:
            return str(exc), False
        return json.dumps({"line": number, "error": str(exc)}, ensure_ascii=False), False


def _lines(text: str, source: Path) -> int:
    """One result per non-empty input line, in order; a bad line prints {"line", "error"} in its
    place (so outputs stay aligned with inputs) and makes the exit code 2."""
    failed = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"JSON không hợp lệ / invalid JSON in {source} line {number}: {exc}"
            typer.echo(json.dumps({"line": number, "error": message}, ensure_ascii=False))
            failed = True
            continue
        out, ok = _result_line(case, number)
        typer.echo(out)
        failed |= not ok
    return 2 if failed else 0


def assess_command(
    case_file: Path = typer.Argument(
        ...,
        help="Tệp JSON một trường hợp, hoặc JSON lines (một trường hợp một dòng); '-' = stdin / "
        "a case JSON file, or JSON lines (one case a line)",
    ),
) -> None:
    """Đánh giá trường hợp / assess cases and print one JSON result per case (docs/assessment.md §1)."""
    try:
        text = sys.stdin.read() if str(case_file) == "-" else case_file.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"không đọc được tệp / cannot read {case_file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        case = json.loads(text)
    except json.JSONDecodeError as exc:
        if sum(1 for line in text.splitlines() if line.strip()) > 1:
            raise typer.Exit(_lines(text, case_file)) from None
        typer.echo(f"JSON không hợp lệ / invalid JSON in {case_file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    out, ok = _result_line(case)
    if not ok:
        typer.echo(out, err=True)
        raise typer.Exit(2)
    typer.echo(out)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("assess")(assess_command)


def run_alone(args: list[str]) -> None:
    """`chitieu assess ARGS` without building the whole app (the fast start)."""
    alone = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    alone.command()(assess_command)
    alone(args=args, prog_name="chitieu assess")
