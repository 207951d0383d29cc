"""`GET /api/v1/statuses` under load: wrk on loopback against a real uvicorn server (2 workers) on the
1M-observation benchmark set. p50 / p99 latency and requests/s at 64 connections; goal > 1,000 req/s
on 2 cores with p99 < 50 ms from the response cache and for 304s, < 100 ms when every request queries
the database. The page query alone, timed on one connection, gives the database's part of that cost.

The set (`benchmarks.dataset`) lives in its own database, kept between runs; it is evaluated with the
real engine and the latest-status table refreshed, as the pipeline does. The server is a real
`uvicorn chitieu.api.main:create_app --factory --workers 2` (uvloop and httptools, which uvicorn picks
when installed; no access log, unlike `chitieu serve`) called with a viewer key; only the per-key rate
limit is raised so that wrk is not refused (the limiter still counts every request). wrk, both workers
and PostgreSQL share the machine's cores.

Variants: (a) the first page with the response cache on (the default), (b) the same with
CHITIEU_API_CACHE=false, so every request queries the database, (c) uncached, a page deep in the result
(the cursor reached by following `next` through DEEP_ROWS rows) and a filtered query (one plan, one status),
(d) cached, `If-None-Match` with the first page's ETag (304s). A wrk Lua script counts the status of
every response; a goal counts as met only if every response had the expected status (200, or 304
for (d)) and no request timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

DATABASE = "chitieu_bench_api"
ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
THREADS = 2
CONNECTIONS = 64
DURATION = os.environ.get("BENCH_API_DURATION", "20s")
WARMUP = os.environ.get("BENCH_API_WARMUP", "5s")
# wrk's default of 2 s would leave the slowest answers out of the percentiles.
TIMEOUT = os.environ.get("BENCH_API_TIMEOUT", "10s")
DEEP_ROWS = int(os.environ.get("BENCH_API_DEEP_ROWS", "50000"))
# Far above what wrk can send, so that no request is refused; the limiter still runs for each one.
RATE_LIMIT = "100000000/minute"
GOAL_P99_MS = 50.0  # answers from the response cache, and 304s
GOAL_UNCACHED_P99_MS = 100.0  # every request queries the database
GOAL_RPS = 1000.0
PATH = "/api/v1/statuses"

# Counts the status of every response per wrk thread and prints one JSON line with exact percentiles.
_LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do codes[code] = (codes[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(codes) do table.insert(parts, string.format('"%d": %d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, "p50_us": %.0f, "p90_us": %.0f, '
      .. '"p99_us": %.0f, "max_us": %.0f, "mean_us": %.1f, "errors": {"connect": %.0f, "read": %.0f, '
      .. '"write": %.0f, "status": %.0f, "timeout": %.0f}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", ")))
end
"""


class BenchError(RuntimeError):
    pass


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian (apt-get) on a machine that lacks it."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None or not shutil.which("apt-get"):
        raise BenchError(
            "wrk is not installed and cannot be installed here (needs apt-get as root or passwordless sudo): "
            "install it with `apt-get install wrk`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, text=True).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run([*sudo, "apt-get", "update"], env=env, capture_output=True, text=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"could not install wrk with apt-get: {done.stderr.strip()[-500:]}")
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(dsn_name: str) -> tuple[str, list[str]]:
    """The migrated, evaluated and refreshed benchmark database: (its DSN, report lines)."""
    from benchmarks import dataset

    dsn, lines = dataset.evaluated_database(dsn_name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Statistics of the table just rewritten: without them the first page's plan may sort the
        # whole table (autovacuum gets there, at a time of its choosing).
        conn.execute("ANALYZE dash_evaluations_latest")
        latest = conn.execute("SELECT count(*) FROM dash_evaluations_latest").fetchone()
        lines.append(f"latest-status table: {latest[0] if latest else 0:,} rows")
    return dsn, lines


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def serve(dsn: str, *, cache: bool, logdir: Path) -> Iterator[Server]:
    """A real uvicorn with WORKERS worker processes on 127.0.0.1; always stopped on the way out."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "CHITIEU_API_RATE_LIMIT": RATE_LIMIT,
        "CHITIEU_API_CACHE": "true" if cache else "false",
        "CHITIEU_API_PUBLIC_READ": "false",
    }
    log = logdir / f"uvicorn-{'cached' if cache else 'uncached'}.log"
    cmd = [
        sys.executable, "-m", "uvicorn", "chitieu.api.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with log.open("wb") as out:
        # Its own session, so that the supervisor and its workers are stopped together.
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_ready(server: Server, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"uvicorn exited ({server.proc.returncode}): {server.log.read_text()[-2000:]}")
        try:
            answer = httpx.get(server.base + "/readyz", timeout=2)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise BenchError(f"API not ready within {timeout:.0f} s ({last}): {server.log.read_text()[-2000:]}")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_worker(pid: int) -> bool:
    """A uvicorn worker: a process started by multiprocessing's spawn (not its resource tracker)."""
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"spawn_main" in command and b"resource_tracker" not in command
    return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@dataclass
class CpuMeter:
    """CPU time used during a run by each part of the machine the request crosses: the uvicorn
    supervisor and workers, the database's backends for this database, and wrk (a child process we
    wait for). Read from /proc, so it does not depend on what else the machine is running."""

    server: Server
    dsn: str

    def _backends(self) -> list[int]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(
                """SELECT pid FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            ).fetchall()
        return [r[0] for r in rows]

    def sample(self) -> dict[str, dict[int, float]]:
        python = [self.server.proc.pid, *_children(self.server.proc.pid)]
        return {
            "python": {p: _cpu_seconds(p) for p in python},
            "postgresql": {p: _cpu_seconds(p) for p in self._backends()},
        }

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {
            part: sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items()) for part in after
        }


def wrk(binary: str, script: Path, url: str, headers: dict[str, str], duration: str) -> dict[str, Any]:
    cmd = [binary, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}", f"--timeout={TIMEOUT}", "--latency"]
    cmd += ["-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*cmd, url], capture_output=True, text=True, check=False)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = [ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")]
    if done.returncode != 0 or not found:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-500:]}")
    result: dict[str, Any] = json.loads(found[-1].removeprefix("WRK_JSON "))
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["bytes_per_request"] = result["bytes"] / max(result["requests"], 1)
    result["cpu_wrk"] = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    return result


def _line(label: str, r: dict[str, Any], expect: int, goal_p99_ms: float = GOAL_P99_MS) -> str:
    """One report line; the goal counts as met only if every response had the expected status."""
    p99 = r["p99_us"] / 1000
    wrong = {code: n for code, n in r["statuses"].items() if code != expect}
    errors = {k: v for k, v in r["errors"].items() if v and k != "status"}
    ok = p99 < goal_p99_ms and r["rps"] > GOAL_RPS and not wrong and not errors
    answers = f"all {expect}" if not wrong else f"statuses {r['statuses']}"
    if errors:
        answers += f", socket errors {errors} (timeouts are not in the percentiles)"
    return (
        f"{label}: p50 {r['p50_us'] / 1000:.1f} ms, p90 {r['p90_us'] / 1000:.1f} ms, p99 {p99:.1f} ms, "
        f"max {r['max_us'] / 1000:.0f} ms, {r['rps']:,.0f} req/s ({r['requests']:,} requests, "
        f"{r['bytes_per_request'] / 1024:.1f} KiB each, {answers}) -> goal {'met' if ok else 'NOT met'}"
    )


def _deep_cursor(base: str, token: str, rows: int) -> tuple[str, int]:
    """The cursor reached by following `next` until `rows` rows were served, and how many were.

    Pages of 1,000 get there in fewer requests; the cursor holds only the last key, so the measured
    request asks for the default page size from it."""
    path = f"{PATH}?limit=1000"
    served = 0
    cursor = ""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while served < rows:
            answer = client.get(path)
            answer.raise_for_status()
            body = answer.json()
            if body["next"] is None:
                break
            served += len(body["items"])
            cursor, path = body["next_cursor"], body["next"]
    return cursor, served


def _filter(dsn: str) -> str:
    """A selective but sizeable filter: the plan with the most rows, and its most frequent status."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            """SELECT plan_id, status, count(*) FROM dash_evaluations_latest
               WHERE plan_id = (SELECT plan_id FROM dash_evaluations_latest
                                GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
               GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"""
        ).fetchone()
    assert row is not None, "the benchmark set has no statuses"
    return f"plan={row[0]}&status={row[1]}"


def _query_alone(dsn: str, filtered: str, runs: int = 200) -> str:
    """The split: what one page's query costs PostgreSQL alone (sequential, one connection, prepared),
    against which the uncached throughput can be read."""
    from chitieu.api import queries

    params = dict(part.split("=", 1) for part in filtered.split("&"))

    async def timed(**filters: Any) -> float:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            args: dict[str, Any] = {
                "run_id": None, "plan": None, "jurisdiction_ids": None, "indicator": None,
                "statuses": None, "after": None, "limit": 100, **filters,
            }  # fmt: skip
            for _ in range(20):  # prepared, and PostgreSQL settled on its plan
                await queries.statuses(conn, **args)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await queries.statuses(conn, **args)
                times.append(time.perf_counter() - started)
        return sorted(times)[len(times) // 2] * 1000

    first = asyncio.run(timed())
    narrowed = asyncio.run(timed(plan=params["plan"], statuses=[params["status"]]))
    return (
        f"the page query alone (median of {runs}, one connection, round trip included): first page "
        f"{first:.1f} ms, filtered {narrowed:.1f} ms"
    )


_SPLIT_LABELS = {
    "a": "(a) cached",
    "b": "(b) uncached",
    "c_deep": "(c) deep",
    "c_filter": "(c) filtered",
    "d": "(d) 304",
}


def _split(label: str, r: dict[str, Any]) -> str:
    """Which part of the machine a request costs: CPU milliseconds per request of each, and the rate
    the machine's cores would allow if nothing else ran on them (the load generator included)."""
    per = {part: 1000 * seconds / max(r["requests"], 1) for part, seconds in r["cpu"].items()}
    ceiling = 1000 * (os.cpu_count() or 1) / max(sum(per.values()), 1e-9)
    parts = ", ".join(f"{part} {ms:.2f}" for part, ms in per.items())
    busy = " / ".join(f"{share:.0%}" for share in r["worker_busy"])
    return (
        f"CPU per request, {label}: {parts} ms -> at most {ceiling:,.0f} req/s on {os.cpu_count()} idle"
        f" cores; each worker busy {busy} of the run"
    )


def _load() -> str:
    """Other work on the machine skews the figures: the load average goes in the report."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run() -> list[str]:
    sys.path.insert(0, str(ROOT))
    import httptools
    import uvloop

    from chitieu.api.keys import create_key, revoke_key

    binary = ensure_wrk()
    load_before = _load()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    dsn, lines = _prepare(DATABASE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        token, key = create_key(conn, role="viewer", name="bench-api")
    auth = {"Authorization": f"Bearer {token}"}
    lines.append(
        f"{version.split(' Copyright')[0]} -t{THREADS} -c{CONNECTIONS} -d{DURATION} "
        f"(after a {WARMUP} warm-up) against uvicorn --workers {WORKERS} "
        f"(uvloop {uvloop.__version__}, httptools {httptools.__version__}) "
        f"on 127.0.0.1, {os.cpu_count()} CPU(s) shared with wrk and PostgreSQL"
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
            logdir = Path(tmp)
            script = logdir / "count.lua"
            script.write_text(_LUA)

            def measure(name: str, server: Server, query: str, headers: dict[str, str]) -> None:
                url = f"{server.base}{PATH}" + (f"?{query}" if query else "")
                wrk(binary, script, url, headers, WARMUP)  # fills pools, caches, the OS's buffers
                meter = CpuMeter(server, dsn)
                before = meter.sample()
                results[name] = wrk(binary, script, url, headers, DURATION)
                after = meter.sample()
                results[name]["cpu"] = {**meter.spent(before, after), "wrk": results[name]["cpu_wrk"]}
                # How busy each uvicorn worker was: connections are not spread evenly between them.
                seconds = results[name]["duration_us"] / 1e6
                results[name]["worker_busy"] = sorted(
                    (after["python"][pid] - before["python"].get(pid, 0.0)) / seconds
                    for pid in after["python"]
                    if _is_worker(pid)
                )

            with serve(dsn, cache=True, logdir=logdir) as server:
                first = httpx.get(server.base + PATH, headers=auth, timeout=30)
                first.raise_for_status()
                etag = first.headers["etag"]
                items = len(first.json()["items"])
                cursor, deep_rows = _deep_cursor(server.base, token, DEEP_ROWS)
                measure("a", server, "", auth)
                measure("d", server, "", {**auth, "If-None-Match": etag})
            filtered = _filter(dsn)
            with serve(dsn, cache=False, logdir=logdir) as server:
                measure("b", server, "", auth)
                measure("c_deep", server, f"cursor={cursor}", auth)
                measure("c_filter", server, filtered, auth)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            revoke_key(conn, str(key["id"]))
    uncached = GOAL_UNCACHED_P99_MS
    lines += [
        _line(f"(a) first page ({items} rows), response cache on (default)", results["a"], 200),
        _line(
            "(b) first page, CHITIEU_API_CACHE=false: every request queries the database",
            results["b"],
            200,
            uncached,
        ),
        _line(
            f"(c) CHITIEU_API_CACHE=false, page after {deep_rows:,} rows (keyset cursor)",
            results["c_deep"],
            200,
            uncached,
        ),
        _line(f"(c) CHITIEU_API_CACHE=false, filtered ?{filtered}", results["c_filter"], 200, uncached),
        _query_alone(dsn, filtered),
        _line("(d) first page with If-None-Match of its ETag, cache on (304)", results["d"], 304),
        *(_split(label, results[name]) for name, label in _SPLIT_LABELS.items()),
        f"load average (1, 5, 15 min) before: {load_before}, after: {_load()}",
        f"goal: > {GOAL_RPS:,.0f} req/s at {CONNECTIONS} connections with p99 < {GOAL_P99_MS:.0f} ms "
        f"from the cache and for 304s, < {uncached:.0f} ms uncached",
    ]
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
