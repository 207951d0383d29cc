"""Source specs: the catalog's YAML validates, bad specs fail with a pointed message, sources upsert."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from chitieu.ingest.specs import SourceSpec, SpecError, load_source_specs, parse_spec, upsert_sources
from chitieu.settings import get_settings


def test_catalog_specs_validate() -> None:
    specs = load_source_specs()
    kinds = {s.kind for s in specs}
    assert {"spreadsheet", "ckan", "pxweb", "html_table", "json_766"} <= kinds
    for s in specs:
        if s.kind == "spreadsheet":
            path = s.resolved_path()
            assert s.url is not None or (
                path is not None and path.suffix in (".xlsx", ".xls", ".ods", ".csv")
            )


def test_publisher_base_url_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHITIEU_PUBLISHER_BASE_URL", "http://127.0.0.1:9999/")
    get_settings.cache_clear()
    spec = parse_spec(
        {"id": "x", "kind": "pxweb", "title": "t", "url": "{publisher_base_url}/pxweb/api/v1/vi/A.px"}
    )
    assert spec.url == "http://127.0.0.1:9999/pxweb/api/v1/vi/A.px"


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"id": "x", "kind": "ftp", "title": "t", "url": "http://a"}, "kind"),
        ({"id": "X Y", "kind": "ckan", "title": "t", "url": "http://a"}, "id"),
        ({"id": "x", "kind": "spreadsheet", "title": "t"}, "(top)"),
        ({"id": "x", "kind": "spreadsheet", "title": "t", "path": "a.xlsx", "url": "http://a"}, "(top)"),
        ({"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "schedule": "every day"}, "schedule"),
        (
            {"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "expected_release_lag": "soon"},
            "expected_release_lag",
        ),
        (
            {"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "columns": {"tinh": "Tỉnh"}},
            "columns",
        ),
        ({"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "status": "maybe"}, "status"),
        ({"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "colour": "red"}, "colour"),
        (
            {
                "id": "x",
                "kind": "ckan",
                "title": "t",
                "url": "http://a",
                "unit_conversions": {"ratio_to_pct": -1},
            },
            "unit_conversions",
        ),
    ],
)
def test_bad_specs_are_refused(doc: dict[str, object], needle: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(doc, origin="bad.yaml")
    assert "bad.yaml" in str(err.value)
    assert needle in str(err.value)


def test_release_lag_and_multipliers() -> None:
    spec = SourceSpec(
        id="s",
        kind="ckan",
        title="t",
        url="http://a",
        expected_release_lag="P1Y2M",
        unit_conversions={"ratio_to_pct": 100, "dti_score": 0.01},
    )
    assert spec.release_lag() == timedelta(days=365 + 60)
    assert spec.multiplier_for("kts_grdp", "share_pct") == 100
    assert spec.multiplier_for("dti_score", "index_0_1") == 0.01
    assert spec.multiplier_for("pii_rank", "rank") == 1


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    doc = {"id": "same", "kind": "ckan", "title": "t", "url": "http://a"}
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match="twice"):
        load_source_specs(tmp_path)


@pytest.mark.db
def test_upsert_sources(db: psycopg.Connection) -> None:
    specs = load_source_specs()
    n = upsert_sources(db)
    assert n == len(specs) + 1  # with the 'upload' pseudo-source
    assert upsert_sources(db) == n  # idempotent
    total = db.execute("SELECT count(*) FROM sources").fetchone()
    assert total is not None
    assert total[0] == n
    row = db.execute(
        "SELECT kind, expected_release_lag, spec->>'id' FROM sources WHERE id = 'gso-pxweb-digital-economy'"
    ).fetchone()
    assert row == ("pxweb", timedelta(days=180), "gso-pxweb-digital-economy")
    status = db.execute("SELECT count(*) FROM source_load_status").fetchone()
    assert status is not None
    assert status[0] == n
