"""Figures and what they mean: a jurisdiction × indicator series (every vintage kept, `as_of` for
what was known then), and the statuses of the targets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from chitieu.api import queries
from chitieu.api.auth import Reader
from chitieu.api.cache import ResponseCache
from chitieu.api.deps import AsyncConn, aware, jurisdiction_ids, not_found, on_connection
from chitieu.api.models import IsoDateTime, Series, Status, StatusRow
from chitieu.api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode, page_of
from chitieu.api.problems import responses
from chitieu.catalog.jurisdictions import load_jurisdictions

router = APIRouter(tags=["figures"])
READ_ERRORS = responses(401, 403, 404, 422, 429)
AsOf = Annotated[
    IsoDateTime | None,
    Query(description="What was known at this time (ISO 8601; without an offset: Vietnam time, UTC+7)"),
]
_PROVENANCE = (
    "source_id",
    "batch_id",
    "file_sha256",
    "file_name",
    "sheet",
    "row_num",
    "cell",
    "fetched_at",
    "note",
)


def _cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.cache
    return cache


def _observation(row: dict[str, Any], provenance: bool) -> dict[str, Any]:
    out = {k: row[k] for k in ("period_type", "period_start", "period_end", "value", "status", "loaded_at")}
    if provenance:
        out["provenance"] = {("row" if k == "row_num" else k): row[k] for k in _PROVENANCE}
    return out


@router.get("/series/{jurisdiction}/{indicator}", response_model=Series, responses=READ_ERRORS)
async def get_series(
    request: Request,
    _: Reader,
    jurisdiction: Annotated[
        str, Path(description="An id, a code or a name ('Ninh Thuận', 'old-58')", examples=["old-58"])
    ],
    indicator: Annotated[str, Path(description="Indicator code", examples=["digital_economy_share_grdp"])],
    as_of: AsOf = None,
    vintages: Annotated[
        Literal["latest", "all"], Query(description="latest: one value per period; all: every vintage")
    ] = "latest",
    include: Annotated[
        list[Literal["provenance"]] | None,
        Query(description="provenance: the source, file, sheet, row, cell and fetch time of each value"),
    ] = None,
) -> Response:
    """A jurisdiction × indicator's figures: the latest vintage of each period, or every vintage
    (`vintages=all`); `as_of` gives what was known then; `include=provenance` where each came from."""

    async def build() -> dict[str, Any]:
        found = load_jurisdictions().resolve(jurisdiction)
        if found is None:
            raise not_found("địa phương", "jurisdiction", jurisdiction)
        place_id = found.id

        async def read(conn: AsyncConn) -> tuple[queries.Rows, queries.Rows, queries.Rows]:
            places = await queries.jurisdictions(
                conn, ids=[place_id], level=None, on=None, after=None, limit=1
            )
            indicators = await queries.indicators(conn, code=indicator)
            if not indicators:
                raise not_found("chỉ tiêu", "indicator", indicator)
            if not places:
                raise not_found("địa phương", "jurisdiction", jurisdiction)
            rows = await queries.series(
                conn,
                jurisdiction_id=place_id,
                indicator=indicator,
                as_of=aware(as_of),
                every_vintage=vintages == "all",
            )
            return places, indicators, rows

        places, indicators, rows = await on_connection(request, read)
        with_provenance = "provenance" in (include or [])
        return {
            "jurisdiction": places[0],
            "indicator": indicators[0],
            "as_of": aware(as_of),
            "vintages": vintages,
            "observations": [_observation(r, with_provenance) for r in rows],
        }

    return await _cache(request).json(request, build)


@router.get("/statuses", response_model=Page[StatusRow], responses=READ_ERRORS)
async def list_statuses(
    request: Request,
    _: Reader,
    plan: str | None = None,
    jurisdiction: Annotated[str | None, Query(description="An id, a code or a name in any spelling")] = None,
    indicator: str | None = None,
    status: Annotated[
        list[Status] | None, Query(description="The ratio's status; repeat for several")
    ] = None,
    headline: Annotated[
        list[Status] | None, Query(description="The headline verdict (what leaders see); repeat for several")
    ] = None,
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """The latest status of every target (and of each failed year of every-year targets), or the
    statuses of the evaluation that was current at `as_of`."""

    async def build() -> dict[str, Any]:
        after = decode(cursor, 3, (str, str, int))
        jids = jurisdiction_ids(jurisdiction)

        async def read(conn: AsyncConn) -> queries.JsonPage:
            run_id = None
            if as_of is not None:
                run_id = await queries.run_as_of(conn, aware(as_of))  # type: ignore[arg-type]
                if run_id is None:
                    return queries.JsonPage(b"[]", None)
            return await queries.statuses(
                conn,
                run_id=run_id,
                plan=plan,
                jurisdiction_ids=jids,
                indicator=indicator,
                statuses=list(status) if status else None,
                headlines=list(headline) if headline else None,
                after=after,
                limit=limit,
            )

        found = await on_connection(request, read)
        # The rows pass through as PostgreSQL wrote them.
        return page_of(request, orjson.Fragment(found.items), limit, found.last_key)

    return await _cache(request).json(request, build)
