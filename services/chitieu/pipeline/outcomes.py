"""Record task outcomes in our own database (table pipeline_task_runs) for the data-operations
dashboard. Called from Airflow task callbacks; it must never make a task fail."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from chitieu.db.connect import connect
from chitieu.jsonable import jsonable

log = logging.getLogger(__name__)


def record(
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    try_number: int = 1,
    state: str,
    run_type: str | None = None,
    run_after: datetime | None = None,
    summary: Any = None,
    error: str | None = None,
    finished_at: datetime | None = None,
) -> bool:
    try:
        with connect() as conn:
            conn.execute(
                """INSERT INTO pipeline_task_runs
                       (dag_id, run_id, task_id, map_index, try_number, state, run_type, run_after,
                        finished_at, summary, error)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)
                   ON CONFLICT (dag_id, run_id, task_id, map_index) DO UPDATE SET
                       try_number = EXCLUDED.try_number, state = EXCLUDED.state,
                       finished_at = EXCLUDED.finished_at, summary = EXCLUDED.summary,
                       error = EXCLUDED.error""",
                (
                    dag_id,
                    run_id,
                    task_id,
                    map_index,
                    try_number,
                    state,
                    run_type,
                    run_after,
                    finished_at or datetime.now(UTC),
                    json.dumps(jsonable(summary) if summary is not None else {}, ensure_ascii=False),
                    (error or None) and error[:4000],
                ),
            )
        return True
    except Exception as exc:  # the dashboard row is a convenience; the task's own outcome stands
        log.warning("could not record task outcome %s.%s: %s", dag_id, task_id, exc)
        return False


def from_airflow_context(context: Any, state: str) -> bool:
    """Adapter for Airflow's callback context (a mapping); kept here so DAG files stay thin."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    summary = None
    if ti is not None and state == "success":
        try:
            summary = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index)
        except Exception:
            summary = None
    return record(
        dag_id=str(getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")),
        run_id=str(getattr(ti, "run_id", None) or getattr(dag_run, "run_id", "?")),
        task_id=getattr(ti, "task_id", "?"),
        map_index=int(getattr(ti, "map_index", -1) if getattr(ti, "map_index", None) is not None else -1),
        try_number=int(getattr(ti, "try_number", 1) or 1),
        state=state,
        run_type=str(getattr(dag_run, "run_type", "") or "") or None,
        run_after=getattr(dag_run, "run_after", None),
        summary=summary,
        error=repr(exc) if exc is not None else None,
    )
