-- Every received file is stored where every worker and the API can read it: in this database by
-- default (content-addressed by sha256), or in an object store named by ARCHIVE_URL, in which case
-- only its row is kept here. Never edit after it lands: add 087, 088...
CREATE TABLE archive_files (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint NOT NULL,
    content    bytea,               -- NULL when the bytes are in the object store
    store      text NOT NULL DEFAULT 'database',   -- 'database' or the ARCHIVE_URL it was written to
    stored_at  timestamptz NOT NULL DEFAULT now()
);
-- Every name the same bytes arrived under (was a sidecar file appended without a lock).
CREATE TABLE archive_names (
    sha256         text NOT NULL REFERENCES archive_files (sha256),
    name           text NOT NULL,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, name)
);
ALTER TABLE archive_files ALTER COLUMN content SET STORAGE EXTERNAL;  -- already compressed (xlsx)
REVOKE ALL ON archive_files, archive_names FROM chitieu_readonly;

-- Files are addressed by their sha256, never by a path on some machine.
ALTER TABLE upload_jobs ALTER COLUMN archived_path DROP NOT NULL;
COMMENT ON COLUMN load_batches.archived_path IS 'unused: the archive is addressed by file_sha256';
COMMENT ON COLUMN upload_jobs.archived_path IS 'unused: the archive is addressed by file_sha256';

-- The inbox is a drop location on one host; one task imports each file into the archive (once,
-- atomically: the row and the bytes commit together) and the loads read it from there.
CREATE TABLE inbox_items (
    id           bigserial PRIMARY KEY,
    sha256       text NOT NULL REFERENCES archive_files (sha256),
    name         text NOT NULL,
    options      jsonb NOT NULL DEFAULT '{}',
    imported_at  timestamptz NOT NULL DEFAULT now(),
    imported_by  text,                 -- the host that imported it
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processed', 'rejected')),
    settled_at   timestamptz,
    report       jsonb
);
CREATE UNIQUE INDEX inbox_items_once ON inbox_items (sha256, name);
CREATE INDEX inbox_items_pending_idx ON inbox_items (id) WHERE state = 'pending';
REVOKE ALL ON inbox_items FROM chitieu_readonly;
