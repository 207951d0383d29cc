"""Probes: /healthz (the process answers; no database) and /readyz (database reachable, every
migration of this checkout applied unchanged). Served at the root and under /api/v1, without a key;
the server versions in /readyz are shown only to an engineer's or admin's key (they help an attacker
more than an orchestrator)."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from chitieu.api import queries
from chitieu.api.auth import Gate, bearer_token
from chitieu.api.models import Health, Ready
from chitieu.api.problems import Problem
from chitieu.db.migrate import discover

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (no database involved)."""

    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={503: {"model": Ready, "description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and every migration of this release is applied unchanged
    (503 otherwise)."""

    wanted = discover()
    try:
        engineer = await _engineer(request)
        async with request.app.state.pool.connection(timeout=3) as conn:
            versions = await queries.server_versions(conn) if engineer else {}
            applied = await queries.applied_migrations(conn)
    except (PoolTimeout, psycopg.Error, Problem):
        body = Ready(status="not_ready", database=False, migrations_current=False, pending_migrations=[])
        return JSONResponse(body.model_dump(), status_code=503)
    pending = [m.name for m in wanted if applied.get(m.version) != m.checksum]
    ok = not pending
    body = Ready(
        status="ready" if ok else "not_ready",
        database=True,
        migrations_current=ok,
        pending_migrations=pending,
        **versions,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _engineer(request: Request) -> bool:
    """Whether the caller holds an engineer's (or admin's) key; no key, or another one, is no error."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return False
    gate: Gate = request.app.state.gate
    client = request.client.host if request.client else "unknown"
    try:
        await gate.check(client, token, "engineer", public=False)
    except Problem as exc:
        if exc.status == 503:
            raise
        return False
    return True
