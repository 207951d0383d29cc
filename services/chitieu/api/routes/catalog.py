"""The catalog: jurisdictions (with succession), indicators, plans, and targets with their citations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from chitieu.api import queries
from chitieu.api.auth import Reader
from chitieu.api.deps import jurisdiction_ids, not_found
from chitieu.api.models import Indicator, IsoDate, Jurisdiction, Plan, Target
from chitieu.api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode
from chitieu.api.problems import responses
from chitieu.api.reads import read_list, read_one, read_page
from chitieu.catalog.jurisdictions import load_jurisdictions

router = APIRouter(tags=["catalog"])
READ_ERRORS = responses(401, 403, 404, 422, 429)


@router.get("/jurisdictions", response_model=Page[Jurisdiction], responses=READ_ERRORS)
async def list_jurisdictions(
    request: Request,
    _: Reader,
    q: Annotated[
        str | None, Query(max_length=200, description="An id, a code or a name in any spelling")
    ] = None,
    level: Literal["national", "province", "commune"] | None = None,
    on: Annotated[IsoDate | None, Query(description="Only those in force on this day")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Provinces before and after the 1 July 2025 merger (63 → 34), each with its successors and
    predecessors."""

    after = decode(cursor, 1, (str,))
    ids = jurisdiction_ids(q)
    return await read_page(
        request,
        lambda conn: queries.jurisdictions(conn, ids=ids, level=level, on=on, after=after, limit=limit),
        limit=limit,
        key=lambda r: [r["id"]],
    )


@router.get("/jurisdictions/{ref}", response_model=Jurisdiction, responses=READ_ERRORS)
async def get_jurisdiction(
    request: Request,
    _: Reader,
    ref: Annotated[
        str,
        Path(
            description="An id ('old-58'), a code ('52') or a name ('Tỉnh Ninh Thuận')", examples=["old-58"]
        ),
    ],
    on: Annotated[
        IsoDate | None,
        Query(
            description="The day a code or name is read for (default today): code 52 is "
            "Bình Định until 2025-06-30 and Gia Lai from 2025-07-01"
        ),
    ] = None,
) -> Response:
    """One jurisdiction with its successors and predecessors; a code or a name is read for the day
    `on` (codes were reassigned by the 2025 merger)."""

    found = load_jurisdictions().resolve(ref, on)
    if found is None:
        raise not_found("địa phương", "jurisdiction", ref)
    ids = [found.id]
    return await read_one(
        request,
        lambda conn: queries.jurisdictions(conn, ids=ids, level=None, on=None, after=None, limit=1),
        ("địa phương", "jurisdiction", ref),
    )


@router.get("/indicators", response_model=list[Indicator], responses=READ_ERRORS)
async def list_indicators(
    request: Request,
    _: Reader,
    plan: Annotated[str | None, Query(description="Only indicators this plan sets targets for")] = None,
) -> Response:
    """The indicators the plans' targets are measured by: names, unit, direction, valid range."""

    return await read_list(request, lambda conn: queries.indicators(conn, plan=plan))


@router.get("/indicators/{code}", response_model=Indicator, responses=READ_ERRORS)
async def get_indicator(
    request: Request, _: Reader, code: Annotated[str, Path(examples=["digital_economy_share_grdp"])]
) -> Response:
    """One indicator by its code."""

    return await read_one(
        request, lambda conn: queries.indicators(conn, code=code), ("chỉ tiêu", "indicator", code)
    )


@router.get("/plans", response_model=list[Plan], responses=READ_ERRORS)
async def list_plans(request: Request, _: Reader) -> Response:
    """The provincial programmes and national plans, with their reporting obligations."""

    return await read_list(request, queries.plans)


@router.get("/plans/{plan_id}", response_model=Plan, responses=READ_ERRORS)
async def get_plan(
    request: Request, _: Reader, plan_id: Annotated[str, Path(examples=["ninh-thuan-319-ctr-tu"])]
) -> Response:
    """One plan by its id."""

    return await read_one(
        request,
        lambda conn: queries.plans(conn, plan_id=plan_id),
        ("chương trình/kế hoạch", "plan", plan_id),
    )


@router.get("/targets", response_model=Page[Target], responses=READ_ERRORS)
async def list_targets(
    request: Request,
    _: Reader,
    plan: str | None = None,
    jurisdiction: Annotated[str | None, Query(description="An id, a code or a name in any spelling")] = None,
    indicator: str | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Targets with the document, section and sentence each comes from."""

    after = decode(cursor, 1, (str,))
    jids = jurisdiction_ids(jurisdiction)
    return await read_page(
        request,
        lambda conn: queries.targets(
            conn, plan=plan, jurisdiction_ids=jids, indicator=indicator, after=after, limit=limit
        ),
        limit=limit,
        key=lambda r: [r["id"]],
    )


@router.get("/targets/{target_id}", response_model=Target, responses=READ_ERRORS)
async def get_target(
    request: Request, _: Reader, target_id: Annotated[str, Path(examples=["binh-dinh-ctr-57.t01"])]
) -> Response:
    """One target with the document, section and sentence it comes from."""

    return await read_one(
        request,
        lambda conn: queries.targets(conn, target_id=target_id, limit=1),
        ("chỉ tiêu mục tiêu", "target", target_id),
    )
