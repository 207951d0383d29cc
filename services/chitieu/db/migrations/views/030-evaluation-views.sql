-- Evaluation views. Re-applied on every migrate.

-- The latest run is the one with the latest as_of (then the highest id): a back-dated
-- `chitieu evaluate --as-of ...` run, recorded for history, never replaces today's statuses.
-- Runs without evaluation rows are skipped (an interrupted run never finishes its transaction,
-- so this only matters for an empty catalog).
DROP VIEW IF EXISTS evaluations_latest CASCADE;
DROP VIEW IF EXISTS evaluation_runs_latest CASCADE;

CREATE VIEW evaluation_runs_latest AS
SELECT r.*
FROM evaluation_runs r
WHERE r.finished_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM evaluations e WHERE e.run_id = r.id)
ORDER BY r.as_of DESC, r.id DESC
LIMIT 1;

-- The complete results of a run: its own rows, and for a partial run (base_run_id set, migration
-- 115) the complete results of its base for every target it did not evaluate. Every row carries the
-- run's id and as_of (the results are that run's, equal to what a full evaluation at its as_of
-- gives) and the evaluated_at of the run that computed it (with target_id, the row's key in
-- evaluations). The columns are those of evaluations, in its order.
-- With `only_targets`, the rows of those targets only.
DROP FUNCTION IF EXISTS evaluation_run_rows(bigint);
CREATE OR REPLACE FUNCTION evaluation_run_rows(run bigint, only_targets text[] DEFAULT NULL)
RETURNS SETOF evaluations
LANGUAGE sql STABLE AS $fn$
    WITH RECURSIVE chain (id, depth) AS (
        SELECT run, 0
        UNION ALL
        SELECT r.base_run_id, c.depth + 1
        FROM chain c JOIN evaluation_runs r ON r.id = c.id
        WHERE r.base_run_id IS NOT NULL
    ), own AS (
        SELECT e.target_id, min(c.depth) AS depth
        FROM evaluations e JOIN chain c ON c.id = e.run_id
        WHERE only_targets IS NULL OR e.target_id = ANY (only_targets)
        GROUP BY e.target_id
    )
    SELECT e.evaluated_at, run, (SELECT r.as_of FROM evaluation_runs r WHERE r.id = run), e.target_id,
           e.plan_id, e.jurisdiction_id, e.data_jurisdiction_id, e.indicator_code, e.target_year,
           e.check_year, e.status, e.progress_ratio, e.expected_value, e.current_value, e.current_year,
           e.projected_value, e.will_meet, e.base_year, e.base_value, e.flags, e.lineage, e.inputs,
           e.headline_status, e.headline_rule, e.anticipated_gap, e.series_basis
    FROM evaluations e
    JOIN chain c ON c.id = e.run_id
    JOIN own o ON o.target_id = e.target_id AND o.depth = c.depth
$fn$;

-- One row per (target, jurisdiction, check_year) of the latest run's complete results: check_year
-- is NULL for the target's overall status and set for each failed year of an every-year constraint
-- ('missed').
CREATE VIEW evaluations_latest AS
SELECT e.*
FROM evaluation_runs_latest r
CROSS JOIN LATERAL evaluation_run_rows(r.id) e;

GRANT SELECT ON evaluation_runs_latest, evaluations_latest TO chitieu_readonly;
GRANT EXECUTE ON FUNCTION evaluation_run_rows(bigint, text[]) TO chitieu_readonly;

-- The headline verdict of each latest row with its words from the vocabulary (status_vocabulary is
-- filled from chitieu.statuses): what dashboards show and count. `grp` is the category leadership
-- counts (achieved, on_track, behind, no_data, not_due: milestones not yet due are their own).
DROP VIEW IF EXISTS evaluation_verdicts_latest CASCADE;
CREATE VIEW evaluation_verdicts_latest AS
SELECT e.target_id, e.plan_id, e.jurisdiction_id, e.data_jurisdiction_id, e.indicator_code,
       e.target_year, e.check_year,
       coalesce(e.headline_status, e.status) AS headline_status, e.headline_rule,
       v.label_vi, v.label_en, v.color, v.severity, v.grp,
       e.status AS ratio_status, e.progress_ratio, e.projected_value, e.will_meet, e.anticipated_gap,
       e.expected_value, e.current_value, e.current_year, e.base_year, e.base_value,
       coalesce(e.series_basis, 'own') AS series_basis, e.lineage, e.flags, e.as_of, e.run_id
FROM evaluations_latest e
LEFT JOIN status_vocabulary v ON v.key = coalesce(e.headline_status, e.status);

-- The points each latest verdict was computed on (its comparable series), one row per year, for
-- charts that draw exactly the data the verdict used: `source` is 'published' or 'derived'
-- (rebuilt from the predecessors, see derived_observations), `territory_id` the series' territory.
DROP VIEW IF EXISTS evaluation_points_latest CASCADE;
CREATE VIEW evaluation_points_latest AS
SELECT e.target_id, e.jurisdiction_id, e.indicator_code, e.target_year,
       e.lineage ->> 'territory_id' AS territory_id,
       (p ->> 'year')::int AS year, (p ->> 'value')::double precision AS value, p ->> 'source' AS source
FROM evaluations_latest e
CROSS JOIN LATERAL jsonb_array_elements(coalesce(e.lineage -> 'points', '[]'::jsonb)) AS p
WHERE e.check_year IS NULL;

GRANT SELECT ON evaluation_verdicts_latest, evaluation_points_latest TO chitieu_readonly;
