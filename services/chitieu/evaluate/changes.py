"""What changed since the latest run, and which targets' results can depend on it.

A target's results are a function of the catalog, the date of as_of and the figures of a few series
(indicator x jurisdiction): its own territory's, its successor's when it ceased, the predecessors'
of that successor (the successor's comparable series is rebuilt from them, shares weighted by the
weight indicator's figures), and for a target relative to the national figure, the national
series. Targets that share a series are evaluated together or not at all, so that what one's
lineage says about a successor's derived series is what a full evaluation says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

NATIONAL = "vn"  # the national series: relative targets compare with its figure of the year

Key = tuple[str, str]  # (indicator_code, jurisdiction_id)


def catalog_digest(conn: psycopg.Connection) -> str:
    """A digest of everything in the catalog an evaluation reads: a run made under another catalog
    (a target added, removed or edited, a succession recorded) is never a base for a partial one."""
    row = conn.execute(
        """SELECT md5(concat_ws('|',
                  (SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM targets t),
                  (SELECT string_agg(p.id || ':' || coalesce(p.issued_on::text, ''), E'\\n' ORDER BY p.id)
                   FROM plans p),
                  (SELECT string_agg(i::text, E'\\n' ORDER BY i.code) FROM indicators i),
                  (SELECT string_agg(j::text, E'\\n' ORDER BY j.id) FROM jurisdictions j),
                  (SELECT string_agg(s::text, E'\\n' ORDER BY s.predecessor_id, s.successor_id)
                   FROM jurisdiction_succession s)))"""
    ).fetchone()
    assert row is not None
    return str(row[0])


def observations_known(conn: psycopg.Connection, *moments: datetime) -> list[int]:
    """How many vintages carry a vintage time at or before each moment. Rows are never removed, so
    an unchanged count at a run's as_of means nothing appeared since in the past it evaluated (a
    load committed after the run read, or a run dated ahead of its loads)."""
    if not moments:
        return []
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE loaded_at <= {})").format(sql.Literal(m)) for m in moments
    )
    row = conn.execute(sql.SQL("SELECT {} FROM observations").format(counts)).fetchone()
    assert row is not None
    return [int(v) for v in row]


def changed_series(conn: psycopg.Connection, since: datetime, until: datetime) -> set[Key]:
    """The series with a vintage time after `since`, up to `until`."""
    rows = conn.execute(
        """SELECT DISTINCT indicator_code, jurisdiction_id FROM observations
           WHERE loaded_at > %s AND loaded_at <= %s""",
        (since, until),
    ).fetchall()
    return {(str(c), str(j)) for c, j in rows}


def _successors_of(preds: pd.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if not preds.empty:
        for s, p in zip(preds["successor_id"], preds["predecessor_id"], strict=True):
            out[str(p)].add(str(s))
    return out


def dependent_targets(
    targets: pd.DataFrame, changed: Iterable[Key], succ: pd.DataFrame, preds: pd.DataFrame
) -> np.ndarray:
    """Mask over `targets` (load.targets) of those whose results may depend on the changed series,
    closed over shared territories: a target whose own or successor's series is that of an affected
    target is affected too (they share the successor's derived series and what is said about it)."""
    changed = set(changed)
    successors_of = _successors_of(preds)
    # Indicators weighted by each weight indicator (a successor's share is rebuilt with its figures).
    weighted: dict[str, set[str]] = defaultdict(set)
    for code, weight in zip(targets["indicator_code"], targets["aggregation_weight"], strict=True):
        if isinstance(weight, str):
            weighted[weight].add(str(code))
    stack: list[Key] = list(changed)
    for code, jur in changed:
        for s in successors_of.get(jur, ()):
            stack.append((code, s))
            stack.extend((x, s) for x in weighted.get(code, ()))
    succ_of = {} if succ.empty else dict(zip(succ["predecessor_id"], succ["successor_id"], strict=True))
    jurs = targets["jurisdiction_id"].astype(object).tolist()
    codes = targets["indicator_code"].astype(object).tolist()
    territories = [(j,) if succ_of.get(j, j) == j else (j, succ_of[j]) for j in jurs]
    by_series: dict[Key, list[int]] = defaultdict(list)
    for i, (code, own) in enumerate(zip(codes, territories, strict=True)):
        for t in own:
            by_series[(code, t)].append(i)
    mask = np.zeros(len(targets), dtype=bool)
    national = {c for c, j in changed if j == NATIONAL}
    if national:
        relative = (targets["relative_to"] == "national").to_numpy() & targets["indicator_code"].isin(
            list(national)
        ).to_numpy()
        stack.extend((codes[i], t) for i in np.flatnonzero(relative).tolist() for t in territories[i])
    seen: set[Key] = set()
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        for i in by_series.get(key, ()):
            if not mask[i]:
                mask[i] = True
                stack.extend((codes[i], t) for t in territories[i])
    return mask


def series_jurisdictions(targets: pd.DataFrame, succ: pd.DataFrame, preds: pd.DataFrame) -> list[str]:
    """Every jurisdiction whose figures the evaluation of these targets reads."""
    succ_of = {} if succ.empty else dict(zip(succ["predecessor_id"], succ["successor_id"], strict=True))
    members: dict[str, set[str]] = defaultdict(set)
    if not preds.empty:
        for s, p in zip(preds["successor_id"], preds["predecessor_id"], strict=True):
            members[str(s)].add(str(p))
    out = {NATIONAL}
    for j in targets["jurisdiction_id"].astype(object).tolist():
        for territory in (j, succ_of.get(j, j)):
            out.add(territory)
            out |= members.get(territory, set())
    return sorted(out)
