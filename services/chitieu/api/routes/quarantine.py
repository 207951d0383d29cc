"""Quarantined figures: an engineer accepts one the plausibility guard held back as a suspected
unit error; it is loaded and the acceptance goes to the audit trail (ingest/accept.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from chitieu.api.auth import Engineer
from chitieu.api.deps import changed, sync_connection
from chitieu.api.problems import Problem, responses

router = APIRouter(tags=["uploads"])


class AcceptBody(BaseModel):
    note: str = Field(default="", max_length=2000, description="Why the figure is right (audit trail)")


class AcceptResult(BaseModel):
    rejection_id: int
    batch_id: int | None
    loaded: bool = Field(description="False when the same figure already was the current vintage")
    audit_id: int
    figure: dict[str, Any]


@router.post(
    "/rejections/{rejection_id}/accept",
    response_model=AcceptResult,
    responses=responses(401, 403, 404, 409),
    summary="Accept a figure quarantined as a suspected unit error",
)
async def accept_rejection(rejection_id: int, body: AcceptBody, who: Engineer, request: Request) -> Any:
    from chitieu.ingest.accept import AcceptError, accept_quarantined

    def run() -> Any:
        with sync_connection(request) as conn:
            return accept_quarantined(conn, rejection_id, f"{who.name} (key {who.prefix})", body.note)

    try:
        done = await run_in_threadpool(run)
    except AcceptError as exc:
        raise Problem(exc.status, vi=exc.vi, en=exc.en) from exc
    if done.loaded:
        changed(request)
    return done.as_dict()
