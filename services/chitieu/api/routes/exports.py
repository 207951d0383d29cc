"""Exports as CSV and XLSX (whole result sets, streamed), and the data-entry template."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from psycopg import sql
from psycopg.rows import tuple_row
from starlette.types import Receive, Scope, Send

from chitieu.api import queries
from chitieu.api.auth import Reader
from chitieu.api.deps import aware, connection, jurisdiction_ids, not_found
from chitieu.api.models import ALERT_INTERNAL_FIELDS, IsoDateTime, Status
from chitieu.api.problems import Problem, responses
from chitieu.exports.datasets import (
    BOM,
    CSV_MEDIA,
    CSV_SETTINGS,
    SPECS,
    Dataset,
    Filters,
    Spec,
    csv_copy,
    query,
)
from chitieu.exports.xlsx import XLSX_MAX_ROWS, XLSX_MEDIA, XlsxWriter
from chitieu.vietnam_time import TZ

router = APIRouter(tags=["exports"])
log = logging.getLogger("chitieu.api")
BATCH = 2_000  # rows per fetch from the XLSX's server-side cursor
CHUNK = 1 << 16  # bytes per piece of a streamed CSV
# Each running export holds a connection of the read pool for as long as its client downloads;
# past this many at once, further exports wait for a retry rather than starve the JSON reads.
EXPORTS_AT_ONCE = 3
Format = Literal["csv", "xlsx"]

_EXPORT_CONTENT = {
    CSV_MEDIA: {
        "schema": {"type": "string"},
        "example": "\ufeffid,plan_id,jurisdiction_id,...\r\nninh-thuan-319.t01,ninh-thuan-319-ctr-tu,...\r\n",
    },
    XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}},
}
_APPLIES: dict[str, tuple[Dataset, ...]] = {
    "plan": ("targets", "statuses", "observations", "alerts"),
    "jurisdiction": ("targets", "statuses", "observations", "alerts"),
    "indicator": ("targets", "statuses", "observations", "alerts"),
    "status": ("statuses",),
    "headline": ("statuses",),
    "as_of": ("statuses", "observations"),
    "vintages": ("observations",),
    "state": ("alerts",),
    "rule": ("alerts",),
}
EXPORT_DESCRIPTION = f"""\
The whole result set as one file (not paginated), streamed.

- **targets**: every target with its citation (document, section, quoted sentence).
- **statuses**: the latest status of every target, or the statuses current at `as_of`.
- **observations**: the latest vintage of every figure, or what was known at `as_of`, or every vintage
  (`vintages=all`), each with its provenance (source, file, sha256, sheet, row, cell, fetched_at, loaded_at).
  `plan` keeps the figures the plan is assessed on: its indicators, in its jurisdictions and their successors.
- **alerts**: every alert, newest first.

Filters: {", ".join(f"`{k}` ({', '.join(v)})" for k, v in _APPLIES.items())}; a filter given for a
dataset it does not apply to is a 422, an unknown plan, indicator or jurisdiction a 404.

**Format**: `format=csv|xlsx`, or without it the `Accept` header (`text/csv`, `{XLSX_MEDIA}`; CSV when
either will do). CSV: UTF-8 with a BOM, one header row of stable English column names, decimal point `.`,
times in ISO 8601 with Vietnam's offset (+07:00); text beginning with `= + - @` is prefixed with `'` so that
a spreadsheet program does not run it as a formula. XLSX: a sheet named after the dataset (bold, frozen
header; Vietnamese titles as header comments) and a legend sheet (`Chú thích`) with the filters and every
column's Vietnamese title and meaning; dates and times are Excel dates (Vietnam time). An XLSX holds at most
{XLSX_MAX_ROWS:,} rows: a larger export is a 413 — narrow it or ask for CSV.
"""


class _Stream(StreamingResponse):
    """A streamed body whose resources (the connection and its cursor) are released however the
    response ends: finished, client gone, or never started."""

    def __init__(
        self, content: AsyncIterator[bytes], *, cleanup: Callable[[], Awaitable[None]], **kw: Any
    ) -> None:
        super().__init__(content, **kw)
        self._cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                await self._cleanup()
            except Exception:  # the answer is already on its way: log, never raise into the server
                log.warning("export cleanup failed", exc_info=True)


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def negotiate(fmt: Format | None, accept: str | None) -> Format:
    """`format` wins; else the Accept header's preference (CSV on a tie or without one)."""
    if fmt is not None:
        return fmt
    if not accept or not accept.strip():
        return "csv"
    ranges = _parse_accept(accept)

    def quality(media: str) -> float:
        kind = media.split("/")[0]
        best: tuple[int, float] = (-1, 0.0)  # (specificity, q)
        for candidate, q in ranges:
            specificity = (
                2
                if candidate == media
                else 1
                if candidate == f"{kind}/*"
                else 0
                if candidate == "*/*"
                else -1
            )
            if specificity > best[0]:
                best = (specificity, q)
        return best[1]

    offers: list[tuple[float, Format]] = [(quality(CSV_MEDIA), "csv"), (quality(XLSX_MEDIA), "xlsx")]
    q, chosen = max(offers, key=lambda o: o[0])  # max keeps the first (CSV) on a tie
    if q <= 0:
        raise Problem(
            406,
            vi=f"Chỉ xuất được {CSV_MEDIA} hoặc {XLSX_MEDIA} (Accept: {accept})",
            en=f"exports are {CSV_MEDIA} or {XLSX_MEDIA} only (Accept: {accept})",
        )
    return chosen


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _today() -> str:
    return datetime.now(TZ).strftime("%Y%m%d")


class _Slots:
    """How many exports this process is running (the event loop is single-threaded: no lock needed)."""

    def __init__(self) -> None:
        self.busy = 0


def _take_slot(request: Request) -> Callable[[], None]:
    slots = getattr(request.app.state, "export_slots", None)
    if slots is None:
        slots = request.app.state.export_slots = _Slots()
    if slots.busy >= EXPORTS_AT_ONCE:
        raise Problem(
            503,
            vi=f"Đang có {slots.busy} lượt xuất dữ liệu; thử lại sau ít phút",
            en=f"{slots.busy} exports are running; retry in a moment",
            headers={"Retry-After": "30"},
        )
    slots.busy += 1
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            slots.busy -= 1

    return release


async def _check_known(conn: Any, plan: str | None, indicator: str | None) -> None:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            """SELECT (%(plan)s::text IS NULL OR EXISTS (SELECT 1 FROM plans WHERE id = %(plan)s)),
                      (%(ind)s::text IS NULL OR EXISTS (SELECT 1 FROM indicators WHERE code = %(ind)s))""",
            {"plan": plan, "ind": indicator},
        )
        plan_ok, indicator_ok = await cur.fetchone()
    if not plan_ok:
        raise not_found("chương trình/kế hoạch", "plan", plan)
    if not indicator_ok:
        raise not_found("chỉ tiêu", "indicator", indicator)


@router.get(
    "/exports/{dataset}",
    response_class=Response,
    responses={
        200: {"description": "The export as a file (attachment)", "content": _EXPORT_CONTENT},
        **responses(401, 403, 404, 406, 413, 422, 429, 503),
    },
    description=EXPORT_DESCRIPTION,
    summary="Export a dataset as CSV or XLSX",
)
async def export(
    request: Request,
    who: Reader,
    dataset: Annotated[Dataset, PathParam(description="targets, statuses, observations or alerts")],
    format: Annotated[
        Format | None, Query(description="csv or xlsx (default: from Accept, else csv)")
    ] = None,
    plan: str | None = None,
    jurisdiction: Annotated[str | None, Query(description="An id, a code or a name in any spelling")] = None,
    indicator: str | None = None,
    status: Annotated[list[Status] | None, Query(description="statuses only; repeat for several")] = None,
    headline: Annotated[
        list[Status] | None, Query(description="statuses only: the headline verdict; repeat for several")
    ] = None,
    as_of: Annotated[
        IsoDateTime | None,
        Query(description="statuses, observations: what was known at this time (without an offset: UTC+7)"),
    ] = None,
    vintages: Annotated[
        Literal["latest", "all"] | None, Query(description="observations: latest (default) or every vintage")
    ] = None,
    state: Annotated[Literal["firing", "resolved"] | None, Query(description="alerts only")] = None,
    rule: Annotated[str | None, Query(description="alerts only")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    given = {
        "plan": plan, "jurisdiction": jurisdiction, "indicator": indicator,
        "status": status, "headline": headline, "as_of": as_of,
        "vintages": vintages, "state": state, "rule": rule,
    }  # fmt: skip
    stray = [k for k, v in given.items() if v is not None and dataset not in _APPLIES[k]]
    if stray:
        raise Problem(
            422,
            vi=f"Bộ lọc {', '.join(stray)} không áp dụng cho '{dataset}'",
            en=f"filter {', '.join(stray)} does not apply to '{dataset}'",
        )
    chosen = negotiate(format, accept)
    filters = Filters(
        plan=plan,
        jurisdiction_ids=jurisdiction_ids(jurisdiction),
        indicator=indicator,
        statuses=list(status) if status else None,
        headlines=list(headline) if headline else None,
        state=state,
        rule=rule,
        as_of=aware(as_of),
        all_vintages=vintages == "all",
    )
    described = [
        (k, v.isoformat() if isinstance(v, datetime) else str(v)) for k, v in given.items() if v is not None
    ]
    name = f"chitieu-{dataset}-{_today()}.{chosen}"
    spec = SPECS[dataset]
    if dataset == "alerts" and who.key_id is None:  # what CHITIEU_API_PUBLIC_READ publishes of an alert
        spec = replace(spec, columns=tuple(c for c in spec.columns if c.name not in ALERT_INTERNAL_FIELDS))
    release = _take_slot(request)
    try:
        if chosen == "csv":
            # The stream releases the slot when it ends: it holds a connection until then.
            return await _csv(request, spec, filters, name, release)
        return await _xlsx(request, spec, filters, name, described)
    except _ClientGone:
        log.info("export of %s abandoned: the client went away", dataset)
        return Response(status_code=499)  # nginx's "client closed request": nobody reads it
    except BaseException:
        release()
        raise
    finally:
        if chosen == "xlsx":  # built in full by now; sending the file needs no connection
            release()


async def _open(
    stack: AsyncExitStack, request: Request, dataset: Dataset, filters: Filters
) -> tuple[Any, Filters]:
    """A read-only, repeatable-read transaction (the XLSX count and its rows see one snapshot) with
    the filters checked; returns the connection and the filters completed with the run for as_of."""
    conn = await stack.enter_async_context(connection(request))
    await stack.enter_async_context(conn.transaction())
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    await conn.execute(CSV_SETTINGS)
    await _check_known(conn, filters.plan, filters.indicator)
    if dataset == "statuses" and filters.as_of is not None:
        run_id = await queries.run_as_of(conn, filters.as_of)
        # No evaluation had finished then: nothing was known (-1 matches no run).
        filters = replace(filters, run_id=run_id if run_id is not None else -1)
    return conn, filters


async def _csv(
    request: Request, spec: Spec, filters: Filters, name: str, release: Callable[[], None]
) -> Response:
    dataset = spec.dataset
    async with AsyncExitStack() as stack:
        conn, filters = await _open(stack, request, dataset, filters)
        select, params = query(dataset, filters, as_csv_text=True, spec=spec)
        cur = await stack.enter_async_context(conn.cursor())
        copy = await stack.enter_async_context(cur.copy(csv_copy(select), params))
        first = await copy.read()  # the header: errors up to here still become a problem answer
        held = stack.pop_all()
    finished = False

    async def cleanup() -> None:
        try:
            if finished:
                await held.aclose()
            else:  # client gone (or never served): cancel the COPY, roll back, free the connection
                gone = ConnectionAbortedError("export not sent to the end")
                await held.__aexit__(type(gone), gone, None)
        finally:
            release()

    async def body() -> AsyncIterator[bytes]:
        nonlocal finished
        # COPY hands over one row at a time: pass them on in chunks of about CHUNK bytes.
        chunk = bytearray(BOM)
        chunk += first
        while data := await copy.read():
            chunk += data
            if len(chunk) >= CHUNK:
                yield bytes(chunk)
                chunk.clear()
        finished = True
        yield bytes(chunk)

    return _Stream(body(), cleanup=cleanup, media_type=CSV_MEDIA, headers=_attachment(name))


class _ClientGone(Exception):
    pass


async def _xlsx(
    request: Request, spec: Spec, filters: Filters, name: str, described: list[tuple[str, str]]
) -> Response:
    dataset = spec.dataset
    out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        async with AsyncExitStack() as stack:
            conn, filters = await _open(stack, request, dataset, filters)
            select, params = query(dataset, filters, spec=spec)
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(sql.SQL("SELECT count(*) FROM ({}) q").format(select), params)
                (total,) = await cur.fetchone()
            if total > XLSX_MAX_ROWS:
                raise Problem(
                    413,
                    vi=f"{total:,} dòng vượt giới hạn {XLSX_MAX_ROWS:,} dòng của tệp XLSX; "
                    "hãy thu hẹp bộ lọc hoặc xuất CSV",
                    en=f"{total:,} rows exceed the XLSX limit of {XLSX_MAX_ROWS:,} rows; "
                    "narrow the filters or export CSV",
                    rows=total,
                    limit=XLSX_MAX_ROWS,
                )
            writer = XlsxWriter(spec, rows=total)
            try:
                cur = await stack.enter_async_context(
                    conn.cursor(name=f"export_{dataset}", row_factory=tuple_row)
                )
                await cur.execute(select, params)
                while batch := await cur.fetchmany(BATCH):
                    # openpyxl is CPU-bound: build the sheet in a worker thread, off the event loop.
                    await run_in_threadpool(writer.rows, batch)
                    if await request.is_disconnected():  # nobody is waiting for the file any more
                        raise _ClientGone
                exported_at = datetime.now(UTC)
                await run_in_threadpool(writer.finish, out, exported_at=exported_at, filters=described)
            except BaseException:
                writer.discard()
                raise
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise

    async def body() -> AsyncIterator[bytes]:
        while chunk := await run_in_threadpool(out.read, 1 << 16):
            yield chunk

    async def cleanup() -> None:
        out.close()

    headers = {**_attachment(name), "Content-Length": str(size)}
    return _Stream(body(), cleanup=cleanup, media_type=XLSX_MEDIA, headers=headers)


# --- the data-entry template ------------------------------------------------------------------------


@router.get(
    "/template",
    response_class=Response,
    responses={
        200: {
            "description": "The data-entry workbook (`chitieu template`)",
            "content": {XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}}},
        },
        **responses(401, 403, 404, 422, 429),
    },
    summary="The data-entry template of a province",
)
async def template(
    _: Reader,
    jurisdiction: Annotated[str, Query(min_length=1, max_length=200, description="A name, code or id")],
    plan: Annotated[str | None, Query(description="A plan id (default: the province's plans)")] = None,
) -> Response:
    """The workbook `chitieu template` writes: the rows (indicator × year) the plan needs, with
    dropdowns for codes, units and status, to fill in and upload back (`POST /uploads`)."""
    from chitieu.catalog.jurisdictions import load_jurisdictions
    from chitieu.catalog.plans import load_plans
    from chitieu.ingest.template import TemplateError, write_template

    place = load_jurisdictions().resolve(jurisdiction)
    if place is None:
        raise not_found("địa phương", "jurisdiction", jurisdiction)
    plans = await run_in_threadpool(load_plans)
    if plan is not None and plan not in {p.id for p in plans}:
        raise not_found("chương trình/kế hoạch", "plan", plan)

    def build() -> bytes:
        with tempfile.TemporaryDirectory(prefix="chitieu-template-") as tmp:
            path = Path(tmp) / "template.xlsx"
            write_template(path, jurisdiction, plan, plans=plans)
            return path.read_bytes()

    try:
        data = await run_in_threadpool(build)
    except TemplateError as exc:
        raise Problem(422, vi=exc.vi, en=exc.en) from exc
    suffix = f"-{plan}" if plan else ""
    name = f"chitieu-template-{place.id}{suffix}-{_today()}.xlsx"
    return Response(data, media_type=XLSX_MEDIA, headers=_attachment(name))
