"""What Airflow's Celery workers load from us: the Celery configuration (Airflow's defaults, plus
worker processes that die with their worker) and the host name a worker records on its tasks.

Referenced by the Airflow environment (`[celery] celery_config_options`, `[core] hostname_callable`),
so it is imported inside Airflow's processes only.
"""

from __future__ import annotations

import socket
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


def hostname() -> str:
    """AIRFLOW_HOSTNAME when set (several workers on one machine, each its own name), else the FQDN."""
    from chitieu.settings import get_settings

    return get_settings().airflow_hostname or socket.getfqdn()
