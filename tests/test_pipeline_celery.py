"""The scale-out path for real: the demo pipeline on the CeleryExecutor with two workers, one of them
in its own network namespace (a stand-in for a second host: its own data directory and AIRFLOW_HOME,
the database, Redis and the Airflow API reached over a veth link, not loopback), compared with a
LocalExecutor run of the same inputs; then a worker killed in the middle of a load.

Needs root (ip netns, veth) and installs Redis from Debian when absent; CI runs it as root.
Everything it starts lives in its own PostgreSQL cluster, ports and namespace, removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from chitieu.pipeline import processes
from chitieu.settings import PROJECT_ROOT, Settings, get_settings
from pipeline_support import checksums

# Two whole demo runs of real Airflow, plus a retry after a heartbeat timeout.
pytestmark = [pytest.mark.airflow, pytest.mark.celery, pytest.mark.timeout(2400)]

NS_WORKER = "worker-ns"
KILL_SPEC = "so-lieu-thu-ngat-giua-chung"
INDICATOR = "digital_economy_share_grdp"
PROVINCES = ["Ninh Thuận", "Khánh Hòa", "Bình Định", "Quảng Nam", "Đà Nẵng", "Gia Lai", "Hà Nam"]


def _write_figures(path: Path, revision: int) -> int:
    """A small export of the test source (a new revision changes every value); its row count."""
    rows = ["Tỉnh/Thành phố;Kỳ;Giá trị"]
    for year in range(2020, 2025):
        for i, name in enumerate(PROVINCES):
            rows.append(f"{name};{year};{(i + year - 2000 + revision) / 10:.1f}".replace(".", ","))
    path.write_text("\n".join(rows), encoding="utf-8")
    return len(rows) - 1


@dataclass(frozen=True)
class Link:
    netns: str
    host_ip: str  # the root namespace's end of the veth pair
    peer_ip: str  # the worker namespace's end
    network: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _netns_pids(netns: str) -> list[int]:
    res = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=False)
    return [int(p) for p in res.stdout.split()]


@pytest.fixture(scope="module")
def link() -> Iterator[Link]:
    if os.geteuid() != 0:
        pytest.skip("needs root (ip netns, veth); CI runs this as root")
    if shutil.which("ip") is None:  # a minimal Debian: iproute2 from Debian, like Redis
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "iproute2"], check=True, env=env)
    tag = uuid.uuid4().hex[:6]
    netns, host_if, peer_if = f"chitieu-{tag}", f"cth{tag}", f"ctn{tag}"
    octet = random.randrange(0, 63) * 4
    base = f"10.213.{random.randrange(0, 250)}."
    lk = Link(netns, f"{base}{octet + 1}", f"{base}{octet + 2}", f"{base}{octet}/30")
    _ip("netns", "add", netns)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", peer_if)
        _ip("link", "set", peer_if, "netns", netns)
        _ip("addr", "add", f"{lk.host_ip}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", netns, "ip", "addr", "add", f"{lk.peer_ip}/30", "dev", peer_if)
        _ip("netns", "exec", netns, "ip", "link", "set", peer_if, "up")
        _ip("netns", "exec", netns, "ip", "link", "set", "lo", "up")
        yield lk
    finally:
        for pid in _netns_pids(netns):  # only processes of the namespace this test created
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", host_if)
        _ip("netns", "del", netns)


@pytest.fixture(scope="module")
def env(link: Link, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of every process of the test: a PostgreSQL cluster of its own listening on
    loopback and on the link, Redis, Airflow and the demo services on the link's host address."""
    from chitieu.db import local
    from chitieu.pipeline.orchestrate import ensure_redis

    root = tmp_path_factory.mktemp("celery")
    routes = root / "routes.yaml"
    webhook_port = _free_port()
    routes.write_text(
        yaml.safe_dump(
            {"routes": [{"name": "demo", "default": True,
                         "channels": [f"json://{link.host_ip}:{webhook_port}/chitieu"]}]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    sources = root / "sources"
    sources.mkdir()
    for spec in (PROJECT_ROOT / "catalog" / "sources").glob("*.yaml"):
        shutil.copy(spec, sources / spec.name)
    _write_figures(root / "figures.csv", 0)
    (sources / f"{KILL_SPEC}.yaml").write_text(
        yaml.safe_dump({"id": KILL_SPEC, "kind": "spreadsheet", "title": "Số liệu thử / test figures",
                        "path": str(root / "figures.csv"), "indicator": INDICATOR, "priority": -1}),
        encoding="utf-8",
    )  # fmt: skip
    values = {
        "CHITIEU_SOURCES_DIR": str(sources),
        "CHITIEU_LOCAL_DIR": str(root / "local"),
        "CHITIEU_LOCAL_PG_PORT": str(_free_port()),
        "CHITIEU_LOCAL_PG_HOST": link.host_ip,
        "CHITIEU_LOCAL_PG_LISTEN_ADDRESSES": f"127.0.0.1,{link.host_ip}",
        "CHITIEU_LOCAL_PG_ALLOWED_NETWORKS": f"127.0.0.1/32,{link.network}",
        "CHITIEU_AIRFLOW_HOST": link.host_ip,
        "CHITIEU_AIRFLOW_BIND_HOST": link.host_ip,
        "CHITIEU_AIRFLOW_PORT": str(_free_port()),
        "CHITIEU_AIRFLOW_SECRET_KEY": uuid.uuid4().hex * 2,
        "CHITIEU_AIRFLOW_JWT_SECRET": uuid.uuid4().hex * 2,
        "CHITIEU_AIRFLOW_FERNET_KEY": "Z2V0LW9uZS10ZXN0LWZlcm5ldC1rZXktMzItYnl0ZXM=",
        "CHITIEU_AIRFLOW_TASK_HEARTBEAT_TIMEOUT_SECONDS": "20",
        "CHITIEU_REDIS_HOST": link.host_ip,
        "CHITIEU_REDIS_PORT": str(_free_port()),
        "CHITIEU_DEMO_SERVICES_HOST": link.host_ip,
        "CHITIEU_DEMO_WEBHOOK_PORT": str(webhook_port),
        "CHITIEU_PUBLISHER_BASE_URL": f"http://{link.host_ip}:{_free_port()}",
        "CHITIEU_ROUTES_FILE": str(routes),
        "CHITIEU_PIPELINE_RETRY_DELAY_SECONDS": "1",
        "CHITIEU_PIPELINE_WORKER_CONCURRENCY": "2",
        "CHITIEU_PIPELINE_TIMEOUT_SECONDS": "900",
    }
    saved = {k: os.environ.get(k) for k in (*values, "DATABASE_URL")}
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(values)
    get_settings.cache_clear()
    settings = Settings()
    cluster = local.Cluster(settings)
    try:
        ensure_redis(settings, print)
        yield values
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        get_settings.cache_clear()


def _templates(env: dict[str, str], say: Any) -> None:
    """Migrate the chitieu and Airflow databases once; each run gets copies (`chitieu_<run>`,
    `airflow_<run>`), so the second run does not pay for Airflow's migrations again."""
    from psycopg import sql

    from chitieu.pipeline import orchestrate

    settings = _settings(env, "tpl")
    orchestrate.prepare(settings, say)
    with psycopg.connect(settings.dsn("postgres"), autocommit=True) as admin:
        for tpl in ("chitieu_tpl", "airflow_tpl"):
            # TimescaleDB's background workers skip a database that refuses connections
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(tpl))
            )
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (tpl,))
        for run in ("local", "celery"):
            for kind in ("chitieu", "airflow"):
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(f"{kind}_{run}"), sql.Identifier(f"{kind}_tpl")
                    )
                )


def _settings(env: dict[str, str], run: str, **extra: str) -> Settings:
    """Settings of one run: its own chitieu and Airflow databases, data directory, AIRFLOW_HOME."""
    own = {
        "CHITIEU_LOCAL_PG_DATABASE": f"chitieu_{run}",
        "CHITIEU_AIRFLOW_DATABASE": f"airflow_{run}",
        "CHITIEU_DATA_DIR": str(Path(env["CHITIEU_LOCAL_DIR"]) / run / "data"),
        "AIRFLOW_HOME": str(Path(env["CHITIEU_LOCAL_DIR"]) / run / "airflow"),
        **extra,
    }
    os.environ.update(own)
    get_settings.cache_clear()
    return Settings()


def _start_ns_worker(link: Link, settings: Settings, env: dict[str, str]) -> processes.Managed:
    """An Airflow Celery worker inside the namespace: its own data directory and AIRFLOW_HOME; the
    database, Redis and the API reached at the link's host address."""
    from chitieu.pipeline.airflow_env import airflow_env, run_dir
    from chitieu.pipeline.orchestrate import _bin

    home = Path(env["CHITIEU_LOCAL_DIR"]) / "ns-host" / "airflow"
    data = Path(env["CHITIEU_LOCAL_DIR"]) / "ns-host" / "data"
    own = {"AIRFLOW_HOME": str(home), "CHITIEU_DATA_DIR": str(data), "CHITIEU_AIRFLOW_HOSTNAME": NS_WORKER}
    ns_settings = Settings(**{k.lower().removeprefix("chitieu_"): v for k, v in own.items()})  # type: ignore[arg-type]
    worker_env = {**airflow_env(ns_settings, executor="celery"), **own}
    cmd = [
        "ip", "netns", "exec", link.netns, _bin("airflow"), "celery", "worker",
        "--celery-hostname", NS_WORKER, "--queues", "default", "--concurrency", "2", "--skip-serve-logs",
    ]  # fmt: skip
    return processes.start(
        run_dir(settings), NS_WORKER, cmd, env=worker_env, log=home / "worker.log", cwd=PROJECT_ROOT
    )


def _hostnames(client: Any, states: dict[tuple[str, str], str]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for dag_id, run_id in states:
        for ti in client.task_instances(dag_id, run_id):
            if ti.get("hostname"):
                seen.setdefault(str(ti["hostname"]), set()).add(f"{dag_id}.{ti['task_id']}")
    return seen


def test_demo_on_celery_with_a_worker_in_another_namespace_equals_the_local_executor(
    link: Link, env: dict[str, str]
) -> None:
    from chitieu.pipeline import orchestrate
    from chitieu.pipeline.airflow_client import AirflowClient
    from chitieu.pipeline.airflow_env import api_url, write_passwords

    said: list[str] = []

    _templates(env, said.append)

    # 1. The reference: LocalExecutor (`pipeline run` without its preparation: the databases are
    # copies of the migrated templates).
    local_settings = _settings(env, "local")
    write_passwords(local_settings)
    orchestrate.place_samples(local_settings)
    started = orchestrate.start_services(local_settings, said.append, with_api=False, executor="local")
    client = AirflowClient(
        api_url(local_settings),
        local_settings.airflow_admin_user,
        local_settings.airflow_admin_password.get_secret_value(),
    )
    try:
        client.wait_healthy(timeout=300)
        report = orchestrate.drive_dags(client, local_settings, said.append)
    finally:
        client.close()
        orchestrate.stop_services(local_settings, started.names, said.append)
    assert not report.failures, (report.failures, said[-20:])
    reference = checksums(local_settings.dsn())

    # 2. The CeleryExecutor: worker-1 here (it also serves the inbox queue), one in the namespace.
    settings = _settings(env, "celery")
    write_passwords(settings)
    orchestrate.place_samples(settings)
    started = orchestrate.start_services(settings, said.append, with_api=False, executor="celery", workers=1)
    ns_worker = _start_ns_worker(link, settings, env)
    client = AirflowClient(
        api_url(settings), settings.airflow_admin_user, settings.airflow_admin_password.get_secret_value()
    )
    try:
        client.wait_healthy(timeout=300)
        assert link.host_ip in api_url(settings)
        report = orchestrate.drive_dags(client, settings, said.append)
        assert not report.failures, (report.failures, said[-20:])
        assert set(report.states.values()) == {"success"}, report.states
        hosts = _hostnames(client, report.states)
        assert NS_WORKER in hosts, hosts
        assert orchestrate.worker_name(1) in hosts, hosts
        # The namespace's worker loaded figures, and its only way to the database, Redis and the API
        # is the link (its namespace has nothing else but its own loopback).
        assert any(".ingest" in t for t in hosts[NS_WORKER]), hosts[NS_WORKER]
        addrs = subprocess.run(
            ["ip", "netns", "exec", link.netns, "ip", "-o", "-4", "addr"], capture_output=True, text=True
        ).stdout
        assert sorted(line.split()[3] for line in addrs.splitlines()) == sorted(
            ["127.0.0.1/8", f"{link.peer_ip}/30"]
        )
        assert checksums(settings.dsn()) == reference

        # 3. A worker killed in the middle of a load: the retry runs on the other worker, and every
        # figure of the file is loaded once.
        _kill_mid_load(client, settings, ns_worker, link)
    finally:
        client.close()
        processes.stop(orchestrate.run_dir(settings), NS_WORKER)
        orchestrate.stop_services(settings, started.names, said.append)


def _kill_mid_load(client: Any, settings: Settings, ns_worker: processes.Managed, link: Link) -> None:
    """A new revision of the test source is loaded while this test holds the indicator's lock, so
    the load waits inside its transaction (batch row written, figures staged); the worker running it
    is killed (its main process only), the lock released, and the retry must run on the other
    worker and load it once."""
    from chitieu.pipeline.airflow_env import run_dir
    from chitieu.pipeline.orchestrate import worker_name

    path = Path(settings.sources_dir).parent / "figures.csv"
    rows = _write_figures(path, 1)
    dag_id = f"ingest_{KILL_SPEC}"
    with psycopg.connect(settings.dsn(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"chitieu-figures:{INDICATOR}",))
        run_id = client.trigger(dag_id)
        victim = _wait_for_blocked_load(client, settings, dag_id, run_id)
        survivor = worker_name(1) if victim == NS_WORKER else NS_WORKER
        main = ns_worker if victim == NS_WORKER else processes.running(run_dir(settings), "worker-1")
        assert main is not None
        # Only the worker's main process is killed (SIGKILL: no chance to clean up); every process
        # it forked must go with it, or a lost task would keep running beside its retry.
        tree = _worker_processes(main.pid, link.netns if victim == NS_WORKER else None)
        print(f"processes of {victim} at the kill:\n{_describe(tree)}")
        # at least the main process, its two pool processes (one supervising the task) and the task
        # runner, which sits in a process group of its own
        assert len(tree) >= 4, _describe(tree)
        assert any(p.pgid != main.pid for p in tree), _describe(tree)
        os.kill(main.pid, signal.SIGKILL)
        left = _survivors(tree, main.pid, link.netns if victim == NS_WORKER else None)
        assert not left, f"still running 10 s after {victim}'s main process was killed:\n{_describe(left)}"
        holder.execute("SELECT pg_advisory_unlock_all()")
    deadline = time.monotonic() + 300
    while client.run(dag_id, run_id)["state"] not in ("success", "failed"):
        assert time.monotonic() < deadline, "the retry never finished"
        time.sleep(3)
    [ingest] = [ti for ti in client.task_instances(dag_id, run_id) if ti["task_id"] == "ingest"]
    assert ingest["state"] == "success"
    assert ingest["try_number"] >= 2, ingest
    assert ingest["hostname"] == survivor, ingest
    with psycopg.connect(settings.dsn()) as conn:
        batches = conn.execute(
            """SELECT status, rows_loaded + coalesce((summary->>'superseded')::int, 0) FROM load_batches
               WHERE source_id = %s AND file_sha256 = encode(sha256(%s), 'hex')""",
            (KILL_SPEC, path.read_bytes()),
        ).fetchall()
        kept = conn.execute(
            """SELECT (SELECT count(*) FROM observations WHERE batch_id = b.id)
                      + (SELECT count(*) FROM observations_superseded WHERE batch_id = b.id)
               FROM load_batches b WHERE b.source_id = %s AND b.status = 'loaded'
                 AND b.file_sha256 = encode(sha256(%s), 'hex')""",
            (KILL_SPEC, path.read_bytes()),
        ).fetchall()
    assert batches == [("loaded", rows)]  # the killed attempt left nothing, not even its batch row
    assert kept == [(rows,)]


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    sid: int
    ticks: int  # start time: tells the process from a later one with the same pid
    cmdline: str


def _proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces and parentheses
    if fields[0] in ("Z", "X"):
        return None
    return Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]), cmdline.strip())


def _all_processes() -> list[Proc]:
    found = (_proc(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit())
    return [p for p in found if p is not None]


def _worker_processes(main: int, netns: str | None) -> list[Proc]:
    """Every live process of one worker: its main process and its descendants, anything still in
    the session it was started in (an orphan keeps its session), and for the namespace's worker
    everything in that namespace."""
    everything = _all_processes()
    mine = {p.pid: p for p in everything if p.pid == main or p.sid == main}
    children: dict[int, list[Proc]] = {}
    for p in everything:
        children.setdefault(p.ppid, []).append(p)
    stack = [main]
    while stack:
        for child in children.get(stack.pop(), []):
            mine[child.pid] = child
            stack.append(child.pid)
    if netns is not None:
        mine.update({p.pid: p for p in map(_proc, _netns_pids(netns)) if p is not None})
    return sorted(mine.values(), key=lambda p: p.pid)


def _survivors(tree: list[Proc], main: int, netns: str | None, wait: float = 10.0) -> list[Proc]:
    """What is left of a killed worker after `wait`: the processes of `tree` still alive (same pid
    and start time) and whatever else still belongs to the worker."""
    deadline = time.monotonic() + wait
    while True:
        alive = {p.pid: p for p in tree if (now := _proc(p.pid)) is not None and now.ticks == p.ticks}
        alive.update({p.pid: p for p in _worker_processes(main, netns)})
        if not alive or time.monotonic() > deadline:
            return sorted(alive.values(), key=lambda p: p.pid)
        time.sleep(0.2)


def _describe(procs: list[Proc]) -> str:
    rows = [f"{'pid':>7} {'ppid':>7} {'pgid':>7} {'sid':>7}  cmdline"]
    rows += [f"{p.pid:>7} {p.ppid:>7} {p.pgid:>7} {p.sid:>7}  {p.cmdline[:160]}" for p in procs]
    return "\n".join(rows)


def _wait_for_blocked_load(client: Any, settings: Settings, dag_id: str, run_id: str) -> str:
    """The host name of the worker whose load is waiting for the indicator lock this test holds."""
    deadline = time.monotonic() + 240
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock'
                     AND wait_event = 'advisory'"""
            ).fetchone()
            if waiting and waiting[0]:
                for ti in client.task_instances(dag_id, run_id):
                    if ti["task_id"] == "ingest" and ti.get("state") == "running" and ti.get("hostname"):
                        return str(ti["hostname"])
            time.sleep(0.2)
    pytest.fail("the load never reached the indicator lock")
