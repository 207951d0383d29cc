"""A generated benchmark data set: every commune × 30 indicators × 10 years (≈1M observations).

`build_dataset(dsn)` fills an already migrated database with the 3,321 communes of the 34 provinces
(ids `xa-NNNNN`, parents `new-NN`, from the vietnam-provinces package), 30 indicators `bench_iNN`,
one plan per province, one target per (commune, indicator) and 10 yearly observations per target,
all through COPY. The generator is seeded, so two builds give the same rows.

`fresh_database(name)` creates (or recreates) a dedicated, migrated database on the configured server
and returns its DSN, so that benchmarks never touch the working database.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

SEED = 57
YEARS = np.arange(2016, 2026)
SOURCE_ID = "bench"
LOADED_AT = datetime(2026, 1, 15, tzinfo=UTC)
FETCHED_AT = datetime(2026, 1, 15, tzinfo=UTC)
PLAN_PREFIX = "bench-"

# (kind, value_type, direction, operator, every_year, band): 30 indicators mixing every target kind
# the engine evaluates on numbers (milestones are exercised by the tests, not here).
_SPECS: list[tuple[str, str, str, str, bool, bool]] = (
    [("level", "share_pct", "higher", ">=", False, False)] * 12
    + [("level", "score_0_100", "higher", ">", False, False)] * 2
    + [("level", "share_pct", "higher", ">=", False, True)] * 2  # a band: value..value_max
    + [("level", "rate_per_1000", "lower", "<=", False, False)] * 3
    + [("level", "rate_per_10k", "lower", "<", False, False)] * 1
    + [("rank", "rank", "lower", "<=", False, False)] * 3
    + [("count", "count", "higher", ">=", False, False)] * 3
    + [("growth", "count", "higher", ">=", False, False)] * 2
    + [("level", "share_pct", "higher", ">=", True, False)] * 2  # every-year floors
)
assert len(_SPECS) == 30


def indicator_codes() -> list[str]:
    return [f"bench_i{i + 1:02d}" for i in range(len(_SPECS))]


def fresh_database(name: str = "chitieu_bench") -> str:
    """Drop and recreate database `name` on our server, migrate it, and return its DSN."""
    from chitieu.db import migrate
    from chitieu.settings import get_settings

    settings = get_settings()
    with psycopg.connect(settings.dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = settings.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn)
        migrate.ensure_readonly_login(conn, settings)
    return dsn


def _copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, na_rep="")
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(table), columns)
    with conn.cursor().copy(stmt) as copy:
        copy.write(buf.getvalue())


def _pg_array(values: list[str]) -> str:
    return "{" + ",".join('"' + v.replace('"', '\\"') + '"' for v in values) + "}"


def _jurisdictions() -> tuple[pd.DataFrame, pd.DataFrame]:
    from vietnam_provinces import Province, Ward

    provinces = pd.DataFrame(
        [
            {
                "id": f"new-{int(p.code):02d}",
                "code": f"{int(p.code):02d}",
                "name": p.name,
                "level": "province",
                "parent_id": "vn",
                "valid_from": "2025-07-01",
            }
            for p in Province.iter_all()
        ]
    )
    communes = pd.DataFrame(
        [
            {
                "id": f"xa-{int(w.code):05d}",
                "code": f"{int(w.code):05d}",
                "name": w.name,
                "level": "commune",
                "parent_id": f"new-{int(w.province_code):02d}",
                "valid_from": "2025-07-01",
            }
            for w in Ward.iter_all()
        ]
    ).sort_values("id", ignore_index=True)
    return provinces, communes


def _series(rng: np.random.Generator, n: int, spec: tuple[str, str, str, str, bool, bool]) -> np.ndarray:
    """n series × 10 years of plausible values for one indicator kind."""
    kind, value_type, direction, _op, _every, _band = spec
    t = (YEARS - YEARS[0])[None, :].astype(float)
    if kind == "rank":
        start = rng.integers(1, 63, size=(n, 1)).astype(float)
        drift = rng.normal(-0.8, 2.0, size=(n, 1))
        walk = np.round(start + drift * t + rng.normal(0, 2.0, size=(n, len(YEARS))))
        return np.clip(walk, 1, 63)
    if kind in ("count", "growth"):
        start = rng.uniform(20, 800, size=(n, 1))
        growth = rng.normal(0.06, 0.06, size=(n, 1))
        noise = rng.normal(0, 0.03, size=(n, len(YEARS)))
        return np.maximum(np.round(start * (1 + growth) ** t * (1 + noise)), 0)
    if direction == "lower":
        start = rng.uniform(5, 40, size=(n, 1))
        slope = rng.normal(-0.8, 0.9, size=(n, 1))
        vals = start + slope * t + rng.normal(0, 0.6, size=(n, len(YEARS)))
        return np.round(np.clip(vals, 0.1, None), 2)
    start = rng.uniform(5, 60, size=(n, 1))
    slope = rng.normal(1.5, 1.5, size=(n, 1))
    vals = start + slope * t + rng.normal(0, 1.0, size=(n, len(YEARS)))
    top = 100.0 if value_type in ("share_pct", "score_0_100") else None
    return np.round(np.clip(vals, 0.1, top), 2)


def _target_values(
    rng: np.random.Generator, base: np.ndarray, spec: tuple[str, str, str, str, bool, bool]
) -> tuple[np.ndarray, np.ndarray]:
    kind, _value_type, direction, _op, every, band = spec
    n = base.shape[0]
    value_max = np.full(n, np.nan)
    if kind == "rank":
        value = rng.integers(1, 31, size=n).astype(float)
    elif kind == "growth":
        value = rng.integers(3, 16, size=n).astype(float)  # % a year
    elif kind == "count":
        value = np.round(base * rng.uniform(1.2, 2.5, size=n))
    elif every:
        value = np.round(rng.uniform(3, 20, size=n), 1)  # a floor that most years clear
    elif direction == "lower":
        value = np.round(base * rng.uniform(0.3, 0.9, size=n), 2)
    else:
        value = np.round(np.minimum(base * rng.uniform(1.1, 2.2, size=n), 99.0), 2)
        if band:
            value_max = np.round(np.minimum(value + rng.uniform(2, 10, size=n), 100.0), 2)
    return value, value_max


def build_dataset(dsn: str, *, rebuild: bool = False) -> dict[str, Any]:
    """Fill the migrated database at `dsn` with the benchmark set; return counts and timings.

    Deterministic (seeded). If the set is already there it is left as is unless `rebuild`.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    provinces, communes = _jurisdictions()
    codes = indicator_codes()
    with psycopg.connect(dsn, autocommit=False) as conn:
        existing = conn.execute(
            "SELECT count(*) FROM targets WHERE plan_id LIKE %s", (PLAN_PREFIX + "%",)
        ).fetchone()
        if existing and existing[0] and not rebuild:
            obs = conn.execute(
                "SELECT count(*) FROM observations WHERE source_id = %s", (SOURCE_ID,)
            ).fetchone()
            return {
                "built": False,
                "communes": len(communes),
                "indicators": len(codes),
                "targets": existing[0],
                "observations": obs[0] if obs else 0,
                "seconds": time.perf_counter() - started,
            }
        if rebuild:
            conn.execute("DELETE FROM observations WHERE source_id = %s", (SOURCE_ID,))
            conn.execute("DELETE FROM targets WHERE plan_id LIKE %s", (PLAN_PREFIX + "%",))
            conn.execute("DELETE FROM plans WHERE id LIKE %s", (PLAN_PREFIX + "%",))
            conn.execute("DELETE FROM indicators WHERE code LIKE 'bench\\_i%%'")

        conn.execute(
            """INSERT INTO jurisdictions (id, code, name, level) VALUES ('vn', 'VN', 'Việt Nam', 'national')
               ON CONFLICT (id) DO NOTHING"""
        )
        for frame in (provinces, communes):
            conn.execute("CREATE TEMP TABLE _j (LIKE jurisdictions INCLUDING DEFAULTS) ON COMMIT DROP")
            _copy_frame(conn, "_j", frame)
            conn.execute(
                """INSERT INTO jurisdictions (id, code, name, level, parent_id, valid_from)
                   SELECT id, code, name, level, parent_id, valid_from FROM _j
                   ON CONFLICT (id) DO NOTHING"""
            )
            conn.execute("DROP TABLE _j")
        conn.execute(
            """INSERT INTO sources (id, kind, title, publisher, schedule, expected_release_lag)
               VALUES (%s, 'upload', 'Bộ dữ liệu thử hiệu năng / benchmark data set', 'bench', 'yearly',
                       interval '15 months')
               ON CONFLICT (id) DO NOTHING""",
            (SOURCE_ID,),
        )

        indicators = pd.DataFrame(
            {
                "code": codes,
                "name_vi": [f"Chỉ tiêu thử {i + 1:02d}" for i in range(len(codes))],
                "name_en": [f"Benchmark indicator {i + 1:02d}" for i in range(len(codes))],
                "unit": [
                    {"share_pct": "%", "score_0_100": "điểm", "rank": "hạng", "count": "số"}.get(s[1], "‰")
                    for s in _SPECS
                ],
                "value_type": [s[1] for s in _SPECS],
                "direction": [s[2] for s in _SPECS],
                "aggregation": ["sum" if s[1] == "count" else "mean" for s in _SPECS],
            }
        )
        _copy_frame(conn, "indicators", indicators)

        plans = pd.DataFrame(
            {
                "id": PLAN_PREFIX + provinces["id"],
                "document_number": "BENCH/" + provinces["code"],
                "title": "Kế hoạch thử hiệu năng / benchmark plan " + provinces["name"],
                "issuer": "UBND " + provinces["name"],
                "jurisdiction_id": provinces["id"],
                "kind": "provincial",
                "horizon_year": 2030,
            }
        )
        _copy_frame(conn, "plans", plans)

        n = len(communes)
        commune_ids = communes["id"].to_numpy()
        plan_ids = (PLAN_PREFIX + communes["parent_id"]).to_numpy()
        target_frames: list[pd.DataFrame] = []
        obs_frames: list[pd.DataFrame] = []
        for code, spec in zip(codes, _SPECS, strict=True):
            kind, _vt, _dir, op, every, _band = spec
            values = _series(rng, n, spec)
            base_col = 4  # 2020
            value, value_max = _target_values(rng, values[:, base_col], spec)
            has_baseline = rng.random(n) < 0.7
            target_frames.append(
                pd.DataFrame(
                    {
                        "id": "bench." + commune_ids + "." + code,
                        "plan_id": plan_ids,
                        "indicator_code": code,
                        "jurisdiction_id": commune_ids,
                        "target_year": 2030,
                        "kind": kind,
                        "operator": op,
                        "value": value,
                        "value_max": value_max,
                        "every_year": every,
                        "baseline_year": np.where(has_baseline, 2020, np.nan),
                        "baseline_value": np.where(has_baseline, values[:, base_col], np.nan),
                        "cite_document": "BENCH",
                        "cite_quote": "Chỉ tiêu sinh tự động để đo hiệu năng / generated for benchmarking",
                    }
                )
            )
            status = np.where(YEARS[-1] == YEARS, "provisional", "final")
            obs_frames.append(
                pd.DataFrame(
                    {
                        "jurisdiction_id": np.repeat(commune_ids, len(YEARS)),
                        "indicator_code": code,
                        "period_start": np.tile([f"{y}-01-01" for y in YEARS], n),
                        "period_type": "Y",
                        "value": values.reshape(-1),
                        "status": np.tile(status, n),
                        "source_id": SOURCE_ID,
                        "fetched_at": FETCHED_AT.isoformat(),
                        "loaded_at": LOADED_AT.isoformat(),
                    }
                )
            )
        targets = pd.concat(target_frames, ignore_index=True)
        targets["target_year"] = targets["target_year"].astype("Int64")
        targets["baseline_year"] = targets["baseline_year"].astype("Int64")
        _copy_frame(conn, "targets", targets)
        generated = time.perf_counter() - started
        observations = pd.concat(obs_frames, ignore_index=True)
        _copy_frame(conn, "observations", observations)
        conn.commit()
        with psycopg.connect(dsn, autocommit=True) as c2:
            c2.execute("ANALYZE observations")
            c2.execute("ANALYZE targets")
    return {
        "built": True,
        "communes": n,
        "provinces": len(provinces),
        "indicators": len(codes),
        "targets": len(targets),
        "observations": len(observations),
        "seconds": time.perf_counter() - started,
        "generate_seconds": generated,
    }


if __name__ == "__main__":
    import json
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else "chitieu_bench"
    print(json.dumps(build_dataset(fresh_database(name)), indent=2))


def evaluated_database(name: str) -> tuple[str, list[str]]:
    """Database `name` holding the data set, evaluated and with its dashboard tables refreshed:
    (its DSN, report lines). A set an earlier run built is reused (building takes a minute) and
    migrated; it is rebuilt when missing or when a migration it has was edited since (before landing)."""
    from chitieu.dashboards import views
    from chitieu.db import migrate
    from chitieu.evaluate.engine import evaluate
    from chitieu.settings import get_settings

    settings = get_settings()
    dsn = settings.dsn(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as existing:
            migrate.migrate(existing)
    except (psycopg.OperationalError, migrate.MigrationError):
        dsn = fresh_database(name)
    info = build_dataset(dsn)
    lines = [
        f"data set: {info['observations']:,} observations, {info['targets']:,} targets "
        f"({'built' if info['built'] else 'reused'} in {info['seconds']:.1f} s)"
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        evaluated = conn.execute("SELECT count(*) FROM evaluations").fetchone()
        if not evaluated or not evaluated[0]:
            started = time.perf_counter()
            evaluate(conn)
            lines.append(f"evaluated with chitieu.evaluate in {time.perf_counter() - started:.1f} s")
        timings = views.refresh(conn)
        lines.append("refresh: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    return dsn, lines
