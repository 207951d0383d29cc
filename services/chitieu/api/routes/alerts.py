"""Alerts (read by viewers) and silences (set by engineers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from chitieu.alerts import silences
from chitieu.api import queries
from chitieu.api.auth import Engineer, Principal, Reader, Viewer
from chitieu.api.cache import dumps
from chitieu.api.deps import RowId, changed, connection, jurisdiction_ids, not_found, sync_connection
from chitieu.api.models import ALERT_INTERNAL_FIELDS, Alert, Silence, SilenceIn, SilenceRequest
from chitieu.api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode
from chitieu.api.problems import Problem, responses
from chitieu.api.reads import answer, read_one, read_page

router = APIRouter(tags=["alerts"])
READ_ERRORS = responses(401, 403, 404, 422, 429)
# 400: a request body that is not even text (FastAPI cannot parse it); 413: over CHITIEU_API_MAX_BODY_KB.
WRITE_ERRORS = responses(400, 401, 403, 404, 413, 422, 429)


def _published(who: Principal, row: dict[str, Any]) -> dict[str, Any]:
    """The alert as a reader without a key sees it (CHITIEU_API_PUBLIC_READ)."""
    if who.key_id is not None:
        return row
    return {k: v for k, v in row.items() if k not in ALERT_INTERNAL_FIELDS}


@router.get("/alerts", response_model=Page[Alert], responses=READ_ERRORS)
async def list_alerts(
    request: Request,
    who: Reader,
    state: Literal["firing", "resolved"] | None = None,
    rule: str | None = None,
    plan: str | None = None,
    jurisdiction: Annotated[str | None, Query(description="An id, a code or a name in any spelling")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Newest first."""
    after = decode(cursor, 1, (int,))
    jids = jurisdiction_ids(jurisdiction)
    return await read_page(
        request,
        lambda conn: queries.alerts(
            conn, state=state, rule=rule, plan=plan, jurisdiction_ids=jids, after=after, limit=limit
        ),
        limit=limit,
        key=lambda r: [r["id"]],
        shape=lambda r: _published(who, r),
        variant=who.key_id is None,
    )


@router.get("/alerts/{alert_id}", response_model=Alert, responses=READ_ERRORS)
async def get_alert(request: Request, who: Reader, alert_id: RowId) -> Response:
    """One alert by its id."""
    return await read_one(
        request,
        lambda conn: queries.alerts(conn, alert_id=alert_id, limit=1),
        ("cảnh báo", "alert", alert_id),
        shape=lambda r: _published(who, r),
        variant=who.key_id is None,
    )


def _json(data: Any, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def _silence(request: Request, who: Principal, matchers: dict[str, str], body: SilenceIn) -> dict[str, Any]:
    # A SilenceError (bad matchers or duration) is a ChitieuError: answered as a 422 problem.
    try:
        matchers = silences.parse_matchers([f"{k}={v}" for k, v in matchers.items()])
        expires = datetime.now(UTC) + silences.parse_duration(body.duration)
    except OverflowError as exc:  # e.g. '99999999999m': beyond the calendar
        raise Problem(
            422,
            vi=f"Thời hạn '{body.duration.strip()}' quá dài",
            en=f"duration '{body.duration.strip()}' is too long",
        ) from exc
    with sync_connection(request) as conn:
        silence_id = silences.create_silence(
            conn, matchers, expires, comment=body.comment, created_by=f"api:{who.name}"
        )
        rows = silences.list_silences(conn, datetime.now(UTC), include_inactive=True)
    changed(request)
    return next(r for r in rows if r["id"] == silence_id)


@router.post("/alerts/{alert_id}/silence", response_model=Silence, status_code=201, responses=WRITE_ERRORS)
async def silence_alert(request: Request, who: Engineer, alert_id: RowId, body: SilenceIn) -> Response:
    """Stop this alert's notices for a while (it keeps its state): a silence matching all its labels."""
    async with connection(request) as conn:
        rows = await queries.alerts(conn, alert_id=alert_id, limit=1)
    if not rows:
        raise not_found("cảnh báo", "alert", alert_id)
    labels = {k: str(v) for k, v in rows[0]["labels"].items() if v not in (None, "")}
    labels["rule"] = rows[0]["rule"]
    return _json(await run_in_threadpool(_silence, request, who, labels, body), 201)


@router.get("/silences", response_model=list[Silence], responses=READ_ERRORS)
async def list_silences(request: Request, _: Viewer, include_inactive: bool = False) -> Response:
    """The silences in force (with `include_inactive`, also expired and removed ones)."""

    def read() -> list[dict[str, Any]]:
        with sync_connection(request) as conn:
            return silences.list_silences(conn, datetime.now(UTC), include_inactive=include_inactive)

    async def build() -> list[dict[str, Any]]:
        return await run_in_threadpool(read)

    # Not kept in the cache (whether a silence is active depends on the clock), but still
    # answerable with 304 when nothing in it changed.
    return await answer(request, build, fresh=True)


@router.post("/silences", response_model=Silence, status_code=201, responses=WRITE_ERRORS)
async def create_silence(request: Request, who: Engineer, body: SilenceRequest) -> Response:
    """Silence every alert whose labels include all the matchers."""
    return _json(await run_in_threadpool(_silence, request, who, body.matchers, body), 201)


@router.delete("/silences/{silence_id}", status_code=204, responses=WRITE_ERRORS)
async def remove_silence(request: Request, _: Engineer, silence_id: RowId) -> Response:
    """End a silence now; the alerts it held notify again."""

    def remove() -> bool:
        with sync_connection(request) as conn:
            return silences.remove_silence(conn, silence_id)

    if not await run_in_threadpool(remove):
        raise not_found("lệnh tạm tắt đang hiệu lực", "active silence", silence_id)
    changed(request)
    return Response(status_code=204)
