"""Exports (CSV, XLSX) and the data-entry template over HTTP, against the real database: each file
is parsed back and compared with rows selected straight from the database."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from conftest import bearer

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inbox"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NT = "ninh-thuan-319-ctr-tu"


def _csv(res: Any) -> list[dict[str, str]]:
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert res.content.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first, for Excel"
    return list(csv.DictReader(io.StringIO(res.content.decode("utf-8-sig"))))


def _header(res: Any) -> list[str]:
    return next(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))


def _sheet(res: Any, name: str) -> tuple[Any, list[dict[str, Any]]]:
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(res.content))
    ws = wb[name]
    rows = list(ws.iter_rows(values_only=True))
    return wb, [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _problem(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    assert body["detail"]
    assert body["detail_vi"]
    return body


def test_targets_csv_has_every_target_with_its_citation(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    res = api.get("/api/v1/exports/targets", headers=bearer(api_keys["viewer"]))
    rows = _csv(res)
    today = res.headers["content-disposition"]
    assert today.startswith('attachment; filename="chitieu-targets-2')
    assert today.endswith('.csv"')
    assert _header(res)[:3] == ["id", "plan_id", "jurisdiction_id"]
    assert _header(res)[-3:] == ["citation_document", "citation_section", "citation_quote"]
    db_rows = loaded_db.execute(
        "SELECT id, cite_document, coalesce(cite_section, ''), cite_quote, value FROM targets ORDER BY id"
    ).fetchall()
    assert [r["id"] for r in rows] == [r[0] for r in db_rows]
    for got, (_, document, section, quote, value) in zip(rows, db_rows, strict=True):
        assert (got["citation_document"], got["citation_section"], got["citation_quote"]) == (
            document,
            section,
            quote,
        )
        assert (float(got["value"]) if got["value"] else None) == value


def test_filters_narrow_the_targets(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    total = loaded_db.execute("SELECT count(*) FROM targets").fetchone()[0]  # type: ignore[index]
    expected = {
        r[0]
        for r in loaded_db.execute(
            "SELECT id FROM targets WHERE plan_id = %s AND indicator_code = 'digital_economy_share_grdp'",
            (NT,),
        )
    }
    assert 0 < len(expected) < total
    rows = _csv(
        api.get(
            "/api/v1/exports/targets",
            headers=h,
            params={"plan": NT, "jurisdiction": "NINH THUAN", "indicator": "digital_economy_share_grdp"},
        )
    )
    assert {r["id"] for r in rows} == expected
    other_place = _csv(
        api.get("/api/v1/exports/targets", headers=h, params={"plan": NT, "jurisdiction": "Hà Nam"})
    )
    assert other_place == []


def test_observations_latest_as_of_and_every_vintage_with_provenance(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    params = {"jurisdiction": "Ninh Thuận", "indicator": "digital_economy_share_grdp"}
    # The wide report says 8.91 (provisional) for 2024; the template loaded after it says 9.26 (final).
    first_loaded = loaded_db.execute(
        "SELECT min(loaded_at) FROM observations WHERE file_name = 'bao-cao-chi-tieu-57-2020-2024.xlsx'"
    ).fetchone()[0]  # type: ignore[index]
    latest = {
        r["period_start"]: r for r in _csv(api.get("/api/v1/exports/observations", headers=h, params=params))
    }
    then = {
        r["period_start"]: r
        for r in _csv(
            api.get(
                "/api/v1/exports/observations",
                headers=h,
                params={**params, "as_of": first_loaded.isoformat()},
            )
        )
    }
    now, before = latest["2024-01-01"], then["2024-01-01"]
    assert (float(now["value"]), now["status"], now["file"]) == (
        9.26,
        "final",
        "mau-nhap-lieu-4-tinh-2020-2025.xlsx",
    )
    assert (float(before["value"]), before["status"]) == (8.91, "provisional")
    report = SAMPLES / "bao-cao-chi-tieu-57-2020-2024.xlsx"
    assert before["file"] == report.name
    assert before["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    assert (before["sheet"], before["row"], before["cell"], before["source"]) == (
        "Báo cáo",
        "7",
        "J7",
        "upload",
    )
    assert datetime.fromisoformat(before["loaded_at"]) == first_loaded
    assert before["loaded_at"].endswith("+07:00")
    assert datetime.fromisoformat(before["fetched_at"]) <= first_loaded

    every = _csv(api.get("/api/v1/exports/observations", headers=h, params={**params, "vintages": "all"}))
    assert sorted(float(r["value"]) for r in every if r["period_start"] == "2024-01-01") == [8.91, 9.26]

    n_all, n_figures = loaded_db.execute(
        """SELECT count(*), count(DISTINCT (jurisdiction_id, indicator_code, period_type, period_start))
           FROM observations"""
    ).fetchone()  # type: ignore[misc]
    assert n_all > n_figures
    assert len(_csv(api.get("/api/v1/exports/observations", headers=h))) == n_figures
    assert len(_csv(api.get("/api/v1/exports/observations?vintages=all", headers=h))) == n_all


def test_observations_of_a_plan_are_its_indicators_in_its_province(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    rows = _csv(
        api.get("/api/v1/exports/observations", headers=bearer(api_keys["viewer"]), params={"plan": NT})
    )
    expected = loaded_db.execute(
        """SELECT count(DISTINCT (o.jurisdiction_id, o.indicator_code, o.period_type, o.period_start))
           FROM observations o
           WHERE o.indicator_code IN (SELECT indicator_code FROM targets WHERE plan_id = %s)
             AND o.jurisdiction_id IN ('old-58', 'new-56')""",
        (NT,),
    ).fetchone()[0]  # type: ignore[index]
    assert 0 < len(rows) == expected
    assert {r["jurisdiction_id"] for r in rows} <= {"old-58", "new-56"}


def test_every_row_arrives_in_small_pieces(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chitieu.api.routes import exports

    monkeypatch.setattr(exports, "CHUNK", 64)  # the CSV leaves in many pieces
    monkeypatch.setattr(exports, "BATCH", 7)  # the XLSX is read in many fetches
    h = bearer(api_keys["viewer"])
    keys = loaded_db.execute(
        """SELECT jurisdiction_id, indicator_code, period_start, loaded_at FROM observations
           ORDER BY jurisdiction_id, indicator_code, period_type, period_start, loaded_at DESC"""
    ).fetchall()
    assert len(keys) > 7 * 10
    rows = _csv(api.get("/api/v1/exports/observations?vintages=all", headers=h))
    got = [(r["jurisdiction_id"], r["indicator_code"], date.fromisoformat(r["period_start"]),
            datetime.fromisoformat(r["loaded_at"])) for r in rows]  # fmt: skip
    assert got == keys
    xlsx = api.get("/api/v1/exports/observations?vintages=all&format=xlsx", headers=h)
    _, sheet = _sheet(xlsx, "observations")
    assert [(r["jurisdiction_id"], r["indicator_code"]) for r in sheet] == [k[:2] for k in keys]
    assert api.app.state.export_slots.busy == 0  # type: ignore[attr-defined]


def test_statuses_xlsx_sheet_header_dates_and_legend(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    res = api.get("/api/v1/exports/statuses", headers=bearer(api_keys["viewer"]), params={"format": "xlsx"})
    assert res.headers["content-disposition"].endswith('.xlsx"')
    wb, rows = _sheet(res, "statuses")
    assert wb.sheetnames == ["statuses", "Chú thích"]
    ws = wb["statuses"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].value == "target_id"
    assert ws["A1"].font.b
    assert ws["A1"].comment is not None
    assert ws["A1"].comment.text == "Mã mục tiêu"
    db_rows = loaded_db.execute(
        """SELECT target_id, status, evaluated_at FROM dash_evaluations_latest
           ORDER BY target_id, jurisdiction_id, check_year_key"""
    ).fetchall()
    assert len(rows) == len(db_rows) > 0
    assert [(r["target_id"], r["status"]) for r in rows] == [(t, s) for t, s, _ in db_rows]
    # Excel date-times carry no offset: Vietnam's wall clock (UTC+7).
    assert isinstance(rows[0]["evaluated_at"], datetime)
    utc = db_rows[0][2].replace(tzinfo=None) - db_rows[0][2].utcoffset()
    assert abs(rows[0]["evaluated_at"] - (utc + timedelta(hours=7))) < timedelta(milliseconds=1)
    legend = {r[0]: r[1] for r in wb["Chú thích"].iter_rows(values_only=True) if r and r[0]}
    assert legend["Số dòng / rows"] == len(db_rows)
    assert legend["status_label_vi"] == "Tình trạng"


def test_statuses_filters_and_as_of(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    h = bearer(api_keys["viewer"])
    pending = loaded_db.execute(
        "SELECT count(*) FROM dash_evaluations_latest WHERE status = 'milestone_pending' AND plan_id = %s",
        (NT,),
    ).fetchone()[0]  # type: ignore[index]
    rows = _csv(
        api.get("/api/v1/exports/statuses", headers=h, params={"status": "milestone_pending", "plan": NT})
    )
    assert len(rows) == pending > 0
    assert {(r["status"], r["status_label_vi"], r["plan_id"]) for r in rows} == {
        ("milestone_pending", "Chưa đến hạn", NT)
    }
    finished = loaded_db.execute("SELECT max(finished_at) FROM evaluation_runs").fetchone()[0]  # type: ignore[index]
    before = _csv(
        api.get("/api/v1/exports/statuses", headers=h, params={"as_of": "2020-01-01T00:00:00+07:00"})
    )
    assert before == []  # no evaluation had finished then
    after = _csv(api.get("/api/v1/exports/statuses", headers=h, params={"as_of": finished.isoformat()}))
    total = loaded_db.execute("SELECT count(*) FROM evaluations").fetchone()[0]  # type: ignore[index]
    assert len(after) == total


def test_alerts_by_state_and_text_is_never_a_formula(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    loaded_db.execute(
        """INSERT INTO alerts (fingerprint, rule, plan_id, jurisdiction_id, indicator_code, state, summary_vi,
                               labels, first_fired_at, last_seen_at, resolved_at)
           VALUES ('t|1', 'test_rule', %(p)s, 'old-58', 'digital_economy_share_grdp', 'firing',
                   '=HYPERLINK("http://example.invalid","bấm")', '{"team": "sở"}', now(), now(), NULL),
                  ('t|2', 'test_rule', %(p)s, 'old-58', 'digital_economy_share_grdp', 'resolved',
                   'Đã ổn', '{}', now(), now(), now())""",
        {"p": NT},
    )
    h = bearer(api_keys["viewer"])
    firing = _csv(
        api.get("/api/v1/exports/alerts", headers=h, params={"state": "firing", "rule": "test_rule"})
    )
    assert [(r["fingerprint"], r["jurisdiction_name"]) for r in firing] == [("t|1", "Ninh Thuận")]
    assert firing[0]["summary_vi"] == "'" + '=HYPERLINK("http://example.invalid","bấm")'
    assert json.loads(firing[0]["labels"]) == {"team": "sở"}
    everything = _csv(api.get("/api/v1/exports/alerts", headers=h))
    ids = [r[0] for r in loaded_db.execute("SELECT id FROM alerts ORDER BY id DESC")]
    assert [int(r["id"]) for r in everything] == ids
    assert len(ids) >= 2
    in_58 = _csv(
        api.get("/api/v1/exports/alerts", headers=h, params={"jurisdiction": "old-58", "state": "firing"})
    )
    n_58 = loaded_db.execute(
        "SELECT count(*) FROM alerts WHERE jurisdiction_id = 'old-58' AND state = 'firing'"
    ).fetchone()[0]  # type: ignore[index]
    assert len(in_58) == n_58 < len(ids)
    wb, rows = _sheet(
        api.get("/api/v1/exports/alerts?format=xlsx&rule=test_rule&state=firing", headers=h), "alerts"
    )
    assert rows[0]["summary_vi"] == '=HYPERLINK("http://example.invalid","bấm")'
    assert wb["alerts"]["K2"].data_type == "s"  # text, not a formula Excel would run


@pytest.mark.usefixtures("loaded_db")
def test_format_from_accept_header(api_keys: dict[str, str], api: TestClient) -> None:
    h = bearer(api_keys["viewer"])
    url = "/api/v1/exports/targets?plan=" + NT

    def kind(accept: str | None, query: str = "") -> str:
        res = api.get(url + query, headers={**h, **({"Accept": accept} if accept is not None else {})})
        assert res.status_code == 200, res.text
        return str(res.headers["content-type"])

    assert kind(XLSX) == XLSX
    assert kind("text/csv").startswith("text/csv")
    assert kind("*/*").startswith("text/csv")
    assert kind(None).startswith("text/csv")
    assert kind(f"text/csv;q=0.5, {XLSX};q=0.9") == XLSX
    assert kind("application/*").startswith(XLSX)
    assert kind(XLSX, "&format=csv").startswith("text/csv")
    assert api.get(url, headers={**h, "Accept": XLSX}).content[:2] == b"PK"  # a zip: the xlsx package
    _problem(api.get(url, headers={**h, "Accept": "application/json"}), 406)
    _problem(api.get(url, headers={**h, "Accept": f"text/csv;q=0, {XLSX};q=0"}), 406)


@pytest.mark.usefixtures("loaded_db")
def test_errors_are_problems(api_keys: dict[str, str], api: TestClient) -> None:
    h = bearer(api_keys["viewer"])
    _problem(api.get("/api/v1/exports/budgets", headers=h), 422)
    _problem(api.get("/api/v1/exports/targets?format=pdf", headers=h), 422)
    assert (
        "Atlantis"
        in _problem(api.get("/api/v1/exports/targets?jurisdiction=Atlantis", headers=h), 404)["detail"]
    )
    _problem(api.get("/api/v1/exports/statuses?plan=no-such-plan", headers=h), 404)
    _problem(api.get("/api/v1/exports/observations?indicator=no_such_code", headers=h), 404)
    stray = _problem(api.get("/api/v1/exports/targets?state=firing", headers=h), 422)
    assert "state" in stray["detail"]
    assert "state" in stray["detail_vi"]
    _problem(api.get("/api/v1/exports/alerts?vintages=all", headers=h), 422)
    assert api.app.state.export_slots.busy == 0  # type: ignore[attr-defined]


def test_xlsx_above_the_row_cap_is_refused(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chitieu.api.routes import exports

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 10)
    h = bearer(api_keys["viewer"])
    body = _problem(api.get("/api/v1/exports/targets?format=xlsx", headers=h), 413)
    assert body["rows"] == loaded_db.execute("SELECT count(*) FROM targets").fetchone()[0]  # type: ignore[index]
    assert body["limit"] == 10
    # CSV has no such limit, and a narrow XLSX is fine.
    assert len(_csv(api.get("/api/v1/exports/targets", headers=h))) == body["rows"]
    ok = api.get(
        "/api/v1/exports/targets?format=xlsx&indicator=digital_economy_share_grdp&plan=" + NT, headers=h
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.usefixtures("loaded_db")
def test_exports_beyond_the_concurrent_limit_wait_for_a_retry(
    api_keys: dict[str, str], api: TestClient
) -> None:
    from chitieu.api.routes import exports

    h = bearer(api_keys["viewer"])
    assert api.get("/api/v1/exports/alerts", headers=h).status_code == 200
    slots = api.app.state.export_slots  # type: ignore[attr-defined]
    slots.busy = exports.EXPORTS_AT_ONCE
    res = api.get("/api/v1/exports/alerts", headers=h)
    _problem(res, 503)
    assert res.headers["retry-after"]
    slots.busy = 0


@pytest.mark.usefixtures("loaded_db")
def test_auth(api_keys: dict[str, str], api: TestClient) -> None:
    for path in ("/api/v1/exports/targets", f"/api/v1/template?jurisdiction=Ninh Thuận&plan={NT}"):
        _problem(api.get(path), 401)
        _problem(api.get(path, headers=bearer("ct_not-a-key")), 401)
        for role in ("viewer", "engineer", "admin"):
            assert api.get(path, headers=bearer(api_keys[role])).status_code == 200


def test_template_lists_the_plan_indicators(
    loaded_db: psycopg.Connection, api_keys: dict[str, str], api: TestClient
) -> None:
    res = api.get(
        "/api/v1/template",
        headers=bearer(api_keys["viewer"]),
        params={"jurisdiction": "Ninh Thuận", "plan": NT},
    )
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == XLSX
    disposition = res.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="chitieu-template-old-58-{NT}-')
    assert disposition.endswith('.xlsx"')
    wb = load_workbook(io.BytesIO(res.content))
    ws = wb["Nhap lieu"]
    header = [c.value for c in ws[3]]
    assert header[:3] == ["Mã tỉnh", "Tỉnh/Thành phố", "Mã chỉ tiêu"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[2]]
    expected = {
        r[0]
        for r in loaded_db.execute(
            "SELECT DISTINCT indicator_code FROM targets WHERE plan_id = %s AND jurisdiction_id = 'old-58'",
            (NT,),
        )
    }
    assert {r[2] for r in rows} == expected
    assert {(r[0], r[1]) for r in rows} == {("58", "Ninh Thuận")}
    assert all(r[5] is None for r in rows)  # the values are for the province to fill in


@pytest.mark.usefixtures("loaded_db")
def test_template_errors(api_keys: dict[str, str], api: TestClient) -> None:
    h = bearer(api_keys["viewer"])
    _problem(api.get("/api/v1/template", headers=h, params={"jurisdiction": "Atlantis"}), 404)
    _problem(
        api.get("/api/v1/template", headers=h, params={"jurisdiction": "Ninh Thuận", "plan": "nope"}), 404
    )
    # Hà Nam sets no targets of its own: the template cannot know what to list.
    body = _problem(api.get("/api/v1/template", headers=h, params={"jurisdiction": "Hà Nam"}), 422)
    assert "Hà Nam" in body["detail"]
    assert "Hà Nam" in body["detail_vi"]
    _problem(api.get("/api/v1/template", headers=h), 422)


def test_openapi_documents_the_media_types(api: TestClient) -> None:
    doc = api.get("/api/v1/openapi.json").json()
    export = doc["paths"]["/api/v1/exports/{dataset}"]["get"]
    assert set(export["responses"]["200"]["content"]) == {"text/csv", XLSX}
    assert {"401", "404", "406", "413", "422"} <= set(export["responses"])
    assert "application/problem+json" in export["responses"]["406"]["content"]
    template = doc["paths"]["/api/v1/template"]["get"]
    assert set(template["responses"]["200"]["content"]) == {XLSX}
