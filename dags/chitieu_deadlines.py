"""Daily: reporting obligations of the plans (six-monthly reports due 15 June and 1 December,
yearly reports, ...) due within CHITIEU_DEADLINE_WARNING_DAYS open `report_due` alerts."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, CronTriggerTimetable, dag, get_current_context, task

from chitieu.pipeline.dag_defaults import ALERTS_ASSET, LOCAL_TZ, START_DATE, TAGS, default_args, run_clock

ALERTS = Asset(ALERTS_ASSET)


@dag(
    dag_id="deadlines",
    description="Hạn báo cáo / reporting deadlines",
    schedule=CronTriggerTimetable("0 7 * * *", timezone=LOCAL_TZ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "alerts", "deadlines"],
    default_args=default_args(),
    doc_md=__doc__,
)
def deadlines() -> None:
    @task(outlets=[ALERTS])
    def check_deadlines() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.check_deadlines(now=run_clock(get_current_context()))

    check_deadlines()


deadlines()
