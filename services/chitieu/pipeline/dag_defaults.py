"""Defaults shared by every DAG: owner, retries with exponential backoff, outcome callbacks.

Plain Python (no Airflow import) so the DAG files stay thin and parse fast.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

OWNER = "chitieu"
TAGS = ("chitieu",)
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)
LOCAL_TZ = "Asia/Ho_Chi_Minh"
OBSERVATIONS_ASSET = "chitieu://observations"  # emitted after any load that added figures
ALERTS_ASSET = "chitieu://alerts"  # emitted after alerts were synced (the outbox may have work)


def _record(context: Any, state: str) -> None:
    from chitieu.pipeline.outcomes import from_airflow_context

    from_airflow_context(context, state)


def on_success(context: Any) -> None:
    _record(context, "success")


def on_failure(context: Any) -> None:
    _record(context, "failed")


def on_retry(context: Any) -> None:
    _record(context, "up_for_retry")


def on_skipped(context: Any) -> None:
    _record(context, "skipped")


def on_execute(_context: Any) -> None:
    """In the task runner, before the task: die with the supervising process (see die_with_parent)."""
    from chitieu.pipeline.processes import die_with_parent

    die_with_parent()


def default_args(**overrides: Any) -> dict[str, Any]:
    from chitieu.settings import get_settings

    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(seconds=get_settings().pipeline_retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(minutes=30),
        "on_execute_callback": on_execute,
        "on_success_callback": on_success,
        "on_failure_callback": on_failure,
        "on_retry_callback": on_retry,
        "on_skipped_callback": on_skipped,
    }
    args.update(overrides)
    return args


def inbox_queue() -> str:
    """The executor queue of the tasks that touch the inbox folder (import, final move): served only
    by the workers of the host that has the folder. Ignored by the LocalExecutor."""
    from chitieu.settings import get_settings

    return get_settings().pipeline_inbox_queue


def run_clock(context: Any) -> str:
    """The run's own time (ISO), never now(): a re-run of the same run sees the same clock.

    Cron runs have a logical date; asset-triggered and manual runs have none, only run_after.
    """
    dag_run = context["dag_run"]
    ts = context.get("logical_date") or getattr(dag_run, "logical_date", None) or dag_run.run_after
    return str(ts.isoformat())
