-- Ingestion guards (issue 4). A file (sha256) is loaded at most once per source: the loader also
-- serialises on an advisory lock, this index makes the rule hold whatever the client does.
CREATE UNIQUE INDEX load_batches_loaded_once
    ON load_batches (source_id, file_sha256)
    WHERE status = 'loaded' AND file_sha256 IS NOT NULL;

CREATE INDEX rejected_rows_source_idx ON rejected_rows (source_id, rejected_at DESC);
