"""Spreadsheets dropped into CHITIEU_DATA_DIR/inbox/: imported into the archive once (on the inbox host's
queue), loaded from there on any worker, then moved to processed/ or rejected/ with a
`.report.json` beside it. The run also announces uploads loaded through the API (or `chitieu
ingest`) since the latest evaluation, so that they are evaluated within five minutes.

A rejected file is a normal outcome (its report says why, in Vietnamese and English); only an
error that stops a file from being handled fails the run.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, TriggerRule, dag, get_current_context, task

from chitieu.pipeline.dag_defaults import OBSERVATIONS_ASSET, START_DATE, TAGS, default_args, inbox_queue

OBSERVATIONS = Asset(OBSERVATIONS_ASSET)


@dag(
    dag_id="inbox",
    description="Nạp tệp trong hộp thư đến / ingest files dropped into the inbox",
    schedule="*/5 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "ingest", "inbox"],
    default_args=default_args(),
    doc_md=__doc__,
)
def inbox() -> None:
    @task(queue=inbox_queue())
    def pending() -> list[int]:
        from chitieu.pipeline import tasks

        return tasks.import_inbox()

    @task(map_index_template="{{ task.op_kwargs['item'] }}", max_active_tis_per_dagrun=2)
    def ingest_file(item: int) -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.ingest_inbox_item(item)

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[OBSERVATIONS])
    def announce(results: list[dict[str, Any] | None]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from chitieu.pipeline import tasks

        summary = tasks.inbox_announcement(list(results or []))
        if not summary["new_data"]:
            raise AirflowSkipException("no new or revised figures / không có số liệu mới")
        get_current_context()["outlet_events"][OBSERVATIONS].extra = {
            "source": "upload",
            "batch_ids": summary["batch_ids"] + summary["unevaluated_batch_ids"],
        }
        return summary

    @task
    def verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.verdict(list(results), fail_on_rejected=False)

    @task(trigger_rule=TriggerRule.ALL_DONE, queue=inbox_queue())
    def move_settled() -> dict[str, Any]:
        from chitieu.pipeline import tasks

        return tasks.settle_inbox()

    settled = ingest_file.expand(item=pending())
    announce(settled)
    verdict(settled)
    settled >> move_settled()  # after every load, whatever its outcome (it moves what settled)


inbox()
