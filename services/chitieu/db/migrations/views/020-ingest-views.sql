-- Ingestion views, re-applied on every migrate.

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
       att.last_error_code,
       att.last_error_vi,
       att.last_error_en
FROM sources s
LEFT JOIN LATERAL (
    SELECT max(b.finished_at) AS last_loaded_at, max(b.id) AS last_loaded_batch, count(*) AS batches_loaded
    FROM load_batches b WHERE b.source_id = s.id AND b.status = 'loaded'
) ok ON true
LEFT JOIN LATERAL (
    SELECT b.started_at AS last_attempt_at, b.status AS last_status,
           b.error_code AS last_error_code, b.error_vi AS last_error_vi, b.error_en AS last_error_en
    FROM load_batches b WHERE b.source_id = s.id ORDER BY b.id DESC LIMIT 1
) att ON true;

-- The instant up to which observations_as_of() is final. It waits for any load between stamping its
-- vintages and committing them (the loader holds this lock exclusively then), so every vintage
-- stamped at or before the returned time is already visible to the next statement, and any later
-- one is stamped after it. Use it in a transaction, then read observations_as_of(<it>) in a later
-- statement of the same transaction (the lock is held until the transaction ends).
CREATE OR REPLACE FUNCTION vintage_now() RETURNS timestamptz
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('chitieu-vintage-clock', 0));
    RETURN clock_timestamp();
END
$$;

-- Every claim received for every figure: the vintages (the best claim known when each was loaded)
-- and the superseded claims (a better one was already known), with `current` marking the figure's
-- current value. What a data engineer reads to see why a figure is what it is.
DROP VIEW IF EXISTS observation_claims CASCADE;
CREATE VIEW observation_claims AS
SELECT o.*, false AS superseded,
       o.loaded_at = max(o.loaded_at) OVER (PARTITION BY o.jurisdiction_id, o.indicator_code,
                                                       o.period_type, o.period_start) AS current
FROM observations o
UNION ALL
SELECT s.*, true AS superseded, false AS current
FROM observations_superseded s;
GRANT SELECT ON observation_claims TO chitieu_readonly;
