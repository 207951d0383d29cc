-- Precomputed data for the Grafana panels. Never edit after it lands: add 042, 043...
-- The Apache TimescaleDB build has no continuous aggregates, so the pipeline refreshes these after
-- every evaluation through dash_refresh() (schemas/views/040-dashboard-views.sql), called by
-- `chitieu.dashboards.views.refresh(conn)`.
--
-- The latest evaluations are plain tables rewritten in one transaction, not a materialized view:
-- every evaluation run changes every row (a new run id), and REFRESH MATERIALIZED VIEW CONCURRENTLY
-- diffs every row against the old contents (minutes on the 1M-observation benchmark set), while a
-- DELETE + INSERT takes seconds and readers keep the previous rows until it commits.

-- The latest evaluation of every target: the rows of the newest run that evaluated it, one per
-- check year (0 = the target itself, a year = an every-year check).
CREATE TABLE dash_evaluations_latest (
    target_id             text NOT NULL,
    jurisdiction_id       text NOT NULL,
    check_year_key        integer NOT NULL,
    check_year            integer,
    run_id                bigint NOT NULL,
    evaluated_at          timestamptz NOT NULL,
    as_of                 timestamptz NOT NULL,
    plan_id               text NOT NULL,
    data_jurisdiction_id  text,
    indicator_code        text NOT NULL,
    target_year           integer NOT NULL,
    status                text NOT NULL,
    progress_ratio        double precision,
    expected_value        double precision,
    current_value         double precision,
    current_year          integer,
    projected_value       double precision,
    will_meet             boolean,
    base_year             integer,
    base_value            double precision,
    flags                 text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (target_id, jurisdiction_id, check_year_key)
);
CREATE INDEX dash_evaluations_latest_plan_idx ON dash_evaluations_latest (plan_id, jurisdiction_id);
CREATE INDEX dash_evaluations_latest_indicator_idx ON dash_evaluations_latest (indicator_code, jurisdiction_id);

-- Counts per plan, jurisdiction and status: what the overview's counters, the per-plan chart and the
-- behind-trajectory rule read, instead of aggregating every target at each panel refresh.
CREATE TABLE dash_status_summary (
    plan_id           text NOT NULL,
    jurisdiction_id   text NOT NULL,
    status            text NOT NULL,
    every_year_check  boolean NOT NULL,   -- rows of every-year checks (check_year set)
    behind            boolean NOT NULL,   -- behind trajectory: needs acceleration, limited progress,
                                          -- deteriorating, or projected to miss
    targets           integer NOT NULL,
    PRIMARY KEY (plan_id, jurisdiction_id, status, every_year_check, behind)
);

-- What each source has delivered, per indicator and period type: the freshness panel and the
-- Grafana stale-data rule compare the end of the last period with the source's release lag.
CREATE MATERIALIZED VIEW dash_source_periods_mv AS
SELECT source_id, indicator_code, period_type,
       max(period_start) AS last_period_start,
       max(CASE period_type
               WHEN 'Y' THEN (period_start + interval '1 year')::date
               WHEN 'H' THEN (period_start + interval '6 months')::date
               WHEN 'Q' THEN (period_start + interval '3 months')::date
               WHEN 'M' THEN (period_start + interval '1 month')::date
               ELSE coalesce(period_end + 1, (period_start + interval '1 year')::date)
           END) AS last_period_end,       -- exclusive: the day after the last period covered
       max(loaded_at) AS last_loaded_at,
       max(fetched_at) AS last_fetched_at,
       count(*) AS vintages
FROM observations
GROUP BY source_id, indicator_code, period_type;

CREATE UNIQUE INDEX dash_source_periods_mv_key ON dash_source_periods_mv (source_id, indicator_code, period_type);

GRANT SELECT ON dash_evaluations_latest, dash_status_summary, dash_source_periods_mv TO chitieu_readonly;
