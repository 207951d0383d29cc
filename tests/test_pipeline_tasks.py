"""The DAGs' task bodies without Airflow, against the real TimescaleDB."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from chitieu.pipeline import inbox, maintenance, outcomes, tasks
from chitieu.pipeline.dag_specs import load_spec, source_dag_entries
from chitieu.pipeline.receiver import WebhookReceiver
from chitieu.settings import PROJECT_ROOT, get_settings

SAMPLES = PROJECT_ROOT / "samples"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("CHITIEU_DATA_DIR", str(path))
    get_settings.cache_clear()
    return path


def test_inbox_lists_only_settled_files(data_dir: Path) -> None:
    inbox.place(data_dir, "a.xlsx", b"one")
    (data_dir / "inbox" / ".b.xlsx.part").write_bytes(b"half written")
    (data_dir / "inbox" / "c.xlsx.report.json").write_text("{}")
    assert [Path(p).name for p in inbox.pending_files(data_dir)] == ["a.xlsx"]


def test_upload_names_cannot_escape_the_inbox(data_dir: Path) -> None:
    path = inbox.place(data_dir, "../../etc/passwd", b"x")
    assert path.parent == data_dir / "inbox"
    assert inbox.safe_name("..\\..\\x.csv") == "x.csv"
    assert inbox.safe_name("...") == "upload"


def _inbox_run() -> list[dict[str, object]]:
    """What the inbox DAG does: import (inbox host), load each item (any worker), move (inbox host)."""
    reports = [tasks.ingest_inbox_item(item) for item in tasks.import_inbox()]
    tasks.settle_inbox()
    return reports


def test_inbox_file_is_ingested_and_moved_with_report(catalog_db: psycopg.Connection, data_dir: Path) -> None:
    sample = SAMPLES / "inbox" / "mau-nhap-lieu-4-tinh-2020-2025.xlsx"
    placed = inbox.place(data_dir, sample.name, sample.read_bytes())
    items = tasks.import_inbox()
    assert len(items) == 1
    assert tasks.import_inbox() == items  # imported once, whoever asks again
    # the file is loaded from the archive: the inbox folder is not needed where it is loaded
    placed.rename(data_dir / "elsewhere.xlsx")
    report = tasks.ingest_inbox_item(items[0])
    (data_dir / "elsewhere.xlsx").rename(placed)
    assert report["outcome"] == "processed"
    assert tasks.settle_inbox() == {"moved": {"processed": 1}}
    assert not placed.exists()
    moved = data_dir / "processed" / str(report["file"])
    assert moved.read_bytes() == sample.read_bytes()
    on_disk = json.loads(moved.with_name(moved.name + inbox.REPORT_SUFFIX).read_text(encoding="utf-8"))
    assert on_disk["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
    loaded = catalog_db.execute("SELECT count(*) FROM observations WHERE source_id = 'upload'").fetchone()
    assert loaded is not None
    assert loaded[0] == report["rows_loaded"] > 100
    # Two rows of the template are wrong on purpose: quarantined with reasons in both languages.
    assert report["rows_rejected"] == 2
    reasons = catalog_db.execute("SELECT reason_vi, reason_en FROM rejected_rows").fetchall()
    assert len(reasons) == 2
    assert all(vi and en and vi != en for vi, en in reasons)
    # A retry of the load after it settled returns the stored report and loads nothing.
    before = catalog_db.execute("SELECT count(*) FROM observations").fetchone()
    assert tasks.ingest_inbox_item(items[0]) == json.loads(json.dumps(report))
    # The same file dropped again: the same item, nothing new, moved again.
    inbox.place(data_dir, sample.name, sample.read_bytes())
    assert _inbox_run() == []
    assert list((data_dir / "inbox").iterdir()) == []
    assert catalog_db.execute("SELECT count(*) FROM observations").fetchone() == before
    assert catalog_db.execute("SELECT count(*) FROM inbox_items").fetchone() == (1,)


@pytest.mark.usefixtures("catalog_db")
def test_unreadable_inbox_file_goes_to_rejected(data_dir: Path) -> None:
    sample = SAMPLES / "inbox" / "tep-hong.xlsx"
    inbox.place(data_dir, sample.name, sample.read_bytes())
    [report] = _inbox_run()
    assert report["outcome"] == "rejected"
    assert (data_dir / "rejected" / str(report["file"])).exists()
    error = report["batches"][0]["error"]  # type: ignore[index]
    assert error["code"] == "unreadable_file"
    assert error["vi"]
    assert error["en"]
    assert error["vi"] != error["en"]
    assert tasks.summarise([report])["new_data"] is False


@pytest.mark.usefixtures("catalog_db", "data_dir")
def test_uploads_loaded_outside_the_inbox_are_announced_until_evaluated(db_dsn: str) -> None:
    from chitieu.evaluate.engine import evaluate
    from chitieu.ingest.intake import ingest_file

    def load(name: str) -> int | None:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            return ingest_file(conn, SAMPLES / "inbox" / name).batch_id

    def evaluate_as_of(as_of: datetime) -> None:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            evaluate(conn, as_of=as_of)

    assert tasks.unevaluated_uploads() == []
    first = load("mau-nhap-lieu-4-tinh-2020-2025.xlsx")  # as the API loads an upload (source 'upload')
    assert tasks.unevaluated_uploads() == [first]
    announced = tasks.inbox_announcement([])  # an inbox run with nothing of its own
    assert announced["new_data"] is True
    assert announced["unevaluated_batch_ids"] == [first]
    evaluate_as_of(datetime(2020, 1, 1, tzinfo=UTC))  # a backdated run has not seen it
    assert tasks.unevaluated_uploads() == [first]
    evaluate_as_of(datetime.now(UTC))
    assert tasks.unevaluated_uploads() == []
    assert tasks.inbox_announcement([])["new_data"] is False
    load("mau-nhap-lieu-4-tinh-2020-2025.xlsx")  # the same file again: skipped, nothing to evaluate
    assert tasks.unevaluated_uploads() == []
    # A run dated a year ahead has still only seen what was loaded before it ran.
    evaluate_as_of(datetime.now(UTC) + timedelta(days=365))
    second = load("bao-cao-chi-tieu-57-2020-2024.xlsx")
    assert tasks.unevaluated_uploads() == [second]
    # Loaded by this inbox run itself: announced as the run's own batch, not twice.
    own = tasks.inbox_announcement([{"batches": [{"status": "loaded", "loaded": 5, "batch_id": second}]}])
    assert (own["batch_ids"], own["unevaluated_batch_ids"], own["new_data"]) == ([second], [], True)


def test_verdict_fails_on_a_payload_rejected_whole() -> None:
    good = {"source": "s", "resource": "a", "batches": [{"status": "loaded", "loaded": 3}]}
    error = {"code": "unreadable_file", "vi": "tệp hỏng", "en": "a broken file"}
    bad = {"source": "s", "resource": "b", "batches": [{"status": "rejected", "error": error}]}
    assert tasks.verdict([good, None])["rows_loaded"] == 3
    with pytest.raises(tasks.TaskFailed, match="s:b") as failed:
        tasks.verdict([good, bad])
    # each language has its own sentence (the plain-text line shows both)
    assert (failed.value.en, failed.value.vi) == (
        "payload rejected whole:\ns:b: a broken file",
        "tệp bị từ chối toàn bộ:\ns:b: tệp hỏng",
    )
    assert tasks.verdict([good, bad], fail_on_rejected=False)["batches"] == 2


def _evaluation(conn: psycopg.Connection, run_id: int, at: datetime) -> None:
    conn.execute(
        """INSERT INTO evaluations (evaluated_at, run_id, as_of, target_id, plan_id, jurisdiction_id,
                                    indicator_code, target_year, status)
           VALUES (%s, %s, %s, 't1', 'p', 'vn', 'hdi', 2030, 'on_track')""",
        (at, run_id, at),
    )


def test_prune_keeps_the_latest_evaluations(db: psycopg.Connection) -> None:
    latest = datetime(2026, 6, 1, tzinfo=UTC)
    old, recent = latest - timedelta(days=900), latest - timedelta(days=30)
    for at in (old, recent, latest):
        run = db.execute(
            "INSERT INTO evaluation_runs (as_of, started_at) VALUES (%s, %s) RETURNING id", (at, at)
        ).fetchone()
        assert run is not None
        _evaluation(db, run[0], at)
    with psycopg.connect(db.info.dsn, password=get_settings().local_pg_password.get_secret_value()) as conn:
        result = maintenance.prune_evaluations(conn, retention_days=365)
    assert result["chunks_dropped"] >= 1
    assert result["runs_deleted"] == 1
    left = [r[0] for r in db.execute("SELECT evaluated_at FROM evaluations ORDER BY 1").fetchall()]
    assert left == [recent, latest]
    # Nothing is older than the retention before the latest run: a second prune drops nothing.
    with psycopg.connect(db.info.dsn, password=get_settings().local_pg_password.get_secret_value()) as conn:
        assert maintenance.prune_evaluations(conn, retention_days=365)["runs_deleted"] == 0


def _run(
    conn: psycopg.Connection,
    at: datetime,
    targets: list[str],
    *,
    base: int | None = None,
    as_of: datetime | None = None,
) -> int:
    """A finished run evaluated at `at` with a row for each of `targets` (a partial run: on `base`)."""
    row = conn.execute(
        """INSERT INTO evaluation_runs (as_of, started_at, finished_at, base_run_id)
           VALUES (%s, %s, %s, %s) RETURNING id""",
        (as_of or at, at, at, base),
    ).fetchone()
    assert row is not None
    for target in targets:
        conn.execute(
            """INSERT INTO evaluations (evaluated_at, run_id, as_of, target_id, plan_id, jurisdiction_id,
                                        indicator_code, target_year, status)
               VALUES (%s, %s, %s, %s, 'p', 'vn', 'hdi', 2030, %s)""",
            (at, row[0], as_of or at, target, f"on_track_{row[0]}"),
        )
    return int(row[0])


def _results(conn: psycopg.Connection, runs: list[int]) -> dict[int, list[tuple[object, ...]]]:
    """Each run's complete results (its rows and its bases')."""
    return {
        run: conn.execute(
            "SELECT * FROM evaluation_run_rows(%s) ORDER BY target_id, check_year", (run,)
        ).fetchall()
        for run in runs
    }


def test_prune_drops_whole_chains_and_keeps_a_surviving_chain_complete(db: psycopg.Connection) -> None:
    latest = datetime(2026, 6, 1, tzinfo=UTC)
    cutoff = latest - timedelta(days=365)
    # Entirely older than the cutoff: the base and the partial run built on it go together.
    old = _run(db, cutoff - timedelta(days=300), ["t1", "t2"])
    old_partial = _run(db, cutoff - timedelta(days=299), ["t1"], base=old)
    # Straddling the cutoff: the base lies in a chunk wholly before it (chunks are 90 days), which a
    # prune by chunk would drop while the partial run, after the cutoff, stays with t2 gone.
    base = _run(db, cutoff - timedelta(days=100), ["t1", "t2"])
    partial = _run(db, cutoff + timedelta(days=1), ["t1"], base=base)
    newest = _run(db, latest, ["t1", "t2"])
    kept = [base, partial, newest]
    before = _results(db, kept)
    assert [len(before[r]) for r in kept] == [2, 2, 2]

    result = maintenance.prune_evaluations(db, retention_days=365)

    assert _results(db, kept) == before
    runs = [r[0] for r in db.execute("SELECT id FROM evaluation_runs ORDER BY id").fetchall()]
    assert runs == kept
    assert result["runs_deleted"] == 2
    assert result["chunks_dropped"] >= 1
    assert result["cutoff"] == cutoff.isoformat()
    assert result["kept_from"] == (cutoff - timedelta(days=100)).isoformat()
    # Nothing of the dropped chain is left behind.
    orphans = db.execute(
        "SELECT count(*) FROM evaluations WHERE run_id = ANY(%s)", ([old, old_partial],)
    ).fetchone()
    assert orphans == (0,)
    # Pruning again changes nothing.
    again = maintenance.prune_evaluations(db, retention_days=365)
    assert again["runs_deleted"] == 0
    assert _results(db, kept) == before


def test_prune_never_drops_the_latest_runs_chain(db: psycopg.Connection) -> None:
    latest = datetime(2026, 6, 1, tzinfo=UTC)
    # The latest run (the latest as_of) and its base were made long ago; a back-dated run made today
    # (an older as_of) moves the cutoff past them.
    base = _run(db, latest - timedelta(days=500), ["t1", "t2"])
    current = _run(db, latest - timedelta(days=499), ["t1"], base=base)
    backdated = _run(db, latest, ["t1", "t2"], as_of=latest - timedelta(days=2000))
    assert db.execute("SELECT id FROM evaluation_runs_latest").fetchone() == (current,)
    before = _results(db, [base, current, backdated])

    result = maintenance.prune_evaluations(db, retention_days=365)

    assert result["runs_deleted"] == 0
    assert _results(db, [base, current, backdated]) == before
    assert db.execute("SELECT count(*) FROM evaluations_latest").fetchone() == (2,)


def test_archive_check_finds_missing_and_corrupt_files(db: psycopg.Connection) -> None:
    from chitieu.ingest.archive import archive_bytes

    good = archive_bytes(b"good", "good.csv")
    bad = archive_bytes(b"bad", "bad.csv")
    db.execute("UPDATE archive_files SET content = 'tampered' WHERE sha256 = %s", (bad.sha256,))
    for sha in (good.sha256, bad.sha256, "0" * 64):
        db.execute(
            """INSERT INTO load_batches (source_id, file_sha256, fetched_at, status)
               VALUES ('upload', %s, now(), 'loaded')""",
            (sha,),
        )
    report = maintenance.verify_archive(db)
    assert report["checked"] == 3
    assert report["corrupt"] == [bad.sha256]
    assert report["missing"] == ["0" * 64]


def test_task_outcomes_are_recorded_once_per_task(db: psycopg.Connection) -> None:
    key = {"dag_id": "inbox", "run_id": "manual__1", "task_id": "ingest_file", "map_index": 0}
    assert outcomes.record(**key, state="up_for_retry", error="boom")
    assert outcomes.record(**key, try_number=2, state="success", summary={"rows_loaded": 3})
    rows = db.execute("SELECT state, try_number, summary FROM pipeline_task_runs").fetchall()
    assert rows == [("success", 2, {"rows_loaded": 3})]


def test_outcome_recording_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=1")
    get_settings.cache_clear()
    assert outcomes.record(dag_id="d", run_id="r", task_id="t", state="failed") is False


def test_webhook_receiver_records_json(tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    with WebhookReceiver(port=0, out=out) as receiver:
        httpx.post(
            receiver.url + "/chitieu/alerts", json={"title": "Cảnh báo", "body": "x"}
        ).raise_for_status()
    assert receiver.messages[0]["payload"]["title"] == "Cảnh báo"
    assert json.loads(out.read_text(encoding="utf-8"))["path"] == "/chitieu/alerts"


def test_a_broken_spec_gets_a_failing_dag_not_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a spec", encoding="utf-8")
    (tmp_path / "good.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "good",
                "kind": "json_766",
                "title": "t",
                "url": "http://127.0.0.1:1/x",
                "schedule": "@daily",
                "options": {"periods": ["2024"]},
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "bad.yaml").write_text("id: bad\nkind: nonsense\ntitle: t\n", encoding="utf-8")
    entries = {e.dag_id: e for e in source_dag_entries(tmp_path)}
    assert set(entries) == {"ingest_good", "ingest_bad"}
    assert entries["ingest_good"].error is None
    assert entries["ingest_good"].schedule == "@daily"
    assert entries["ingest_bad"].error
    assert "kind" in entries["ingest_bad"].error
    (tmp_path / "worse.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    assert load_spec("good", tmp_path).id == "good"  # the broken neighbours do not block it
    with pytest.raises(KeyError):
        load_spec("missing", tmp_path)


def test_managed_processes_stop_only_what_they_started(tmp_path: Path) -> None:
    import json as _json
    import os
    import signal
    import sys

    from chitieu.pipeline import processes

    cmd = [sys.executable, "-c", "import time; time.sleep(120)"]
    started = processes.start(
        tmp_path, "sleeper", cmd, env=dict(os.environ), log=tmp_path / "s.log", cwd=tmp_path
    )
    assert processes.running(tmp_path, "sleeper") == started
    assert (
        processes.start(tmp_path, "sleeper", cmd, env=dict(os.environ), log=tmp_path / "s.log", cwd=tmp_path)
        == started
    )
    assert processes.stop(tmp_path, "sleeper", timeout=10) is True
    assert processes.running(tmp_path, "sleeper") is None
    assert processes.stop(tmp_path, "sleeper") is False

    # A pid file whose pid now belongs to another process (another start time) is never signalled.
    other = processes.start(
        tmp_path, "other", cmd, env=dict(os.environ), log=tmp_path / "o.log", cwd=tmp_path
    )
    pid_file = tmp_path / "other.pid"
    info = _json.loads(pid_file.read_text())
    pid_file.write_text(_json.dumps({**info, "ticks": (info["ticks"] or 0) + 1}))
    assert processes.stop(tmp_path, "other") is False
    assert Path(f"/proc/{other.pid}").exists()
    os.killpg(other.pid, signal.SIGTERM)
    os.waitpid(other.pid, 0)


def test_every_committed_source_spec_yields_a_valid_dag() -> None:
    entries = source_dag_entries()
    assert entries, "catalog/sources has no specs"
    assert [e for e in entries if e.error] == []
    assert all(e.dag_id == f"ingest_{e.spec_id}" for e in entries)


def test_a_process_that_asked_to_die_with_its_parent_does_when_the_parent_is_killed(tmp_path: Path) -> None:
    """What a task runner does before its task (on_execute): like Airflow's runner, the child sits in
    a process group of its own, so killing the parent's group would not reach it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "child.pid"
    parent_code = f"""
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    from chitieu.pipeline.processes import die_with_parent
    die_with_parent()
    open({str(pid_file)!r}, "w").write(str(os.getpid()))
    time.sleep(120)
    os._exit(0)
time.sleep(120)
"""
    parent = subprocess.Popen([sys.executable, "-c", parent_code], start_new_session=True)
    try:
        for _ in range(300):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert Path(f"/proc/{child}").exists()
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        for _ in range(100):
            stat = Path(f"/proc/{child}/stat")
            if not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the child outlived its killed parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_airflow_environment_takes_every_address_and_key_from_settings(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from chitieu.pipeline.airflow_env import airflow_env
    from chitieu.settings import Settings

    settings = Settings(
        local_dir=tmp_path,
        local_pg_host="10.9.8.1",
        airflow_host="10.9.8.1",
        airflow_bind_host="10.9.8.1",
        redis_host="10.9.8.1",
        redis_port=16379,
        airflow_secret_key=SecretStr("s" * 40),
        airflow_jwt_secret=SecretStr("j" * 40),
        airflow_fernet_key=SecretStr("Z2V0LW9uZS10ZXN0LWZlcm5ldC1rZXktMzItYnl0ZXM="),
        airflow_remote_log_folder="s3://logs/chitieu",
        airflow_remote_log_conn_id="logs",
    )
    env = airflow_env(settings, base={}, executor="celery")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://10.9.8.1:16379/0"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://10.9.8.1:")
    assert "@10.9.8.1:" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@10.9.8.1:" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert (env["AIRFLOW__API__SECRET_KEY"], env["AIRFLOW__API_AUTH__JWT_SECRET"]) == ("s" * 40, "j" * 40)
    assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"] == "s3://logs/chitieu"
    assert not [k for k, v in env.items() if k.startswith("AIRFLOW__") and "127.0.0.1" in v]
    assert not list((tmp_path / "airflow").glob(".*key*"))
    assert not (tmp_path / "airflow" / ".jwt_secret").exists()
    assert airflow_env(settings, base={}, executor="local")["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_a_spreadsheet_source_passes_no_machine_path_between_tasks() -> None:
    """Its one file is named by the spec; the worker that loads it resolves it itself."""
    assert tasks.list_resources("provincial-report-2020-2024") == [""]
