from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from chitieu.api import queries
from chitieu.api.deps import SessionDep
from chitieu.api.routes._common import jurisdiction_filter

router = APIRouter(tags=["status"])


@router.get("/status")
def latest_status(
    conn: SessionDep, plan: str | None = None, jurisdiction: str | None = None, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """The latest evaluation of each target (and of each checked year of every-year targets)."""
    return queries.latest_status(
        conn, plan=plan, jurisdiction_ids=jurisdiction_filter(conn, jurisdiction), as_of=as_of
    )
