"""The plausibility guard: figures about 10/100/1000 times off their neighbours are quarantined with
the neighbour named, counted, and loaded only when an engineer accepts them (CLI or API), which the
audit trail records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chitieu.cli import app
from chitieu.ingest.connectors.spreadsheet import SpreadsheetConnector
from chitieu.ingest.intake import ingest_payload
from chitieu.ingest.records import Payload
from chitieu.settings import get_settings
from ingest_support import xlsx_bytes
from test_ingest_sheets import catalog

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHITIEU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()


def _file(tmp_path: Path, name: str, rows: list[list[Any]]) -> Path:
    path = tmp_path / name
    path.write_bytes(xlsx_bytes(rows))
    return path


FIRST = [
    ["DÂN SỐ TRUNG BÌNH"],
    ["Đơn vị tính: Nghìn người"],
    ["Tỉnh/Thành phố", "2022", "2023"],
    ["Ninh Thuận", "590,4", "598,1"],
    ["Khánh Hòa", "1.240", "1.253,5"],
]
# The same table sent again without its unit line: 598,1 read as 598.1 people.
REVISED = [
    ["DÂN SỐ TRUNG BÌNH"],
    ["Tỉnh/Thành phố", "2023"],
    ["Ninh Thuận", "598,1"],
    ["Khánh Hòa", "1.253.500"],
]


def _ingest(path: Path) -> dict[str, Any]:
    out = runner.invoke(app, ["ingest", str(path), "--indicator", "population", "--format", "json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


@pytest.mark.db
def test_a_figure_a_thousand_times_off_its_vintage_is_quarantined_then_accepted(
    catalog_db: psycopg.Connection, tmp_path: Path
) -> None:
    first = _ingest(_file(tmp_path, "dan-so.xlsx", FIRST))
    assert first["summary"]["loaded"] == 4
    assert first["summary"]["rejected"] == 0

    second = _ingest(_file(tmp_path, "dan-so-2023.xlsx", REVISED))
    summary = second["summary"]
    assert summary["rejected"] == 1
    assert summary["unchanged"] == 1
    (held,) = second["rejected"]
    assert held["column"] == "B3"
    assert held["raw"] == "598,1"
    assert held["reason_code"] == "suspected_unit_error"
    assert "suspected unit error" in held["reason_en"]
    assert "nghi sai đơn vị" in held["reason_vi"]
    assert "current stored vintage (598100)" in held["reason_en"]
    assert "1/1000" in held["reason_en"]
    recon = summary["reconciliation"]
    assert recon["cells"] == sum(v for k, v in recon.items() if k != "cells")
    assert (recon["loaded"], recon["unchanged"], recon["rejected"]) == (0, 1, 1)
    stored = catalog_db.execute(
        "SELECT reconciliation FROM load_batches WHERE id = %s", (summary["batch_id"],)
    ).fetchone()
    assert stored is not None
    assert stored[0] == recon

    (rejection_id,) = catalog_db.execute(
        "SELECT id FROM rejected_rows WHERE reason_code = 'suspected_unit_error'"
    ).fetchone() or (None,)
    current = (
        "SELECT value FROM observations_current WHERE jurisdiction_id = 'old-58' "
        "AND indicator_code = 'population' AND period_start = '2023-01-01'"
    )
    assert catalog_db.execute(current).fetchone() == (598100.0,)

    ok = runner.invoke(
        app, ["accept", str(rejection_id), "--by", "Lan (Sở KH&CN)", "--note", "đúng: số người"]
    )
    assert ok.exit_code == 0, ok.output
    assert catalog_db.execute(current).fetchone() == (598.1,)
    audit = catalog_db.execute(
        "SELECT actor, action, detail->>'note' FROM ingest_audit WHERE rejection_id = %s", (rejection_id,)
    ).fetchall()
    assert audit == [("Lan (Sở KH&CN)", "accept_quarantined", "đúng: số người")]
    assert catalog_db.execute(
        "SELECT accepted_by FROM rejected_rows WHERE id = %s", (rejection_id,)
    ).fetchone() == ("Lan (Sở KH&CN)",)
    again = runner.invoke(app, ["accept", str(rejection_id), "--by", "Lan"])
    assert again.exit_code == 2
    assert "already accepted" in again.output


@pytest.mark.db
def test_the_api_accepts_a_quarantined_figure_for_engineers_only(
    catalog_db: psycopg.Connection, tmp_path: Path, api: TestClient, api_keys: dict[str, str]
) -> None:
    _ingest(_file(tmp_path, "dan-so.xlsx", FIRST))
    _ingest(_file(tmp_path, "dan-so-2023.xlsx", REVISED))
    (rejection_id,) = catalog_db.execute(
        "SELECT id FROM rejected_rows WHERE reason_code = 'suspected_unit_error'"
    ).fetchone() or (None,)
    url = f"/api/v1/rejections/{rejection_id}/accept"
    viewer = api.post(url, json={"note": "x"}, headers={"Authorization": f"Bearer {api_keys['viewer']}"})
    assert viewer.status_code == 403
    res = api.post(url, json={"note": "checked"}, headers={"Authorization": f"Bearer {api_keys['engineer']}"})
    assert res.status_code == 200, res.text
    assert res.json()["loaded"] is True
    assert res.json()["figure"]["value"] == 598.1
    assert (
        api.post(url, json={}, headers={"Authorization": f"Bearer {api_keys['engineer']}"}).status_code == 409
    )
    other = catalog_db.execute(
        "SELECT id FROM rejected_rows WHERE reason_code <> 'suspected_unit_error'"
    ).fetchone()
    if other is not None:
        refused = api.post(
            f"/api/v1/rejections/{other[0]}/accept",
            json={},
            headers={"Authorization": f"Bearer {api_keys['engineer']}"},
        )
        assert refused.status_code == 409
    assert (
        api.post(
            "/api/v1/rejections/999999/accept",
            json={},
            headers={"Authorization": f"Bearer {api_keys['engineer']}"},
        ).status_code
        == 404
    )
    (actor,) = catalog_db.execute(
        "SELECT actor FROM ingest_audit WHERE rejection_id = %s", (rejection_id,)
    ).fetchone() or (None,)
    assert actor is not None
    assert "test engineer" in actor


def test_a_cell_a_hundred_times_off_its_column_is_quarantined_without_a_database() -> None:
    """A share column of percent figures with one fraction left unformatted (0.415 beside 43.2)."""
    rows = [
        ["Tỉnh/Thành phố", "2023"],
        ["Ninh Thuận", 0.415],
        ["Khánh Hòa", 43.2],
        ["Gia Lai", 40.1],
        ["Bình Định", 44.0],
    ]
    res = ingest_payload(
        None,
        Payload(name="kts.xlsx", content=xlsx_bytes(rows), fetched_at=datetime.now(UTC)),
        spec=None,
        connector=SpreadsheetConnector(None, indicator="kts_grdp"),
        indicator="kts_grdp",
        dry_run=True,
        catalog=catalog(),
    )
    assert {(r["column"], r["reason_code"]) for r in res.rejected} == {("B2", "suspected_unit_error")}
    assert "median of column B" in res.rejected[0]["reason_en"]
    assert "1/100" in res.rejected[0]["reason_en"]
    assert sorted(o["value"] for o in res.observations) == [40.1, 43.2, 44.0]
    assert res.reconciliation["rejected"] == 1
