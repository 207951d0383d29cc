"""Ingestion benchmark: a generated 1,000,000-row long CSV loaded four ways into one server.

(a) our full path (sniff, parse, normalize, validate with pandera, the plausibility guard, COPY to
    staging, set-based insert of vintages), run in a child process so its peak RSS can be measured;
(b) pandas DataFrame.to_sql(method="multi", chunksize=10_000) into the same observations table — slow,
    so timed on a 100,000-row slice and extrapolated (said so in the output);
(c) a bare COPY of the CSV into an unlogged, unindexed table of text columns: the machine's limit;
(d) a COPY of the rows (a) stored into a hypertable with the logging, chunking and indexes of
    `observations`: the floor for durable, indexed storage, which (a) is held to (a/d).
Then the same file again through (a): a re-load, which must be a skip.

Everything happens in a dedicated database created (and migrated) here and dropped at the end.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROWS = int(os.environ.get("BENCH_INGEST_ROWS", "1000000"))
SLICE_B = min(ROWS, 100_000)
GOALS = {"a/b": 10.0, "a/d": 0.6, "rss_mib": 600.0, "reload_s": 1.0}


def _series_base(rng: random.Random, value_type: str, lo: float | None, hi: float | None) -> float:
    """One level per (indicator, province): the months of a series stay near it, as real series do,
    so the plausibility guard (a figure ten times its series' median) holds nothing back."""
    if value_type == "index_0_1":
        return rng.uniform(0.4, 0.75)
    top = hi if hi is not None and hi < 1e6 else 1000.0
    low = lo if lo is not None else 0.0
    if value_type != "count":
        top = min(top, low + 100.0)
    return rng.uniform(low + (top - low) * 0.3, low + (top - low) * 0.7)


def _value_text(rng: random.Random, value_type: str, base: float) -> str:
    if value_type == "rank":
        return str(rng.randint(1, 63))
    x = base * rng.uniform(0.85, 1.15)
    if value_type == "index_0_1":
        return f"{x:.4f}"  # decimal point, as DTI prints it
    text = f"{x:.2f}"
    return text.replace(".", ",") if rng.random() < 0.5 else text  # decimal comma and point mixed


def generate_csv(path: Path, rows: int, seed: int = 57) -> int:
    """Long layout, semicolon-separated, Vietnamese headers; unique (province, indicator, month)."""
    from chitieu.catalog.indicators import load_indicators
    from chitieu.catalog.jurisdictions import load_jurisdictions

    rng = random.Random(seed)
    provinces = sorted(load_jurisdictions().provinces_on(date(2024, 1, 1)), key=lambda j: j.code)
    indicators = sorted(load_indicators(), key=lambda i: i.code)
    months = [f"{m:02d}/{y}" for y in range(1990, 2025) for m in range(1, 13)]
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("BÁO CÁO SỐ LIỆU CHỈ TIÊU (sinh tự động cho benchmark)\n\n")
        fh.write("Mã tỉnh;Tỉnh/Thành phố;Mã chỉ tiêu;Kỳ;Giá trị;Trạng thái\n")
        for ind in indicators:
            bases = {
                j.code: _series_base(rng, ind.value_type, ind.min_value, ind.max_value) for j in provinces
            }
            for month in months:
                for j in provinces:
                    if written >= rows:
                        return written
                    status = "ước tính" if month.endswith("2024") and rng.random() < 0.3 else "chính thức"
                    value = _value_text(rng, ind.value_type, bases[j.code])
                    fh.write(f"{j.code};{j.name};{ind.code};{month};{value};{status}\n")
                    written += 1
    return written


CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from benchmarks import own_peak_rss_kib
from pathlib import Path
from chitieu.db.connect import connect
from chitieu.ingest.intake import ingest_file
t1 = time.perf_counter()
marks = {}
def progress(stage, done, total):
    now = time.perf_counter() - t1
    marks.setdefault(stage, now)
    marks[stage + "_end"] = now
with connect(autocommit=True) as conn:
    r = ingest_file(conn, Path(sys.argv[1]), progress=progress)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "ingest_s": t2 - t1, "marks": marks, "status": r.status,
                  "loaded": r.rows_loaded,
                  "rejected": r.rows_rejected, "read": r.rows_read, "error": r.summary()["error"],
                  "maxrss_kib": own_peak_rss_kib()}))
"""


def _run_child(csv_path: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(csv_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],  # where `benchmarks` is importable
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ingest child failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _bench_to_sql(dsn: str, csv_path: Path) -> float:
    """(b): read a slice, map to observation columns with plain pandas, to_sql(method='multi')."""
    import pandas as pd
    from sqlalchemy import create_engine

    from chitieu.catalog.jurisdictions import load_jurisdictions

    frame = pd.read_csv(csv_path, sep=";", skiprows=2, nrows=SLICE_B, dtype=str)
    by_code = {j.code: j.id for j in load_jurisdictions().provinces_on(date(2024, 1, 1))}
    t0 = time.perf_counter()
    month = frame["Kỳ"].str.split("/", expand=True)
    out = pd.DataFrame(
        {
            "jurisdiction_id": frame["Mã tỉnh"].map(by_code),
            "indicator_code": frame["Mã chỉ tiêu"],
            "period_start": pd.to_datetime(month[1] + "-" + month[0] + "-01").dt.date,
            "period_type": "M",
            "value": pd.to_numeric(frame["Giá trị"].str.replace(",", ".", regex=False)),
            "status": frame["Trạng thái"].map(lambda s: "provisional" if "ước" in s else "final"),
        }
    )
    # 10,000 rows x 8 columns would pass PostgreSQL's 65,535 bind-parameter limit: the two constant
    # provenance columns come from defaults set on this benchmark database instead.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE observations ALTER COLUMN source_id SET DEFAULT 'bench-to-sql', "
            "ALTER COLUMN fetched_at SET DEFAULT now()"
        )
    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    try:
        out.to_sql("observations", engine, if_exists="append", index=False, method="multi", chunksize=10_000)
    except Exception as exc:
        raise RuntimeError(f"to_sql failed: {str(exc)[:300]}") from None
    finally:
        engine.dispose()
    return time.perf_counter() - t0


def _bench_copy(dsn: str, csv_path: Path) -> float:
    """(c): COPY the file as it is into an unlogged table without indexes."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE UNLOGGED TABLE bench_raw (code text, name text, indicator text, period text, value text, "
            "status text)"
        )
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_raw FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true)") as copy,
            csv_path.open("rb") as fh,
        ):
            fh.readline()
            fh.readline()  # the title and blank line above the header
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        return time.perf_counter() - t0


FLOOR_TABLE = "bench_floor"


def _bench_floor(dsn: str, dump: Path, rows: int) -> float:
    """(d): COPY the rows (a) stored, as they are, into a hypertable like `observations`: WAL-logged,
    the same chunking and the same indexes. The floor for durable, indexed storage of these rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # a hypertable's own COPY TO reads only its (empty) root table: the rows are in its chunks
        with (
            conn.cursor() as cur,
            dump.open("wb") as fh,
            cur.copy("COPY (SELECT * FROM observations) TO STDOUT") as copy,
        ):
            for block in copy:
                fh.write(block)
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE observations INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                sql.Identifier(FLOOR_TABLE)
            )
        )
        interval = conn.execute(
            "SELECT time_interval FROM timescaledb_information.dimensions "
            "WHERE hypertable_name = 'observations'"
        ).fetchone()
        conn.execute(
            "SELECT create_hypertable(%s::regclass, 'period_start', chunk_time_interval => %s)",
            (FLOOR_TABLE, interval[0] if interval else "5 years"),
        )
        # every index of observations but the time index create_hypertable has just made
        defs = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'observations' "
            "AND indexname <> 'observations_period_start_idx'"
        ).fetchall()
        for (indexdef,) in defs:
            head, _, tail = indexdef.partition(" ON public.observations ")
            conn.execute(head.rsplit(" ", 1)[0] + f" ON public.{FLOOR_TABLE} " + tail)
        conn.execute("SET synchronous_commit = off")  # as (a) commits its big loads
        t0 = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(FLOOR_TABLE))) as copy,
            dump.open("rb") as fh,
        ):
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - t0
        stored = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(FLOOR_TABLE))
        ).fetchone()
        if not stored or stored[0] != rows:
            raise RuntimeError(f"(d) stored {stored} rows, not the {rows:,} of (a)")
        return elapsed


def run() -> list[str]:
    from chitieu.db import migrate
    from chitieu.settings import get_settings

    settings = get_settings()
    name = f"chitieu_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = settings.dsn("postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = settings.dsn(name)
    lines: list[str] = []
    try:
        with psycopg.connect(dsn) as conn:
            migrate.migrate(conn)
        with tempfile.TemporaryDirectory(prefix="chitieu-bench-") as tmp:
            csv_path = Path(tmp) / "long-1m.csv"
            t0 = time.perf_counter()
            rows = generate_csv(csv_path, ROWS)
            gen_s = time.perf_counter() - t0
            size_mib = csv_path.stat().st_size / 2**20
            env = {**os.environ, "DATABASE_URL": dsn, "CHITIEU_DATA_DIR": str(Path(tmp) / "data")}

            a = _run_child(csv_path, env)
            # The child's own peak (VmHWM): RUSAGE_CHILDREN would be the largest of every child this
            # process ever waited for, and even the child's ru_maxrss starts from this process's peak.
            rss_mib = a["maxrss_kib"] / 1024
            if a["status"] != "loaded" or a["loaded"] != rows:
                raise RuntimeError(f"full path did not load every row: {a}")
            reload = _run_child(csv_path, env)
            c_s = _bench_copy(dsn, csv_path)
            d_s = _bench_floor(dsn, Path(tmp) / "observations.copy", rows)
            b_s = _bench_to_sql(dsn, csv_path)

        a_rate = rows / a["ingest_s"]
        b_rate = SLICE_B / b_s
        c_rate = rows / c_s
        d_rate = rows / d_s
        marks = a["marks"]
        python_s = marks.get("copy", a["ingest_s"])  # archive, parse, normalize, validate, first COPY chunk
        copy_s = marks.get("upsert", python_s) - python_s  # the rest of the COPY into the staging table
        insert_s = marks.get("upsert_end", a["ingest_s"]) - marks.get("upsert", python_s)  # INSERT … SELECT
        lines += [
            f"ingest: {rows:,} rows, long CSV of {size_mib:.0f} MiB (generated in {gen_s:.1f} s)",
            f"  (a) full path      {a['ingest_s']:7.2f} s  {a_rate:12,.0f} rows/s  "
            f"(parse, normalize, pandera, guard, COPY, vintage insert; +{a['import_s']:.1f} s imports)",
            f"  (b) pandas to_sql  {b_s:7.2f} s  {b_rate:12,.0f} rows/s  "
            f"(method='multi', chunksize=10_000; timed on {SLICE_B:,} rows, extrapolated: "
            f"{rows / b_rate:,.0f} s for {rows:,})",
            f"  (c) bare COPY      {c_s:7.2f} s  {c_rate:12,.0f} rows/s  (unlogged, unindexed, text columns)",
            f"  (d) COPY floor     {d_s:7.2f} s  {d_rate:12,.0f} rows/s  "
            f"(the stored rows into a logged hypertable with the indexes of observations)",
            f"  a/b = {a_rate / b_rate:6.1f}   (goal >= {GOALS['a/b']:g})",
            f"  a/c = {a_rate / c_rate:6.2f}   (the machine's limit; no goal: (c) keeps nothing durable)",
            f"  a/d = {a_rate / d_rate:6.2f}   (goal >= {GOALS['a/d']:g})",
            f"  peak RSS of (a) = {rss_mib:,.0f} MiB   (goal < {GOALS['rss_mib']:,.0f} MiB)",
            f"  re-load (skip)  = {reload['ingest_s']:.2f} s, status {reload['status']}   "
            f"(goal < {GOALS['reload_s']:g} s)",
            f"  (a) split: {python_s:.1f} s archiving, reading, normalizing and validating in Python "
            f"(parse {marks.get('normalize', 0):.1f} s, normalize "
            f"{marks.get('validate', 0) - marks.get('normalize', 0):.1f} s, validate "
            f"{python_s - marks.get('validate', 0):.1f} s), {copy_s:.1f} s COPY to staging, "
            f"{insert_s:.1f} s insert into the hypertable",
            f"  a/c is bounded by the server: (a) writes a WAL-logged hypertable with a unique and two "
            f"secondary indexes ({rows / max(insert_s, 1e-9):,.0f} rows/s for that step alone), "
            f"(c) an unlogged heap without indexes",
        ]
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
