-- The HTTP API (issue 8): API keys, upload jobs, and the change notifications that invalidate the
-- API's response cache. Never edit after it lands: add 061, 062...

-- A key is shown once, when created; only its sha256 is kept (the token is 256 random bits, so a
-- fast hash is enough: there is nothing to brute-force). `prefix` is its public, unique part.
CREATE TABLE api_keys (
    id             bigserial PRIMARY KEY,
    prefix         text NOT NULL UNIQUE,
    token_sha256   text NOT NULL UNIQUE,
    role           text NOT NULL CHECK (role IN ('viewer', 'engineer', 'admin')),
    name           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text,
    expires_at     timestamptz,
    revoked_at     timestamptz,
    last_used_at   timestamptz
);
-- The dashboards' read-only role must not see the key table (default privileges granted it).
REVOKE ALL ON api_keys FROM chitieu_readonly;

-- Uploads through the API: small files are loaded while the client waits, large ones by the API's
-- background worker; either way the job keeps the report. A job still queued or running when the
-- API stops is picked up again when it starts (the archived file is the job's input).
CREATE TABLE upload_jobs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    file_sha256    text NOT NULL,
    file_name      text NOT NULL,
    size_bytes     bigint NOT NULL,
    archived_path  text NOT NULL,
    indicator      text,
    dry_run        boolean NOT NULL DEFAULT false,
    api_key_id     bigint REFERENCES api_keys (id),
    state          text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    batch_id       bigint,
    result_status  text,              -- the ingestion status: loaded, skipped, rejected, dry_run, failed
    report         jsonb,
    error          text
);
CREATE INDEX upload_jobs_pending_idx ON upload_jobs (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX upload_jobs_list_idx ON upload_jobs (created_at DESC, id DESC);
REVOKE ALL ON upload_jobs FROM chitieu_readonly;

-- Statuses of one plan, page by page in the key order of /api/v1/statuses.
CREATE INDEX dash_evaluations_latest_plan_key_idx
    ON dash_evaluations_latest (plan_id, target_id, jurisdiction_id, check_year_key);

-- Every committed change to what the API reads is announced on channel 'chitieu_changes' (NOTIFY
-- is delivered at commit and collapsed per transaction, so a 1M-row COPY sends one notice).
CREATE FUNCTION api_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('chitieu_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$fn$;

DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['jurisdictions', 'jurisdiction_succession', 'indicators', 'plans',
                             'reporting_obligations', 'targets', 'sources', 'load_batches', 'observations',
                             'rejected_rows', 'evaluation_runs', 'evaluations', 'dash_evaluations_latest',
                             'alerts', 'alert_silences', 'upload_jobs']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change()', t || '_api_notify', t);
    END LOOP;
END
$do$;

-- last_used_at is written as keys are used; only changes that matter to authentication notify.
CREATE TRIGGER api_keys_api_notify
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF role, expires_at, revoked_at, token_sha256 ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change();
