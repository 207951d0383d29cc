"""Catalog export: every target as one JSON-ready dict, read from the YAML files alone (no database)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from chitieu.catalog.indicators import load_indicators
from chitieu.catalog.jurisdictions import load_jurisdictions
from chitieu.catalog.plans import load_plans


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def export_targets(catalog_dir: Path | None = None) -> list[dict[str, Any]]:
    jurisdictions = load_jurisdictions(catalog_dir)
    indicators = load_indicators(catalog_dir)
    out: list[dict[str, Any]] = []
    for plan in load_plans(catalog_dir):
        for t in plan.targets:
            assert t.jurisdiction is not None
            j = jurisdictions.get(t.jurisdiction)
            ind = indicators.items.get(t.indicator)
            b = t.baseline
            out.append(
                {
                    "id": t.id,
                    "plan_id": plan.id,
                    "plan_document": plan.document_number,
                    "plan_issuer": plan.issuer,
                    "jurisdiction": {
                        "id": j.id,
                        "name": j.name,
                        "code": j.code,
                        "valid_from": _iso(j.valid_from),
                        "valid_to": _iso(j.valid_to),
                    },
                    "indicator": t.indicator,
                    "indicator_name_vi": ind.name_vi if ind else None,
                    "unit": ind.unit if ind else None,
                    "target_year": t.target_year,
                    "kind": t.kind,
                    "operator": t.operator,
                    "value": t.value,
                    "value_max": t.value_max,
                    "every_year": t.every_year,
                    "parent": t.parent,
                    "relative_to": t.relative_to,
                    "milestone_object": t.milestone_object,
                    "due_date": _iso(t.due_date),
                    "baseline": (
                        {
                            "year": b.year,
                            "value": b.value,
                            "note": " ".join(b.note.split()) if b.note else None,
                        }
                        if b
                        else None
                    ),
                    "lead_agency": t.lead_agency,
                    "phrase": t.phrase,
                    "source": {
                        "document": t.citation.document,
                        "section": t.citation.section,
                        "quote": t.citation.quote,
                    },
                    "needs_review": t.needs_review,
                    "notes": " ".join(t.notes.split()) if t.notes else None,
                }
            )
    return out
