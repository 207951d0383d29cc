"""After any load that added figures (the observations Asset): evaluate every target as of the
run's time, open/refresh/resolve alerts (emitting the alerts Asset), refresh the dashboard views."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, dag, get_current_context, task

from chitieu.pipeline.dag_defaults import (
    ALERTS_ASSET,
    OBSERVATIONS_ASSET,
    START_DATE,
    TAGS,
    default_args,
    run_clock,
)

OBSERVATIONS = Asset(OBSERVATIONS_ASSET)
ALERTS = Asset(ALERTS_ASSET)


@dag(
    dag_id="evaluate",
    description="Đánh giá chỉ tiêu, cảnh báo, bảng điều khiển / evaluate targets, sync alerts, refresh views",
    schedule=[OBSERVATIONS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "evaluate", "alerts"],
    default_args=default_args(),
    doc_md=__doc__,
)
def evaluate() -> None:
    @task
    def run_evaluation() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.evaluate_all(as_of=run_clock(get_current_context()))

    @task(outlets=[ALERTS])
    def sync_alerts(evaluation: dict[str, Any]) -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.sync_alerts(now=run_clock(get_current_context()), evaluation=evaluation)

    @task
    def refresh_dashboards() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.refresh_dashboards()

    # The alert sync reads which targets the evaluation covered (all, or only those whose series
    # changed); the dashboards read what it stored, so for them it is an ordering, not an input.
    evaluation = run_evaluation()
    sync_alerts(evaluation)
    evaluation >> refresh_dashboards()


evaluate()
