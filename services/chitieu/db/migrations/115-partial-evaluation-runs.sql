-- Partial evaluation runs. Never edit after it lands: add 116, 117...
--
-- A run made after a load evaluates only the targets whose series changed since the latest run
-- (its base, made the same day under the same catalog and method) and records only their rows;
-- its complete results are its own rows plus its base's complete results for every other target
-- (function evaluation_run_rows, schemas/views/030). A full run has no base. A base removed
-- removes the runs built on it: without it their results are incomplete.
ALTER TABLE evaluation_runs
    ADD COLUMN base_run_id bigint REFERENCES evaluation_runs (id) ON DELETE CASCADE;
CREATE INDEX evaluation_runs_base_idx ON evaluation_runs (base_run_id) WHERE base_run_id IS NOT NULL;
