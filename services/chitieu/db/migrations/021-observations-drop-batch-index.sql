-- Ingestion speed (issue 4): observations_batch_idx (batch_id, period_start) serves no query — no
-- view, dashboard, evaluation, alert or API query filters observations by batch_id (the batch a row
-- came from is read from the row itself; load summaries live in load_batches). Every loaded row paid
-- for it: one more B-tree insert and its WAL. Kept: the vintage key (observations_current, as-of,
-- dashboards), observations_indicator_idx (evaluation reads by indicator) and TimescaleDB's
-- period_start index (time-range panels).
DROP INDEX IF EXISTS observations_batch_idx;
