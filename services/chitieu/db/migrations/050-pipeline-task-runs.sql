-- Outcomes of the pipeline's Airflow tasks, written by the tasks themselves (success and failure
-- callbacks), so the data-operations dashboard can show DAG outcomes without reading Airflow's
-- metadata database. One row per (dag, run, task, map index); a retry updates its row.
CREATE TABLE pipeline_task_runs (
    dag_id       text NOT NULL,
    run_id       text NOT NULL,
    task_id      text NOT NULL,
    map_index    integer NOT NULL DEFAULT -1,
    try_number   integer NOT NULL DEFAULT 1,
    state        text NOT NULL CHECK (state IN ('success', 'failed', 'skipped', 'up_for_retry')),
    run_type     text,
    run_after    timestamptz,
    finished_at  timestamptz NOT NULL,
    summary      jsonb NOT NULL DEFAULT '{}',
    error        text,
    PRIMARY KEY (dag_id, run_id, task_id, map_index)
);
CREATE INDEX pipeline_task_runs_finished_idx ON pipeline_task_runs (finished_at DESC);
CREATE INDEX pipeline_task_runs_dag_idx ON pipeline_task_runs (dag_id, finished_at DESC);
