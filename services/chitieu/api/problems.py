"""Errors as RFC 9457 `application/problem+json`, each with an English and a Vietnamese message.

Routes raise `Problem`, and any `ChitieuError` the core raises reaches the client as one too, with
the error's `http_status`: a 4xx only for a refusal of what the client sent (its class declares it),
else 500, or 503 when it came of losing the database. The handlers installed by `install()` also turn
FastAPI's validation errors, unknown routes, a database gone mid-request (503) and unexpected
exceptions into problems, so a client never has to parse two shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from chitieu.errors import ChitieuError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("chitieu.api")

# status -> (code, English title, Vietnamese title)
_TITLES: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Bad request", "Yêu cầu không hợp lệ"),
    401: ("unauthorized", "Authentication required", "Cần xác thực"),
    403: ("forbidden", "Forbidden", "Không có quyền"),
    404: ("not-found", "Not found", "Không tìm thấy"),
    405: ("method-not-allowed", "Method not allowed", "Phương thức không được hỗ trợ"),
    406: ("not-acceptable", "Not acceptable", "Không đáp ứng được định dạng yêu cầu"),
    409: ("conflict", "Conflict", "Xung đột"),
    413: ("too-large", "Payload too large", "Dữ liệu gửi lên quá lớn"),
    415: ("unsupported-type", "Unsupported file type", "Loại tệp không được hỗ trợ"),
    422: ("invalid-request", "Invalid request", "Yêu cầu không hợp lệ"),
    429: ("rate-limited", "Too many requests", "Quá nhiều yêu cầu"),
    500: ("internal-error", "Internal server error", "Lỗi máy chủ"),
    503: ("unavailable", "Service unavailable", "Dịch vụ tạm thời không sẵn sàng"),
}


# Data exceptions raised by a value the client sent: numeric_value_out_of_range,
# character_not_in_repertoire, untranslatable_character. (sqlstate None: psycopg refused the value
# before sending it, e.g. a NUL character in a text.)
_CLIENT_VALUE_SQLSTATES = {"22003", "22021", "22P05"}


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, plus the Vietnamese title and detail."""

    type: str = Field(examples=["urn:chitieu:problem:not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["unknown jurisdiction 'Atlantis'"])
    title_vi: str = Field(examples=["Không tìm thấy"])
    detail_vi: str = Field(examples=["Không tìm thấy địa phương 'Atlantis'"])
    instance: str | None = Field(default=None, examples=["/api/v1/targets"])
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems of a 422 (location, message)"
    )


UNAVAILABLE = {"vi": "Không kết nối được cơ sở dữ liệu", "en": "database unavailable"}
RETRY_AFTER = {"Retry-After": "5"}


class Problem(ChitieuError):
    """An error answer. `vi` and `en` are the detail sentences; `extra` adds members to the body."""

    def __init__(
        self,
        status: int,
        *,
        vi: str,
        en: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(en, vi, code=code)
        self.http_status = status
        self.headers = headers or {}
        self.extra = extra

    @property
    def status(self) -> int:
        return self.http_status

    @classmethod
    def of(cls, error: ChitieuError, **extra: Any) -> Problem:
        """The core's error as an answer, with members of the body only the API knows (a job's URL)."""
        return cls(status_of(error), vi=error.vi, en=error.en, code=_code(error), **extra)


def status_of(error: ChitieuError) -> int:
    """The error's own status; 503 for a server-side one that came of losing the database."""
    if error.http_status >= 500 and isinstance(error.__cause__, _DATABASE_GONE):
        return 503
    return error.http_status


# A connection refused or lost, or none free in time: the database is unavailable, not broken.
_DATABASE_GONE = (psycopg.OperationalError, PoolTimeout)


def _code(error: ChitieuError) -> str | None:
    """The error's own code; None (the status's default) when it kept the base's generic one."""
    return None if error.code == ChitieuError.code else error.code


def from_error(error: ChitieuError, *, instance: str | None) -> JSONResponse:
    """The problem document of any ChitieuError (a `Problem` adds its headers and body members)."""
    headers, extra = (error.headers, error.extra) if isinstance(error, Problem) else (None, {})
    return response(
        status_of(error),
        vi=error.vi,
        en=error.en,
        code=_code(error),
        instance=instance,
        headers=headers,
        **extra,
    )


def body(
    status: int, *, vi: str, en: str, code: str | None = None, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    default_code, title_en, title_vi = _TITLES.get(status, ("error", "Error", "Lỗi"))
    return {
        "type": f"urn:chitieu:problem:{code or default_code}",
        "title": title_en,
        "status": status,
        "detail": en,
        "title_vi": title_vi,
        "detail_vi": vi,
        "instance": instance,
        **extra,
    }


def stored(error: Mapping[str, Any] | None, *, instance: str | None = None) -> dict[str, Any] | None:
    """The problem document of an error kept in the database as its code, status and two sentences
    (an upload job's `error`), as an answer carrying it would be."""
    if error is None:
        return None
    return body(
        int(error["status"]),
        vi=str(error["vi"]),
        en=str(error["en"]),
        code=error.get("code"),
        instance=instance,
    )


def response(
    status: int,
    *,
    vi: str,
    en: str,
    code: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        body(status, vi=vi, en=en, code=code, instance=instance, **extra),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry for a route's error answers."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        _, title_en, title_vi = _TITLES[status]
        out[status] = {
            "model": ProblemDetail,
            "description": f"{title_en} / {title_vi}",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
    return out


def _from_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    default = _TITLES.get(exc.status_code, ("error", "Error", "Lỗi"))
    detail = exc.detail
    if isinstance(detail, dict):
        vi, en = str(detail.get("vi", default[2])), str(detail.get("en", default[1]))
    elif exc.status_code == 404:
        vi, en = "Không có đường dẫn này", f"no such path: {request.url.path}"
    else:
        vi, en = default[2], str(detail or default[1])
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # The router names the methods of the first route of this path only; a path served by
        # several routes (GET and POST /silences) allows all of theirs (RFC 9110 15.5.6).
        headers["Allow"] = _allowed(request)
    return response(exc.status_code, vi=vi, en=en, instance=request.url.path, headers=headers)


def _allowed(request: Request) -> str:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"location": [str(p) for p in err.get("loc", ())], "message": err.get("msg"), "type": err.get("type")}
        for err in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ChitieuError)
    async def _refused(request: Request, exc: ChitieuError) -> JSONResponse:
        return from_error(exc, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _from_http_exception(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        where = "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors)
        return response(
            422,
            vi=f"Tham số không hợp lệ: {where}",
            en=f"invalid parameters: {where}",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(psycopg.DataError)
    async def _bad_value(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # A text with a NUL character or a number beyond the column's range is the client's value
        # that the database cannot hold (every parameter reaches SQL as a bound value), not our bug.
        if exc.sqlstate is None or exc.sqlstate in _CLIENT_VALUE_SQLSTATES:
            return response(
                422,
                vi=f"Giá trị không lưu/tra cứu được trong cơ sở dữ liệu: {exc}",
                en=f"a value the database cannot take: {exc}",
                instance=request.url.path,
            )
        return await _unexpected(request, exc)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_gone(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return response(503, **UNAVAILABLE, instance=request.url.path, headers=RETRY_AFTER)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return response(
            500,
            vi="Lỗi không mong đợi; chi tiết nằm trong nhật ký máy chủ",
            en=f"unexpected {type(exc).__name__}; details are in the server log",
            instance=request.url.path,
        )
