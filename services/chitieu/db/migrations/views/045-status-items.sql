-- The JSON of a status as the API serves it (GET /statuses), written once per row when the
-- latest-status table is written (kept in dash_status_items, the run's fields spliced in by the page
-- query), so that a page costs an index range and a string_agg.
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

-- The JSON of a status as the API serves it: the fields in the order the API shows them (each
-- parameter is the field of its name), in parts: the row's own fields before run_id (`head`), the
-- run's fields (run_id, as_of) around the row's evaluated_at, and the row's own fields after them
-- (`tail`). The latest-status table stores each row's head, evaluated_at and tail (dash_status_items,
-- with the columns the API filters on) and holds its run once (dash_latest_run): a new run leaves the
-- items of unchanged rows as they are, and a page writes the run's parts once. Each part is one
-- expression, so that PostgreSQL inlines it into the statement that calls it.
CREATE OR REPLACE FUNCTION status_item_head(
    target_id text, plan_id text, jurisdiction_id text,
    jurisdiction_name text, data_jurisdiction_id text, indicator_code text,
    indicator_name_vi text, target_year integer, check_year integer,
    status text, status_label_vi text, progress_ratio double precision,
    expected_value double precision, current_value double precision, current_year integer,
    projected_value double precision, will_meet boolean, base_year integer,
    base_value double precision, flags text[]
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
$fn$;

CREATE OR REPLACE FUNCTION status_item_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT json_value(json_time(t))
$fn$;

-- The run's fields before and after the row's evaluated_at: the same for every row of a page of the
-- latest statuses, which writes them once.
CREATE OR REPLACE FUNCTION status_item_run_head(run_id bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT ',"run_id":' || json_value(run_id) || ',"evaluated_at":'
$fn$;

CREATE OR REPLACE FUNCTION status_item_run_tail(as_of timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT ',"as_of":' || status_item_time(as_of)
$fn$;

-- An item from its parts (`evaluated_at` as status_item_time writes it).
CREATE OR REPLACE FUNCTION status_item_parts(
    head text, run_head text, evaluated_at text, run_tail text, tail text
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT head || run_head || evaluated_at || run_tail || tail
$fn$;

CREATE OR REPLACE FUNCTION status_item_tail(
    headline_status text, headline_label_vi text, headline_label_en text, headline_group text,
    headline_rule text, anticipated_gap double precision, series_basis text
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT ',"headline_status":' || json_value(headline_status)
        || ',"headline_label_vi":' || json_value(headline_label_vi)
        || ',"headline_label_en":' || json_value(headline_label_en)
        || ',"headline_group":' || json_value(headline_group)
        || ',"headline_rule":' || json_value(headline_rule)
        || ',"anticipated_gap":' || json_value(json_float(anticipated_gap))
        || ',"series_basis":' || json_value(series_basis)
        || '}'
$fn$;

-- The whole item (a past run's statuses are written from its rows with it).
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
    SELECT status_item_parts(
        status_item_head(target_id, plan_id, jurisdiction_id, jurisdiction_name, data_jurisdiction_id,
                         indicator_code, indicator_name_vi, target_year, check_year, status, status_label_vi,
                         progress_ratio, expected_value, current_value, current_year, projected_value,
                         will_meet, base_year, base_value, flags),
        status_item_run_head(run_id), status_item_time(evaluated_at), status_item_run_tail(as_of),
        status_item_tail(headline_status, headline_label_vi, headline_label_en, headline_group,
                         headline_rule, anticipated_gap, series_basis))
$fn$;

-- The items follow the rows of dash_evaluations_latest a statement wrote (`new_rows`) or removed
-- (`old_rows`), with the words of the catalog and of status_vocabulary. A row recorded before the
-- headline verdict existed shows its status as the headline. The catalog tables are small: the same
-- joins serve one row and all of them.
CREATE OR REPLACE FUNCTION dash_status_items_trigger() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM dash_status_items s USING old_rows o
        WHERE s.target_id = o.target_id AND s.jurisdiction_id = o.jurisdiction_id
          AND s.check_year_key = o.check_year_key;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO dash_status_items AS s (target_id, jurisdiction_id, check_year_key, plan_id,
            data_jurisdiction_id, indicator_code, status, headline_status, head, evaluated_at_json, tail)
        SELECT l.target_id, l.jurisdiction_id, l.check_year_key, l.plan_id, l.data_jurisdiction_id,
               l.indicator_code, l.status, l.headline_status,
               status_item_head(l.target_id, l.plan_id, l.jurisdiction_id, j.name, l.data_jurisdiction_id,
                                l.indicator_code, i.name_vi, l.target_year, l.check_year, l.status, sl.label_vi,
                                l.progress_ratio, l.expected_value, l.current_value, l.current_year,
                                l.projected_value, l.will_meet, l.base_year, l.base_value, l.flags),
               status_item_time(l.evaluated_at),
               status_item_tail(hv.key, hv.label_vi, hv.label_en, hv.grp, l.headline_rule, l.anticipated_gap,
                                l.series_basis)
        FROM new_rows l
        LEFT JOIN jurisdictions j ON j.id = l.jurisdiction_id
        LEFT JOIN indicators i ON i.code = l.indicator_code
        LEFT JOIN status_vocabulary sl ON sl.key = l.status
        LEFT JOIN status_vocabulary hv ON hv.key = coalesce(l.headline_status, l.status);
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE dash_status_items;
        DELETE FROM dash_latest_run;  -- an emptied table stands for no run: the next refresh is full
    END IF;
    RETURN NULL;
END
$fn$;

-- Every write to the latest-status table writes its items in the same statement, set-based (a
-- statement may reference its transition tables for one event only, hence one trigger per event).
DROP TRIGGER IF EXISTS dash_evaluations_latest_item ON dash_evaluations_latest;
DROP TRIGGER IF EXISTS dash_evaluations_latest_item_changed ON dash_evaluations_latest;
DROP FUNCTION IF EXISTS dash_status_item();
CREATE OR REPLACE TRIGGER dash_evaluations_latest_items_inserted
    AFTER INSERT ON dash_evaluations_latest REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dash_status_items_trigger();
CREATE OR REPLACE TRIGGER dash_evaluations_latest_items_updated
    AFTER UPDATE ON dash_evaluations_latest REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dash_status_items_trigger();
CREATE OR REPLACE TRIGGER dash_evaluations_latest_items_deleted
    AFTER DELETE ON dash_evaluations_latest REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dash_status_items_trigger();
CREATE OR REPLACE TRIGGER dash_evaluations_latest_items_truncated
    AFTER TRUNCATE ON dash_evaluations_latest
    FOR EACH STATEMENT EXECUTE FUNCTION dash_status_items_trigger();

-- A renamed jurisdiction or indicator, or a status's words or group changed: the items holding the
-- old words are written again (the rows rewritten as they are fire the triggers above).
CREATE OR REPLACE FUNCTION dash_status_items_reworded() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- Each branch reads only the fields of its own table's rows.
    IF TG_TABLE_NAME = 'jurisdictions' THEN
        UPDATE dash_evaluations_latest SET jurisdiction_id = jurisdiction_id WHERE jurisdiction_id = NEW.id;
    ELSIF TG_TABLE_NAME = 'indicators' THEN
        UPDATE dash_evaluations_latest SET indicator_code = indicator_code WHERE indicator_code = NEW.code;
    ELSE
        IF TG_OP = 'DELETE' THEN
            UPDATE dash_evaluations_latest SET status = status
            WHERE OLD.key IN (status, coalesce(headline_status, status));
        ELSE
            UPDATE dash_evaluations_latest SET status = status
            WHERE NEW.key IN (status, coalesce(headline_status, status));
        END IF;
        -- the counts too: which are behind follows the statuses' groups
        PERFORM dash_refresh_summary();
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
