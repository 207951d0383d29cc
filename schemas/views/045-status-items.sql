-- The JSON of a status as the API serves it (GET /statuses), written once per row when the
-- latest-status table is written, so that a page costs an index range and a string_agg.
--
-- The bytes are those orjson writes for the values psycopg reads from the same columns (the API's
-- other answers are written by orjson, and a page must not change with the writer):
-- - row_to_json is compact like orjson (json_build_object and json_agg add spaces); text, integers,
--   booleans and text arrays come out alike.
-- - double precision: both print the shortest digits that read back the same number, but orjson writes
--   decimal notation for decimal exponents -5..15 with `.0` on whole numbers (`2.0`, `0.00001`, `1e-6`,
--   `1e+16`), PostgreSQL for -4..14 without (`2`, `1e-05`); NaN and infinities are null in orjson.
--   extra_float_digits = 1 (the default) gives the shortest digits; status_item sets it.
-- - timestamptz: orjson writes six digits of microseconds or none, PostgreSQL trims trailing zeros.
--   Written in UTC whatever the session's time zone, so that a stored item does not depend on the
--   session that wrote it.

CREATE OR REPLACE FUNCTION json_float(v double precision) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    -- The usual magnitudes first, where only whole numbers differ; NaN compares above every number.
    SELECT (CASE WHEN abs(v) >= '1e-4'::float8 AND abs(v) < '1e15'::float8
                     THEN CASE WHEN v = trunc(v) THEN v::text || '.0' ELSE v::text END
                 WHEN v = 'NaN'::float8 OR v IN ('Infinity'::float8, '-Infinity'::float8) THEN 'null'
                 WHEN v = 0 THEN CASE WHEN v::text = '-0' THEN '-0.0' ELSE '0.0' END
                 WHEN abs(v) >= '1e16'::float8 OR abs(v) < '1e-5'::float8
                     THEN regexp_replace(v::text, 'e([+-])0*', 'e\1')
                 ELSE regexp_replace(v::text::numeric::text, '^(-?[0-9]+)$', '\1.0') END)::json
$fn$;

CREATE OR REPLACE FUNCTION json_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT to_char(t AT TIME ZONE 'UTC',
                   CASE WHEN date_trunc('second', t) = t THEN 'YYYY-MM-DD"T"HH24:MI:SS'
                        ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || '+00:00'
$fn$;

-- The fields in the order the API shows them; words from the catalog and status_vocabulary
-- (chitieu.statuses). A row recorded before the headline verdict existed shows its status as the
-- headline.
CREATE OR REPLACE FUNCTION status_item(l dash_evaluations_latest) RETURNS text
LANGUAGE sql STABLE SET extra_float_digits = 1 AS $fn$
    SELECT row_to_json(x)::text
    FROM (SELECT l.target_id, l.plan_id, l.jurisdiction_id,
                 (SELECT j.name FROM jurisdictions j WHERE j.id = l.jurisdiction_id) AS jurisdiction_name,
                 l.data_jurisdiction_id, l.indicator_code,
                 (SELECT i.name_vi FROM indicators i WHERE i.code = l.indicator_code) AS indicator_name_vi,
                 l.target_year, l.check_year, l.status, sl.label_vi AS status_label_vi,
                 json_float(l.progress_ratio) AS progress_ratio, json_float(l.expected_value) AS expected_value,
                 json_float(l.current_value) AS current_value, l.current_year,
                 json_float(l.projected_value) AS projected_value, l.will_meet, l.base_year,
                 json_float(l.base_value) AS base_value, l.flags, l.run_id,
                 json_time(l.evaluated_at) AS evaluated_at, json_time(l.as_of) AS as_of,
                 hv.key AS headline_status, hv.label_vi AS headline_label_vi, hv.label_en AS headline_label_en,
                 hv.grp AS headline_group, l.headline_rule, json_float(l.anticipated_gap) AS anticipated_gap,
                 l.series_basis
          FROM (SELECT) one
          LEFT JOIN status_vocabulary sl ON sl.key = l.status
          LEFT JOIN status_vocabulary hv ON hv.key = coalesce(l.headline_status, l.status)) x
$fn$;

-- Whoever writes a latest status (dash_refresh, or a row written by hand) gets its item written.
CREATE OR REPLACE FUNCTION dash_status_item() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.item := status_item(NEW);
    RETURN NEW;
END
$fn$;

CREATE OR REPLACE TRIGGER dash_evaluations_latest_item
    BEFORE INSERT OR UPDATE ON dash_evaluations_latest
    FOR EACH ROW EXECUTE FUNCTION dash_status_item();

-- A renamed jurisdiction or indicator, or a status's words changed: the items holding the old words
-- are written again (the UPDATE fires the trigger above).
CREATE OR REPLACE FUNCTION dash_status_items_reworded() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_TABLE_NAME = 'jurisdictions' THEN
        UPDATE dash_evaluations_latest SET item = NULL WHERE jurisdiction_id = NEW.id;
    ELSIF TG_TABLE_NAME = 'indicators' THEN
        UPDATE dash_evaluations_latest SET item = NULL WHERE indicator_code = NEW.code;
    ELSE
        UPDATE dash_evaluations_latest SET item = NULL
        WHERE (CASE TG_OP WHEN 'DELETE' THEN OLD.key ELSE NEW.key END)
              IN (status, coalesce(headline_status, status));
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER jurisdictions_status_items
    AFTER UPDATE OF name ON jurisdictions
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION dash_status_items_reworded();
CREATE OR REPLACE TRIGGER indicators_status_items
    AFTER UPDATE OF name_vi ON indicators
    FOR EACH ROW WHEN (OLD.name_vi IS DISTINCT FROM NEW.name_vi) EXECUTE FUNCTION dash_status_items_reworded();
CREATE OR REPLACE TRIGGER status_vocabulary_items_changed
    AFTER UPDATE ON status_vocabulary
    FOR EACH ROW WHEN ((OLD.key, OLD.label_vi, OLD.label_en, OLD.grp) IS DISTINCT FROM
                       (NEW.key, NEW.label_vi, NEW.label_en, NEW.grp))
    EXECUTE FUNCTION dash_status_items_reworded();
CREATE OR REPLACE TRIGGER status_vocabulary_items_added_or_removed
    AFTER INSERT OR DELETE ON status_vocabulary
    FOR EACH ROW EXECUTE FUNCTION dash_status_items_reworded();
