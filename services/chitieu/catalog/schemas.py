"""The published JSON Schemas (schemas/*.schema.json), generated from the models that validate.

Editors and other tools read the files; our code validates with the models only, and a test keeps the
committed files equal to what this module generates (`chitieu catalog schemas` rewrites them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://chitieu.local/schemas/"


def catalog_schema() -> dict[str, Any]:
    from chitieu.catalog.documents import FILE_MODELS

    models: list[type[BaseModel]] = list(FILE_MODELS.values())
    refs, schema = models_json_schema([(m, "validation") for m in models])
    return {
        "$schema": DRAFT,
        "$id": BASE_ID + "catalog.schema.json",
        "title": "Chỉ Tiêu catalog files",
        "description": (
            "One definition per catalog file kind: catalog/indicators.yaml (IndicatorsFile), "
            "catalog/jurisdictions.yaml (JurisdictionsFile), catalog/plans/<plan-id>.yaml (Plan), "
            "catalog/plans/<plan-id>.annex.yaml (AnnexFile). Generated from chitieu.catalog.documents."
        ),
        "oneOf": [refs[(m, "validation")] for m in models],
        "$defs": schema["$defs"],
    }


def source_spec_schema() -> dict[str, Any]:
    from chitieu.ingest.specs import SourceSpec

    return {
        "$schema": DRAFT,
        "$id": BASE_ID + "source-spec.schema.json",
        **SourceSpec.model_json_schema(mode="validation"),
    }


PUBLISHED = {
    "catalog.schema.json": catalog_schema,
    "source-spec.schema.json": source_spec_schema,
}


def render(name: str) -> str:
    return json.dumps(PUBLISHED[name](), ensure_ascii=False, indent=2) + "\n"


def stale(directory: Path) -> list[str]:
    """The published files under `directory` that differ from what the models generate."""
    return [
        name
        for name in PUBLISHED
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != render(name)
    ]


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PUBLISHED:
        path = directory / name
        path.write_text(render(name), encoding="utf-8")
        paths.append(path)
    return paths
