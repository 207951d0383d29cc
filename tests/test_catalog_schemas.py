"""One validation source: the published JSON Schemas are generated from the models that validate, and
the committed files are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from chitieu.catalog import schemas
from chitieu.catalog.check import _plain, validate_document
from chitieu.catalog.plans import plan_files
from chitieu.cli import app
from chitieu.ingest.specs import SpecError, parse_spec
from chitieu.settings import PROJECT_ROOT, get_settings

PUBLISHED = PROJECT_ROOT / "schemas"


def _yaml(path: Path) -> Any:
    return _plain(yaml.safe_load(path.read_text(encoding="utf-8")))


def _validator(name: str, kind: str | None = None) -> Draft202012Validator:
    schema = json.loads((PUBLISHED / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    if kind is not None:
        # One file kind of the catalog: the same $defs, rooted at that kind's definition.
        schema = {**{k: v for k, v in schema.items() if k != "oneOf"}, "$ref": f"#/$defs/{kind}"}
    return Draft202012Validator(schema)


def test_committed_schemas_are_the_generated_ones() -> None:
    assert schemas.stale(PUBLISHED) == [], "run `chitieu catalog schemas` and commit schemas/"


def test_cli_check_flags_a_hand_edited_schema(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    ok = CliRunner().invoke(app, ["catalog", "schemas", "--check", "--dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    path = tmp_path / "source-spec.schema.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"minLength": 1', '"minLength": 0'), "utf-8")
    stale = CliRunner().invoke(app, ["catalog", "schemas", "--check", "--dir", str(tmp_path)])
    assert stale.exit_code == 1
    assert "source-spec.schema.json" in stale.output
    assert "catalog.schema.json" not in stale.output


def test_published_catalog_schema_accepts_the_catalog() -> None:
    root = get_settings().catalog_dir
    plans, annexes = plan_files(root)
    files = [
        (root / "indicators.yaml", "IndicatorsFile"),
        (root / "jurisdictions.yaml", "JurisdictionsFile"),
        *((p, "Plan") for p in plans),
        *((p, "AnnexFile") for p in annexes),
    ]
    for path, kind in files:
        errors = [e.message for e in _validator("catalog.schema.json", kind).iter_errors(_yaml(path))]
        assert errors == [], path.name


def test_published_spec_schema_accepts_every_source_spec() -> None:
    validator = _validator("source-spec.schema.json")
    specs = sorted(get_settings().sources_dir.glob("*.yaml"))
    assert specs
    for path in specs:
        assert [e.message for e in validator.iter_errors(_yaml(path))] == [], path.name


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "x", "kind": "ckan", "title": "", "url": "http://a"},
        {"id": "x", "kind": "ckan", "title": "t", "url": "ftp://a"},
        {"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "constants": {"value": 3}},
        {"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "options": {"decimal_mark": ";"}},
        {"id": "x", "kind": "ckan", "title": "t", "url": "http://a", "columns": {"value": ""}},
        {"id": "x", "kind": "spreadsheet", "title": "t"},
    ],
)
def test_model_and_published_spec_schema_refuse_the_same(doc: dict[str, Any]) -> None:
    assert list(_validator("source-spec.schema.json").iter_errors(doc))
    with pytest.raises(SpecError):
        parse_spec(doc)


@pytest.mark.parametrize(
    ("kind", "schema_kind", "doc"),
    [
        ("indicators", "IndicatorsFile", {"indicators": []}),
        (
            "indicators",
            "IndicatorsFile",
            {
                "indicators": [
                    {"code": "Bad", "name_vi": "a", "name_en": "a", "unit": "%", "value_type": "count"}
                ]
            },
        ),
        ("annex", "AnnexFile", {"plan": "Not A Plan", "targets": []}),
        (
            "annex",
            "AnnexFile",
            {"plan": "p", "targets": [], "unparsed": [{"row": 1, "text": "x", "reason_vi": "y"}]},
        ),
    ],
)
def test_model_and_published_catalog_schema_refuse_the_same(
    kind: str, schema_kind: str, doc: dict[str, Any]
) -> None:
    assert list(_validator("catalog.schema.json", schema_kind).iter_errors(doc))
    assert validate_document(doc, kind, "x.yaml")
