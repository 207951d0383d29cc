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
