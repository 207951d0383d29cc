"""Uploads: a spreadsheet through the same ingestion path as the command line, and its validation report.

Every file received whole is archived by its sha256 before anything parses it, and gets a job that
keeps what happened — also when it is refused (wrong type, mislabelled, zip bomb), so nothing an
engineer sent is lost. Two things are not kept: an empty file (there is nothing), and a file over the
size limit (it is never received whole: the body is cut off as it streams, see bodylimit.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from chitieu.api.auth import Engineer, Viewer
from chitieu.api.cache import dumps
from chitieu.api.deps import changed, sync_connection
from chitieu.api.models import UploadJob, UploadJobBrief, UploadProblem
from chitieu.api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode
from chitieu.api.problems import MEDIA_TYPE, Problem, responses, stored
from chitieu.api.reads import read_one, read_page
from chitieu.errors import ChitieuError
from chitieu.ingest.archive import archive_bytes, sha256_of
from chitieu.settings import get_settings
from chitieu.uploads import jobs
from chitieu.uploads.checks import MB, UploadRefused, check_type, check_zip_declared, safe_name, too_large
from chitieu.uploads.locks import holding
from chitieu.uploads.report import good_rows
from chitieu.uploads.run import process

router = APIRouter(tags=["uploads"])

_JOB_EXAMPLE = {
    "id": "7d0c2a8e-1f7b-4c55-9d8e-2b1f0c3a4d5e",
    "status_url": "/api/v1/uploads/7d0c2a8e-1f7b-4c55-9d8e-2b1f0c3a4d5e",
    "state": "done",
    "file_name": "mau-nhap-lieu-4-tinh-2020-2025.xlsx",
    "file_sha256": "3b1f…",
    "size_bytes": 10934,
    "indicator": None,
    "dry_run": False,
    "reprocess": False,
    "uploaded_by": "sở KH&CN Ninh Thuận",
    "created_at": "2026-05-04T09:12:03.120000+07:00",
    "started_at": "2026-05-04T09:12:03.180000+07:00",
    "finished_at": "2026-05-04T09:12:03.900000+07:00",
    "attempts": 1,
    "batch_id": 41,
    "result_status": "loaded",
    "error": None,
    "summary": None,
    "report": {
        "summary": {
            "file": "mau-nhap-lieu-4-tinh-2020-2025.xlsx",
            "source": "upload",
            "sha256": "3b1f…",
            "batch_id": 41,
            "status": "loaded",
            "read": 146,
            "loaded": 144,
            "new": 143,
            "unchanged": 0,
            "revised": 1,
            "rejected": 2,
            "missing_skipped": 0,
            "error": None,
        },
        "rejected": [
            {
                "sheet": "Mẫu nhập liệu",
                "row": 14,
                "column": "Giá trị",
                "raw": "mười hai",
                "reason_code": "unparsable_value",
                "reason_vi": "không đọc được giá trị 'mười hai'",
                "reason_en": "unreadable value 'mười hai'",
            }
        ],
        "rejected_total": 2,
        "observations_sample": [],
        "observations_total": 0,
        "notes": [],
    },
}
_QUEUED_EXAMPLE = {
    **_JOB_EXAMPLE,
    "state": "queued",
    "started_at": None,
    "finished_at": None,
    "attempts": 0,
    "batch_id": None,
    "result_status": None,
    "report": None,
}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "model": UploadProblem,
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/UploadProblem"}}},
    }


POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    # 400: a body that is not multipart/form-data at all, or a broken one (the form parser's refusal).
    **responses(400, 401, 403, 429, 503),
    200: {
        "model": UploadJob,
        "description": "This exact file was already loaded: nothing new (result_status `skipped`)",
        "content": {"application/json": {"example": {**_JOB_EXAMPLE, "result_status": "skipped"}}},
    },
    201: {
        "description": "Loaded (or checked: a dry run) while you waited; the job and its validation report",
        "content": {"application/json": {"example": _JOB_EXAMPLE}},
    },
    202: {
        "model": UploadJob,
        "description": "A large file, accepted and archived; it is loaded in the background. "
        "Poll `Location` (the job's status URL) until `state` is done or failed",
        "content": {"application/json": {"example": _QUEUED_EXAMPLE}},
    },
    413: _problem_response("Over the upload size limit, or a workbook that would inflate past its limit"),
    415: _problem_response("Not xlsx, xls, ods or csv, or a name that does not match the content"),
    422: _problem_response(
        "Empty, unreadable, every row rejected (the report says why, row by row), a suspicious archive, "
        "or invalid form fields"
    ),
    500: _problem_response(
        "Loading failed unexpectedly; the job keeps the error and the file stays archived"
    ),
}
READ_ERRORS = responses(401, 403, 404, 422, 429)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json", headers=headers)


def _status_url(request: Request, job_id: Any) -> str:
    return request.url_for("get_upload", job_id=str(job_id)).path


def _answer(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("archived_path", "report")}
    out["status_url"] = _status_url(request, row["id"])
    out["error"] = stored(row.get("error"), instance=out["status_url"])
    if "report" in row:
        report = row["report"] or {}
        out["report"] = {k: v for k, v in report.items() if k != "attempts"} if "summary" in report else None
    return out


def _refused(request: Request, refused: UploadRefused, job_id: uuid.UUID) -> Problem:
    """The refusal, with the job that keeps the archived file and why it was refused."""
    return Problem.of(refused, job_id=str(job_id), status_url=_status_url(request, job_id))


def _rejected(request: Request, job: dict[str, Any]) -> Problem | None:
    """The 422 of a file from which nothing could be loaded; None when something could."""
    report = job["report"]
    summary = report["summary"]
    total = int(report["rejected_total"])
    if summary["status"] == "rejected":
        first = report["rejected"][0] if report["rejected"] else {}
        error = summary.get("error") or {}
        vi = f"Không đọc được tệp: {first.get('reason_vi') or error.get('vi')}"
        en = f"the file could not be read: {first.get('reason_en') or error.get('en')}"
    elif summary["status"] in ("loaded", "dry_run") and total > 0 and good_rows(report) == 0:
        vi = f"Không nạp được số liệu nào: cả {total} dòng bị từ chối; lý do từng dòng ở báo cáo"
        en = f"nothing could be loaded: all {total} rows were rejected; the report gives each row's reason"
    else:
        return None
    return Problem(
        422,
        vi=vi,
        en=en,
        code="upload-rejected",
        job_id=str(job["id"]),
        status_url=_status_url(request, job["id"]),
        report=report,
    )


@router.post(
    "/uploads",
    response_model=UploadJob,
    status_code=201,
    responses=POST_RESPONSES,
    summary="Upload a spreadsheet (xlsx, xls, ods, csv)",
)
async def upload(
    request: Request,
    who: Engineer,
    file: Annotated[UploadFile, File(description="The spreadsheet: xlsx, xls, ods or csv")],
    indicator: Annotated[
        str | None,
        Form(
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="The indicator (code, name or alias) of a one-indicator sheet that does not name it",
            examples=["pii_rank"],
        ),
    ] = None,
    dry_run: Annotated[bool, Form(description="Check and report only; nothing is loaded")] = False,
    reprocess: Annotated[
        bool,
        Form(
            description="Load this file again although it was loaded before (after a catalog fix): rows it "
            "had rejected that pass now are added; figures already stored add nothing"
        ),
    ] = False,
) -> Response:
    """The file goes through the same path as `chitieu ingest`: archived by sha256, skipped if this
    exact file was loaded before (unless `reprocess`), parsed, normalized, validated, loaded in one
    transaction; every rejected row is kept with its reason (Vietnamese and English). Files up to
    `CHITIEU_API_BACKGROUND_UPLOAD_MB` are loaded while you wait (201, or 200 when already loaded); larger
    ones in the background (202 with a status URL)."""
    settings = get_settings()
    name = safe_name(file.filename)
    content = await file.read()
    await file.close()
    if len(content) > settings.api_max_upload_mb * MB:
        raise too_large(settings.api_max_upload_mb)
    if not content:
        raise Problem(422, vi=f"Tệp {name} rỗng (0 byte)", en=f"{name} is empty (0 bytes)", code="empty-file")
    chosen = indicator.strip() if indicator and indicator.strip() else None
    background = len(content) > settings.api_background_upload_mb * MB

    def accept() -> tuple[uuid.UUID, ChitieuError | None, dict[str, Any] | None]:
        """Archive, record the job, and load it now unless it is the worker's: (the job's id, why it
        was refused or failed, the job once recorded)."""
        try:
            kind = check_type(content, name)
            if kind in ("xlsx", "ods"):
                check_zip_declared(content, max_unzipped_mb=settings.api_max_unzipped_mb)
            refused = None
        except UploadRefused as exc:
            refused = exc
        sha = sha256_of(content)
        archived = archive_bytes(content, name, sha256=sha)
        job_id = uuid.uuid4()
        job: dict[str, Any] = {
            "job_id": job_id,
            "sha256": sha,
            "file_name": name,
            "size": len(content),
            "archived_path": archived.path,
            "indicator": chosen,
            "dry_run": dry_run,
            "reprocess": reprocess,
            "api_key_id": who.key_id,
        }
        with sync_connection(request) as conn:
            if refused is not None:
                jobs.create_job(conn, **job, state="failed", error=refused, result_status="rejected")
                return job_id, refused, None
            if background:
                jobs.create_job(conn, **job, state="queued")
                return job_id, None, jobs.fetch_job(conn, job_id)
            with holding(conn, job_id):
                jobs.create_job(conn, **job, state="running")
                row = jobs.fetch_job(conn, job_id)
                assert row is not None
                run = process(conn, row, attempts=1)
            return job_id, run.error, jobs.fetch_job(conn, job_id)

    job_id, error, job = await run_in_threadpool(accept)
    location = {"Location": _status_url(request, job_id)}
    if isinstance(error, UploadRefused):
        raise _refused(request, error, job_id)
    assert job is not None
    if job["state"] == "queued":
        request.app.state.uploads.ensure()
        return _json(_answer(request, job), 202, location)
    if not dry_run:
        changed(request)
    if error is not None:
        raise Problem(
            500,
            vi=f"Nạp tệp thất bại; tệp vẫn được lưu trữ. {error.vi}",
            en=f"loading failed; the file stays archived. {error.en}",
            code="upload-failed",
            job_id=str(job_id),
            status_url=location["Location"],
        )
    problem = _rejected(request, job)
    if problem is not None:
        raise problem
    return _json(_answer(request, job), 200 if job["result_status"] == "skipped" else 201, location)


@router.get("/uploads/{job_id}", response_model=UploadJob, responses=READ_ERRORS, name="get_upload")
async def get_upload(request: Request, _: Viewer, job_id: uuid.UUID) -> Response:
    """An upload job: its state, and once done its validation report."""
    # Built on every request, never cached: a job's state is polled while it changes, and the
    # poller must see the change at once.
    return await read_one(
        request,
        lambda conn: jobs.read_job(conn, job_id),
        ("lần tải lên", "upload", job_id),
        shape=lambda row: _answer(request, row),
        fresh=True,
    )


@router.get("/uploads", response_model=Page[UploadJobBrief], responses=READ_ERRORS)
async def list_uploads(
    request: Request,
    _: Viewer,
    state: jobs.State | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Upload jobs, newest first (without their reports: follow `status_url`)."""
    after = decode(cursor, 2)
    keyset: tuple[datetime, uuid.UUID] | None = None
    if after is not None:
        try:
            keyset = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        except ValueError as exc:
            raise Problem(
                422, vi="Con trỏ trang không hợp lệ", en="invalid cursor", code="invalid-cursor"
            ) from exc
    return await read_page(
        request,
        lambda conn: jobs.read_jobs(conn, state=state, after=keyset, limit=limit + 1),
        limit=limit,
        key=lambda r: [r["created_at"].isoformat(), str(r["id"])],
        shape=lambda row: _answer(request, row),
        fresh=True,
    )
