from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from chitieu.api import queries
from chitieu.api.deps import SessionDep
from chitieu.api.routes._common import jurisdiction_filter

router = APIRouter(tags=["observations"])


@router.get("/observations")
def list_observations(
    conn: SessionDep,
    jurisdiction: str | None = None,
    indicator: str | None = None,
    as_of: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> list[dict[str, Any]]:
    """The latest vintage of each figure, or what was known at `as_of` (every vintage is kept)."""
    return queries.observations(
        conn,
        jurisdiction_ids=jurisdiction_filter(conn, jurisdiction),
        indicator=indicator,
        as_of=as_of,
        limit=limit,
    )
