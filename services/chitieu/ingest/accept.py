"""Accepting a figure the plausibility guard quarantined: an engineer says it is right.

The figure kept in the quarantine row (its candidate) is loaded as a vintage of the batch that read
it, under the same per-indicator lock loads take, so it is compared with the current vintage like
any load (equal: nothing added). The quarantine row records who accepted it and when, and the
acceptance is written to the ingestion audit trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

from chitieu.errors import ChitieuError
from chitieu.ingest.load import CHANGE_CHANNEL


class AcceptError(ChitieuError):
    """A refused acceptance; `status` is the HTTP status the API answers it with."""

    code = "accept_refused"

    def __init__(self, status: int, en: str, vi: str):
        super().__init__(en, vi)
        self.http_status = status


@dataclass
class Accepted:
    rejection_id: int
    batch_id: int | None
    loaded: bool  # False: the same figure was already the current vintage
    audit_id: int
    candidate: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rejection_id": self.rejection_id,
            "batch_id": self.batch_id,
            "loaded": self.loaded,
            "audit_id": self.audit_id,
            "figure": self.candidate,
        }


def accept_quarantined(conn: psycopg.Connection, rejection_id: int, actor: str, note: str = "") -> Accepted:
    with conn.transaction():
        row = conn.execute(
            """SELECT r.reason_code, r.candidate, r.accepted_at, r.batch_id, b.source_id, b.file_sha256,
                      b.file_name, b.fetched_at
               FROM rejected_rows r LEFT JOIN load_batches b ON b.id = r.batch_id
               WHERE r.id = %s FOR UPDATE OF r""",
            (rejection_id,),
        ).fetchone()
        if row is None:
            raise AcceptError(404, f"no rejected row {rejection_id}", f"không có dòng bị loại {rejection_id}")
        reason, cand, accepted_at, batch_id, source_id, sha, file_name, fetched_at = row
        if reason != "suspected_unit_error" or not isinstance(cand, dict):
            raise AcceptError(
                409,
                f"rejected row {rejection_id} is not a quarantined figure ({reason}): fix the file instead",
                f"dòng {rejection_id} không phải số liệu bị giữ lại do nghi sai đơn vị ({reason}): "
                "hãy sửa tệp",
            )
        if accepted_at is not None:
            raise AcceptError(
                409,
                f"rejected row {rejection_id} was already accepted",
                f"dòng {rejection_id} đã được chấp nhận",
            )
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('chitieu-figures:' || %s, 0))",
            (cand["indicator_code"],),
        )
        key = (cand["jurisdiction_id"], cand["indicator_code"], cand["period_type"], cand["period_start"])
        current = conn.execute(
            """SELECT value, status FROM observations
               WHERE jurisdiction_id = %s AND indicator_code = %s AND period_type = %s AND period_start = %s
               ORDER BY loaded_at DESC LIMIT 1""",
            key,
        ).fetchone()
        loaded = current is None or (float(current[0]), current[1]) != (float(cand["value"]), cand["status"])
        if loaded:
            conn.execute(
                """INSERT INTO observations (jurisdiction_id, indicator_code, period_type, period_start,
                       period_end, value, status, source_id, batch_id, file_sha256, file_name, sheet, row_num,
                       cell, fetched_at, loaded_at, note)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                           clock_timestamp(), %s)""",
                (
                    *key,
                    cand.get("period_end"),
                    cand["value"],
                    cand["status"],
                    source_id or "upload",
                    batch_id,
                    sha,
                    file_name,
                    cand.get("sheet"),
                    cand.get("row"),
                    cand.get("cell"),
                    fetched_at,
                    f"accepted by {actor}: {note}".strip().rstrip(":"),
                ),
            )
        conn.execute(
            "UPDATE rejected_rows SET accepted_at = clock_timestamp(), accepted_by = %s WHERE id = %s",
            (actor, rejection_id),
        )
        audit = conn.execute(
            """INSERT INTO ingest_audit (actor, action, rejection_id, batch_id, detail)
               VALUES (%s, 'accept_quarantined', %s, %s, %s::jsonb) RETURNING id""",
            (actor, rejection_id, batch_id, json.dumps({"note": note, "loaded": loaded, "figure": cand})),
        ).fetchone()
        assert audit is not None
        if loaded:
            conn.execute(
                "SELECT pg_notify(%s, %s)",
                (
                    CHANGE_CHANNEL,
                    json.dumps(
                        {"batch_id": batch_id, "source_id": source_id, "rows_loaded": 1, "accepted": True}
                    ),
                ),
            )
    return Accepted(rejection_id, batch_id, loaded, int(audit[0]), cand)
