"""`chitieu evaluate` on the generated set (3,321 communes × 30 indicators × 10 years ≈ 1M observations)
against a straightforward per-series pandas loop doing the same computation.

- The engine is timed end to end (read of every vintage, method, flags, inputs JSON, COPY of the
  results) in a child process, so that its peak RSS (that process's own, VmHWM) and CPU time are
  its own; then a re-run on unchanged data.
- The loop reads the same observations, splits them per series with one groupby (a generous
  start), and for each target resolves vintages and as-of in pandas, builds the contract case, calls
  the reference `chitieu.assess.assess`, and formats the inputs JSON. It is timed on a seeded sample
  of LOOP_SAMPLE targets and extrapolated linearly to all; it writes nothing and skips every-year
  checks, so the ratio is a lower bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

LOOP_SAMPLE = int(os.environ.get("BENCH_EVALUATE_LOOP_SAMPLE", "3000"))
DATABASE = "chitieu_bench_evaluate"
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def _child(dsn: str) -> None:
    """Run in a fresh interpreter: evaluate twice, print timings and peak RSS as JSON."""
    import psycopg

    from benchmarks import own_peak_rss_kib
    from chitieu.evaluate.engine import evaluate

    with psycopg.connect(dsn, autocommit=True) as conn:
        t, cpu = time.perf_counter(), time.process_time()
        first = evaluate(conn, AS_OF)
        first_s, first_cpu = time.perf_counter() - t, time.process_time() - cpu
        t = time.perf_counter()
        second = evaluate(conn, AS_OF)
        second_s = time.perf_counter() - t
    print(
        json.dumps(
            {
                "seconds": first_s,
                "cpu_seconds": first_cpu,
                "rerun_seconds": second_s,
                "rerun_reused": second.reused,
                "phases": first.phases,
                "targets": first.targets_count,
                "results": first.results_count,
                "status_counts": first.status_counts,
                "peak_rss_mb": own_peak_rss_kib() / 1024,
            }
        )
    )


def _loop(dsn: str) -> dict[str, float]:
    import numpy as np
    import psycopg

    from chitieu.assess import assess
    from chitieu.evaluate import load

    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        targets = load.targets(conn)
        codes = sorted(set(targets["indicator_code"]))
        raw = load.raw_yearly_observations(conn, AS_OF, codes)
        read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    groups = dict(tuple(raw.groupby(["jurisdiction_id", "indicator_code"])))  # type: ignore[arg-type]
    split_s = time.perf_counter() - t1
    sample = targets.sample(n=min(LOOP_SAMPLE, len(targets)), random_state=57)
    year_now = AS_OF.year
    t2 = time.perf_counter()
    out = []
    for t in sample.itertuples(index=False):
        g = groups.get((t.jurisdiction_id, t.indicator_code))
        observations = []
        if g is not None:
            g = g[g["year"] <= year_now].sort_values(["year", "loaded"])
            g = g.drop_duplicates("year", keep="last")
            observations = [
                {"year": int(y), "value": float(v)} for y, v in zip(g["year"], g["value"], strict=True)
            ]
        has_base = not np.isnan(t.baseline_year)
        case = {
            "target": {
                "kind": t.kind,
                "operator": t.operator,
                "value": float(t.value),
                "value_max": None if np.isnan(t.value_max) else float(t.value_max),
                "target_year": int(t.target_year),
            },
            "baseline": {"year": int(t.baseline_year), "value": float(t.baseline_value)}
            if has_base
            else None,
            "observations": observations,
            "as_of_year": year_now,
        }
        result = assess(case)
        inputs = json.dumps({"observations": [[o["year"], o["value"]] for o in observations], "case": case})
        out.append((t.id, result, inputs))
    per_series = (time.perf_counter() - t2) / len(sample)
    return {
        "read_s": read_s,
        "split_s": split_s,
        "per_series_ms": per_series * 1000,
        "sample": len(sample),
        "total_s": read_s + split_s + per_series * len(targets),
    }


def run() -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.dataset import build_dataset, fresh_database

    t = time.perf_counter()
    dsn = fresh_database(DATABASE)
    built = build_dataset(dsn)
    build_s = time.perf_counter() - t
    child = subprocess.run(
        [sys.executable, "-c", f"from benchmarks.bench_evaluate import _child; _child({dsn!r})"],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    engine = json.loads(child.stdout.strip().splitlines()[-1])
    loop = _loop(dsn)
    ratio = loop["total_s"] / engine["seconds"]
    cores = os.cpu_count()
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in engine["phases"].items())
    return [
        f"data set: {built['communes']} communes × {built['indicators']} indicators = "
        f"{built['targets']} targets, {built['observations']} observations (built in {build_s:.1f} s)",
        f"engine `evaluate()` end to end: {engine['seconds']:.1f} s ({phases}) for {engine['results']} "
        f"results ({engine['targets']} targets), {engine['cpu_seconds']:.1f} s CPU in the engine's process "
        f"(PostgreSQL's not included), peak RSS {engine['peak_rss_mb']:.0f} MB, {cores} CPU(s)",
        f"re-run on unchanged data: {engine['rerun_seconds']:.1f} s, "
        f"recorded nothing new: {engine['rerun_reused']}",
        f"per-series pandas loop: {loop['per_series_ms']:.2f} ms/series on a sample of {loop['sample']} "
        f"(+ read {loop['read_s']:.1f} s, split {loop['split_s']:.1f} s) -> "
        f"{loop['total_s']:.0f} s extrapolated",
        f"ratio loop / engine: {ratio:.1f}× (goal >= 10×); engine goal < 30 s: "
        f"{'met' if engine['seconds'] < 30 else 'NOT met'}",
        "statuses: " + ", ".join(f"{k} {v}" for k, v in engine["status_counts"].items()),
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
