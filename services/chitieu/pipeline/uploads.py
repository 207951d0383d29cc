"""Uploaded spreadsheets (API POST /uploads): archive by sha256, preview by dry run, queue in the inbox.

The preview reads the uploaded bytes, never the inbox file, which the inbox DAG may already be moving.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg

from chitieu.ingest.archive import archive_bytes
from chitieu.pipeline import inbox
from chitieu.pipeline.jsonable import jsonable

PREVIEW_ROWS = 20


def already_loaded(conn: psycopg.Connection[Any], sha256: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM load_batches WHERE file_sha256 = %s AND status = 'loaded' LIMIT 1", (sha256,)
    ).fetchone()
    return row is not None


def preview(content: bytes, name: str, *, indicator: str | None) -> dict[str, Any]:
    """A dry run: parsed, normalised and validated against the catalog files; no database write."""
    from chitieu.ingest.pipeline import ingest_bytes

    result = ingest_bytes(None, content, name, indicator=indicator, dry_run=True)
    data = jsonable(result, max_list=100_000)
    if not isinstance(data, dict):
        return {"result": data}
    observations = data.get("observations") or []
    rejected = data.get("rejected") or []
    data["observations"] = observations[:PREVIEW_ROWS]
    data["rejected"] = rejected[:PREVIEW_ROWS]
    data["observations_total"] = len(observations)
    data["rejected_total"] = len(rejected)
    return data


def accept(
    conn: psycopg.Connection[Any], data_dir: Path, *, name: str, content: bytes, indicator: str | None = None
) -> dict[str, Any]:
    sha = hashlib.sha256(content).hexdigest()
    safe = inbox.safe_name(name)
    archived = archive_bytes(content, safe, data_dir=data_dir, sha256=sha).path
    result: dict[str, Any] = {
        "sha256": sha,
        "file_name": safe,
        "size": len(content),
        "archived_path": str(archived),
        "already_loaded": already_loaded(conn, sha),
    }
    try:
        result["preview"] = preview(content, safe, indicator=indicator)
    except Exception as exc:  # unreadable file: the reasons go back to the uploader, nothing is queued
        reason_en = getattr(exc, "reason_en", None) or str(exc)
        reason_vi = getattr(exc, "reason_vi", None) or "Không đọc được tệp"
        result.update(queued=False, error={"vi": reason_vi, "en": reason_en})
        return result
    status = str(result["preview"].get("summary", {}).get("status", ""))
    if status in ("rejected", "failed"):
        result.update(queued=False, error=result["preview"]["summary"].get("error"))
        return result
    # The indicator an uploader named rides along in a sidecar (file names stay the uploader's).
    target = inbox.place(data_dir, safe, content)
    if indicator:
        inbox.write_options(target, {"indicator": indicator})
    result.update(queued=True, inbox_path=str(target))
    return result
