"""Deliver the notification outbox: right after alerts were synced (the alerts Asset) and every
10 minutes for retries with backoff (the outbox keeps attempts; a retry never duplicates)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from chitieu.pipeline.dag_defaults import ALERTS_ASSET, START_DATE, TAGS, default_args, run_clock

ALERTS = Asset(ALERTS_ASSET)


@dag(
    dag_id="notify",
    description="Gửi thông báo / drain the notification outbox",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/10 * * * *", timezone="UTC"), assets=[ALERTS]
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "alerts", "notifications"],
    default_args=default_args(retries=1),
    doc_md=__doc__,
)
def notify() -> None:
    @task
    def drain_outbox() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.drain_outbox(now=run_clock(get_current_context()))

    drain_outbox()


notify()
