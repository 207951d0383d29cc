"""The one ingestion path that the CLI, the API upload and the DAGs share.

payload -> archive (sha256) -> already loaded? skip -> parse -> normalize -> validate (pandera)
-> COPY + set-based insert of new vintages, rejections and the batch row in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from chitieu.errors import ChitieuError
from chitieu.ingest import plausibility
from chitieu.ingest.archive import archive_bytes, sha256_of
from chitieu.ingest.connectors import get_connector
from chitieu.ingest.connectors.spreadsheet import SpreadsheetConnector, fetch_location
from chitieu.ingest.load import BatchInfo, find_loaded_batch, load_rows, record_rejected_file, record_skipped
from chitieu.ingest.memory import pin_mmap_threshold, release_freed_memory
from chitieu.ingest.records import ParseError, Payload
from chitieu.ingest.specs import UPLOAD_SOURCE_ID, SourceSpec
from chitieu.ingest.transform import Catalog, normalize_frame, records_to_frame
from chitieu.ingest.validate import REASONS, REJECTED_COLUMNS, validate

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IngestResult:
    """What one payload did. `rows_loaded` counts rows written (new figures + revisions)."""

    batch_id: int | None
    status: str  # 'loaded' | 'skipped' | 'rejected' | 'dry_run' | 'failed'
    file_sha256: str | None
    source_id: str = UPLOAD_SOURCE_ID
    file_name: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_new: int = 0
    rows_unchanged: int = 0
    rows_revised: int = 0
    rows_confirmed: int = 0  # same value and status as the current figure, from a source that outranks it
    rows_superseded: int = 0  # figures kept but not current: a better claim was already known
    rows_rejected: int = 0
    rows_missing: int = 0  # cells holding a missing marker ('-', 'x', '..'): skipped, not rejected
    rows_resolved: int = 0  # rows earlier loads of this file had quarantined that passed this time
    reprocess_of: int | None = None  # the first load of this file, when this load reprocessed it
    error: ChitieuError | None = None  # why the whole payload was rejected or failed
    observations: list[dict[str, Any]] = field(default_factory=list)  # dry runs only
    rejected: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # every non-empty cell of the file's tables in exactly one category (see Reconciliation)
    reconciliation: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """The change signal for downstream work (evaluation): something new or revised landed."""
        return self.rows_loaded > 0

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "source": self.source_id,
            "sha256": self.file_sha256,
            "batch_id": self.batch_id,
            "status": self.status,
            "read": self.rows_read,
            "loaded": self.rows_loaded,
            "new": self.rows_new,
            "unchanged": self.rows_unchanged,
            "revised": self.rows_revised,
            "confirmed": self.rows_confirmed,
            "superseded": self.rows_superseded,
            "rejected": self.rows_rejected,
            "missing_skipped": self.rows_missing,
            "resolved_rejections": self.rows_resolved,
            "reprocess_of": self.reprocess_of,
            "error": None if self.error is None else self.error.parts(),
            "reconciliation": self.reconciliation or None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "observations": self.observations,
            "rejected": [{k: r.get(k) for k in REJECTED_COLUMNS} for r in self.rejected],
            "summary": self.summary(),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str, **kwargs)


@dataclass
class Reconciliation:
    """Where every non-empty cell of a file's tables went; `cells` is the sum of the rest.

    loaded: written as a new figure or a revision; unchanged: equal to its current vintage;
    duplicate: the same figure twice in the file (loaded once); rejected: with a reason;
    label: titles, headers, names, unit lines, footnotes; missing: '-', 'x', '..' and the like."""

    cells: int = 0
    loaded: int = 0
    unchanged: int = 0
    duplicate: int = 0
    rejected: int = 0
    label: int = 0
    missing: int = 0

    @classmethod
    def of_connector(cls, account: Any, figures: int, rejected: int) -> Reconciliation:
        if account is None or not getattr(account, "cells", 0):
            return cls(cells=figures + rejected)  # records, not cells: nothing else to account for
        return cls(cells=account.cells, label=account.labels, missing=account.missing)

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.__dict__.items()}


def _quarantine_records(held: pd.DataFrame) -> pd.DataFrame:
    """Figures the plausibility guard held back, as rejections that keep their candidate."""
    return pd.DataFrame(
        [
            {
                "sheet": r["sheet"],
                "row": None if pd.isna(r["row"]) else int(r["row"]),
                "column": r["cell"],
                "raw": "" if r["raw_value"] is None else str(r["raw_value"]),
                "reason_code": "suspected_unit_error",
                "reason_vi": r["reason_vi"],
                "reason_en": r["reason_en"],
                "candidate": plausibility.candidate({str(k): v for k, v in r.items()}),
            }
            for r in held[[*plausibility.CANDIDATE_COLUMNS, "raw_value", "reason_vi", "reason_en"]].to_dict(
                "records"
            )
        ],
        columns=[*REJECTED_COLUMNS, "candidate"],
    )


def _rejection_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (None if pd.isna(v) else v) if not isinstance(v, list | dict) else v for k, v in rec.items()}
        for rec in frame.to_dict("records")
    ]


def _file_error(exc: ParseError, name: str) -> pd.DataFrame:
    vi, en = REASONS["unreadable_file"]
    return pd.DataFrame(
        [
            {
                "sheet": None,
                "row": None,
                "column": None,
                "raw": name,
                "reason_code": "unreadable_file",
                "reason_vi": vi.format(raw=exc.vi),
                "reason_en": en.format(raw=exc.en),
            }
        ],
        columns=REJECTED_COLUMNS,
    )


def _parse(connector: Any, payload: Payload) -> tuple[pd.DataFrame, bool]:
    if hasattr(connector, "parse_frame"):
        frame = connector.parse_frame(payload)
    else:
        frame = records_to_frame(connector.parse(payload))
    release_freed_memory()  # the grid the cells were read from
    return frame, bool(frame.attrs.get("date1904", False))


def _observation_dicts(good: pd.DataFrame, source: dict[str, Any], catalog: Catalog) -> list[dict[str, Any]]:
    out = []
    for r in good.to_dict("records"):
        j = catalog.jurisdictions.get(r["jurisdiction_id"])
        ind = catalog.indicators.get(r["indicator_code"])
        out.append(
            {
                "jurisdiction": {"name": j.name, "code": j.code},
                "indicator": r["indicator_code"],
                "period": r["period_label"],
                "value": float(r["value"]),
                "unit": ind.unit,
                "status": r["status"],
                "source": {
                    **source,
                    "jurisdiction_id": r["jurisdiction_id"],
                    "sheet": r["sheet"],
                    "row": None if pd.isna(r["row"]) else int(r["row"]),
                    "cell": r["cell"],
                },
            }
        )
    return out


def ingest_payload(
    conn: psycopg.Connection | None,
    payload: Payload,
    *,
    spec: SourceSpec | None,
    connector: Any,
    indicator: str | None = None,
    source_id: str | None = None,
    dry_run: bool = False,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    reprocess: bool = False,
) -> IngestResult:
    """Run one payload through the whole path. conn may be None only for a dry run.

    `reprocess`: load a file this source already loaded once more instead of skipping it (after a
    catalog fix); see load_rows."""
    if conn is None and not dry_run:
        raise ValueError("a database connection is required unless dry_run is set")
    pin_mmap_threshold()
    source_id = spec.id if spec is not None else (source_id or UPLOAD_SOURCE_ID)
    sha = sha256_of(payload.content)
    result = IngestResult(
        batch_id=None,
        status="dry_run" if dry_run else "loaded",
        file_sha256=sha,
        source_id=source_id,
        file_name=payload.name,
    )
    info = BatchInfo(
        source_id,
        sha,
        payload.name,
        None,
        payload.fetched_at,
        summary={"url": payload.url, "resource": payload.resource, "size": len(payload.content)},
    )
    if not dry_run:
        assert conn is not None
        archive_bytes(payload.content, payload.name, conn=conn, sha256=sha)
        loaded = None if reprocess else find_loaded_batch(conn, source_id, sha)
        if loaded is not None:
            result.batch_id = record_skipped(conn, info, loaded)
            result.status = "skipped"
            return result
        release_freed_memory()  # the file's bytes as sent to the archive
    if progress is not None:
        progress("parse", 0, 1)
    try:
        raw, date1904 = _parse(connector, payload)
    except ParseError as exc:
        rejected = _file_error(exc, payload.name)
        result.status = "rejected"
        result.error = exc
        result.rejected = _rejection_records(rejected)
        result.rows_rejected = 1
        if not dry_run:
            assert conn is not None
            result.batch_id = record_rejected_file(conn, info, rejected, result.error)
        return result
    result.notes = list(getattr(connector, "notes", []) or [])
    result.rows_read = len(raw)
    parse_rejected = getattr(connector, "rejected", None)
    if not isinstance(parse_rejected, pd.DataFrame):
        parse_rejected = pd.DataFrame(columns=REJECTED_COLUMNS)
    recon = Reconciliation.of_connector(getattr(connector, "account", None), len(raw), len(parse_rejected))
    catalog = catalog or Catalog.load()
    default_indicator = indicator or (spec.indicator if spec is not None else None)
    if default_indicator:
        if "indicator" not in raw or raw["indicator"].isna().all():
            raw["indicator"] = default_indicator
        else:
            raw["indicator"] = raw["indicator"].where(
                raw["indicator"].notna() & raw["indicator"].ne(""), default_indicator
            )
    if progress is not None:
        progress("normalize", 0, len(raw))
    candidates, missing = normalize_frame(raw, catalog, spec=spec, date1904=date1904)
    del raw  # the raw cells are no longer needed: keep the peak memory of big files down
    release_freed_memory()
    result.rows_missing = missing
    if len(candidates) and bool((candidates["indicator_state"] == "missing").all()):
        err = ParseError(
            REASONS["missing_indicator"][1], REASONS["missing_indicator"][0], code="missing_indicator"
        )
        rejected = _file_error(err, payload.name)
        result.status, result.error = "rejected", err
        result.rejected, result.rows_rejected = _rejection_records(rejected), 1
        if not dry_run:
            assert conn is not None
            result.batch_id = record_rejected_file(conn, info, rejected, result.error)
        return result
    if progress is not None:
        progress("validate", 0, len(candidates))
    good, rejected = validate(candidates)
    recon.missing += missing
    recon.duplicate = len(candidates) - len(rejected) - len(good)
    del candidates  # when validation dropped rows, `good` is a new frame: never hold both
    release_freed_memory()
    good, held = plausibility.check(good, plausibility.current_figures(conn, good))
    if len(held):
        rejected = pd.concat([rejected, _quarantine_records(held)], ignore_index=True)
    if len(parse_rejected):
        rejected = pd.concat([parse_rejected, rejected], ignore_index=True)
    recon.rejected += len(rejected)
    recon.loaded = len(good)  # until the load says which of them were unchanged
    result.reconciliation = recon.as_dict()
    result.rejected = _rejection_records(rejected)
    result.rows_rejected = len(rejected)
    info.summary |= {
        "reconciliation": result.reconciliation,
        "read": result.rows_read,
        "missing_skipped": missing,
        "indicators": sorted({str(x) for x in good["indicator_code"].unique()}) if len(good) else [],
        "notes": result.notes,
    }
    if dry_run:
        result.observations = _observation_dicts(
            good, {"id": source_id, "file": payload.name, "sha256": sha, "url": payload.url}, catalog
        )
        result.rows_loaded = len(good)
        return result
    assert conn is not None
    counts = load_rows(
        conn, good, rejected, info, rows_read=result.rows_read, progress=progress, reprocess=reprocess
    )
    result.batch_id = counts.batch_id
    result.status = counts.status
    result.rows_resolved, result.reprocess_of = counts.resolved, counts.reprocess_of
    result.rows_new, result.rows_revised, result.rows_unchanged = counts.new, counts.revised, counts.unchanged
    result.rows_confirmed, result.rows_superseded = counts.confirmed, counts.superseded
    result.rows_loaded = counts.new + counts.revised + counts.confirmed
    if counts.status == "loaded":
        # a figure that lost to a better claim is still stored (observations_superseded): loaded, not lost
        recon.loaded, recon.unchanged = result.rows_loaded + counts.superseded, counts.unchanged
        result.reconciliation = recon.as_dict()
    return result


def _connector_for(spec: SourceSpec | None, indicator: str | None, http: Any = None) -> Any:
    if spec is None or spec.kind == "spreadsheet":
        return SpreadsheetConnector(spec, http=http, indicator=indicator)
    return get_connector(spec, http=http)


def ingest_file(
    conn: psycopg.Connection | None,
    path: Path,
    *,
    source_id: str = UPLOAD_SOURCE_ID,
    indicator: str | None = None,
    spec: SourceSpec | None = None,
    dry_run: bool = False,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    name: str | None = None,
    reprocess: bool = False,
) -> IngestResult:
    """A local file (or an http(s) URL given as a string) through the whole path."""
    target = str(path)
    try:
        payload = fetch_location(target)
    except ParseError as exc:
        return IngestResult(
            None,
            "rejected",
            None,
            source_id=spec.id if spec else source_id,
            file_name=target,
            error=exc,
            rows_rejected=1,
            rejected=_rejection_records(_file_error(exc, target)),
        )
    if name:
        payload = Payload(
            name=name,
            content=payload.content,
            fetched_at=payload.fetched_at,
            url=payload.url,
            media_type=payload.media_type,
        )
    connector = _connector_for(spec, indicator)
    if spec is not None and spec.kind != "spreadsheet":
        connector = SpreadsheetConnector(None, indicator=indicator)  # a saved export read as a file
    return ingest_payload(
        conn,
        payload,
        spec=spec,
        connector=connector,
        indicator=indicator,
        source_id=source_id,
        dry_run=dry_run,
        catalog=catalog,
        progress=progress,
        reprocess=reprocess,
    )


def ingest_bytes(
    conn: psycopg.Connection | None,
    content: bytes,
    name: str,
    *,
    source_id: str = UPLOAD_SOURCE_ID,
    indicator: str | None = None,
    dry_run: bool = False,
    catalog: Catalog | None = None,
    reprocess: bool = False,
) -> IngestResult:
    """An upload (API): bytes and their original name."""
    payload = Payload(name=Path(name).name or "upload", content=content, fetched_at=datetime.now(UTC))
    return ingest_payload(
        conn,
        payload,
        spec=None,
        connector=SpreadsheetConnector(None, indicator=indicator),
        indicator=indicator,
        source_id=source_id,
        dry_run=dry_run,
        catalog=catalog,
        reprocess=reprocess,
    )


def ingest_source(
    conn: psycopg.Connection | None,
    spec: SourceSpec,
    resource: str | None = None,
    *,
    http: Any = None,
    dry_run: bool = False,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    reprocess: bool = False,
) -> list[IngestResult]:
    """Fetch one resource of a spec (all when None) and ingest every payload it yields."""
    connector = _connector_for(spec, None, http)
    results: list[IngestResult] = []
    catalog = catalog or Catalog.load()
    try:
        for payload in connector.fetch(resource):
            results.append(
                ingest_payload(
                    conn,
                    payload,
                    spec=spec,
                    connector=connector,
                    dry_run=dry_run,
                    catalog=catalog,
                    progress=progress,
                    reprocess=reprocess,
                )
            )
    except Exception as exc:  # a fetch that failed: recorded as a failed batch, never silent
        # ours say why in both languages; anything else (a bug, a driver error) only has its own text
        error = exc if isinstance(exc, ChitieuError) else _unexpected(exc)
        result = IngestResult(
            None, "failed", None, source_id=spec.id, file_name=resource or spec.url, error=error
        )
        if conn is not None and not dry_run:
            with conn.transaction():
                row = conn.execute(
                    """INSERT INTO load_batches
                           (source_id, file_name, fetched_at, finished_at, status,
                            error_code, error_vi, error_en, summary)
                       VALUES (%s, %s, now(), now(), 'failed', %s, %s, %s, %s::jsonb) RETURNING id""",
                    (
                        spec.id,
                        resource or spec.url,
                        error.code,
                        error.vi,
                        error.en,
                        json.dumps({"resource": resource}),
                    ),
                ).fetchone()
            result.batch_id = int(row[0]) if row else None
        results.append(result)
    return results


def _unexpected(exc: Exception) -> ChitieuError:
    """A failure that is not one of our refusals: its own text is all there is, in both languages."""
    text = f"{type(exc).__name__}: {exc}"
    return ChitieuError(text, text, code="fetch_failed")


__all__ = ["IngestResult", "ingest_bytes", "ingest_file", "ingest_payload", "ingest_source"]
