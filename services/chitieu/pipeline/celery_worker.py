"""What Airflow's Celery workers load from us: the Celery configuration (Airflow's defaults, plus
worker processes that die with their worker).

Referenced by the Airflow environment (`[celery] celery_config_options`), so it is imported inside
Airflow's processes only.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_process_init

from chitieu.pipeline.processes import die_with_parent

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)


@worker_process_init.connect
def _pool_process_dies_with_its_worker(**_: Any) -> None:
    # A pool process supervises the task runners it forks; if the worker is killed (SIGKILL: no
    # chance to clean up), its pool processes must not live on and keep running tasks that the
    # scheduler will retry elsewhere.
    die_with_parent()
