"""The pipeline's task bodies and local orchestration. Nothing here imports Airflow: the DAGs in
dags/ are thin wrappers around `chitieu.pipeline.tasks`, and `chitieu pipeline run|up|down`
drives real Airflow components from `chitieu.pipeline.services`."""
