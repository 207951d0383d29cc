"""What Airflow's Celery workers load from us: the Celery configuration (Airflow's defaults), and in a
worker, every process it forks dies with the process that forked it.

Referenced by the Airflow environment (`[celery] celery_config_options`), so it is imported inside
Airflow's processes only — by `airflow celery worker` when it builds its Celery app, before it forks
anything: its helper processes (stale bundle cleanup, log server: plain multiprocessing forks that
Airflow only stops from a `finally` a SIGKILL never reaches), its pool processes, the task
supervisors in them and the task runners those fork (in a process group of their own).
"""

from __future__ import annotations

import sys
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

from chitieu.pipeline.processes import forked_processes_die_with_their_parent

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)


def is_celery_worker(argv: list[str]) -> bool:
    """`airflow celery worker ...` (the scheduler and the API server load this module too; their forks
    are left alone)."""
    return argv[1:3] == ["celery", "worker"]


if is_celery_worker(sys.argv):
    forked_processes_die_with_their_parent()
