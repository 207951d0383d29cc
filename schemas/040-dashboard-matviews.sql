-- Precomputed tables for the Grafana panels (helper D). Never edit after it lands: add 041, 042...
-- Plain materialized views over base tables only (numbered migrations run before schemas/views/),
-- each with a unique index on plain columns so that `chitieu.dashboards.views.refresh(conn)` can
-- REFRESH ... CONCURRENTLY after every evaluation without blocking readers.

-- The latest evaluation of every target: the rows of the newest run that evaluated it (a run
-- that covered only part of the catalog does not hide the others), one per check year.
CREATE MATERIALIZED VIEW dash_evaluations_mv AS
WITH last_run AS (
    SELECT target_id, max(run_id) AS run_id
    FROM evaluations
    GROUP BY target_id
)
SELECT DISTINCT ON (e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0))
       e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0) AS check_year_key, e.check_year,
       e.run_id, e.evaluated_at, e.as_of, e.plan_id, e.data_jurisdiction_id, e.indicator_code,
       e.target_year, e.status, e.progress_ratio, e.expected_value, e.current_value, e.current_year,
       e.projected_value, e.will_meet, e.base_year, e.base_value, e.flags
FROM evaluations e
JOIN last_run l ON l.target_id = e.target_id AND l.run_id = e.run_id
ORDER BY e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.evaluated_at DESC;

CREATE UNIQUE INDEX dash_evaluations_mv_key ON dash_evaluations_mv (target_id, jurisdiction_id, check_year_key);
CREATE INDEX dash_evaluations_mv_plan_idx ON dash_evaluations_mv (plan_id, jurisdiction_id);
CREATE INDEX dash_evaluations_mv_indicator_idx ON dash_evaluations_mv (indicator_code, jurisdiction_id);
CREATE INDEX dash_evaluations_mv_status_idx ON dash_evaluations_mv (status);

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

GRANT SELECT ON dash_evaluations_mv, dash_source_periods_mv TO chitieu_readonly;
