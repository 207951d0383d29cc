"""`chitieu ingest` and `chitieu template` as a user runs them (real catalog, real database)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from chitieu.cli import app
from chitieu.settings import get_settings
from ingest_support import xlsx_bytes

runner = CliRunner()

ROWS = [
    ["Báo cáo tỷ trọng kinh tế số"],
    ["Tỉnh/Thành phố", "Mã chỉ tiêu", "Năm", "Giá trị"],
    ["Ninh Thuận", "digital_economy_share_grdp", "2023", "9,5"],
    ["Gia Lai", "digital_economy_share_grdp", "2025-H2", "11"],
    ["Không Rõ", "digital_economy_share_grdp", "2023", "1"],
]


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHITIEU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()


def test_dry_run_prints_the_documented_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:wrong@127.0.0.1:1/none")  # must not be used
    path = tmp_path / "kts.xlsx"
    path.write_bytes(xlsx_bytes(ROWS, title="KTS"))
    result = runner.invoke(app, ["ingest", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"observations", "rejected", "summary"}
    first = doc["observations"][0]
    assert set(first) == {"jurisdiction", "indicator", "period", "value", "unit", "status", "source"}
    assert first["jurisdiction"] == {"name": "Ninh Thuận", "code": "58"}
    assert (first["indicator"], first["period"], first["value"], first["status"]) == (
        "digital_economy_share_grdp",
        "2023",
        9.5,
        "final",
    )
    assert first["source"]["file"] == "kts.xlsx"
    assert first["source"]["cell"] == "D3"
    assert doc["observations"][1]["jurisdiction"]["code"] == "52"  # the merged Gia Lai in 2025-H2
    (rej,) = doc["rejected"]
    assert rej == {
        "sheet": "KTS",
        "row": 5,
        "column": "A5",
        "raw": "Không Rõ",
        "reason_code": "unknown_jurisdiction",
        "reason_vi": "không nhận ra tỉnh/thành phố 'Không Rõ'",
        "reason_en": "unknown jurisdiction 'Không Rõ'",
    }
    assert doc["summary"]["read"] == 3
    assert doc["summary"]["rejected"] == 1


@pytest.mark.db
def test_load_then_reload_via_cli(db: psycopg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "kts.xlsx"
    path.write_bytes(xlsx_bytes(ROWS, title="KTS"))
    first = runner.invoke(app, ["ingest", str(path), "--format", "json"])
    assert first.exit_code == 0, first.output
    s1 = json.loads(first.stdout)["summary"]
    assert (s1["status"], s1["loaded"], s1["rejected"]) == ("loaded", 2, 1)
    second = runner.invoke(app, ["ingest", str(path), "--format", "json"])
    assert second.exit_code == 0, second.output
    s2 = json.loads(second.stdout)["summary"]
    assert (s2["status"], s2["loaded"]) == ("skipped", 0)
    table = runner.invoke(app, ["ingest", str(path)])
    assert table.exit_code == 0
    assert "skipped" in table.stdout
    row = db.execute("SELECT count(*) FROM observations").fetchone()
    assert row is not None
    assert row[0] == 2


def test_unreadable_file_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "anh.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    result = runner.invoke(app, ["ingest", str(path), "--dry-run"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["summary"]["error"]
    assert error["code"] == "unreadable_file"
    assert "PNG" in error["en"]
    assert error["vi"]
    assert error["vi"] != error["en"]


def test_template_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "mau.xlsx"
    made = runner.invoke(
        app, ["template", "--jurisdiction", "Ninh Thuận", "--plan", "ninh-thuan-319-ctr-tu", "-o", str(out)]
    )
    assert made.exit_code == 0, made.output
    wb = load_workbook(out)
    ws = wb["Nhap lieu"]
    header = [c.value for c in ws[3]]
    assert header[:8] == [
        "Mã tỉnh",
        "Tỉnh/Thành phố",
        "Mã chỉ tiêu",
        "Tên chỉ tiêu",
        "Kỳ",
        "Giá trị",
        "Đơn vị tính",
        "Trạng thái",
    ]
    ranges = {str(dv.sqref).split(":")[0][0]: dv for dv in ws.data_validations.dataValidation}
    assert {"C", "G", "H"} <= set(ranges)
    assert ranges["H"].type == "list"
    body = list(ws.iter_rows(min_row=4, values_only=True))
    assert body
    assert all(r[0] == "58" and r[1] == "Ninh Thuận" for r in body)
    pairs = {(r[2], r[4]) for r in body}
    assert ("digital_economy_share_grdp", "2024") in pairs

    # unfilled: every row is a blank figure, skipped, nothing rejected
    empty = runner.invoke(app, ["ingest", str(out), "--dry-run"])
    assert empty.exit_code == 0, empty.output
    doc = json.loads(empty.stdout)
    assert doc["summary"]["missing_skipped"] == len(body)
    assert not doc["rejected"]
    assert not doc["observations"]

    # filled in by the province, shape untouched
    filled = tmp_path / "mau-da-dien.xlsx"
    for i, row in enumerate(ws.iter_rows(min_row=4, max_row=3 + len(body))):
        if row[2].value == "digital_economy_share_grdp":
            row[5].value = f"{8 + i / 10:.1f}".replace(".", ",")
            row[7].value = "ước tính" if row[4].value == "2024" else "chính thức"
    wb.save(filled)
    back = runner.invoke(app, ["ingest", str(filled), "--dry-run"])
    assert back.exit_code == 0, back.output
    doc = json.loads(back.stdout)
    assert not doc["rejected"], doc["rejected"]
    got = {o["period"]: (o["value"], o["status"]) for o in doc["observations"]}
    years = sorted(r[4] for r in body if r[2] == "digital_economy_share_grdp")
    assert sorted(got) == years
    assert len(years) >= 2
    assert got["2024"][1] == "provisional"
    assert all(got[y][1] == "final" for y in years if y != "2024")


def test_template_for_unknown_province_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", "--jurisdiction", "Atlantis", "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2
    assert "Atlantis" in result.output
