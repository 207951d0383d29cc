"""One ingestion DAG per source spec in catalog/sources/ (dag_id `ingest_<spec id>`).

resources (may need the network) -> ingest, mapped over resources (retried with backoff)
  -> announce (all_done; emits the observations Asset when any figure was added or revised)
  -> verdict (fails the run when a resource failed or a payload was rejected whole)
A failing resource never blocks its siblings, and each source is its own DAG.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, TriggerRule, dag, get_current_context, task

from chitieu.pipeline.dag_defaults import OBSERVATIONS_ASSET, START_DATE, TAGS, default_args
from chitieu.pipeline.dag_specs import SourceDagEntry, source_dag_entries

OBSERVATIONS = Asset(OBSERVATIONS_ASSET)


def build(entry: SourceDagEntry) -> Any:
    @dag(
        dag_id=entry.dag_id,
        description=f"Nạp dữ liệu / ingest: {entry.title}",
        schedule=entry.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[*TAGS, "ingest", entry.kind],
        default_args=default_args(),
        doc_md=__doc__,
    )
    def ingest_source() -> None:
        @task
        def resources() -> list[str]:
            if entry.error:
                from chitieu.pipeline.tasks import TaskFailed

                raise TaskFailed(
                    f"invalid source spec: {entry.error}", f"cấu hình nguồn không hợp lệ: {entry.error}"
                )
            from chitieu.pipeline import tasks

            return tasks.list_resources(entry.spec_id)

        @task(map_index_template="{{ task.op_kwargs['resource'] or '*' }}", max_active_tis_per_dagrun=4)
        def ingest(resource: str) -> dict[str, Any]:
            from chitieu.pipeline import tasks

            return tasks.ingest_resource(entry.spec_id, resource)

        @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[OBSERVATIONS])
        def announce(results: list[dict[str, Any] | None]) -> dict[str, Any]:
            from airflow.sdk.exceptions import AirflowSkipException

            from chitieu.pipeline import tasks

            summary = tasks.summarise(list(results or []))
            if not summary["new_data"]:
                raise AirflowSkipException("no new or revised figures / không có số liệu mới")
            get_current_context()["outlet_events"][OBSERVATIONS].extra = {
                "source": entry.spec_id,
                "batch_ids": summary["batch_ids"],
            }
            return summary

        @task
        def verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
            from chitieu.pipeline import tasks

            return tasks.verdict(list(results))

        loaded = ingest.expand(resource=resources())
        announce(loaded)
        verdict(loaded)

    return ingest_source()


for _entry in source_dag_entries():
    globals()[_entry.dag_id] = build(_entry)
