from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chitieu.api import queries
from chitieu.api.deps import SessionDep
from chitieu.api.routes._common import jurisdiction_filter

router = APIRouter(tags=["targets"])


@router.get("/targets")
def list_targets(
    conn: SessionDep, plan: str | None = None, jurisdiction: str | None = None
) -> list[dict[str, Any]]:
    """Targets of the catalog, with their citation; `jurisdiction` is an id, a code or a name."""
    return queries.targets(conn, plan=plan, jurisdiction_ids=jurisdiction_filter(conn, jurisdiction))
