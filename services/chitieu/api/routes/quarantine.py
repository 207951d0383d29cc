"""Quarantined figures: an engineer accepts one the plausibility guard held back as a suspected
unit error; it is loaded and the acceptance goes to the audit trail (ingest/accept.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from chitieu.api.auth import Engineer
from chitieu.api.deps import RowId, changed, sync_connection
from chitieu.api.problems import responses

router = APIRouter(tags=["uploads"])


class AcceptBody(BaseModel):
    note: str = Field(default="", max_length=2000, description="Why the figure is right (audit trail)")


class AcceptResult(BaseModel):
    rejection_id: int = Field(examples=[1234])
    batch_id: int | None = Field(description="The batch that read the figure", examples=[41])
    loaded: bool = Field(description="False when the same figure already was the current vintage")
    audit_id: int = Field(description="The ingest_audit row written", examples=[7])
    figure: dict[str, Any] = Field(
        description="What was accepted: jurisdiction, indicator, period, value, cell"
    )


@router.post(
    "/rejections/{rejection_id}/accept",
    response_model=AcceptResult,
    responses=responses(400, 401, 403, 404, 409, 422, 429),
    summary="Accept a figure quarantined as a suspected unit error",
)
async def accept_rejection(rejection_id: RowId, body: AcceptBody, who: Engineer, request: Request) -> Any:
    """Load a figure the plausibility guard held back (reason `suspected_unit_error`) because it is
    about 10, 100 or 1000 times off its neighbours, once an engineer has checked it is right. It is
    loaded as a vintage of the batch that read it; the acceptance, its note and the key's name go to
    the audit trail. A rejection that is not such a figure, or one already accepted, is a 409."""
    from chitieu.ingest.accept import accept_quarantined

    def run() -> Any:
        with sync_connection(request) as conn:
            return accept_quarantined(conn, rejection_id, f"{who.name} (key {who.prefix})", body.note)

    # A refusal (ingest.accept.AcceptError: 404, 409) is a ChitieuError with its status: a problem.
    done = await run_in_threadpool(run)
    if done.loaded:
        changed(request)
    return done.as_dict()
