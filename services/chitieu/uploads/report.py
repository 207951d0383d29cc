"""The validation report kept with an upload job: the ingestion's summary, its rejected rows with
their reasons, and (dry runs) a sample of the figures that would be loaded."""

from __future__ import annotations

from typing import Any

from chitieu.ingest.intake import IngestResult
from chitieu.jsonable import jsonable

REJECTED_CAP = 1000  # rejected rows in a report; all of them are in rejected_rows
SAMPLE_ROWS = 50  # observations shown by a dry run


def build_report(result: IngestResult) -> dict[str, Any]:
    rejected = [
        {
            "sheet": None if r.get("sheet") is None else str(r.get("sheet")),
            "row": r.get("row"),
            "column": None if r.get("column") is None else str(r.get("column")),
            "raw": None if r.get("raw") is None else str(r.get("raw")),
            "reason_code": r.get("reason_code"),
            "reason_vi": r.get("reason_vi") or "",
            "reason_en": r.get("reason_en") or "",
        }
        for r in result.rejected[:REJECTED_CAP]
    ]
    report = {
        "summary": result.summary(),
        "rejected": rejected,
        "rejected_total": len(result.rejected),
        "observations_sample": result.observations[:SAMPLE_ROWS],
        "observations_total": len(result.observations),
        "notes": [str(n) for n in result.notes],
    }
    # Ingestion's rows hold numpy numbers and dates: plain JSON values for jsonb and the answer.
    out: dict[str, Any] = jsonable(report, max_list=None)
    for row in out["rejected"]:  # numpy floats of a row column with gaps arrive as 14.0
        row["row"] = None if row["row"] is None else int(row["row"])
    return out


def good_rows(report: dict[str, Any]) -> int:
    """Figures the file holds that are fine: loaded, unchanged, or (dry run) loadable."""
    s = report["summary"]
    if s["status"] == "dry_run":
        return int(report["observations_total"])
    return int(s["new"]) + int(s["revised"]) + int(s["unchanged"])
