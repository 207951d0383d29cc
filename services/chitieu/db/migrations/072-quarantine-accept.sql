-- Figures quarantined as suspected unit errors keep what would have been loaded (the candidate:
-- jurisdiction, indicator, period, value, status, cell), so that an engineer can accept one later.
-- Every acceptance is written to the ingestion audit trail.
ALTER TABLE rejected_rows ADD COLUMN candidate jsonb;
ALTER TABLE rejected_rows ADD COLUMN accepted_at timestamptz;
ALTER TABLE rejected_rows ADD COLUMN accepted_by text;

CREATE TABLE ingest_audit (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor         text NOT NULL,
    action        text NOT NULL,           -- 'accept_quarantined'
    rejection_id  bigint REFERENCES rejected_rows (id),
    batch_id      bigint REFERENCES load_batches (id),
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ingest_audit_rejection_idx ON ingest_audit (rejection_id);
