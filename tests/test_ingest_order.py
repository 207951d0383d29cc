"""Vintage order under concurrency, and the precedence that makes the current figures independent
of the order loads arrive in (real TimescaleDB, real concurrent connections)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from chitieu.ingest.connectors.spreadsheet import SpreadsheetConnector
from chitieu.ingest.intake import IngestResult, ingest_payload
from chitieu.ingest.records import Payload
from chitieu.settings import get_settings
from ingest_support import test_catalog, xlsx_bytes

pytestmark = pytest.mark.db

HEADER = ["Tỉnh/Thành phố", "Mã chỉ tiêu", "Kỳ", "Giá trị", "Trạng thái"]
FETCHED = datetime(2025, 3, 1, tzinfo=UTC)
KEY = sql.SQL("jurisdiction_id = 'old-58' AND indicator_code = 'kts_grdp' AND period_start = '2024-01-01'")


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHITIEU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()


def workbook(value: str, status: str = "", *, filler: int = 0, tag: str = "") -> bytes:
    """Ninh Thuận's 2024 figure, plus `filler` monthly rows of another province (a longer COPY);
    `tag` makes otherwise equal files differ in bytes (distinct files, same figures)."""
    rows: list[list[Any]] = [[f"BÁO CÁO {tag}"], HEADER, ["Ninh Thuận", "kts_grdp", "2024", value, status]]
    for i in range(filler):
        rows.append(["Khánh Hòa", "kts_grdp", f"{i % 12 + 1:02d}/{2000 + i // 12}", "1,5", ""])
    return xlsx_bytes(rows, title="KTS")


def load(
    dsn: str,
    content: bytes,
    name: str,
    *,
    source: str = "upload",
    fetched_at: datetime = FETCHED,
    progress: Any = None,
) -> IngestResult:
    payload = Payload(name=name, content=content, fetched_at=fetched_at)
    with psycopg.connect(dsn, autocommit=True) as conn:
        return ingest_payload(
            conn,
            payload,
            spec=None,
            source_id=source,
            connector=SpreadsheetConnector(None),
            catalog=test_catalog(),
            progress=progress,
        )


def vintages(db: psycopg.Connection) -> list[tuple[float, str, datetime]]:
    return [
        (float(v), str(s), t)
        for v, s, t in db.execute(
            sql.SQL("SELECT value, status, loaded_at FROM observations WHERE {} ORDER BY loaded_at").format(
                KEY
            )
        ).fetchall()
    ]


def current(db: psycopg.Connection) -> tuple[float, str] | None:
    row = db.execute(
        sql.SQL("SELECT value, status FROM observations_current WHERE {}").format(KEY)
    ).fetchone()
    return (float(row[0]), str(row[1])) if row else None


def as_of(db: psycopg.Connection, at: datetime) -> tuple[float, str] | None:
    query = sql.SQL("SELECT value, status FROM observations_as_of(%s) WHERE {}").format(KEY)
    row = db.execute(query, (at,)).fetchone()
    return (float(row[0]), str(row[1])) if row else None


def now(db: psycopg.Connection) -> datetime:
    row = db.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


# --- defect: a long load that commits last used to be stamped first ----------------------------------


def test_long_copy_started_first_but_committed_last_is_the_later_vintage(
    db_dsn: str, db: psycopg.Connection
) -> None:
    """A starts first and is held inside its COPY (before any lock); B loads and commits meanwhile.
    A commits last, so A must be the later vintage, compared with B's committed figure, and what
    as_of returned between the two commits must not change once A commits."""
    in_copy, release = threading.Event(), threading.Event()
    results: dict[str, IngestResult] = {}

    def hold_in_copy(stage: str, _done: int, _total: int) -> None:
        if stage == "copy" and not in_copy.is_set():
            in_copy.set()
            assert release.wait(30)

    long_load = threading.Thread(
        target=lambda: results.setdefault(
            "a", load(db_dsn, workbook("9,0", filler=3000, tag="A"), "a.xlsx", progress=hold_in_copy)
        )
    )
    long_load.start()
    assert in_copy.wait(60)
    results["b"] = load(db_dsn, workbook("8,5", tag="B"), "b.xlsx")
    between = now(db)
    seen_between = as_of(db, between)
    release.set()
    long_load.join(60)
    assert results["a"].status == results["b"].status == "loaded"
    assert seen_between == (8.5, "final")
    assert as_of(db, between) == seen_between  # history did not change after the fact
    history = vintages(db)
    assert [v for v, _, _ in history] == [8.5, 9.0]  # commit order
    assert history[0][2] < between < history[1][2]
    assert current(db) == (9.0, "final")
    assert (results["a"].rows_revised, results["b"].rows_new) == (1, 1)


def test_a_load_waiting_for_the_indicator_lock_compares_with_what_the_holder_committed(
    db_dsn: str, db: psycopg.Connection
) -> None:
    """The other order: A holds the indicator's lock (stopped just before comparing) while B, with
    the same figure, arrives and must wait; B then sees A's figure as unchanged and adds nothing."""
    at_compare, release = threading.Event(), threading.Event()
    results: dict[str, IngestResult] = {}

    def hold_at_compare(stage: str, done: int, _total: int) -> None:
        if stage == "upsert" and done == 0:
            at_compare.set()
            assert release.wait(30)

    a = threading.Thread(
        target=lambda: results.setdefault(
            "a", load(db_dsn, workbook("9,0", tag="A"), "a.xlsx", progress=hold_at_compare)
        )
    )
    a.start()
    assert at_compare.wait(60)
    b = threading.Thread(
        target=lambda: results.setdefault("b", load(db_dsn, workbook("9,0", filler=50, tag="B"), "b.xlsx"))
    )
    b.start()
    for _ in range(3000):
        if db.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[
            0
        ]:  # type: ignore[index]
            break
        time.sleep(0.01)
    else:
        pytest.fail("the second load did not wait for the indicator lock")
    release.set()
    a.join(60)
    b.join(60)
    assert (results["a"].rows_new, results["b"].rows_unchanged) == (1, 1)
    assert [v for v, _, _ in vintages(db)] == [9.0]
    a_batch, b_batch = (
        db.execute("SELECT finished_at FROM load_batches WHERE id = %s", (r.batch_id,)).fetchone()[0]  # type: ignore[index]
        for r in (results["a"], results["b"])
    )
    b_khanh_hoa = db.execute(
        "SELECT min(loaded_at) FROM observations WHERE batch_id = %s", (results["b"].batch_id,)
    ).fetchone()[0]  # type: ignore[index]
    assert a_batch < b_khanh_hoa <= b_batch  # B's vintages are stamped after A committed


def test_parallel_loads_add_one_vintage_per_real_change_and_never_rewrite_as_of(
    db_dsn: str, db: psycopg.Connection
) -> None:
    """N loads of files carrying the same figure (two values, equal rank: the later commit wins),
    started together, each stalled a random while inside its COPY. The vintages, in loaded_at order,
    must alternate (no two consecutive equal), and every as_of read during the run must give the
    same answer afterwards."""
    rng = random.Random(57)
    values = ["59", "59", "60", "59", "60", "60", "59", "59", "60", "59"]
    stop = threading.Event()
    observed: list[tuple[datetime, tuple[float, str] | None]] = []
    errors: list[BaseException] = []
    batch_values: dict[int, float] = {}

    def stall(delay: float) -> Any:
        def progress(stage: str, _done: int, _total: int) -> None:
            if stage == "copy":
                time.sleep(delay)

        return progress

    def worker(i: int, value: str, delay: float) -> None:
        try:
            res = load(
                db_dsn, workbook(value, filler=rng_fill[i], tag=str(i)), f"f{i}.xlsx", progress=stall(delay)
            )
            assert res.batch_id is not None
            batch_values[res.batch_id] = float(value)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def watch() -> None:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            while not stop.is_set():
                with conn.transaction():  # the reader's side of the contract: see vintage_now()
                    t = conn.execute("SELECT vintage_now()").fetchone()[0]  # type: ignore[index]
                    observed.append((t, as_of(conn, t)))
                time.sleep(0.02)

    rng_fill = [rng.randrange(0, 400) for _ in values]
    delays = [rng.uniform(0.0, 0.4) for _ in values]
    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=worker, args=(i, v, delays[i])) for i, v in enumerate(values)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    watcher.join(30)
    assert not errors, errors
    history = vintages(db)
    assert history, "nothing loaded"
    assert all(a[0] != b[0] for a, b in pairwise(history)), history
    batches = db.execute(
        "SELECT count(*) FROM load_batches WHERE status = 'loaded' AND source_id = 'upload'"
    ).fetchone()
    assert batches == (len(values),)
    # the last vintage is the figure of the load that committed last
    last = db.execute(
        "SELECT id FROM load_batches WHERE status = 'loaded' ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    assert last is not None
    assert current(db) == (batch_values[last[0]], "final")
    assert len(observed) > 5
    for t, seen in observed:
        assert as_of(db, t) == seen, f"as_of({t}) changed after the fact"


# --- precedence ---------------------------------------------------------------------------------------


def _register(db: psycopg.Connection, source: str, priority: int) -> None:
    db.execute(
        "INSERT INTO sources (id, kind, title, spec) VALUES (%s, 'spreadsheet', %s, %s::jsonb)",
        (source, source, f'{{"priority": {priority}}}'),
    )


CLAIMS: list[dict[str, Any]] = [
    # the same figure from three files: a provisional estimate, a final figure, a later final
    # publication from a less trusted source (it loses on priority), and an older final one
    {"content": workbook("8,91", "ước", tag="p"), "name": "p.xlsx", "source": "portal"},
    {"content": workbook("9,26", tag="f"), "name": "f.xlsx", "source": "gso"},
    {
        "content": workbook("9,40", tag="l"),
        "name": "l.xlsx",
        "source": "portal",
        "fetched_at": FETCHED + timedelta(days=30),
    },
    {
        "content": workbook("9,10", tag="o"),
        "name": "o.xlsx",
        "source": "gso",
        "fetched_at": FETCHED - timedelta(days=30),
    },
]


def _claims(db: psycopg.Connection) -> list[tuple[Any, ...]]:
    return sorted(
        db.execute(
            sql.SQL(
                """SELECT value, status, source_id, file_name, source_priority FROM observations WHERE {key}
                   UNION ALL
                   SELECT value, status, source_id, file_name, source_priority
                   FROM observations_superseded WHERE {key}"""
            ).format(key=KEY)
        ).fetchall()
    )


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1), (1, 3, 0, 2)])
def test_precedence_gives_the_same_current_figure_in_any_order_and_keeps_the_losers(
    db_dsn: str, db: psycopg.Connection, order: tuple[int, ...]
) -> None:
    _register(db, "gso", 10)
    _register(db, "portal", 0)
    for i in order:
        res = load(db_dsn, **CLAIMS[i])
        assert res.status == "loaded", res.error
    # final beats provisional; gso (priority 10) beats portal's later final; the newer gso
    # publication beats the older one
    assert current(db) == (9.26, "final")
    assert _claims(db) == sorted(
        [
            (8.91, "provisional", "portal", "p.xlsx", 0),
            (9.26, "final", "gso", "f.xlsx", 10),
            (9.40, "final", "portal", "l.xlsx", 0),
            (9.10, "final", "gso", "o.xlsx", 10),
        ]
    )
    # the current vintage is always the best claim known when it was loaded: rank never goes down
    ranks = db.execute(
        sql.SQL(
            """SELECT status = 'final', source_priority, fetched_at FROM observations WHERE {}
               ORDER BY loaded_at"""
        ).format(KEY)
    ).fetchall()
    assert ranks == sorted(ranks)


def test_a_superseded_claim_is_counted_and_not_recorded_twice(db_dsn: str, db: psycopg.Connection) -> None:
    first = load(db_dsn, workbook("9,26", tag="a"), "a.xlsx")
    late = load(db_dsn, workbook("8,91", "ước", tag="b"), "b.xlsx")
    again = load(db_dsn, workbook("8,91", "ước", tag="c"), "c.xlsx")
    assert first.rows_new == 1
    assert (late.rows_superseded, late.rows_loaded, late.changed) == (1, 0, False)
    assert again.rows_superseded == 1
    assert db.execute("SELECT count(*) FROM observations_superseded").fetchone() == (1,)
    assert current(db) == (9.26, "final")
    summary = db.execute("SELECT summary->>'superseded' FROM load_batches WHERE id = %s", (late.batch_id,))
    assert summary.fetchone() == ("1",)


# --- whole runs ---------------------------------------------------------------------------------------


def _sample_payloads() -> list[tuple[Any, Payload]]:
    """Every sample spreadsheet, once: through the source spec that reads it, else as an upload;
    each with a fetch time of its own that does not depend on when it is loaded."""
    from chitieu.ingest.specs import load_source_specs
    from chitieu.settings import PROJECT_ROOT

    specs = {(PROJECT_ROOT / s.path).resolve(): s for s in load_source_specs() if s.path}
    out = []
    for i, path in enumerate(sorted((PROJECT_ROOT / "samples" / "inbox").glob("*.xlsx"))):
        at = FETCHED + timedelta(days=i)
        out.append(
            (specs.get(path.resolve()), Payload(name=path.name, content=path.read_bytes(), fetched_at=at))
        )
    return out


def _run(dsn: str, order: list[int], clock: datetime) -> None:
    from chitieu.alerts.lifecycle import sync_alerts
    from chitieu.catalog.loader import load_catalog
    from chitieu.dashboards.views import refresh
    from chitieu.evaluate.engine import evaluate
    from chitieu.ingest.specs import upsert_sources

    payloads = _sample_payloads()
    with psycopg.connect(dsn) as conn:
        load_catalog(conn)
        upsert_sources(conn)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in order:
            spec, payload = payloads[i]
            ingest_payload(conn, payload, spec=spec, connector=SpreadsheetConnector(spec))
        evaluate(conn, as_of=clock)
        refresh(conn)
        sync_alerts(conn, clock)


def test_two_runs_on_the_same_inputs_in_different_orders_give_identical_tables(
    base_settings: Any, template_db: str
) -> None:
    from psycopg import sql

    from pipeline_support import checksums

    n = len(_sample_payloads())
    orders = [list(range(n)), list(reversed(range(n)))]
    names = [f"chitieu_order_{uuid.uuid4().hex[:8]}" for _ in orders]
    admin = psycopg.connect(base_settings.dsn("postgres"), autocommit=True)
    try:
        for name in names:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template_db)
                )
            )
        sums = []
        clock = datetime.now(UTC) + timedelta(hours=1)  # the same evaluation and alert clock for both
        for name, order in zip(names, orders, strict=True):
            _run(base_settings.dsn(name), order, clock)
            sums.append(checksums(base_settings.dsn(name)))
        assert sums[0]["observation_claims"][0] > 300
        assert sums[0]["alerts"][0] > 0
        assert sums[0] == sums[1]
    finally:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
