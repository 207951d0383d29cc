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

-- One row per (target, jurisdiction, check_year) from the latest run: check_year is NULL for the
-- target's overall status and set for each failed year of an every-year constraint ('missed').
CREATE VIEW evaluations_latest AS
SELECT e.*
FROM evaluations e
JOIN evaluation_runs_latest r ON r.id = e.run_id;

GRANT SELECT ON evaluation_runs_latest, evaluations_latest TO chitieu_readonly;

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
