"""API keys, managed by admins (the same functions as `chitieu apikey ...`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from chitieu.api import keys
from chitieu.api.auth import Admin
from chitieu.api.cache import dumps
from chitieu.api.deps import RowId, aware, changed, not_found, sync_connection
from chitieu.api.models import ApiKey, ApiKeyCreated, ApiKeyRequest
from chitieu.api.problems import responses
from chitieu.api.reads import answer

router = APIRouter(tags=["api keys"])
ERRORS = responses(401, 403, 404, 422, 429)


@router.get("/apikeys", response_model=list[ApiKey], responses=ERRORS)
async def list_keys(request: Request, _: Admin, include_revoked: bool = False) -> Response:
    """The API keys (never their tokens; only a hash is stored)."""

    def read() -> list[dict[str, Any]]:
        with sync_connection(request) as conn:
            return keys.list_keys(conn, include_revoked=include_revoked)

    async def build() -> list[dict[str, Any]]:
        return await run_in_threadpool(read)

    # Never cached: an admin who revokes a key sees it revoked on the next read.
    return await answer(request, build, fresh=True)


# 400: a request body that is not even text (FastAPI cannot parse it); 413: over CHITIEU_API_MAX_BODY_KB.
@router.post(
    "/apikeys",
    response_model=ApiKeyCreated,
    status_code=201,
    responses=responses(400, 401, 403, 404, 413, 422, 429),
)
async def create_key(request: Request, who: Admin, body: ApiKeyRequest) -> Response:
    """The token is in this answer only; it is never shown again."""

    def create() -> dict[str, Any]:
        with sync_connection(request) as conn:
            token, row = keys.create_key(
                conn,
                role=body.role,
                name=body.name,
                created_by=f"api:{who.name}",
                expires_at=aware(body.expires_at),
            )
        return {**row, "token": token}

    # A bad request (keys.ApiKeyError) is answered as a 422 problem.
    created = await run_in_threadpool(create)
    return Response(dumps(created), status_code=201, media_type="application/json")


@router.delete("/apikeys/{key_id}", response_model=ApiKey, responses=ERRORS)
async def revoke_key(request: Request, _: Admin, key_id: RowId) -> Response:
    """Revoke a key: this process refuses it from the next request, the others as soon as the
    database announces the change."""

    def revoke() -> dict[str, Any] | None:
        with sync_connection(request) as conn:
            return keys.revoke_key(conn, str(key_id))

    row = await run_in_threadpool(revoke)
    if row is None:
        raise not_found("khóa API đang hiệu lực", "active API key", key_id)
    changed(request)
    return Response(dumps(row), media_type="application/json")
