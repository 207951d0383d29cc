"""`chitieu assess CASE`: the assessment contract, one case (a JSON document) or many (JSON lines).

`chitieu assess FILE` (or `-` for stdin) runs through `run_alone` without typer, the database,
pandas or the other areas: typer alone (it loads pydantic to coerce any parameter) doubles the
start-up time, and checking many cases is what this command is for. Anything else (`--help`) goes
through the whole command line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import typer

HELP_FILE = (
    "Tệp JSON một trường hợp, hoặc JSON lines (một trường hợp một dòng); '-' = stdin / "
    "a case JSON file, or JSON lines (one case a line)"
)


def _result_line(case: Any, number: int | None = None) -> tuple[str, bool]:
    """(JSON text of the result or of the error, ok)."""
    from chitieu.assess.core import CaseError, assess

    try:
        return json.dumps(assess(case), ensure_ascii=False), True
    except CaseError as exc:
        if number is None:
            return exc.both(), False
        return json.dumps({"line": number, "error": exc.parts()}, ensure_ascii=False), False


def _lines(text: str, source: str, out: TextIO) -> int:
    """One result per non-empty input line, in order; a bad line prints {"line", "error": {"code", "vi",
    "en"}} in its place (so outputs stay aligned with inputs) and makes the exit code 2."""
    failed = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            error = {
                "code": "invalid-json",
                "vi": f"JSON không hợp lệ ở dòng {number} của {source}: {exc}",
                "en": f"invalid JSON in {source} line {number}: {exc}",
            }
            print(json.dumps({"line": number, "error": error}, ensure_ascii=False), file=out)
            failed = True
            continue
        result, ok = _result_line(case, number)
        print(result, file=out)
        failed |= not ok
    return 2 if failed else 0


def run(source: str, out: TextIO, err: TextIO) -> int:
    """Assess the cases of file `source` ('-' = stdin); print the results; return the exit code."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"không đọc được tệp / cannot read {source}: {exc}", file=err)
        return 2
    try:
        case = json.loads(text)
    except json.JSONDecodeError as exc:
        if sum(1 for line in text.splitlines() if line.strip()) > 1:
            return _lines(text, source, out)
        print(f"JSON không hợp lệ / invalid JSON in {source}: {exc}", file=err)
        return 2
    result, ok = _result_line(case)
    print(result, file=out if ok else err)
    return 0 if ok else 2


def run_alone(args: list[str]) -> int | None:
    """`chitieu assess FILE` without the rest of the command line; None when `args` need it."""
    if len(args) != 1 or (args[0].startswith("-") and args[0] != "-"):
        return None
    return run(args[0], sys.stdout, sys.stderr)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    import typer

    def assess_command(case_file: str = typer.Argument(..., help=HELP_FILE)) -> None:
        """Đánh giá trường hợp / assess cases and print one JSON result per case (docs/assessment.md §1)."""
        code = run(case_file, sys.stdout, sys.stderr)
        if code:
            raise typer.Exit(code)

    app.command("assess")(assess_command)
