-- Ingestion views (issue 4), re-applied on every migrate.

-- Last successful load and last attempt of each source: what the data_stale rule and the
-- ingestion dashboard read.
DROP VIEW IF EXISTS source_load_status CASCADE;
CREATE VIEW source_load_status AS
SELECT s.id AS source_id,
       s.kind,
       s.title,
       s.schedule,
       s.expected_release_lag,
       ok.last_loaded_at,
       ok.last_loaded_batch,
       ok.batches_loaded,
       att.last_attempt_at,
       att.last_status,
       att.last_error
FROM sources s
LEFT JOIN LATERAL (
    SELECT max(b.finished_at) AS last_loaded_at, max(b.id) AS last_loaded_batch, count(*) AS batches_loaded
    FROM load_batches b WHERE b.source_id = s.id AND b.status = 'loaded'
) ok ON true
LEFT JOIN LATERAL (
    SELECT b.started_at AS last_attempt_at, b.status AS last_status, b.error AS last_error
    FROM load_batches b WHERE b.source_id = s.id ORDER BY b.id DESC LIMIT 1
) att ON true;
