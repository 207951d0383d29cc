-- Dashboard precomputation, second form (helper D). Never edit after it lands: add 042, 043...
-- The materialized view dash_evaluations_mv (040) is replaced by plain tables filled by the function
-- dash_refresh() (schemas/views/040-dashboard-views.sql), which `chitieu.dashboards.views.refresh`
-- calls after every evaluation. Why: each evaluation run changes every row (a new run id), and
-- REFRESH MATERIALIZED VIEW CONCURRENTLY diffs every row against the old contents: minutes on the
-- 1M-observation benchmark set. A DELETE + INSERT in one transaction takes seconds, and readers keep
-- seeing the previous rows until it commits (no exclusive lock, unlike a plain REFRESH).
DROP MATERIALIZED VIEW IF EXISTS dash_evaluations_mv CASCADE;

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

INSERT INTO dash_evaluations_latest
WITH last_run AS (
    SELECT target_id, max(run_id) AS run_id FROM evaluations GROUP BY target_id
)
SELECT DISTINCT ON (e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0))
       e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.check_year, e.run_id, e.evaluated_at,
       e.as_of, e.plan_id, e.data_jurisdiction_id, e.indicator_code, e.target_year, e.status,
       e.progress_ratio, e.expected_value, e.current_value, e.current_year, e.projected_value, e.will_meet,
       e.base_year, e.base_value, e.flags
FROM evaluations e
JOIN last_run l ON l.target_id = e.target_id AND l.run_id = e.run_id
ORDER BY e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.evaluated_at DESC;

INSERT INTO dash_status_summary
SELECT plan_id, jurisdiction_id, status, check_year IS NOT NULL,
       check_year IS NULL AND (status IN ('needs_acceleration', 'limited_progress', 'deteriorating')
                               OR will_meet IS FALSE),
       count(*)
FROM dash_evaluations_latest
GROUP BY 1, 2, 3, 4, 5;

GRANT SELECT ON dash_evaluations_latest, dash_status_summary TO chitieu_readonly;
