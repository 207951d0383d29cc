"""Which status a ChitieuError answers with: a 4xx only when its class says the client's input was
refused; any other (database, configuration, internal) 500, and 503 when it came of losing the
database. Each answer is the bilingual problem document."""

from __future__ import annotations

import socket
from collections.abc import Callable

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chitieu.alerts.channels import ChannelError
from chitieu.alerts.silences import SilenceError
from chitieu.api import problems
from chitieu.assess import CaseError
from chitieu.db.migrate import MigrationError
from chitieu.errors import ChitieuError
from chitieu.ingest.accept import AcceptError
from chitieu.ingest.records import ParseError
from chitieu.places import UnknownJurisdiction
from chitieu.settings import SettingsRefused
from chitieu.uploads.checks import UploadRefused
from chitieu.uploads.jobs import JobFailed


class _Broken(ChitieuError):
    """A failure of ours that names no status, as a new error class would."""

    code = "broken"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_gone() -> psycopg.OperationalError:
    """A real refused connection: nothing listens on the port."""
    try:
        psycopg.connect(host="127.0.0.1", port=_closed_port(), dbname="x", user="x", connect_timeout=2)
    except psycopg.OperationalError as exc:
        return exc
    raise AssertionError("a connection to a closed port succeeded")


def _client(raise_it: Callable[[], None]) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise_it()

    return TestClient(app, raise_server_exceptions=False)


def _answer(raise_it: Callable[[], None]) -> tuple[int, dict[str, object], dict[str, str]]:
    response = _client(raise_it).get("/boom")
    assert response.headers["content-type"] == problems.MEDIA_TYPE
    body = response.json()
    assert body["status"] == response.status_code
    assert body["detail"]
    assert body["detail_vi"]
    assert body["title_vi"]
    return response.status_code, body, dict(response.headers)


def _raise(error: BaseException) -> Callable[[], None]:
    def raise_it() -> None:
        raise error

    return raise_it


SERVER_SIDE = [
    _Broken("the thing broke", "Hỏng rồi"),
    MigrationError("migration 999 failed", "Di chuyển 999 thất bại"),
    SettingsRefused("a development default in production", "Giá trị mặc định khi phát triển"),
    ChannelError("routes file unusable", "Tệp định tuyến không dùng được"),
    JobFailed("cannot read the archived file", "Không đọc được tệp đã lưu trữ"),
]


@pytest.mark.parametrize("error", SERVER_SIDE, ids=lambda e: type(e).__name__)
def test_server_side_errors_answer_500_with_both_languages(error: ChitieuError) -> None:
    status, body, _ = _answer(_raise(error))
    assert status == 500
    assert (body["detail"], body["detail_vi"]) == (error.en, error.vi)
    assert body["title"] == "Internal server error"
    if error.code != ChitieuError.code:
        assert body["type"] == f"urn:chitieu:problem:{error.code}"


def test_an_error_caused_by_losing_the_database_answers_503() -> None:
    lost = _database_gone()

    def raise_it() -> None:
        raise _Broken("could not record the run", "Không ghi được lần chạy") from lost

    status, body, _ = _answer(raise_it)
    assert status == 503
    assert body["detail_vi"] == "Không ghi được lần chạy"
    # The same error from anything else is ours: 500.
    assert _answer(_raise(_Broken("x", "y")))[0] == 500


def test_the_database_gone_mid_request_answers_503_with_retry_after() -> None:
    status, body, headers = _answer(_raise(_database_gone()))
    assert status == 503
    assert headers["retry-after"] == "5"
    assert body["detail"] == problems.UNAVAILABLE["en"]


CLIENT_REFUSALS = [
    (UploadRefused("too big", "Quá lớn", code="too-large", status=413), 413),
    (AcceptError(409, "already accepted", "Đã chấp nhận"), 409),
    (UnknownJurisdiction("Atlantis"), 404),
    (SilenceError("at least one --match is required", "cần ít nhất một điều kiện --match"), 422),
    (CaseError("no target", "Không có chỉ tiêu"), 422),
    (ParseError("not a workbook", "Không phải bảng tính"), 422),
    (problems.Problem(429, vi="Quá nhiều", en="too many"), 429),
]


@pytest.mark.parametrize(("error", "status"), CLIENT_REFUSALS, ids=lambda e: type(e).__name__)
def test_refusals_of_the_clients_input_answer_their_4xx(error: ChitieuError, status: int) -> None:
    answered, body, _ = _answer(_raise(error))
    assert answered == status
    assert (body["detail"], body["detail_vi"]) == (error.en, error.vi)


def test_unexpected_exceptions_stay_500() -> None:
    status, body, _ = _answer(_raise(RuntimeError("bug")))
    assert status == 500
    assert "RuntimeError" in str(body["detail"])
