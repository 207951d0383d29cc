-- The statuses the API serves are read from the latest-status table alone: the headline's explanation
-- beside the verdict (no lookup of the evaluation row per status), and each row's JSON as the API writes
-- it (`item`, kept by the triggers of schemas/views/045-status-items.sql), so that a page is a range of
-- the primary key and its items joined with commas.
ALTER TABLE dash_evaluations_latest
    ADD COLUMN headline_rule text,
    ADD COLUMN anticipated_gap double precision,
    ADD COLUMN series_basis text,
    ADD COLUMN item text;
