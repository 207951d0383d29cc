"""One status vocabulary everywhere: every surface that names a status uses the words of
chitieu.statuses, and the SQL table the views and dashboards read equals the module."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from chitieu import statuses
from chitieu.alerts.findings import RULE_NAMES_EN, RULE_NAMES_VI
from chitieu.assess import formulas

ROOT = Path(__file__).resolve().parents[1]
KEYS = "|".join(statuses.KEYS)
# A status key followed (in a dict, a tuple or a SQL VALUES row) by a quoted wording.
PAIR = re.compile(rf"""["']({KEYS})["']\s*[:,]\s*\(?\s*["']([^"'\n]+)["']""")
# Identifiers (other keys, severities, colours) are not wordings.
IDENTIFIER = re.compile(r"^[a-z0-9_\-]+$")
# Wordings other surfaces used for these statuses before there was one vocabulary.
OTHER_WORDINGS = (
    "Cần tăng tốc",
    "Đúng tiến độ",
    "Tiến độ chậm",
    "Tiến độ hạn chế",
    "Tiến triển hạn chế",
    "Đang xấu đi",
    "Thiếu dữ liệu",
    "Không đạt năm",
    "Đang thực hiện",
)
ALLOWED = {s.key: {s.label_vi, s.label_en, s.key, s.color} for s in statuses.STATUSES}
# An alert rule may share a status's key (milestone_overdue): its name names the rule, not the status.
for names in (RULE_NAMES_VI, RULE_NAMES_EN):
    for rule, name in names.items():
        ALLOWED.get(rule, set()).add(name)

OURS = [
    *sorted((ROOT / "services/chitieu/cli").glob("*.py")),
    *sorted((ROOT / "services/chitieu/alerts").glob("*.py")),
    *sorted((ROOT / "services/chitieu/api").rglob("*.py")),
    *sorted((ROOT / "services/chitieu/evaluate").glob("*.py")),
    *sorted((ROOT / "services/chitieu/assess").glob("*.py")),
    ROOT / "services/chitieu/db/migrations/views/030-evaluation-views.sql",
    ROOT / "docs/assessment.md",
]
DASHBOARDS = [
    *sorted((ROOT / "services/chitieu/dashboards").glob("*.py")),
    ROOT / "services/chitieu/db/migrations/views/040-dashboard-views.sql",
    *sorted((ROOT / "dashboards/build").glob("*.json")),
]


def wording_problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = [
        f"{path.relative_to(ROOT)}: {key} worded {label!r}"
        for key, label in PAIR.findall(text)
        if label not in ALLOWED[key] and not IDENTIFIER.match(label)
    ]
    lowered = text.casefold()
    problems += [f"{path.relative_to(ROOT)}: {w!r}" for w in OTHER_WORDINGS if w.casefold() in lowered]
    return problems


@pytest.mark.parametrize("path", OURS + DASHBOARDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_surface_uses_the_vocabulary(path: Path) -> None:
    assert wording_problems(path) == []


def test_the_scan_finds_another_wording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    bad = tmp_path / "bad.py"
    bad.write_text('LABELS = {"needs_acceleration": "Cần tăng tốc", "on_track": "Đúng lộ trình"}\n', "utf-8")
    assert wording_problems(bad) == [
        "bad.py: needs_acceleration worded 'Cần tăng tốc'",
        "bad.py: 'Cần tăng tốc'",
    ]
    sql = tmp_path / "bad.sql"
    sql.write_text("VALUES ('limited_progress', 'Tiến độ chậm lại', 'x')\n", "utf-8")
    assert wording_problems(sql)[0] == "bad.sql: limited_progress worded 'Tiến độ chậm lại'"


def test_every_label_is_unique_and_milestones_not_due_are_their_own_group() -> None:
    assert len({s.label_vi for s in statuses.STATUSES}) == len(statuses.STATUSES)
    assert len({s.label_en for s in statuses.STATUSES}) == len(statuses.STATUSES)
    assert statuses.status("milestone_pending").group == "not_due"
    assert statuses.status("on_track").group == "on_track"


def test_the_headline_orders_statuses_as_the_vocabulary_does() -> None:
    for key, severity in formulas._TRAJECTORY_SEVERITY.items():
        assert statuses.status(key).severity == severity


def test_the_sql_vocabulary_equals_the_module(db: psycopg.Connection) -> None:
    columns = sql.SQL(", ").join(map(sql.Identifier, statuses.VOCABULARY_COLUMNS))
    rows = db.execute(sql.SQL("SELECT {} FROM status_vocabulary ORDER BY key").format(columns)).fetchall()
    assert rows == sorted(statuses.vocabulary_rows())
    # The views read it: a verdict's words are the vocabulary's.
    view = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'evaluation_verdicts_latest'"
    ).fetchall()
    assert {"headline_status", "label_vi", "label_en", "color", "severity", "grp"} <= {c for (c,) in view}
