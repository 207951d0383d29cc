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
--   extra_float_digits = 1 (the default) gives the shortest digits.
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

-- STABLE, not IMMUTABLE: to_char is, and a function is only inlined when it claims no more than its body.
CREATE OR REPLACE FUNCTION json_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT to_char(t AT TIME ZONE 'UTC',
                   CASE WHEN date_trunc('second', t) = t THEN 'YYYY-MM-DD"T"HH24:MI:SS'
                        ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || '+00:00'
$fn$;

CREATE OR REPLACE FUNCTION json_value(v anyelement) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT coalesce(to_json(v)::text, 'null')
$fn$;

-- The fields in the order the API shows them (each parameter is the field of its name). One
-- expression, so that PostgreSQL inlines it into the statement that calls it.
CREATE OR REPLACE FUNCTION status_item(
    target_id text, plan_id text, jurisdiction_id text,
    jurisdiction_name text, data_jurisdiction_id text, indicator_code text,
    indicator_name_vi text, target_year integer, check_year integer,
    status text, status_label_vi text, progress_ratio double precision,
    expected_value double precision, current_value double precision, current_year integer,
    projected_value double precision, will_meet boolean, base_year integer,
    base_value double precision, flags text[], run_id bigint,
    evaluated_at timestamptz, as_of timestamptz, headline_status text,
    headline_label_vi text, headline_label_en text, headline_group text,
    headline_rule text, anticipated_gap double precision, series_basis text
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT '{"target_id":' || json_value(target_id)
        || ',"plan_id":' || json_value(plan_id)
        || ',"jurisdiction_id":' || json_value(jurisdiction_id)
        || ',"jurisdiction_name":' || json_value(jurisdiction_name)
        || ',"data_jurisdiction_id":' || json_value(data_jurisdiction_id)
        || ',"indicator_code":' || json_value(indicator_code)
        || ',"indicator_name_vi":' || json_value(indicator_name_vi)
        || ',"target_year":' || json_value(target_year)
        || ',"check_year":' || json_value(check_year)
        || ',"status":' || json_value(status)
        || ',"status_label_vi":' || json_value(status_label_vi)
        || ',"progress_ratio":' || json_value(json_float(progress_ratio))
        || ',"expected_value":' || json_value(json_float(expected_value))
        || ',"current_value":' || json_value(json_float(current_value))
        || ',"current_year":' || json_value(current_year)
        || ',"projected_value":' || json_value(json_float(projected_value))
        || ',"will_meet":' || json_value(will_meet)
        || ',"base_year":' || json_value(base_year)
        || ',"base_value":' || json_value(json_float(base_value))
        || ',"flags":' || json_value(flags)
        || ',"run_id":' || json_value(run_id)
        || ',"evaluated_at":' || json_value(json_time(evaluated_at))
        || ',"as_of":' || json_value(json_time(as_of))
        || ',"headline_status":' || json_value(headline_status)
        || ',"headline_label_vi":' || json_value(headline_label_vi)
        || ',"headline_label_en":' || json_value(headline_label_en)
        || ',"headline_group":' || json_value(headline_group)
        || ',"headline_rule":' || json_value(headline_rule)
        || ',"anticipated_gap":' || json_value(json_float(anticipated_gap))
        || ',"series_basis":' || json_value(series_basis)
        || '}'
$fn$;

-- A latest status written without its item (dash_refresh writes it in the same pass; a row written
-- by hand, a change to its values, or an item cleared because its words changed) gets it written,
-- with the words of the catalog and of status_vocabulary. A row recorded before the headline verdict
-- existed shows its status as the headline.
CREATE OR REPLACE FUNCTION dash_status_item() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    place text;
    indicator text;
    word text;
    headline status_vocabulary;
BEGIN
    SELECT j.name INTO place FROM jurisdictions j WHERE j.id = NEW.jurisdiction_id;
    SELECT i.name_vi INTO indicator FROM indicators i WHERE i.code = NEW.indicator_code;
    SELECT v.label_vi INTO word FROM status_vocabulary v WHERE v.key = NEW.status;
    SELECT * INTO headline FROM status_vocabulary v WHERE v.key = coalesce(NEW.headline_status, NEW.status);
    NEW.item := status_item(
        NEW.target_id, NEW.plan_id, NEW.jurisdiction_id, place, NEW.data_jurisdiction_id, NEW.indicator_code,
        indicator, NEW.target_year, NEW.check_year, NEW.status, word, NEW.progress_ratio, NEW.expected_value,
        NEW.current_value, NEW.current_year, NEW.projected_value, NEW.will_meet, NEW.base_year, NEW.base_value,
        NEW.flags, NEW.run_id, NEW.evaluated_at, NEW.as_of, headline.key, headline.label_vi, headline.label_en,
        headline.grp, NEW.headline_rule, NEW.anticipated_gap, NEW.series_basis);
    RETURN NEW;
END
$fn$;

CREATE OR REPLACE TRIGGER dash_evaluations_latest_item
    BEFORE INSERT ON dash_evaluations_latest
    FOR EACH ROW WHEN (NEW.item IS NULL) EXECUTE FUNCTION dash_status_item();
CREATE OR REPLACE TRIGGER dash_evaluations_latest_item_changed
    BEFORE UPDATE ON dash_evaluations_latest
    FOR EACH ROW WHEN (NEW.item IS NULL OR NEW.item IS NOT DISTINCT FROM OLD.item)
    EXECUTE FUNCTION dash_status_item();

-- A renamed jurisdiction or indicator, or a status's words changed: the items holding the old words
-- are written again (the UPDATE fires the trigger above).
CREATE OR REPLACE FUNCTION dash_status_items_reworded() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- Each branch reads only the fields of its own table's rows.
    IF TG_TABLE_NAME = 'jurisdictions' THEN
        UPDATE dash_evaluations_latest SET item = NULL WHERE jurisdiction_id = NEW.id;
    ELSIF TG_TABLE_NAME = 'indicators' THEN
        UPDATE dash_evaluations_latest SET item = NULL WHERE indicator_code = NEW.code;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE dash_evaluations_latest SET item = NULL
        WHERE OLD.key IN (status, coalesce(headline_status, status));
    ELSE
        UPDATE dash_evaluations_latest SET item = NULL
        WHERE NEW.key IN (status, coalesce(headline_status, status));
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
