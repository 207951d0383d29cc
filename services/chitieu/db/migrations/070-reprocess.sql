-- Reprocessing a file already loaded (issue 8 follow-up). After a catalog fix (a new indicator, an
-- alias, a corrected range) the rows a file had rejected may now pass; loading the same bytes again
-- used to be skipped as "already loaded". A reprocess is a second 'loaded' batch of the same file
-- that names the first; only the first load of a file is unique.
ALTER TABLE load_batches ADD COLUMN reprocess_of bigint REFERENCES load_batches (id);

DROP INDEX load_batches_loaded_once;
CREATE UNIQUE INDEX load_batches_first_load_once
    ON load_batches (source_id, file_sha256)
    WHERE status = 'loaded' AND file_sha256 IS NOT NULL AND reprocess_of IS NULL;

-- A quarantined row stays (it was rejected then); the batch that later loaded it is recorded.
ALTER TABLE rejected_rows ADD COLUMN resolved_by_batch bigint REFERENCES load_batches (id);
CREATE INDEX rejected_rows_file_idx ON rejected_rows (source_id, file_sha256) WHERE resolved_by_batch IS NULL;

ALTER TABLE upload_jobs ADD COLUMN reprocess boolean NOT NULL DEFAULT false;
