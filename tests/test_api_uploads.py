"""Uploads over HTTP against the real database: good, bad, unreadable, empty, huge, zip-bomb, wrong-type
and mislabelled files; background loading and its resumption; who may upload. After every refusal
the server still answers, nothing half-loaded is left, and what was received whole stays archived."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from chitieu.settings import PROJECT_ROOT, get_settings
from conftest import bearer

SAMPLES = PROJECT_ROOT / "samples" / "inbox"
TEMPLATE = SAMPLES / "mau-nhap-lieu-4-tinh-2020-2025.xlsx"  # 119 data rows (sheet rows 5-123), 2 bad
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MB = 1024 * 1024


def _setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Settings are read per request: a change applies to the next upload."""
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _post(
    api: TestClient, token: str | None, name: str, content: bytes, **form: str
) -> Any:  # httpx.Response
    headers = bearer(token) if token else {}
    return api.post("/api/v1/uploads", headers=headers, files={"file": (name, content, XLSX)}, data=form)


def _alive(api: TestClient) -> None:
    assert api.get("/healthz").status_code == 200


def _count(db: psycopg.Connection, query: str, *args: Any) -> int:
    row = db.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


def _archived(content: bytes) -> bytes | None:
    """The archived bytes of `content` (None when not archived), from wherever the archive keeps them."""
    from chitieu.ingest.archive import ArchiveError, read_archived

    try:
        return read_archived(hashlib.sha256(content).hexdigest())
    except ArchiveError:
        return None


def _problem(res: Any, status: int, code: str) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = res.json()
    assert body["type"] == f"urn:chitieu:problem:{code}"
    assert body["detail"]
    assert body["detail_vi"]
    assert body["detail"] != body["detail_vi"]
    return body


def _until_done(api: TestClient, url: str, token: str, seconds: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = api.get(url, headers=bearer(token)).json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _declare_size(content: bytes, member: str, size: int) -> bytes:
    """The same archive, with `member`'s uncompressed size rewritten (a lying header)."""
    data = bytearray(content)
    name = member.encode()
    for signature, size_at, name_len_at, header in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = data.find(signature)
        while at != -1:
            (name_len,) = struct.unpack_from("<H", data, at + name_len_at)
            if bytes(data[at + header : at + header + name_len]) == name:
                struct.pack_into("<I", data, at + size_at, size)
            at = data.find(signature, at + 4)
    return bytes(data)


# --- good files ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("api_data_dir")
def test_a_good_file_is_loaded_with_provenance_and_its_report(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
    api: TestClient,
) -> None:
    content = TEMPLATE.read_bytes()
    res = _post(api, api_keys["engineer"], TEMPLATE.name, content)
    assert res.status_code == 201, res.text
    job = res.json()
    assert res.headers["location"] == job["status_url"] == f"/api/v1/uploads/{job['id']}"
    assert (job["state"], job["result_status"], job["attempts"]) == ("done", "loaded", 1)
    assert job["file_sha256"] == hashlib.sha256(content).hexdigest()
    assert job["uploaded_by"] == "test engineer"
    summary = job["report"]["summary"]
    # 119 data rows: 117 good, 2 wrong on purpose (an unknown province, an unreadable value).
    assert (summary["read"], summary["rejected"]) == (119, 2)
    kinds = ("new", "revised", "confirmed", "unchanged", "superseded")
    assert sum(summary[k] for k in kinds) == 117
    loaded = _count(catalog_db, "SELECT count(*) FROM observations WHERE batch_id = %s", job["batch_id"])
    assert loaded == summary["loaded"] == summary["new"] + summary["revised"] + summary["confirmed"] > 100
    rejected = sorted((r["row"], r["reason_code"]) for r in job["report"]["rejected"])
    assert rejected == [(122, "unknown_jurisdiction"), (123, "unparsable_value")]
    assert job["report"]["rejected_total"] == 2
    assert all(
        r["reason_vi"] and r["reason_en"] and r["sheet"] == "Số liệu" for r in job["report"]["rejected"]
    )
    kept = catalog_db.execute(
        "SELECT row_num, reason_code FROM rejected_rows WHERE batch_id = %s ORDER BY row_num",
        (job["batch_id"],),
    ).fetchall()
    assert kept == rejected
    # Provenance: Ninh Thuận's 2023 PII rank is row 31 of sheet 'Số liệu', value 18.
    prov = catalog_db.execute(
        """SELECT value, file_name, file_sha256, sheet, row_num, source_id FROM observations
           WHERE batch_id = %s AND jurisdiction_id = 'old-58' AND indicator_code = 'pii_rank'
             AND period_start = '2023-01-01'""",
        (job["batch_id"],),
    ).fetchone()
    assert prov == (18.0, TEMPLATE.name, job["file_sha256"], "Số liệu", 31, "upload")
    assert _archived(content) == content
    again = api.get(job["status_url"], headers=bearer(api_keys["viewer"]))
    assert again.status_code == 200
    assert again.json()["report"] == job["report"]


def test_a_dry_run_reports_and_writes_nothing(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    res = _post(api, api_keys["engineer"], TEMPLATE.name, TEMPLATE.read_bytes(), dry_run="true")
    assert res.status_code == 201, res.text
    job = res.json()
    assert (job["dry_run"], job["result_status"], job["batch_id"]) == (True, "dry_run", None)
    report = job["report"]
    assert (report["observations_total"], report["rejected_total"]) == (117, 2)
    assert len(report["observations_sample"]) == 50
    first = report["observations_sample"][0]  # sheet row 5: Ninh Thuận, 2020, 22 %
    assert (first["indicator"], first["value"], first["source"]["row"]) == (
        "innovative_enterprise_share",
        22.0,
        5,
    )
    assert _count(catalog_db, "SELECT count(*) FROM observations WHERE source_id = 'upload'") == 0
    assert _count(catalog_db, "SELECT count(*) FROM load_batches") == 0
    assert _count(catalog_db, "SELECT count(*) FROM rejected_rows") == 0


def test_the_same_file_twice_is_skipped(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    content = TEMPLATE.read_bytes()
    first = _post(api, api_keys["engineer"], TEMPLATE.name, content)
    assert first.status_code == 201
    before = _count(catalog_db, "SELECT count(*) FROM observations")
    second = _post(api, api_keys["engineer"], "renamed.xlsx", content)
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["result_status"] == "skipped"
    assert body["id"] != first.json()["id"]
    assert body["report"]["summary"]["loaded"] == 0
    assert _count(catalog_db, "SELECT count(*) FROM observations") == before
    status = catalog_db.execute(
        "SELECT status FROM load_batches WHERE id = %s", (body["batch_id"],)
    ).fetchone()
    assert status == ("skipped",)
    # asked to reprocess (after a catalog fix), the same bytes are loaded again: nothing new here
    third = _post(api, api_keys["engineer"], TEMPLATE.name, content, reprocess="true")
    assert third.status_code == 201, third.text
    summary = third.json()["report"]["summary"]
    assert (third.json()["reprocess"], summary["status"], summary["reprocess_of"]) == (
        True,
        "loaded",
        first.json()["batch_id"],
    )
    was = first.json()["report"]["summary"]
    assert (summary["loaded"], summary["unchanged"]) == (0, was["loaded"] + was["unchanged"])
    assert _count(catalog_db, "SELECT count(*) FROM observations") == before


def test_the_indicator_field_names_the_indicator_of_a_sheet_that_does_not(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    content = "Tỉnh/Thành phố,Năm,Giá trị\nNinh Thuận,2023,18\nQuảng Nam,2023,12\n".encode()
    without = _post(api, api_keys["engineer"], "pii.csv", content)
    assert _problem(without, 422, "upload-rejected")["report"]["summary"]["status"] == "rejected"
    res = _post(api, api_keys["engineer"], "pii.csv", content, indicator="pii_rank")
    assert res.status_code == 201, res.text
    assert res.json()["indicator"] == "pii_rank"
    rows = catalog_db.execute(
        "SELECT jurisdiction_id, indicator_code, value FROM observations WHERE batch_id = %s ORDER BY 1",
        (res.json()["batch_id"],),
    ).fetchall()
    assert rows == [("old-49", "pii_rank", 12.0), ("old-58", "pii_rank", 18.0)]
    # A control character in a form field is a 422 from validation, not a database error.
    bad = _post(api, api_keys["engineer"], "pii.csv", content, indicator="pii\x00rank")
    _problem(bad, 422, "invalid-request")


# --- files from which nothing can be loaded ---------------------------------------------------------------


def test_a_file_whose_every_row_is_rejected_is_a_422_with_the_report(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    content = (
        "Tỉnh/Thành phố,Mã chỉ tiêu,Kỳ,Giá trị\nAtlantis,pii_rank,2024,5\nNinh Thuận,pii_rank,2024,không rõ\n"
    ).encode()
    res = _post(api, api_keys["engineer"], "sai.csv", content)
    body = _problem(res, 422, "upload-rejected")
    assert "2" in body["detail"]
    reasons = sorted((r["row"], r["reason_code"]) for r in body["report"]["rejected"])
    assert reasons == [(2, "unknown_jurisdiction"), (3, "unparsable_value")]
    job = api.get(body["status_url"], headers=bearer(api_keys["viewer"])).json()
    assert job["id"] == body["job_id"]
    assert job["state"] == "done"
    kept = _count(catalog_db, "SELECT count(*) FROM rejected_rows WHERE batch_id = %s", job["batch_id"])
    assert kept == 2
    assert _count(catalog_db, "SELECT count(*) FROM observations WHERE source_id = 'upload'") == 0
    _alive(api)


@pytest.mark.usefixtures("api_data_dir")
def test_an_unreadable_workbook_is_archived_and_rejected_with_its_reason(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
    api: TestClient,
) -> None:
    content = TEMPLATE.read_bytes()[:3000]  # a truncated upload
    body = _problem(_post(api, api_keys["engineer"], "cut.xlsx", content), 422, "upload-rejected")
    assert body["report"]["summary"]["status"] == "rejected"
    assert [r["reason_code"] for r in body["report"]["rejected"]] == ["unreadable_file"]
    summary_error = body["report"]["summary"]["error"]
    assert summary_error["code"] == "unreadable_file"
    assert summary_error["en"] in body["report"]["rejected"][0]["reason_en"]
    assert summary_error["vi"] in body["report"]["rejected"][0]["reason_vi"]
    # The job keeps why, each language apart, served as a problem document: the file's fault (422).
    error = api.get(body["status_url"], headers=bearer(api_keys["viewer"])).json()["error"]
    reason = body["report"]["rejected"][0]
    assert (error["type"], error["status"]) == ("urn:chitieu:problem:unreadable_file", 422)
    assert (error["detail"], error["detail_vi"]) == (reason["reason_en"], reason["reason_vi"])
    assert (error["title"], error["title_vi"]) == ("Invalid request", "Yêu cầu không hợp lệ")
    batch = catalog_db.execute(
        """SELECT b.status, count(r.*) FROM load_batches b JOIN rejected_rows r ON r.batch_id = b.id
           GROUP BY b.status"""
    ).fetchall()
    assert batch == [("rejected", 1)]
    assert _archived(content) == content
    _alive(api)


@pytest.mark.usefixtures("api_data_dir")
def test_an_empty_file_is_a_422_and_nothing_is_kept(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
    api: TestClient,
) -> None:
    body = _problem(_post(api, api_keys["engineer"], "rong.csv", b""), 422, "empty-file")
    assert "rong.csv" in body["detail"]
    assert _count(catalog_db, "SELECT count(*) FROM upload_jobs") == 0
    assert _count(catalog_db, "SELECT count(*) FROM archive_files") == 0
    _alive(api)


# --- limits ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("api_data_dir")
def test_a_file_over_the_size_limit_is_a_413_and_never_kept(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
    api: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setting(monkeypatch, "CHITIEU_API_MAX_UPLOAD_MB", "0.5")
    headers = {
        **bearer(api_keys["engineer"]),
        "Content-Type": "multipart/form-data; boundary=chitieu-test-boundary",
    }
    line = b"Ninh Thuan,pii_rank,2024,18\n"
    huge = b"Tinh,Ma chi tieu,Ky,Gia tri\n" + line * (MB // len(line) + 1)  # 1 MB, twice the limit
    _problem(_post(api, api_keys["engineer"], "lon.csv", huge), 413, "too-large")
    _alive(api)
    # A body that is not even multipart would be a 400 from the form parser: a 413 shows that the size
    # is judged first, from the declared Content-Length before the body is read ...
    garbage = b"x" * MB
    _problem(api.post("/api/v1/uploads", headers=headers, content=garbage), 413, "too-large")
    _alive(api)

    # ... and, sent without a length (chunked), by counting as it streams.
    def chunks() -> Iterator[bytes]:
        for i in range(0, len(garbage), 64 * 1024):
            yield garbage[i : i + 64 * 1024]

    res = api.post("/api/v1/uploads", headers=headers, content=chunks())
    assert res.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in res.request.headers
    _problem(res, 413, "too-large")
    _alive(api)
    # Just over the limit, within the multipart envelope's allowance: the file itself is measured.
    just_over = huge[: MB // 2 + 10]
    _problem(_post(api, api_keys["engineer"], "lon.csv", just_over), 413, "too-large")
    assert _count(catalog_db, "SELECT count(*) FROM upload_jobs") == 0
    assert _count(catalog_db, "SELECT count(*) FROM archive_files") == 0
    # The limit is on the size, nothing else: a small file still goes through.
    assert _post(api, api_keys["engineer"], TEMPLATE.name, TEMPLATE.read_bytes()).status_code == 201


@pytest.mark.usefixtures("api_data_dir")
def test_zip_bombs_are_refused_before_parsing(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
    api: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workbook = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
    # Declares 3 MB inflated, over a 2 MB limit: refused from the archive's directory alone.
    _setting(monkeypatch, "CHITIEU_API_MAX_UNZIPPED_MB", "2")
    big = _zip({**workbook, "xl/worksheets/sheet1.xml": b"\0" * (3 * MB)})
    assert len(big) < 50_000
    body = _problem(_post(api, api_keys["engineer"], "bom.xlsx", big), 413, "unzipped-too-large")
    assert "2 MB" in body["detail"]
    _alive(api)
    # Under the total, but compressed ~1000 times: no workbook compresses like that.
    _setting(monkeypatch, "CHITIEU_API_MAX_UNZIPPED_MB", "500")
    dense = _zip({**workbook, "xl/worksheets/sheet1.xml": b"\0" * (20 * MB)})
    _problem(_post(api, api_keys["engineer"], "bom2.xlsx", dense), 422, "suspicious-archive")
    _alive(api)
    # A member that declares 1,000 bytes and holds 300,000: caught while inflating, at the declared size.
    lying = _declare_size(
        _zip({**workbook, "xl/worksheets/sheet1.xml": b" " * 300_000}), "xl/worksheets/sheet1.xml", 1000
    )
    with zipfile.ZipFile(io.BytesIO(lying)) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == 1000
    body = _problem(_post(api, api_keys["engineer"], "bom3.xlsx", lying), 422, "suspicious-archive")
    # Received whole, so kept: archived, and a failed job that says why. Nothing was loaded.
    jobs = catalog_db.execute(
        """SELECT file_name, state, error_code, error_status, error_vi, error_en FROM upload_jobs
           ORDER BY created_at"""
    ).fetchall()
    assert [row[:4] for row in jobs] == [
        ("bom.xlsx", "failed", "unzipped-too-large", 413),
        ("bom2.xlsx", "failed", "suspicious-archive", 422),
        ("bom3.xlsx", "failed", "suspicious-archive", 422),
    ]
    # Each language kept apart: the Vietnamese sentence alone, the English alone, neither a joined line.
    for *_, vi, en in jobs:
        assert vi != en
        assert " / " not in vi
        assert " / " not in en
    assert _archived(lying) == lying
    assert _count(catalog_db, "SELECT count(*) FROM load_batches") == 0
    job = api.get(body["status_url"], headers=bearer(api_keys["viewer"])).json()
    assert (job["state"], job["result_status"], job["report"]) == ("failed", "rejected", None)
    # Served as the refusal's own problem document was, the job's URL as its instance.
    assert {k: job["error"][k] for k in ("type", "status", "detail", "detail_vi", "instance")} == {
        "type": body["type"],
        "status": 422,
        "detail": body["detail"],
        "detail_vi": body["detail_vi"],
        "instance": body["status_url"],
    }
    _alive(api)


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.usefixtures("api_data_dir")
def test_files_that_are_not_spreadsheets_are_a_415(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
    api: TestClient,
) -> None:
    token = api_keys["engineer"]
    body = _problem(_post(api, token, "anh.png", PNG), 415, "unsupported-type")
    assert ".png" in body["detail"]
    assert "PNG" in body["detail"]
    body = _problem(_post(api, token, "bao-cao.xlsx", PDF), 415, "unsupported-type")
    assert "PDF" in body["detail"]
    assert "PDF" in body["detail_vi"]
    _problem(_post(api, token, "setup.exe", b"MZ\x90\x00\x03" + b"\x00" * 200), 415, "unsupported-type")
    _problem(_post(api, token, "du-lieu.zip", _zip({"a.txt": b"hello"})), 415, "unsupported-type")
    _problem(_post(api, token, "noname", b"a,b\n1,2\n"), 415, "unsupported-type")
    assert _count(catalog_db, "SELECT count(*) FROM upload_jobs WHERE state = 'failed'") == 5
    assert _count(catalog_db, "SELECT count(*) FROM load_batches") == 0
    assert _archived(PDF) == PDF
    _alive(api)


def test_a_mislabelled_file_is_refused_naming_its_real_type(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    token = api_keys["engineer"]
    body = _problem(_post(api, token, "so-lieu.csv", TEMPLATE.read_bytes()), 415, "mislabelled-file")
    assert "XLSX" in body["detail"]
    assert ".xlsx" in body["detail"]
    assert "XLSX" in body["detail_vi"]
    csv = "Tỉnh/Thành phố,Mã chỉ tiêu,Kỳ,Giá trị\nNinh Thuận,pii_rank,2024,18\n".encode()
    body = _problem(_post(api, token, "so-lieu.xlsx", csv), 415, "mislabelled-file")
    assert "CSV" in body["detail"]
    assert ".csv" in body["detail"]
    # The sample's broken "workbook" is plain text named .xlsx.
    _problem(
        _post(api, token, "tep-hong.xlsx", (SAMPLES / "tep-hong.xlsx").read_bytes()), 415, "mislabelled-file"
    )
    assert _count(catalog_db, "SELECT count(*) FROM observations WHERE source_id = 'upload'") == 0
    _alive(api)
    # Named for what it is, the same CSV loads.
    assert _post(api, token, "so-lieu.csv", csv).status_code == 201


# --- background loading ------------------------------------------------------------------------------------


def test_a_large_file_is_loaded_in_the_background(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setting(monkeypatch, "CHITIEU_API_BACKGROUND_UPLOAD_MB", "0.001")  # ~1 KB: the 11 KB sample is "large"

    def not_here(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a background upload was parsed in the API process")

    # The API process cannot load a file now: only the worker process, which has its own, can.
    monkeypatch.setattr("chitieu.uploads.run.ingest_bytes", not_here)
    res = _post(api, api_keys["engineer"], TEMPLATE.name, TEMPLATE.read_bytes())
    assert res.status_code == 202, res.text
    accepted = res.json()
    assert accepted["state"] in ("queued", "running")
    assert accepted["report"] is None
    assert res.headers["location"] == accepted["status_url"]
    job = _until_done(api, res.headers["location"], api_keys["viewer"])
    assert (job["state"], job["result_status"], job["attempts"]) == ("done", "loaded", 1), job
    assert job["started_at"]
    assert job["finished_at"]
    assert job["report"]["summary"]["rejected"] == 2
    loaded = _count(catalog_db, "SELECT count(*) FROM observations WHERE batch_id = %s", job["batch_id"])
    assert loaded == job["report"]["summary"]["loaded"] > 100
    worker = api.app.state.uploads.child
    assert worker is not None
    assert worker.pid != os.getpid()

    # A worker that dies is replaced when the next job comes.
    worker.kill()
    worker.wait()
    again = _post(api, api_keys["engineer"], TEMPLATE.name, TEMPLATE.read_bytes())
    assert again.status_code == 202, again.text
    job = _until_done(api, again.headers["location"], api_keys["viewer"])
    assert (job["state"], job["result_status"]) == ("done", "skipped"), job  # the same file: nothing new
    assert api.app.state.uploads.child.pid != worker.pid


@pytest.mark.usefixtures("db_dsn", "api_data_dir")
def test_jobs_left_by_a_stopped_api_are_resumed_at_start(
    catalog_db: psycopg.Connection,
    api_keys: dict[str, str],
) -> None:
    from chitieu.api import create_app
    from chitieu.ingest.archive import archive_bytes

    jobs = {}
    for state, path in (("running", TEMPLATE), ("queued", SAMPLES / "bao-cao-chi-tieu-57-2020-2024.xlsx")):
        content = path.read_bytes()
        archived = archive_bytes(content, path.name)
        job_id = uuid.uuid4()
        catalog_db.execute(
            """INSERT INTO upload_jobs
                   (id, file_sha256, file_name, size_bytes, archived_path, state, started_at, report)
               VALUES (%s, %s, %s, %s, %s, %s, CASE WHEN %s = 'running' THEN now() END, %s)""",
            (
                job_id,
                archived.sha256,
                path.name,
                len(content),
                str(archived.path),
                state,
                state,
                '{"attempts": 1}' if state == "running" else None,
            ),
        )
        jobs[state] = job_id
    with TestClient(create_app(), raise_server_exceptions=False) as api:
        done = {
            state: _until_done(api, f"/api/v1/uploads/{job_id}", api_keys["viewer"])
            for state, job_id in jobs.items()
        }
    assert {s: (j["state"], j["result_status"]) for s, j in done.items()} == {
        "running": ("done", "loaded"),
        "queued": ("done", "loaded"),
    }
    # The interrupted one was started once before, the queued one never.
    assert (done["running"]["attempts"], done["queued"]["attempts"]) == (2, 1)
    for job in done.values():
        loaded = _count(catalog_db, "SELECT count(*) FROM observations WHERE batch_id = %s", job["batch_id"])
        assert loaded == job["report"]["summary"]["loaded"] > 0


# --- who may upload, and the job list ----------------------------------------------------------------------


def test_only_engineers_and_admins_upload(
    catalog_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    content = TEMPLATE.read_bytes()
    _problem(_post(api, None, TEMPLATE.name, content), 401, "unauthorized")
    _problem(_post(api, api_keys["viewer"], TEMPLATE.name, content), 403, "forbidden")
    _problem(_post(api, "ct_not-a-key", TEMPLATE.name, content), 401, "unauthorized")
    assert _count(catalog_db, "SELECT count(*) FROM upload_jobs") == 0
    assert _post(api, api_keys["admin"], TEMPLATE.name, content).status_code == 201
    # Reading jobs needs a key too (public read is off by default).
    assert api.get("/api/v1/uploads").status_code == 401


@pytest.mark.usefixtures("catalog_db")
def test_jobs_are_listed_newest_first_page_by_page(api_keys: dict[str, str], api: TestClient) -> None:
    made = []
    for i in range(3):
        res = _post(api, api_keys["engineer"], f"thu-{i}.xlsx", TEMPLATE.read_bytes(), dry_run="true")
        assert res.status_code == 201
        made.append(res.json()["id"])
    _post(api, api_keys["engineer"], "anh.png", PNG)
    h = bearer(api_keys["viewer"])
    first = api.get("/api/v1/uploads", headers=h, params={"limit": 2, "state": "done"}).json()
    assert [j["id"] for j in first["items"]] == [made[2], made[1]]
    assert first["items"][0]["summary"]["status"] == "dry_run"
    assert "report" not in first["items"][0]
    second = api.get(first["next"], headers=h).json()
    assert [j["id"] for j in second["items"]] == [made[0]]
    assert second["next"] is None
    failed = api.get("/api/v1/uploads", headers=h, params={"state": "failed"}).json()
    assert [j["file_name"] for j in failed["items"]] == ["anh.png"]
    one = api.get(f"/api/v1/uploads/{made[0]}", headers=h)
    assert (
        api.get(f"/api/v1/uploads/{made[0]}", headers={**h, "If-None-Match": one.headers["etag"]}).status_code
        == 304
    )
    assert api.get(f"/api/v1/uploads/{uuid.uuid4()}", headers=h).status_code == 404
    assert api.get("/api/v1/uploads/not-a-uuid", headers=h).status_code == 422
    assert api.get("/api/v1/uploads", headers=h, params={"cursor": "bogus"}).status_code == 422
