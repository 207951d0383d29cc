-- Chỉ Tiêu foundation schema. Never edit this file after it has landed: add a new numbered file.
-- Works on the Apache-2 TimescaleDB build (hypertables, time_bucket, first/last, drop_chunks only).

CREATE EXTENSION IF NOT EXISTS timescaledb;

-- Read-only role for dashboards. Roles are cluster-wide, so guard against a second database.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chitieu_readonly') THEN
        CREATE ROLE chitieu_readonly NOLOGIN;
    END IF;
END
$$;

-- Jurisdictions are keyed by an id plus validity dates, never by code alone: code 52 is Bình Định
-- until 30 June 2025 and the merged Gia Lai from 1 July 2025.
CREATE TABLE jurisdictions (
    id          text PRIMARY KEY,              -- 'vn', 'old-58', 'new-56', 'xa-12345'
    code        text NOT NULL,                 -- GSO code as published in its period
    name        text NOT NULL,                 -- official Vietnamese name
    level       text NOT NULL CHECK (level IN ('national', 'province', 'commune')),
    parent_id   text REFERENCES jurisdictions (id),
    valid_from  date,                          -- NULL: since before the records we keep
    valid_to    date,                          -- NULL: still in force; inclusive last day
    aliases     text[] NOT NULL DEFAULT '{}',
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to)
);
CREATE INDEX jurisdictions_code_idx ON jurisdictions (code);

CREATE TABLE jurisdiction_succession (
    predecessor_id  text NOT NULL REFERENCES jurisdictions (id),
    successor_id    text NOT NULL REFERENCES jurisdictions (id),
    effective_on    date NOT NULL,
    legal_basis     text,
    PRIMARY KEY (predecessor_id, successor_id)
);

CREATE TABLE indicators (
    code              text PRIMARY KEY,
    name_vi           text NOT NULL,
    name_en           text NOT NULL,
    aliases           text[] NOT NULL DEFAULT '{}',
    unit              text NOT NULL,
    value_type        text NOT NULL,
    direction         text NOT NULL CHECK (direction IN ('higher', 'lower')),
    aggregation       text NOT NULL CHECK (aggregation IN ('sum', 'weighted_mean', 'mean', 'none')),
    aggregation_weight text,                   -- indicator code of the weight for weighted_mean
    min_value         double precision,
    max_value         double precision,
    plan_specific     text,                    -- plan id when the indicator exists only in one plan
    needs_review      boolean NOT NULL DEFAULT false,
    description       text
);

CREATE TABLE plans (
    id               text PRIMARY KEY,
    document_number  text NOT NULL,
    title            text NOT NULL,
    issuer           text NOT NULL,
    issued_on        date,
    jurisdiction_id  text NOT NULL REFERENCES jurisdictions (id),
    kind             text NOT NULL DEFAULT 'provincial' CHECK (kind IN ('provincial', 'national')),
    horizon_year     integer NOT NULL DEFAULT 2030,
    source_file      text,
    notes            text
);

CREATE TABLE reporting_obligations (
    plan_id      text NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    code         text NOT NULL,
    description  text NOT NULL,
    recurrence   text NOT NULL CHECK (recurrence IN ('once', 'half_yearly', 'yearly', 'every_3_years', 'every_5_years')),
    due_dates    text[] NOT NULL DEFAULT '{}',   -- 'MM-DD' in the year (recurring) or 'YYYY-MM-DD' (once)
    first_year   integer,
    recipient    text,
    citation     jsonb,
    PRIMARY KEY (plan_id, code)
);

CREATE TABLE targets (
    id                 text PRIMARY KEY,        -- stable id from the catalog, e.g. 'ninh-thuan-319.t01'
    plan_id            text NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    indicator_code     text NOT NULL REFERENCES indicators (code),
    jurisdiction_id    text NOT NULL REFERENCES jurisdictions (id),
    target_year        integer NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('level', 'rank', 'count', 'growth', 'milestone')),
    operator           text CHECK (operator IN ('>=', '>', '<=', '<', '=')),
    value              double precision,
    value_max          double precision,
    every_year         boolean NOT NULL DEFAULT false,
    parent_target_id   text REFERENCES targets (id) DEFERRABLE INITIALLY DEFERRED,
    relative_to        text CHECK (relative_to IN ('national')),
    milestone_object   text,
    due_date           date,
    baseline_year      integer,
    baseline_value     double precision,
    baseline_note      text,                    -- e.g. 'average 2020-2025', 'year not stated'
    lead_agency        text,
    cite_document      text NOT NULL,
    cite_section       text,
    cite_quote         text NOT NULL,
    needs_review       boolean NOT NULL DEFAULT false,
    notes              text,
    CHECK (kind = 'milestone' OR (operator IS NOT NULL AND value IS NOT NULL))
);
CREATE INDEX targets_plan_idx ON targets (plan_id);
CREATE INDEX targets_indicator_idx ON targets (indicator_code, jurisdiction_id);

-- Sources: one row per source spec (catalog/sources) and one per plan for figures cited in plans.
CREATE TABLE sources (
    id                    text PRIMARY KEY,
    kind                  text NOT NULL,       -- spreadsheet, ckan, dkan, pxweb, html_table, json_766, plan, upload
    title                 text NOT NULL,
    publisher             text,
    url                   text,
    schedule              text,
    expected_release_lag  interval,
    spec                  jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE load_batches (
    id              bigserial PRIMARY KEY,
    source_id       text NOT NULL,
    file_sha256     text,
    file_name       text,
    archived_path   text,
    fetched_at      timestamptz NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL CHECK (status IN ('running', 'loaded', 'skipped', 'rejected', 'failed')),
    rows_read       integer NOT NULL DEFAULT 0,
    rows_loaded     integer NOT NULL DEFAULT 0,
    rows_unchanged  integer NOT NULL DEFAULT 0,
    rows_revised    integer NOT NULL DEFAULT 0,
    rows_rejected   integer NOT NULL DEFAULT 0,
    error           text,
    summary         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX load_batches_sha_idx ON load_batches (file_sha256, source_id);
CREATE INDEX load_batches_started_idx ON load_batches (started_at DESC);

-- Every vintage of every figure. A revision adds a row with a later loaded_at; nothing is updated.
CREATE TABLE observations (
    jurisdiction_id  text NOT NULL,
    indicator_code   text NOT NULL,
    period_start     date NOT NULL,
    period_type      char(1) NOT NULL CHECK (period_type IN ('Y', 'H', 'Q', 'M', 'R')),
    period_end       date,                      -- only for 'R' (a multi-year span, e.g. average 2020-2025)
    value            double precision NOT NULL,
    status           text NOT NULL DEFAULT 'final' CHECK (status IN ('final', 'provisional')),
    source_id        text NOT NULL,
    batch_id         bigint,
    file_sha256      text,
    file_name        text,
    sheet            text,
    row_num          integer,
    cell             text,
    fetched_at       timestamptz NOT NULL,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    note             text
);
SELECT create_hypertable('observations', 'period_start', chunk_time_interval => interval '5 years');
CREATE UNIQUE INDEX observations_vintage_key
    ON observations (jurisdiction_id, indicator_code, period_type, period_start, loaded_at);
CREATE INDEX observations_indicator_idx ON observations (indicator_code, period_start DESC);
CREATE INDEX observations_batch_idx ON observations (batch_id, period_start);

-- Latest vintage of each figure.
CREATE VIEW observations_current AS
SELECT DISTINCT ON (jurisdiction_id, indicator_code, period_type, period_start) *
FROM observations
ORDER BY jurisdiction_id, indicator_code, period_type, period_start, loaded_at DESC;

-- What was known at a given time.
CREATE FUNCTION observations_as_of(at timestamptz)
RETURNS SETOF observations
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (jurisdiction_id, indicator_code, period_type, period_start) *
    FROM observations
    WHERE loaded_at <= at
    ORDER BY jurisdiction_id, indicator_code, period_type, period_start, loaded_at DESC
$$;

-- Quarantine: every rejected row with where it was and why, in Vietnamese and English.
CREATE TABLE rejected_rows (
    id           bigserial PRIMARY KEY,
    batch_id     bigint REFERENCES load_batches (id),
    source_id    text NOT NULL,
    file_sha256  text,
    file_name    text,
    sheet        text,
    row_num      integer,
    column_name  text,
    raw          text,
    reason_code  text NOT NULL,
    reason_vi    text NOT NULL,
    reason_en    text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_rows_batch_idx ON rejected_rows (batch_id);
CREATE INDEX rejected_rows_time_idx ON rejected_rows (rejected_at DESC);

CREATE TABLE evaluation_runs (
    id             bigserial PRIMARY KEY,
    as_of          timestamptz NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    targets_count  integer,
    results_count  integer,
    data_fingerprint text,
    notes          jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE evaluations (
    evaluated_at     timestamptz NOT NULL,
    run_id           bigint NOT NULL,
    as_of            timestamptz NOT NULL,
    target_id        text NOT NULL,
    plan_id          text NOT NULL,
    jurisdiction_id  text NOT NULL,          -- the target's jurisdiction
    data_jurisdiction_id text,               -- whose data was used (a successor after the merger)
    indicator_code   text NOT NULL,
    target_year      integer NOT NULL,
    check_year       integer,                -- for every-year constraints: the year checked
    status           text NOT NULL,
    progress_ratio   double precision,
    expected_value   double precision,
    current_value    double precision,
    current_year     integer,
    projected_value  double precision,
    will_meet        boolean,
    base_year        integer,
    base_value       double precision,
    flags            text[] NOT NULL DEFAULT '{}',
    lineage          jsonb,
    inputs           jsonb NOT NULL DEFAULT '{}'
);
SELECT create_hypertable('evaluations', 'evaluated_at', chunk_time_interval => interval '90 days');
CREATE INDEX evaluations_target_idx ON evaluations (target_id, evaluated_at DESC);
CREATE INDEX evaluations_run_idx ON evaluations (run_id, evaluated_at);

CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    fingerprint      text NOT NULL UNIQUE,   -- rule|plan|jurisdiction|indicator|target_year
    rule             text NOT NULL,
    plan_id          text,
    jurisdiction_id  text,
    indicator_code   text,
    target_year      integer,
    target_id        text,
    state            text NOT NULL CHECK (state IN ('firing', 'resolved')),
    severity         text NOT NULL DEFAULT 'warning',
    summary_vi       text NOT NULL,
    summary_en       text,
    labels           jsonb NOT NULL DEFAULT '{}',
    detail           jsonb NOT NULL DEFAULT '{}',
    first_fired_at   timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    last_notified_at timestamptz,
    resolved_at      timestamptz,
    repeat_interval  interval NOT NULL DEFAULT interval '7 days'
);
CREATE INDEX alerts_state_idx ON alerts (state, rule);

CREATE TABLE alert_silences (
    id          bigserial PRIMARY KEY,
    matchers    jsonb NOT NULL,              -- {"label": "value", ...}; all must match
    comment     text,
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    removed_at  timestamptz
);

CREATE TABLE notification_outbox (
    id               bigserial PRIMARY KEY,
    dedup_key        text NOT NULL UNIQUE,    -- one delivery per (alert, event, channel)
    alert_id         bigint REFERENCES alerts (id),
    event            text NOT NULL,           -- firing, repeat, resolved, deadline, test
    channel          text NOT NULL,           -- route name
    target_url       text NOT NULL,           -- apprise URL (secrets may be referenced via env)
    subject          text NOT NULL,
    body             text NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX notification_outbox_pending_idx ON notification_outbox (status, next_attempt_at);

GRANT USAGE ON SCHEMA public TO chitieu_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO chitieu_readonly;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO chitieu_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO chitieu_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO chitieu_readonly;
