-- The dashboards count and colour targets by their headline verdict (evaluations.headline_status,
-- migration 075), which dash_refresh() writes into dash_evaluations_latest.status; the ratio verdict
-- it was built from is kept beside it.
ALTER TABLE dash_evaluations_latest ADD COLUMN ratio_status text;
