-- The latest-status table holds the run it stands for once, the API's JSON apart, and what the
-- overview's panels read without a scan of it all. Never edit after it lands: add 121, 122...
--
-- Every row used to carry the run's id and as_of: after a partial run every row was rewritten only
-- to relabel it (seconds on 100,000 rows), and with it the row's stored JSON, which embedded both.
-- Now the run is one row of dash_latest_run, the rows keep what is their own (evaluated_at is the
-- run that computed them), and the views and the API read the run from that one place.
--
-- The JSON items (about 870 bytes a row) stored inline made every scan of the table read eight
-- times the pages the dashboards need; they move to dash_status_items, keyed like the table, stored
-- in parts around the run's fields (views/045-status-items.sql), with the columns the API's filters
-- read, so that a page of statuses is a range of this table alone (a lookup of the item for each
-- row of the latest table doubled the page's cost).
--
-- The table's rows are derived data: they are emptied here and the next refresh rebuilds them all
-- (with no run recorded, dash_refresh_changes() declines and dash_refresh() runs).
CREATE TABLE dash_latest_run (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    run_id  bigint NOT NULL,
    as_of   timestamptz NOT NULL
);

CREATE TABLE dash_status_items (
    target_id             text NOT NULL,
    jurisdiction_id       text NOT NULL,
    check_year_key        integer NOT NULL,
    -- the filters' columns, as in dash_evaluations_latest
    plan_id               text NOT NULL,
    data_jurisdiction_id  text,
    indicator_code        text NOT NULL,
    status                text NOT NULL,
    headline_status       text,
    head                  text NOT NULL,   -- the fields before run_id: '{"target_id":...,"flags":[...]'
    evaluated_at_json     text NOT NULL,   -- the row's evaluated_at, between run_id and as_of
    tail                  text NOT NULL,   -- the fields after as_of: ',"headline_status":...}'
    PRIMARY KEY (target_id, jurisdiction_id, check_year_key)
);
-- Statuses of one plan, page by page in the key order of /api/v1/statuses.
CREATE INDEX dash_status_items_plan_key_idx
    ON dash_status_items (plan_id, target_id, jurisdiction_id, check_year_key);

TRUNCATE dash_evaluations_latest, dash_status_summary;
-- The views reading these columns are dropped with them and re-created by views/040 and 045.
ALTER TABLE dash_evaluations_latest
    DROP COLUMN run_id CASCADE,
    DROP COLUMN as_of CASCADE,
    DROP COLUMN item CASCADE;

-- What the API reads changes with these too (the cache's change feed, migration 060).
CREATE TRIGGER dash_latest_run_api_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dash_latest_run
    FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change();
CREATE TRIGGER dash_status_items_api_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dash_status_items
    FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change();

GRANT SELECT ON dash_latest_run, dash_status_items TO chitieu_readonly;

-- The overview's counters read the precomputed counts (dash_status_summary) instead of counting the
-- latest statuses at each panel refresh, and "milestones due" needs the year a milestone falls due:
-- counts of milestones (headline milestone_pending or milestone_overdue) are kept per target year;
-- every other count has 0 there.
ALTER TABLE dash_status_summary ADD COLUMN milestone_year integer NOT NULL DEFAULT 0;
ALTER TABLE dash_status_summary DROP CONSTRAINT dash_status_summary_pkey;
ALTER TABLE dash_status_summary
    ADD PRIMARY KEY (plan_id, jurisdiction_id, status, every_year_check, behind, milestone_year);

-- The scorecard reads the latest statuses of the provinces only; the alert rules those of one
-- headline status (every-year misses, overdue milestones), an index which also gives the planner
-- that expression's statistics (without them it expected 14 rows of 2,847 and joined row by row).
CREATE INDEX dash_evaluations_latest_jurisdiction_idx ON dash_evaluations_latest (jurisdiction_id);
CREATE INDEX dash_evaluations_latest_headline_idx
    ON dash_evaluations_latest ((coalesce(headline_status, status)));
