"""Loading into the real TimescaleDB: provenance, skips, vintages, quarantine, a killed load."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from chitieu.catalog.indicators import IndicatorRegistry, indicator_from_dict
from chitieu.ingest.archive import archived_names, read_archived
from chitieu.ingest.intake import ingest_file
from chitieu.ingest.transform import Catalog
from chitieu.settings import get_settings
from ingest_support import TEST_INDICATORS, test_catalog, xlsx_bytes

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHITIEU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()


def write(tmp_path: Path, name: str, rows: list[list[Any]]) -> Path:
    path = tmp_path / name
    path.write_bytes(xlsx_bytes(rows, title="KTS"))
    return path


V1 = [
    ["BÁO CÁO KINH TẾ SỐ"],
    ["Tỉnh/Thành phố", "Mã chỉ tiêu", "Kỳ", "Giá trị", "Trạng thái"],
    ["Ninh Thuận", "kts_grdp", "2023", "10,5", "ước"],
    ["Ninh Thuận", "kts_grdp", "2024", "11,2", ""],
    ["Khánh Hòa", "kts_grdp", "2024", "12", ""],
    ["Tỉnh Không Tồn Tại", "kts_grdp", "2024", "1", ""],
    ["Ninh Thuận", "dti_score", "2024", "-", ""],
]


def count(db: psycopg.Connection, query: str | sql.Composable, *args: Any) -> int:
    row = db.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


def test_load_with_provenance_and_quarantine(db: psycopg.Connection, tmp_path: Path) -> None:
    path = write(tmp_path, "kts-2024.xlsx", V1)
    res = ingest_file(db, path, catalog=test_catalog())
    assert res.status == "loaded", res.error
    assert res.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (res.rows_read, res.rows_loaded, res.rows_new, res.rows_rejected, res.rows_missing) == (
        5,
        3,
        3,
        1,
        1,
    )
    rows = db.execute(
        """SELECT jurisdiction_id, period_start::text, period_type, value, status, source_id, batch_id,
                  file_sha256,
                  file_name, sheet, row_num, cell FROM observations ORDER BY row_num"""
    ).fetchall()
    assert rows == [
        (
            "old-58",
            "2023-01-01",
            "Y",
            10.5,
            "provisional",
            "upload",
            res.batch_id,
            res.file_sha256,
            "kts-2024.xlsx",
            "KTS",
            3,
            "D3",
        ),
        (
            "old-58",
            "2024-01-01",
            "Y",
            11.2,
            "final",
            "upload",
            res.batch_id,
            res.file_sha256,
            "kts-2024.xlsx",
            "KTS",
            4,
            "D4",
        ),
        (
            "old-56",
            "2024-01-01",
            "Y",
            12.0,
            "final",
            "upload",
            res.batch_id,
            res.file_sha256,
            "kts-2024.xlsx",
            "KTS",
            5,
            "D5",
        ),
    ]
    batch = db.execute(
        "SELECT status, rows_read, rows_loaded, rows_rejected, archived_path FROM load_batches WHERE id = %s",
        (res.batch_id,),
    ).fetchone()
    assert batch is not None
    assert batch[:4] == ("loaded", 5, 3, 1)
    assert batch[4] is None  # no machine path: the archive is addressed by the checksum
    assert read_archived(res.file_sha256 or "") == path.read_bytes()
    assert archived_names(res.file_sha256 or "") == ["kts-2024.xlsx"]
    rej = db.execute(
        "SELECT batch_id, sheet, row_num, column_name, raw, reason_code, reason_vi, reason_en "
        "FROM rejected_rows"
    ).fetchall()
    assert len(rej) == 1
    assert rej[0][:6] == (res.batch_id, "KTS", 6, "A6", "Tỉnh Không Tồn Tại", "unknown_jurisdiction")
    assert "không nhận ra" in rej[0][6]
    assert "unknown jurisdiction" in rej[0][7]


def test_reload_of_the_same_file_is_skipped(db: psycopg.Connection, tmp_path: Path) -> None:
    path = write(tmp_path, "a.xlsx", V1)
    first = ingest_file(db, path, catalog=test_catalog())
    before = count(db, "SELECT count(*) FROM observations")
    again = ingest_file(db, path, catalog=test_catalog())
    assert again.status == "skipped"
    assert again.rows_loaded == 0
    assert not again.changed
    assert count(db, "SELECT count(*) FROM observations") == before
    assert count(db, "SELECT count(*) FROM rejected_rows") == 1  # not quarantined twice
    statuses = db.execute(
        "SELECT status, summary->>'already_loaded_by_batch' FROM load_batches ORDER BY id"
    ).fetchall()
    assert statuses == [("loaded", None), ("skipped", str(first.batch_id))]
    # the same bytes under another name are the same file
    copy = tmp_path / "renamed.xlsx"
    copy.write_bytes(path.read_bytes())
    assert ingest_file(db, copy, catalog=test_catalog()).status == "skipped"
    # ... but another source loading them is a different load
    assert ingest_file(db, copy, source_id="other", catalog=test_catalog()).status == "loaded"


def test_reprocess_after_a_catalog_fix_loads_what_was_rejected_and_resolves_it(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.xlsx", [*V1, ["Bình Định", "Tỷ lệ KTS", "2024", "9,5", ""]])
    first = ingest_file(db, path, catalog=test_catalog())
    assert (first.status, first.rows_loaded, first.rows_rejected) == ("loaded", 3, 2)
    assert ingest_file(db, path, catalog=test_catalog()).status == "skipped"

    # the catalog learns the alias the file used
    kts = {**TEST_INDICATORS[0], "aliases": [*TEST_INDICATORS[0]["aliases"], "Tỷ lệ KTS"]}
    items = {d["code"]: indicator_from_dict(d) for d in [kts, *TEST_INDICATORS[1:]]}
    fixed = Catalog(test_catalog().jurisdictions, IndicatorRegistry(items=items))
    again = ingest_file(db, path, catalog=fixed, reprocess=True)
    assert (again.status, again.reprocess_of) == ("loaded", first.batch_id)
    assert (again.rows_loaded, again.rows_unchanged, again.rows_rejected) == (1, 3, 1)
    assert again.rows_resolved == 1
    rejected = db.execute(
        "SELECT batch_id, raw, resolved_by_batch FROM rejected_rows ORDER BY batch_id, raw"
    ).fetchall()
    assert rejected == [
        (first.batch_id, "Tỉnh Không Tồn Tại", None),  # still unknown: stays open
        (first.batch_id, "Tỷ lệ KTS", again.batch_id),
        (again.batch_id, "Tỉnh Không Tồn Tại", None),
    ]
    assert count(db, "SELECT count(*) FROM observations WHERE jurisdiction_id LIKE '%%52'") == 1

    third = ingest_file(db, path, catalog=fixed, reprocess=True)  # nothing left to gain: idempotent
    assert (third.rows_loaded, third.rows_unchanged, third.rows_resolved) == (0, 4, 0)
    assert count(db, "SELECT count(*) FROM observations") == 4
    batches = db.execute("SELECT status, reprocess_of FROM load_batches ORDER BY id").fetchall()
    assert batches == [
        ("loaded", None),
        ("skipped", None),
        ("loaded", first.batch_id),
        ("loaded", first.batch_id),
    ]


def test_revision_adds_a_vintage_and_as_of_keeps_the_old_figure(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    ingest_file(db, write(tmp_path, "v1.xlsx", V1), catalog=test_catalog())
    between = db.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
    time.sleep(0.01)
    v2 = [list(r) for r in V1]
    v2[2][3], v2[2][4] = "10,7", "chính thức"  # 2023 estimate replaced by the final figure
    v2[3][3] = "11.2"  # unchanged value, written differently
    res = ingest_file(db, write(tmp_path, "v2.xlsx", v2), catalog=test_catalog())
    assert (res.rows_loaded, res.rows_revised, res.rows_unchanged, res.rows_new) == (1, 1, 2, 0)
    assert res.changed
    assert count(db, "SELECT count(*) FROM observations") == 4
    cur = db.execute(
        "SELECT value, status FROM observations_current "
        "WHERE jurisdiction_id='old-58' AND period_start='2023-01-01'"
    ).fetchone()
    old = db.execute(
        "SELECT value, status FROM observations_as_of(%s) "
        "WHERE jurisdiction_id='old-58' AND period_start='2023-01-01'",
        (between,),
    ).fetchone()
    assert cur == (10.7, "final")
    assert old == (10.5, "provisional")
    batch = db.execute(
        "SELECT rows_loaded, rows_revised, rows_unchanged FROM load_batches WHERE id=%s", (res.batch_id,)
    ).fetchone()
    assert batch == (1, 1, 2)


def test_status_change_alone_is_a_revision(db: psycopg.Connection, tmp_path: Path) -> None:
    ingest_file(db, write(tmp_path, "v1.xlsx", V1), catalog=test_catalog())
    v2 = [list(r) for r in V1]
    v2[2][4] = "chính thức"  # the 2023 estimate confirmed as final, same value
    res = ingest_file(db, write(tmp_path, "v2.xlsx", v2), catalog=test_catalog())
    assert (res.rows_revised, res.rows_loaded) == (1, 1)
    current = db.execute(
        "SELECT value, status FROM observations_current "
        "WHERE jurisdiction_id='old-58' AND indicator_code='kts_grdp' AND period_start='2023-01-01'"
    ).fetchone()
    assert current == (10.5, "final")


def test_a_final_figure_marked_provisional_later_stays_final(db: psycopg.Connection, tmp_path: Path) -> None:
    """Precedence: a provisional claim never replaces a final one; it is kept as superseded."""
    ingest_file(db, write(tmp_path, "v1.xlsx", V1), catalog=test_catalog())
    v2 = [list(r) for r in V1]
    v2[3][4] = "sơ bộ"
    res = ingest_file(db, write(tmp_path, "v2.xlsx", v2), catalog=test_catalog())
    assert (res.rows_revised, res.rows_loaded, res.rows_superseded) == (0, 0, 1)
    where = sql.SQL(
        "WHERE jurisdiction_id='old-58' AND indicator_code='kts_grdp' AND period_start='2024-01-01'"
    )
    current = sql.SQL("SELECT value, status FROM observations_current {}").format(where)
    assert db.execute(current).fetchone() == (11.2, "final")
    superseded = sql.SQL("SELECT value, status, file_name FROM observations_superseded {}").format(where)
    kept = db.execute(superseded).fetchall()
    assert kept == [(11.2, "provisional", "v2.xlsx")]


def test_unreadable_file_is_a_rejected_batch(db: psycopg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "hong.xlsx"
    path.write_bytes(b"not a workbook at all")
    res = ingest_file(db, path, catalog=test_catalog())
    assert res.status == "rejected"
    assert res.batch_id is not None
    assert count(db, "SELECT count(*) FROM observations") == 0
    row = db.execute(
        "SELECT status, error_code, error_vi, error_en FROM load_batches WHERE id=%s", (res.batch_id,)
    ).fetchone()
    assert row is not None
    assert row[:2] == ("rejected", "unreadable_file")
    assert "CSV" in row[3]
    assert row[2]
    assert row[2] != row[3]
    assert count(db, "SELECT count(*) FROM rejected_rows WHERE reason_code='unreadable_file'") == 1
    assert read_archived(res.file_sha256 or "") == path.read_bytes()  # archived before parsing


def test_dry_run_touches_nothing(db: psycopg.Connection, tmp_path: Path) -> None:
    res = ingest_file(None, write(tmp_path, "d.xlsx", V1), dry_run=True, catalog=test_catalog())
    assert res.status == "dry_run"
    assert len(res.observations) == 3
    assert count(db, "SELECT count(*) FROM load_batches") == 0
    assert count(db, "SELECT count(*) FROM archive_files") == 0


def test_a_load_killed_during_copy_leaves_nothing_and_a_retry_succeeds(db_dsn: str, tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Tỉnh", "Mã chỉ tiêu", "Tháng", "Giá trị"]]
    for year in range(2000, 2025):
        for month in range(1, 13):
            for name in ("Ninh Thuận", "Khánh Hòa", "Bình Định"):
                rows.append([name, "kts_grdp", f"{month:02d}/{year}", f"{(year - 1990) / 3:.2f}"])
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("\n".join(";".join(map(str, r)) for r in rows), encoding="utf-8")
    victim = psycopg.connect(db_dsn, autocommit=True)
    killer = psycopg.connect(db_dsn, autocommit=True)
    pid = victim.info.backend_pid
    killed: list[str] = []

    def kill_mid_copy(stage: str, _done: int, _total: int) -> None:
        if stage == "copy" and not killed:
            state = killer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            killed.append(state[0] if state else "")
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            for _ in range(200):
                if not killer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                    break
                time.sleep(0.01)

    with pytest.raises(psycopg.OperationalError):
        ingest_file(victim, csv_path, catalog=test_catalog(), progress=kill_mid_copy)
    assert killed
    assert killed[0].startswith("COPY")
    for table in ("load_batches", "observations", "rejected_rows"):
        assert count(killer, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))) == 0, table
    victim.close()
    with psycopg.connect(db_dsn, autocommit=True) as retry:
        res = ingest_file(retry, csv_path, catalog=test_catalog())
    assert res.status == "loaded"
    assert res.rows_loaded == len(rows) - 1
    assert count(killer, "SELECT count(*) FROM observations") == len(rows) - 1
    assert count(killer, "SELECT count(*) FROM load_batches WHERE status = 'loaded'") == 1
    killer.close()


def test_concurrent_loads_of_different_files_with_the_same_figures_add_one_vintage(
    db_dsn: str, tmp_path: Path
) -> None:
    """Loader A stops just before comparing; loader B (another file, the same figures) must not
    compare before A has committed, or both would add the figures as new vintages."""
    first = write(tmp_path, "a.xlsx", V1)
    second = write(tmp_path, "b.xlsx", [*V1, ["Bình Định", "dti_score", "2024", "0,6", ""]])
    a_at_compare, a_waits, b_reached_compare = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def a_progress(stage: str, done: int, _total: int) -> None:
        if stage == "upsert" and done == 0:
            a_at_compare.set()
            assert a_waits.wait(30)

    def b_progress(stage: str, done: int, _total: int) -> None:
        if stage == "upsert" and done == 0:
            b_reached_compare.set()

    def load(key: str, path: Path, progress: Any) -> None:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            results[key] = ingest_file(conn, path, catalog=test_catalog(), progress=progress)

    a = threading.Thread(target=load, args=("a", first, a_progress))
    a.start()
    with psycopg.connect(db_dsn, autocommit=True) as watch:
        assert a_at_compare.wait(30)
        b = threading.Thread(target=load, args=("b", second, b_progress))
        b.start()
        for _ in range(3000):  # B either waits for A's figures or (the race) is already comparing
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            if count(watch, waiting) or b_reached_compare.is_set():
                break
            time.sleep(0.01)
        a_waits.set()
        a.join(30)
        b.join(30)
        assert results["a"].status == results["b"].status == "loaded"
        assert (results["a"].rows_loaded, results["b"].rows_loaded) == (3, 1)  # B: only the new figure
        assert count(watch, "SELECT count(*) FROM observations") == 4
        assert not count(
            watch,
            """SELECT count(*) FROM (SELECT 1 FROM observations GROUP BY jurisdiction_id, indicator_code,
                   period_type, period_start HAVING count(*) > 1) AS twice""",
        )


def test_multi_year_span_keeps_its_end(db: psycopg.Connection, tmp_path: Path) -> None:
    rows = [["Tỉnh", "Mã chỉ tiêu", "Kỳ", "Giá trị"], ["Ninh Thuận", "kts_grdp", "2020/2024", "9,5"]]
    res = ingest_file(db, write(tmp_path, "r.xlsx", rows), catalog=test_catalog())
    assert res.rows_loaded == 1
    row = db.execute("SELECT period_type, period_start::text, period_end::text FROM observations").fetchone()
    assert row == ("R", "2020-01-01", "2024-12-31")


def test_loaded_once_is_enforced_by_the_database(db: psycopg.Connection) -> None:
    insert = (
        "INSERT INTO load_batches (source_id, file_sha256, fetched_at, status) "
        "VALUES ('s', 'abc', now(), 'loaded')"
    )
    db.execute(insert)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(insert)
