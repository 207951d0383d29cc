"""Weekly housekeeping: ANALYZE, prune evaluation history (drop_chunks, keeping
CHITIEU_EVALUATION_RETENTION_DAYS before the latest run), and check the raw-file archive's checksums."""

from __future__ import annotations

from typing import Any

from airflow.sdk import CronTriggerTimetable, dag, task

from chitieu.pipeline.dag_defaults import LOCAL_TZ, START_DATE, TAGS, default_args


@dag(
    dag_id="maintenance",
    description="Bảo trì / maintenance",
    schedule=CronTriggerTimetable("0 2 * * 0", timezone=LOCAL_TZ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "maintenance"],
    default_args=default_args(retries=1),
    doc_md=__doc__,
)
def maintenance() -> None:
    @task
    def analyze() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.analyze()

    @task
    def prune_evaluations() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.prune_evaluations()

    @task
    def verify_archive() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.verify_archive()

    prune_evaluations() >> analyze()
    verify_archive()


maintenance()
