-- The dashboards count and colour targets by their headline verdict (evaluations.headline_status,
-- migration 075), kept beside the ratio verdict (`status`) in the precomputed latest evaluations.
ALTER TABLE dash_evaluations_latest ADD COLUMN headline_status text;
