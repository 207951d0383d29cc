"""The DAGs through real Airflow 3: DagBag integrity (also with the database down), and dag.test()
end to end against the real TimescaleDB on samples/ — fake publishers on 127.0.0.1, the inbox, the
evaluation, alerts, and notifications delivered to a local webhook receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import pytest
import yaml

from chitieu.pipeline import inbox
from chitieu.pipeline.receiver import WebhookReceiver
from chitieu.settings import PROJECT_ROOT, get_settings

pytestmark = pytest.mark.airflow

DAGS = PROJECT_ROOT / "dags"
SAMPLES = PROJECT_ROOT / "samples"
FIXED = {"inbox", "evaluate", "notify", "deadlines", "maintenance"}

# Source specs for the sample publishers (the same shapes as catalog/sources/), plus one whose
# publisher is down: it must fail alone.
SPECS: dict[str, dict[str, Any]] = {
    "danang-ckan-ha-tang-so": {
        "kind": "ckan", "title": "Cổng dữ liệu mở Đà Nẵng — hạ tầng số", "url": "{publisher_base_url}/",
        "schedule": "0 6 1 * *", "expected_release_lag": "120 days",
        "options": {"query": "chi-tieu-chuyen-doi-so", "columns": {
            "jurisdiction": "Tỉnh", "period": "Năm", "indicator": "Mã chỉ tiêu", "value": "Giá trị",
            "unit": "Đơn vị"}},
    },
    "gso-pxweb-kinh-te-so": {
        "kind": "pxweb", "title": "GSO — kinh tế số / GDP", "indicator": "digital_economy_share_grdp",
        "url": "{publisher_base_url}/pxweb/api/v1/vi/KTXH/V10.01_kinh_te_so.px", "schedule": "@yearly",
    },
    "dti-xep-hang": {
        "kind": "html_table", "title": "DTI", "url": "{publisher_base_url}/dti/{year}", "schedule": "@yearly",
        "options": {"years": [2023, 2024]},
    },
    "dichvucong-766": {
        "kind": "json_766", "title": "766", "url": "{publisher_base_url}/jsp/rest.jsp",
        "schedule": "0 5 * * 1",
        "options": {"periods": ["2024", "2025"]},
    },
    "nguon-hong": {
        "kind": "json_766", "title": "a publisher that is down", "url": "http://127.0.0.1:9/jsp/rest.jsp",
        "schedule": "@daily", "options": {"periods": ["2024"]},
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A per-module AIRFLOW_HOME with an SQLite metadata DB, migrated once, set before Airflow loads."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    }
    if "airflow" in sys.modules:
        from airflow.configuration import conf

        if conf.get("database", "sql_alchemy_conn") != env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]:
            # Skipping here would hide the DAG tests in CI; a test that imports Airflow earlier
            # with its own configuration is the defect to fix.
            pytest.fail("Airflow was already imported in this session with another configuration")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    airflow = Path(sys.executable).parent / "airflow"
    res = subprocess.run(
        [str(airflow), "db", "migrate"], env=os.environ.copy(), capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _write_specs(folder: Path, specs: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for spec_id, body in specs.items():
        (folder / f"{spec_id}.yaml").write_text(
            yaml.safe_dump({"id": spec_id, **body}, allow_unicode=True), encoding="utf-8"
        )
    return folder


def _dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.mark.usefixtures("airflow_home")
def test_dagbag_parses_without_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=1")
    monkeypatch.setenv("CHITIEU_SOURCES_DIR", str(_write_specs(tmp_path / "sources", SPECS)))
    monkeypatch.setenv("CHITIEU_PUBLISHER_BASE_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    bag = _dagbag()
    assert bag.import_errors == {}
    expected = FIXED | {f"ingest_{s}" for s in SPECS}
    assert set(bag.dags) == expected
    for dag_id, dag in bag.dags.items():
        assert "chitieu" in dag.tags, dag_id
        assert dag.catchup is False
        for task in dag.tasks:
            assert task.owner == "chitieu", (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)
            assert task.retry_exponential_backoff, (dag_id, task.task_id)
    # The evaluation runs on the observations Asset; the source DAGs produce it.
    assert "chitieu://observations" in str(bag.dags["evaluate"].timetable.asset_condition)
    announce = bag.dags["ingest_dti-xep-hang"].get_task("announce")
    assert [o.uri.rstrip("/") for o in announce.outlets] == ["chitieu://observations"]
    # Each source DAG runs on its spec's schedule.
    assert bag.dags["ingest_danang-ckan-ha-tang-so"].schedule == "0 6 1 * *"
    assert bag.dags["ingest_gso-pxweb-kinh-te-so"].schedule == "@yearly"


def _states(dag_run: Any) -> dict[str, list[str]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id)
            .all()
        )
        out: dict[str, list[str]] = {}
        for ti in tis:
            out.setdefault(ti.task_id, []).append(str(ti.state))
    return out


def _count(conn: psycopg.Connection, query: LiteralString, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def demo_env(
    airflow_home: Path,  # noqa: ARG001 (requested so that Airflow is configured before it loads)
    db: psycopg.Connection,
    db_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    from chitieu.catalog.loader import load_catalog
    from chitieu.ingest.specs import upsert_sources
    from support.publishers import PublisherServer

    sources = _write_specs(tmp_path / "sources", SPECS)
    data_dir = tmp_path / "data"
    with PublisherServer(root=SAMPLES / "publishers") as publishers, WebhookReceiver(port=0) as receiver:
        routes = tmp_path / "routes.yaml"
        routes.write_text(
            yaml.safe_dump({"routes": [{"name": "demo", "default": True,
                                        "channels": [f"json://127.0.0.1:{receiver.server_address[1]}/chitieu"]}]}),
            encoding="utf-8",
        )  # fmt: skip
        for key, value in {
            "CHITIEU_SOURCES_DIR": str(sources),
            "CHITIEU_PUBLISHER_BASE_URL": publishers.url,
            "CHITIEU_DATA_DIR": str(data_dir),
            "CHITIEU_ROUTES_FILE": str(routes),
            "CHITIEU_PIPELINE_RETRY_DELAY_SECONDS": "0",  # dag.test() waits out retry delays
        }.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        with psycopg.connect(db_dsn) as conn:
            load_catalog(conn)
            upsert_sources(conn)
            conn.commit()
        for sample in sorted((SAMPLES / "inbox").glob("*.xlsx")):
            inbox.place(data_dir, sample.name, sample.read_bytes())
        yield {"db": db, "data_dir": data_dir, "receiver": receiver, "bag": _dagbag()}


def test_dags_end_to_end_on_samples(demo_env: dict[str, Any]) -> None:
    db: psycopg.Connection = demo_env["db"]
    bag = demo_env["bag"]
    data_dir: Path = demo_env["data_dir"]
    receiver: WebhookReceiver = demo_env["receiver"]
    assert bag.import_errors == {}

    # 1. Every source DAG; the one whose publisher is down fails alone.
    outcomes = {}
    for spec_id in SPECS:
        run = bag.dags[f"ingest_{spec_id}"].test()
        outcomes[spec_id] = (str(run.state), _states(run))
    assert outcomes["nguon-hong"][0] == "failed"
    for spec_id in SPECS.keys() - {"nguon-hong"}:
        state, tis = outcomes[spec_id]
        assert state == "success", (spec_id, tis)
        assert tis["announce"] == ["success"], (spec_id, tis)
        loaded = _count(db, "SELECT count(*) FROM observations WHERE source_id = %s", (spec_id,))
        assert loaded > 0, spec_id
    gso = db.execute(
        """SELECT extract(year FROM period_start)::int, value FROM observations_current
           WHERE source_id = 'gso-pxweb-kinh-te-so' AND jurisdiction_id = 'vn' ORDER BY 1"""
    ).fetchall()
    assert gso == [(2020, 12.66), (2021, 12.87), (2022, 12.83), (2023, 12.87), (2024, 13.17)]
    failed = db.execute(
        "SELECT count(*) FROM load_batches WHERE source_id = 'nguon-hong' AND status = 'failed'"
    )
    assert (failed.fetchone() or [0])[0] >= 1  # recorded for the data-operations dashboard

    # 2. The inbox: the spreadsheets loaded, the broken one rejected, each with its report.
    run = bag.dags["inbox"].test()
    assert str(run.state) == "success", _states(run)
    processed = sorted(p.name for p in (data_dir / "processed").iterdir() if not p.name.endswith(".json"))
    rejected = sorted(p.name for p in (data_dir / "rejected").iterdir() if not p.name.endswith(".json"))
    readable = {p.name for p in (SAMPLES / "inbox").glob("*.xlsx")} - {"tep-hong.xlsx"}
    assert {n.split("-", 1)[1] for n in processed} == readable
    assert len(rejected) == 1
    assert rejected[0].endswith("tep-hong.xlsx")
    assert all((data_dir / "processed" / (n + inbox.REPORT_SUFFIX)).exists() for n in processed)
    assert list((data_dir / "inbox").iterdir()) == []

    # 3. Evaluation, alerts, dashboard views.
    run = bag.dags["evaluate"].test()
    assert str(run.state) == "success", _states(run)
    assert _count(db, "SELECT count(*) FROM evaluations") > 0
    firing = _count(db, "SELECT count(*) FROM alerts WHERE state = 'firing'")
    assert firing > 0
    pending = _count(db, "SELECT count(*) FROM notification_outbox WHERE status = 'pending'")
    assert pending > 0

    # 4. Notifications delivered to the local webhook receiver.
    run = bag.dags["notify"].test()
    assert str(run.state) == "success", _states(run)
    sent = _count(db, "SELECT count(*) FROM notification_outbox WHERE status = 'sent'")
    assert sent == pending
    # every sent row reached the receiver: alone under its own subject, or listed in a digest
    # (CHITIEU_NOTIFY_DIGEST_THRESHOLD or more for one channel)
    singles = [m["payload"] for m in receiver.messages if "[TỔNG HỢP]" not in m["payload"]["title"]]
    digests = [m["payload"] for m in receiver.messages if "[TỔNG HỢP]" in m["payload"]["title"]]
    assert all(m["title"].startswith("[Chỉ Tiêu][") for m in singles + digests)
    subjects = [row[0] for row in db.execute("SELECT subject FROM notification_outbox WHERE status = 'sent'")]
    listed = [
        s for s in subjects if any(f"• {s.removeprefix('[Chỉ Tiêu]')}" in d["message"] for d in digests)
    ]
    assert sorted(m["title"] for m in singles) == sorted(set(subjects) - set(listed))
    assert len(singles) + len(listed) == sent
    delivered = len(receiver.messages)
    assert _count(db, "SELECT count(*) FROM pipeline_task_runs WHERE state = 'success'") > 0

    # 5. Re-running changes nothing: no new figures, no evaluation asset, no new alerts or messages.
    snapshot = [
        _count(db, q)
        for q in (
            "SELECT count(*) FROM observations",
            "SELECT count(*) FROM alerts",
            "SELECT count(*) FROM notification_outbox",
        )
    ]
    rerun = bag.dags["ingest_dti-xep-hang"].test()
    assert str(rerun.state) == "success"
    assert _states(rerun)["announce"] == ["skipped"]  # nothing new: the evaluation is not triggered
    assert bag.dags["evaluate"].test().state == "success"
    assert bag.dags["notify"].test().state == "success"
    after = [
        _count(db, q)
        for q in (
            "SELECT count(*) FROM observations",
            "SELECT count(*) FROM alerts",
            "SELECT count(*) FROM notification_outbox",
        )
    ]
    assert after == snapshot
    assert len(receiver.messages) == delivered
