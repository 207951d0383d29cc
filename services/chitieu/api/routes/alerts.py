from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from chitieu.api import queries
from chitieu.api.deps import SessionDep
from chitieu.api.routes._common import jurisdiction_filter

router = APIRouter(tags=["alerts"])


@router.get("/alerts")
def list_alerts(
    conn: SessionDep,
    state: Literal["firing", "resolved"] | None = None,
    rule: str | None = None,
    jurisdiction: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    return queries.alerts(
        conn, state=state, rule=rule, jurisdiction_ids=jurisdiction_filter(conn, jurisdiction), limit=limit
    )
