-- Views the Grafana panels read; re-applied on every migrate.
-- Panels query these through the read-only role, never the base tables, so that a schema change
-- is absorbed here. Times are UTC timestamps; a year's figure sits on 1 January of that year.
--
-- Numbers leadership reads are also given as text with a decimal comma (dash_format_number):
-- Grafana 11 writes every number with a decimal point whatever the language, and its `locale`
-- unit follows the viewer's browser and drops our unit and decimals. Text written here reads the
-- same for everyone, like the alert texts. Numeric columns stay beside it for charts and sorting.

-- The counts per plan, jurisdiction and status, from dash_evaluations_latest.
DROP VIEW IF EXISTS dash_status_summary_rows CASCADE;
CREATE VIEW dash_status_summary_rows AS
SELECT d.plan_id, d.jurisdiction_id, coalesce(d.headline_status, d.status) AS status,
       d.check_year IS NOT NULL AS every_year_check,
       -- behind trajectory; an overdue milestone has its own alert rule
       d.check_year IS NULL AND v.grp IS NOT DISTINCT FROM 'behind'
                            AND v.key <> 'milestone_overdue' AS behind,
       count(*)::integer AS targets,
       CASE WHEN v.key IN ('milestone_pending', 'milestone_overdue') THEN d.target_year ELSE 0 END
           AS milestone_year
FROM dash_evaluations_latest d
LEFT JOIN status_vocabulary v ON v.key = coalesce(d.headline_status, d.status)
GROUP BY 1, 2, 3, 4, 5, 7;

-- All the counts, or with `plans` and `places` those of the rows whose plan is one of `plans` and
-- jurisdiction one of `places` (conditions on the grouping columns reach the table's index).
DROP FUNCTION IF EXISTS dash_refresh_summary();
CREATE OR REPLACE FUNCTION dash_refresh_summary(plans text[] DEFAULT NULL, places text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    IF plans IS NULL THEN
        DELETE FROM dash_status_summary;
        INSERT INTO dash_status_summary SELECT * FROM dash_status_summary_rows;
    ELSE
        DELETE FROM dash_status_summary WHERE plan_id = ANY (plans) AND jurisdiction_id = ANY (places);
        INSERT INTO dash_status_summary
        SELECT * FROM dash_status_summary_rows WHERE plan_id = ANY (plans) AND jurisdiction_id = ANY (places);
    END IF;
END
$fn$;

-- Recompute the precomputed tables (migration 040) in one transaction: readers see the previous
-- rows until it commits. Called by chitieu.dashboards.views.refresh(). "Latest" is the evaluation
-- engine's own definition (view evaluations_latest, views/030: the run with the latest
-- as_of), so the dashboards, `chitieu status` and the alerts always agree. The run the table stands
-- for is held once, in dash_latest_run (migration 120); each row keeps the evaluated_at of the run
-- that computed it. The rows' JSON items follow by trigger (045-status-items.sql).
CREATE OR REPLACE FUNCTION dash_refresh() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM dash_evaluations_latest;
    DELETE FROM dash_latest_run;
    INSERT INTO dash_latest_run (run_id, as_of) SELECT id, as_of FROM evaluation_runs_latest;
    INSERT INTO dash_evaluations_latest (target_id, jurisdiction_id, check_year_key, check_year,
        evaluated_at, plan_id, data_jurisdiction_id, indicator_code, target_year, status, progress_ratio,
        expected_value, current_value, current_year, projected_value, will_meet, base_year, base_value, flags,
        headline_status, headline_rule, anticipated_gap, series_basis)
    SELECT DISTINCT ON (e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0))
           e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.check_year, e.evaluated_at,
           e.plan_id, e.data_jurisdiction_id, e.indicator_code, e.target_year, e.status,
           e.progress_ratio, e.expected_value, e.current_value, e.current_year, e.projected_value, e.will_meet,
           e.base_year, e.base_value, e.flags, coalesce(e.headline_status, e.status), e.headline_rule,
           e.anticipated_gap, e.series_basis
    FROM evaluations_latest e
    ORDER BY e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.evaluated_at DESC;

    PERFORM dash_refresh_summary();
    -- The planner must know dash_latest_run holds one row (it is cross-joined with every row) and the
    -- new rows' distributions, whoever rebuilt them (the pipeline's refresh, `chitieu db migrate`).
    ANALYZE dash_evaluations_latest, dash_latest_run, dash_status_items, dash_status_summary;
END
$fn$;

-- After a partial evaluation run (base_run_id set, migration 115): when the table stands for a run of
-- the latest run's chain (dash_latest_run), replace the rows of the targets that the chain's runs
-- after it evaluated, their counts, and the run the table stands for; every other row stays as it is.
-- Returns false, changing nothing, when that does not hold or the latest run is a full one;
-- dash_refresh() is then the way.
CREATE OR REPLACE FUNCTION dash_refresh_changes() RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    latest bigint;
    latest_as_of timestamptz;
    latest_base bigint;
    shown bigint;
    reached boolean;
    newer bigint[];
    targets text[];
    plans text[];
    places text[];
BEGIN
    SELECT id, as_of, base_run_id INTO latest, latest_as_of, latest_base FROM evaluation_runs_latest;
    -- Locked: a refresh running meanwhile is waited for, and its run then read.
    SELECT run_id INTO shown FROM dash_latest_run FOR UPDATE;
    IF latest_base IS NULL OR shown IS NULL THEN
        RETURN false;  -- a full run (or none): no rows to keep
    ELSIF shown = latest THEN
        RETURN true;
    END IF;
    -- The runs from the latest back to the one shown, newest first (all partial: each has a base).
    WITH RECURSIVE c (id, base, depth) AS (
        SELECT r.id, r.base_run_id, 0 FROM evaluation_runs r WHERE r.id = latest
        UNION ALL
        SELECT r.id, r.base_run_id, c.depth + 1 FROM c JOIN evaluation_runs r ON r.id = c.base
        WHERE c.id <> shown
    )
    SELECT array_agg(id ORDER BY depth) FILTER (WHERE id <> shown), bool_or(id = shown)
    INTO newer, reached FROM c;
    IF NOT reached THEN
        RETURN false;
    END IF;
    -- Each target's rows come from the newest of those runs that evaluated it.
    DROP TABLE IF EXISTS _dash_changed;
    CREATE TEMP TABLE _dash_changed ON COMMIT DROP AS
        SELECT DISTINCT ON (target_id) target_id, run_id FROM evaluations WHERE run_id = ANY (newer)
        ORDER BY target_id, array_position(newer, run_id);
    SELECT array_agg(target_id) INTO targets FROM _dash_changed;
    WITH gone AS (
        DELETE FROM dash_evaluations_latest d WHERE d.target_id = ANY (targets)
        RETURNING d.plan_id, d.jurisdiction_id
    )
    SELECT array_agg(plan_id), array_agg(jurisdiction_id) INTO plans, places FROM gone;
    INSERT INTO dash_evaluations_latest (target_id, jurisdiction_id, check_year_key, check_year,
        evaluated_at, plan_id, data_jurisdiction_id, indicator_code, target_year, status, progress_ratio,
        expected_value, current_value, current_year, projected_value, will_meet, base_year, base_value,
        flags, headline_status, headline_rule, anticipated_gap, series_basis)
    SELECT DISTINCT ON (e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0))
           e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.check_year, e.evaluated_at,
           e.plan_id, e.data_jurisdiction_id, e.indicator_code, e.target_year, e.status,
           e.progress_ratio, e.expected_value, e.current_value, e.current_year, e.projected_value,
           e.will_meet, e.base_year, e.base_value, e.flags, coalesce(e.headline_status, e.status),
           e.headline_rule, e.anticipated_gap, e.series_basis
    FROM evaluations e
    JOIN _dash_changed c ON c.target_id = e.target_id AND c.run_id = e.run_id
    ORDER BY e.target_id, e.jurisdiction_id, coalesce(e.check_year, 0), e.evaluated_at DESC;
    -- The counts of the plans and places of the rows removed and written.
    SELECT array_agg(DISTINCT p), array_agg(DISTINCT j) INTO plans, places
    FROM (SELECT unnest(plans), unnest(places)
          UNION ALL
          SELECT d.plan_id, d.jurisdiction_id FROM dash_evaluations_latest d WHERE d.target_id = ANY (targets))
         AS x (p, j);
    UPDATE dash_latest_run SET run_id = latest, as_of = latest_as_of;
    IF plans IS NOT NULL THEN
        PERFORM dash_refresh_summary(plans, places);
    END IF;
    RETURN true;
END
$fn$;

-- The status vocabulary (table status_vocabulary, filled from chitieu.statuses by `chitieu db migrate`):
-- label, colour and severity order (higher is worse) of every status, and its headline group.
DROP VIEW IF EXISTS dash_status_labels CASCADE;
CREATE VIEW dash_status_labels (status, label_vi, label_en, color, severity, grp) AS
SELECT key, label_vi, label_en, color, severity, grp FROM status_vocabulary;

-- 14.4 -> '14,4'; 7500 -> '7.500' (Vietnamese: decimal comma, dot between thousands).
CREATE OR REPLACE FUNCTION dash_format_number(value double precision, decimals integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE WHEN value IS NULL THEN NULL ELSE
        translate(to_char(round(value::numeric, decimals),
                          'FM999G999G999G990' || CASE WHEN decimals > 0 THEN 'D' || repeat('0', decimals) ELSE '' END),
                  ',.', '.,')
    END
$fn$;

-- Unit and decimals of every indicator (catalog/indicators.yaml: unit, value_type): shares and
-- rates to one decimal, indices from 0 to 1 to two, ranks and counts whole.
DROP VIEW IF EXISTS dash_indicator_format CASCADE;
CREATE VIEW dash_indicator_format AS
SELECT i.code, i.name_vi, i.unit, i.value_type, i.direction,
       CASE i.value_type WHEN 'index_0_1' THEN 2 WHEN 'rank' THEN 0 WHEN 'count' THEN 0 WHEN 'amount' THEN 0
                         ELSE 1 END AS decimals
FROM indicators i;

-- A figure as leadership reads it: '14,4 % GRDP', '37 đơn'.
CREATE OR REPLACE FUNCTION dash_figure(value double precision, decimals integer, unit text)
RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE WHEN value IS NULL THEN NULL
                ELSE dash_format_number(value, decimals) || CASE WHEN coalesce(unit, '') = '' THEN ''
                                                                 WHEN unit LIKE '%%%' THEN ' ' || unit
                                                                 ELSE ' ' || unit END END
$fn$;

DROP VIEW IF EXISTS dash_plans CASCADE;
CREATE VIEW dash_plans AS
SELECT p.id, p.document_number, p.title, p.issuer, p.jurisdiction_id, j.name AS jurisdiction_name,
       p.kind, p.horizon_year
FROM plans p
LEFT JOIN jurisdictions j ON j.id = p.jurisdiction_id;

-- Options of the $jurisdiction and $indicator variables: what the selected plans have targets for,
-- with whether a figure was found (so a dashboard opens on something that has data).
DROP VIEW IF EXISTS dash_variable_options CASCADE;
CREATE VIEW dash_variable_options AS
SELECT t.plan_id, t.jurisdiction_id, j.name AS jurisdiction_name, j.level AS jurisdiction_level,
       t.indicator_code, i.name_vi AS indicator_name,
       bool_or(e.current_value IS NOT NULL) AS has_data
FROM targets t
JOIN jurisdictions j ON j.id = t.jurisdiction_id
JOIN indicators i ON i.code = t.indicator_code
LEFT JOIN dash_evaluations_latest e ON e.target_id = t.id AND e.check_year_key = 0
GROUP BY t.plan_id, t.jurisdiction_id, j.name, j.level, t.indicator_code, i.name_vi;

-- Latest status of every target with the names a reader needs.
DROP VIEW IF EXISTS dash_status_latest CASCADE;
CREATE VIEW dash_status_latest AS
SELECT e.target_id, e.plan_id, p.title AS plan_title, e.jurisdiction_id, j.name AS jurisdiction_name,
       j.level AS jurisdiction_level, e.data_jurisdiction_id, dj.name AS data_jurisdiction_name,
       e.indicator_code, i.name_vi AS indicator_name, i.unit, e.target_year, e.check_year,
       t.kind AS target_kind, t.operator, t.value AS target_value, t.value_max AS target_value_max,
       t.lead_agency, t.cite_document, t.cite_section, t.cite_quote,
       -- what the dashboards show and count: the headline verdict; the ratio verdict beside it
       coalesce(e.headline_status, e.status) AS status,
       coalesce(s.label_vi, e.status) AS status_vi, coalesce(s.severity, 3) AS severity, s.grp AS status_grp,
       e.status AS ratio_status, e.progress_ratio, e.expected_value, e.current_value, e.current_year, e.projected_value,
       e.will_meet, e.base_year, e.base_value, e.flags, r.run_id, e.evaluated_at, r.as_of,
       f.decimals, dash_figure(e.current_value, f.decimals, i.unit) AS current_text,
       -- a growth target is a rate per year, never an amount of the indicator's unit
       CASE WHEN t.kind = 'growth' THEN 'tăng ' || t.operator || ' ' || dash_format_number(t.value, 1)
                                        || coalesce('–' || dash_format_number(t.value_max, 1), '') || ' %/năm'
            WHEN t.kind = 'milestone' THEN 'mốc nhiệm vụ'
            ELSE concat_ws(' ', t.operator, dash_figure(t.value, f.decimals, i.unit)
                                            || coalesce('–' || dash_format_number(t.value_max, f.decimals), ''))
       END AS target_text,
       dash_figure(e.expected_value, f.decimals, i.unit) AS expected_text,
       dash_figure(e.projected_value, f.decimals, i.unit) AS projected_text,
       -- the evaluation's flags (chitieu.evaluate.compute.FLAG_ORDER) in words
       (SELECT string_agg(CASE fl WHEN 'successor_data' THEN 'số liệu của tỉnh kế thừa ' || coalesce(dj.name, '')
                                  WHEN 'provisional_data' THEN 'có số liệu sơ bộ'
                                  WHEN 'revision_driven' THEN 'thay đổi do số liệu được hiệu chỉnh'
                                  WHEN 'cohort_changed' THEN 'nhóm so sánh đã thay đổi'
                                  WHEN 'relative_national' THEN 'mục tiêu so với cả nước'
                                  WHEN 'parent_share' THEN 'tính theo tỷ trọng của tỉnh'
                                  ELSE replace(fl, '_', ' ') END, '; ')
          FROM unnest(e.flags) AS fl) AS notes_vi
FROM dash_evaluations_latest e
CROSS JOIN dash_latest_run r  -- the run the table stands for (one row)
JOIN jurisdictions j ON j.id = e.jurisdiction_id
JOIN indicators i ON i.code = e.indicator_code
JOIN dash_indicator_format f ON f.code = e.indicator_code
LEFT JOIN jurisdictions dj ON dj.id = e.data_jurisdiction_id
LEFT JOIN plans p ON p.id = e.plan_id
LEFT JOIN targets t ON t.id = e.target_id
LEFT JOIN dash_status_labels s ON s.status = coalesce(e.headline_status, e.status);

-- Counts by status per plan (the main row of each target; every-year misses are counted apart),
-- from the precomputed summary.
DROP VIEW IF EXISTS dash_status_counts CASCADE;
CREATE VIEW dash_status_counts AS
SELECT s.plan_id, p.title AS plan_title,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check), 0) AS targets,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check
                                        AND s.status IN ('achieved', 'milestone_done')), 0) AS achieved,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check
                                        AND s.status IN ('on_track', 'milestone_pending')), 0) AS on_track,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check AND s.status = 'needs_acceleration'), 0)
           AS needs_acceleration,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check AND s.status = 'limited_progress'), 0)
           AS limited_progress,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check
                                        AND s.status IN ('deteriorating', 'milestone_overdue')), 0) AS deteriorating,
       coalesce(sum(s.targets) FILTER (WHERE NOT s.every_year_check
                                        AND s.status IN ('insufficient_data', 'no_data')), 0) AS no_data,
       coalesce(sum(s.targets) FILTER (WHERE s.every_year_check AND s.status = 'missed'), 0) AS years_missed,
       coalesce(sum(s.targets) FILTER (WHERE s.behind), 0) AS behind
FROM dash_status_summary s
LEFT JOIN plans p ON p.id = s.plan_id
GROUP BY s.plan_id, p.title;

-- Targets per plan by headline group (achieved, on track, behind, no data, not yet due), with the
-- milestones that are due (this year or earlier) and not done: the overview's counters, from the
-- precomputed counts.
DROP VIEW IF EXISTS dash_headline_counts CASCADE;
CREATE VIEW dash_headline_counts AS
SELECT s.plan_id,
       sum(s.targets) AS targets,
       coalesce(sum(s.targets) FILTER (WHERE v.grp = 'achieved'), 0) AS achieved,
       coalesce(sum(s.targets) FILTER (WHERE v.grp = 'on_track'), 0) AS on_track,
       coalesce(sum(s.targets) FILTER (WHERE v.grp = 'behind'), 0) AS behind,
       coalesce(sum(s.targets) FILTER (WHERE v.grp = 'no_data'), 0) AS no_data,
       coalesce(sum(s.targets) FILTER (WHERE v.grp = 'not_due'), 0) AS not_due,
       coalesce(sum(s.targets) FILTER (WHERE s.milestone_year BETWEEN 1 AND extract(year FROM current_date)), 0)
           AS milestones_due
FROM dash_status_summary s
LEFT JOIN status_vocabulary v ON v.key = s.status
WHERE NOT s.every_year_check
GROUP BY s.plan_id;

-- The scorecard: the provinces of the provincial programmes (with the province that succeeded each
-- on 1 July 2025) x indicators. A cell is the headline verdict of the province's nearest target for
-- the indicator (2030 before later years; the worst if several), its latest figure as text and the
-- direction of the last change of the series the verdict used.
DROP VIEW IF EXISTS dash_scorecard CASCADE;
CREATE VIEW dash_scorecard AS
WITH provinces AS (
    SELECT DISTINCT p.id AS plan_id, p.jurisdiction_id,
           j.name || coalesce((SELECT CASE WHEN bool_and(sj.name = j.name) THEN ' (mở rộng từ 1/7/2025)'
                                           ELSE ' → ' || string_agg(sj.name, ', ' ORDER BY sj.name) END
                               FROM jurisdiction_succession su
                               JOIN jurisdictions sj ON sj.id = su.successor_id
                               WHERE su.predecessor_id = j.id AND sj.id <> j.id), '') AS province
    FROM plans p
    JOIN jurisdictions j ON j.id = p.jurisdiction_id
    WHERE p.kind = 'provincial'
),
cells AS (
    SELECT DISTINCT ON (s.jurisdiction_id, s.indicator_code)
           s.jurisdiction_id, s.indicator_code, s.status, s.current_value, s.current_year, s.current_text,
           coalesce(s.data_jurisdiction_id, s.jurisdiction_id) AS series_jurisdiction_id
    FROM dash_status_latest s
    -- only the provinces' cells: their figures as text are not written for the other 100,000 rows
    -- (an array, so that the scan of the latest table is an index scan on it)
    WHERE s.check_year IS NULL AND s.jurisdiction_id = ANY (ARRAY(SELECT jurisdiction_id FROM provinces))
    ORDER BY s.jurisdiction_id, s.indicator_code, s.target_year < extract(year FROM current_date),
             s.target_year, s.severity DESC
)
SELECT pr.plan_id, pr.jurisdiction_id, pr.province, c.indicator_code, c.status, c.current_value, c.current_year,
       c.status || '|' || coalesce(c.current_text || ' ' || coalesce(tr.arrow, '') || ' (' || c.current_year || ')',
                                   'chưa có số liệu') AS cell
FROM provinces pr
LEFT JOIN cells c ON c.jurisdiction_id = pr.jurisdiction_id
LEFT JOIN LATERAL (
    SELECT CASE WHEN count(*) < 2 THEN NULL
                WHEN (array_agg(o.value ORDER BY o.period_start DESC))[1]
                     > (array_agg(o.value ORDER BY o.period_start DESC))[2] THEN '↑'
                WHEN (array_agg(o.value ORDER BY o.period_start DESC))[1]
                     < (array_agg(o.value ORDER BY o.period_start DESC))[2] THEN '↓'
                ELSE '→' END AS arrow
    FROM (SELECT x.value, x.period_start FROM observations_current x
          WHERE x.jurisdiction_id IN (pr.jurisdiction_id, c.series_jurisdiction_id)
            AND x.indicator_code = c.indicator_code AND x.period_type = 'Y'
          ORDER BY x.period_start DESC LIMIT 2) o
) tr ON true;

-- Per province of a provincial programme: how many of its targets have no figure (share shown).
DROP VIEW IF EXISTS dash_scorecard_coverage CASCADE;
CREATE VIEW dash_scorecard_coverage AS
SELECT p.id AS plan_id, p.jurisdiction_id, count(t.id) AS targets,
       count(t.id) FILTER (WHERE e.current_value IS NULL) AS without_data,
       CASE WHEN count(t.id) = 0 THEN NULL
            ELSE round(100.0 * count(t.id) FILTER (WHERE e.current_value IS NULL) / count(t.id)) END AS share_pct
FROM plans p
LEFT JOIN targets t ON t.plan_id = p.id AND t.jurisdiction_id = p.jurisdiction_id AND t.kind <> 'milestone'
LEFT JOIN dash_evaluations_latest e ON e.target_id = t.id AND e.check_year_key = 0
WHERE p.kind = 'provincial'
GROUP BY p.id, p.jurisdiction_id;

-- Behind-trajectory counts per plan and jurisdiction (the Grafana rule of that name).
DROP VIEW IF EXISTS dash_behind_trajectory CASCADE;
CREATE VIEW dash_behind_trajectory AS
SELECT s.plan_id, coalesce(p.document_number, s.plan_id) AS plan, s.jurisdiction_id, j.name AS jurisdiction_name,
       sum(s.targets) AS targets
FROM dash_status_summary s
LEFT JOIN plans p ON p.id = s.plan_id
LEFT JOIN jurisdictions j ON j.id = s.jurisdiction_id
WHERE s.behind
GROUP BY s.plan_id, p.document_number, s.jurisdiction_id, j.name;

DROP VIEW IF EXISTS dash_indicators CASCADE;
CREATE VIEW dash_indicators AS
SELECT i.code, i.name_vi, i.name_en, i.unit, i.value_type, i.direction,
       (SELECT count(DISTINCT o.jurisdiction_id) FROM observations o
         JOIN jurisdictions j ON j.id = o.jurisdiction_id AND j.level = 'province'
         WHERE o.indicator_code = i.code) AS province_series,
       EXISTS (SELECT 1 FROM observations o WHERE o.indicator_code = i.code AND o.jurisdiction_id = 'vn')
           AS national_series
FROM indicators i;

DROP VIEW IF EXISTS dash_alerts_firing CASCADE;
CREATE VIEW dash_alerts_firing AS
SELECT a.id, a.rule, a.severity, a.plan_id, a.jurisdiction_id, j.name AS jurisdiction_name,
       a.indicator_code, i.name_vi AS indicator_name, a.target_year, a.target_id, a.summary_vi, a.summary_en,
       a.first_fired_at, a.last_seen_at, a.last_notified_at
FROM alerts a
LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id
LEFT JOIN indicators i ON i.code = a.indicator_code
WHERE a.state = 'firing';

-- Current vintage of every figure with a time column. Filters on jurisdiction_id and
-- indicator_code reach the DISTINCT ON in observations_current, hence the vintage-key index.
DROP VIEW IF EXISTS dash_observation_series CASCADE;
CREATE VIEW dash_observation_series AS
SELECT (o.period_start::timestamp AT TIME ZONE 'UTC') AS "time", o.jurisdiction_id, j.name AS jurisdiction_name,
       o.indicator_code, i.name_vi AS indicator_name, i.unit, o.period_type, o.period_start, o.period_end,
       CASE o.period_type
           WHEN 'Y' THEN to_char(o.period_start, 'YYYY')
           WHEN 'H' THEN to_char(o.period_start, 'YYYY') || CASE WHEN extract(month FROM o.period_start) < 7
                                                                 THEN '-H1' ELSE '-H2' END
           WHEN 'Q' THEN to_char(o.period_start, 'YYYY-"Q"Q')
           WHEN 'M' THEN to_char(o.period_start, 'YYYY-MM')
           ELSE to_char(o.period_start, 'YYYY') || '/' || coalesce(to_char(o.period_end, 'YYYY'), '')
       END AS period_label,
       o.value, o.status, o.source_id, o.file_name, o.sheet, o.cell, o.fetched_at, o.loaded_at, o.note
FROM observations_current o
JOIN jurisdictions j ON j.id = o.jurisdiction_id
JOIN indicators i ON i.code = o.indicator_code;

-- The planned path of each numeric target: a straight line from its baseline (or the first year
-- evaluated) to the target value, one point a year.
DROP VIEW IF EXISTS dash_target_path CASCADE;
CREATE VIEW dash_target_path AS
WITH ends AS (
    SELECT t.id AS target_id, t.plan_id, t.jurisdiction_id, t.indicator_code, t.target_year, t.value,
           coalesce(t.baseline_year, e.base_year) AS base_year,
           coalesce(t.baseline_value, e.base_value) AS base_value
    FROM targets t
    LEFT JOIN dash_evaluations_latest e ON e.target_id = t.id AND e.check_year_key = 0
    WHERE t.kind IN ('level', 'rank', 'count') AND t.value IS NOT NULL
)
SELECT ends.target_id, ends.plan_id, ends.jurisdiction_id, j.name AS jurisdiction_name, ends.indicator_code,
       ends.target_year, y AS year,
       (make_date(y, 1, 1)::timestamp AT TIME ZONE 'UTC') AS "time",
       ends.base_value + (ends.value - ends.base_value) * (y - ends.base_year)::double precision
           / (ends.target_year - ends.base_year) AS value
FROM ends
JOIN jurisdictions j ON j.id = ends.jurisdiction_id
CROSS JOIN LATERAL generate_series(ends.base_year, ends.target_year) AS y
WHERE ends.base_year IS NOT NULL AND ends.base_value IS NOT NULL AND ends.base_year < ends.target_year;

-- The 2030 and 2045 thresholds of a jurisdiction's indicator (its own target, else the national
-- one), as a value for every year 2015-2045 so that Grafana draws them as horizontal lines.
DROP VIEW IF EXISTS dash_target_thresholds CASCADE;
CREATE VIEW dash_target_thresholds AS
WITH own AS (
    SELECT DISTINCT t.jurisdiction_id, t.indicator_code FROM targets t
),
levels AS (
    SELECT o.jurisdiction_id, o.indicator_code, h.horizon,
           coalesce(
               (SELECT max(t.value) FROM targets t
                 WHERE t.jurisdiction_id = o.jurisdiction_id AND t.indicator_code = o.indicator_code
                   AND t.target_year = h.horizon AND t.kind IN ('level', 'rank', 'count')),
               (SELECT max(t.value) FROM targets t
                 WHERE t.jurisdiction_id = 'vn' AND t.indicator_code = o.indicator_code
                   AND t.target_year = h.horizon AND t.kind IN ('level', 'rank', 'count'))
           ) AS value
    FROM own o
    CROSS JOIN (VALUES (2030), (2045)) AS h (horizon)
)
SELECT l.jurisdiction_id, j.name AS jurisdiction_name, l.indicator_code, l.horizon,
       'Ngưỡng ' || l.horizon AS metric, y AS year, (make_date(y, 1, 1)::timestamp AT TIME ZONE 'UTC') AS "time",
       l.value
FROM levels l
JOIN jurisdictions j ON j.id = l.jurisdiction_id
CROSS JOIN generate_series(2015, 2045) AS y
WHERE l.value IS NOT NULL;

-- The projection to the target year: from the current figure to the projected value.
DROP VIEW IF EXISTS dash_projection CASCADE;
CREATE VIEW dash_projection AS
SELECT e.target_id, e.plan_id, e.jurisdiction_id, j.name AS jurisdiction_name, e.indicator_code, e.target_year,
       pt.year,
       (make_date(pt.year, 1, 1)::timestamp AT TIME ZONE 'UTC') AS "time", pt.value
FROM dash_evaluations_latest e
JOIN jurisdictions j ON j.id = e.jurisdiction_id
CROSS JOIN LATERAL (VALUES (e.current_year, e.current_value), (e.target_year, e.projected_value)) AS pt (year, value)
WHERE e.check_year_key = 0 AND e.projected_value IS NOT NULL AND e.current_year IS NOT NULL
  AND e.current_year < e.target_year;

-- Current figures of provinces and the nation, per jurisdiction (LATERAL keeps each lookup on the
-- vintage-key index even on the commune-level benchmark set). Provinces that ceased on
-- 30 June 2025 are labelled as such and carry their successor.
DROP VIEW IF EXISTS dash_province_series CASCADE;
CREATE VIEW dash_province_series AS
SELECT (o.period_start::timestamp AT TIME ZONE 'UTC') AS "time", j.id AS jurisdiction_id,
       j.name || CASE WHEN j.valid_to IS NOT NULL THEN ' (đến ' || to_char(j.valid_to, 'DD/MM/YYYY') || ')'
                      ELSE '' END AS jurisdiction_name,
       j.level, j.valid_from, j.valid_to,
       CASE WHEN j.level = 'national' THEN 'Cả nước'
            WHEN j.valid_to IS NOT NULL AND j.valid_to < DATE '2025-07-01' THEN 'Trước sáp nhập (63 tỉnh)'
            WHEN j.valid_from >= DATE '2025-07-01' THEN 'Sau sáp nhập (34 tỉnh)'
            ELSE 'Không đổi' END AS era,
       (SELECT string_agg(sj.name, ', ' ORDER BY sj.name)
          FROM jurisdiction_succession s JOIN jurisdictions sj ON sj.id = s.successor_id
          WHERE s.predecessor_id = j.id) AS successor_names,
       o.indicator_code, o.period_type, o.period_start, o.value, o.status
FROM jurisdictions j
CROSS JOIN LATERAL (
    SELECT DISTINCT ON (x.indicator_code, x.period_type, x.period_start)
           x.indicator_code, x.period_type, x.period_start, x.value, x.status
    FROM observations x
    WHERE x.jurisdiction_id = j.id
    ORDER BY x.indicator_code, x.period_type, x.period_start, x.loaded_at DESC
) o
WHERE j.level IN ('province', 'national');

-- Data operations ---------------------------------------------------------------------------------

DROP VIEW IF EXISTS dash_source_freshness CASCADE;
CREATE VIEW dash_source_freshness AS
WITH per_source AS (
    SELECT p.source_id, count(DISTINCT p.indicator_code) AS indicators,
           max(p.last_period_start) AS last_period_start, max(p.last_period_end) AS last_period_end,
           max(p.last_loaded_at) AS last_loaded_at, sum(p.vintages) AS vintages,
           -- the period after the latest one, per period type, is the next one expected
           max(p.last_period_end + CASE p.period_type
                   WHEN 'Y' THEN interval '1 year' WHEN 'H' THEN interval '6 months'
                   WHEN 'Q' THEN interval '3 months' WHEN 'M' THEN interval '1 month'
                   ELSE interval '1 year' END) AS next_period_end
    FROM dash_source_periods_mv p
    GROUP BY p.source_id
)
SELECT s.id AS source_id, s.title, s.kind, s.publisher, s.schedule,
       CASE WHEN s.schedule IS NULL THEN 'theo lần tải lên'
            WHEN s.schedule = '@yearly' OR s.schedule = '@annually' THEN 'hằng năm'
            WHEN s.schedule = '@monthly' THEN 'hằng tháng'
            WHEN s.schedule = '@weekly' THEN 'hằng tuần'
            WHEN s.schedule = '@daily' THEN 'hằng ngày'
            WHEN s.schedule ~ '^\S+ \S+ \S+ \S+ \S+$' THEN
                CASE WHEN split_part(s.schedule, ' ', 3) = '*' THEN 'hằng ngày'
                     WHEN split_part(s.schedule, ' ', 4) = '*' THEN 'ngày ' || split_part(s.schedule, ' ', 3) || ' hằng tháng'
                     ELSE 'ngày ' || split_part(s.schedule, ' ', 3) || ' tháng ' || replace(split_part(s.schedule, ' ', 4), ',', ', ')
                END || ' lúc ' || lpad(split_part(s.schedule, ' ', 2), 2, '0') || ':' || lpad(split_part(s.schedule, ' ', 1), 2, '0')
            ELSE s.schedule END AS schedule_vi,
       s.expected_release_lag,
       ps.indicators, ps.last_period_start, ps.last_period_end, ps.last_loaded_at, ps.vintages,
       (ps.next_period_end + coalesce(s.expected_release_lag, interval '0')) AS expected_next_release,
       ps.last_period_end IS NULL
           OR (ps.next_period_end + coalesce(s.expected_release_lag, interval '0')) < now() AS is_stale,
       -- whole days past the expected release, counting a day begun (stale means at least one)
       CASE WHEN ps.last_period_end IS NULL THEN NULL
            WHEN (ps.next_period_end + coalesce(s.expected_release_lag, interval '0')) < now()
            THEN greatest(1, ceil(extract(epoch FROM now() - (ps.next_period_end
                                                              + coalesce(s.expected_release_lag, interval '0'))) / 86400))::integer
            ELSE 0 END AS days_overdue,
       (SELECT max(b.finished_at) FROM load_batches b WHERE b.source_id = s.id) AS last_batch_at
FROM sources s
LEFT JOIN per_source ps ON ps.source_id = s.id
WHERE s.kind <> 'plan';

DROP VIEW IF EXISTS dash_batches CASCADE;
CREATE VIEW dash_batches AS
SELECT b.id AS batch_id, b.source_id, b.file_name, b.status, b.fetched_at, b.started_at, b.finished_at,
       -- a batch that records its end before its start has no trustworthy duration: none is shown
       CASE WHEN b.finished_at >= b.started_at THEN extract(epoch FROM b.finished_at - b.started_at) END
           AS duration_s,
       b.rows_read, b.rows_loaded, b.rows_unchanged, b.rows_revised, b.rows_rejected,
       b.error_code, b.error_vi, b.error_en
FROM load_batches b;

DROP VIEW IF EXISTS dash_rejections CASCADE;
CREATE VIEW dash_rejections AS
SELECT r.id, r.batch_id, r.source_id, r.file_name, r.sheet, r.row_num, r.column_name, r.raw,
       r.reason_code, r.reason_vi, r.reason_en, r.rejected_at,
       extract(epoch FROM r.rejected_at)::bigint AS rejected_epoch,
       r.resolved_by_batch  -- a reprocess of the same file loaded this row later
FROM rejected_rows r;

-- One row per pipeline step outcome: ingestion batches and evaluation runs (our own tables, so
-- the panel works whether or not Airflow's task records exist).
DROP VIEW IF EXISTS dash_pipeline_runs CASCADE;
CREATE VIEW dash_pipeline_runs AS
SELECT 'ingest' AS step, b.source_id AS subject, b.id AS run_id, b.status AS outcome,
       b.started_at, b.finished_at,
       CASE WHEN b.finished_at >= b.started_at THEN extract(epoch FROM b.finished_at - b.started_at) END AS duration_s,
       b.error_vi AS detail  -- the panel speaks Vietnamese; the batch keeps the English beside it
FROM load_batches b
UNION ALL
SELECT 'evaluate', 'as_of ' || to_char(r.as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), r.id,
       CASE WHEN r.finished_at IS NULL THEN 'running' ELSE 'finished' END,
       r.started_at, r.finished_at, extract(epoch FROM r.finished_at - r.started_at),
       coalesce(r.results_count, 0) || ' results / ' || coalesce(r.targets_count, 0) || ' targets'
FROM evaluation_runs r;

-- DAG run outcomes from the records the pipeline's tasks write (pipeline_task_runs, migration 050).
-- Guarded so that a database without that table still gets the view (empty).
DROP VIEW IF EXISTS dash_dag_runs CASCADE;
DO $$
BEGIN
    IF to_regclass('pipeline_task_runs') IS NOT NULL THEN
        EXECUTE $v$
            CREATE VIEW dash_dag_runs AS
            SELECT t.dag_id, t.run_id, min(t.run_type) AS run_type, min(t.run_after) AS run_after,
                   max(t.finished_at) AS finished_at, count(*) AS tasks,
                   count(*) FILTER (WHERE t.state = 'success') AS succeeded,
                   count(*) FILTER (WHERE t.state = 'failed') AS failed,
                   CASE WHEN bool_or(t.state = 'failed') THEN 'failed'
                        WHEN bool_or(t.state = 'up_for_retry') THEN 'retrying'
                        ELSE 'success' END AS outcome,
                   (array_agg(t.error ORDER BY t.finished_at DESC) FILTER (WHERE t.error IS NOT NULL))[1]
                       AS last_error
            FROM pipeline_task_runs t
            GROUP BY t.dag_id, t.run_id
        $v$;
    ELSE
        EXECUTE $v$
            CREATE VIEW dash_dag_runs AS
            SELECT NULL::text AS dag_id, NULL::text AS run_id, NULL::text AS run_type,
                   NULL::timestamptz AS run_after, NULL::timestamptz AS finished_at, 0::bigint AS tasks,
                   0::bigint AS succeeded, 0::bigint AS failed, NULL::text AS outcome, NULL::text AS last_error
            WHERE false
        $v$;
    END IF;
END
$$;

DROP VIEW IF EXISTS dash_outbox_state CASCADE;
CREATE VIEW dash_outbox_state AS
SELECT o.channel, o.status, count(*) AS notifications, max(o.attempts) AS max_attempts,
       min(o.created_at) FILTER (WHERE o.status = 'pending') AS oldest_pending_at,
       max(o.sent_at) AS last_sent_at,
       (array_agg(o.last_error ORDER BY o.id DESC) FILTER (WHERE o.last_error IS NOT NULL))[1] AS last_error
FROM notification_outbox o
GROUP BY o.channel, o.status;

-- Due dates of the plans' reporting obligations ('MM-DD' recurring, 'YYYY-MM-DD' once), from the
-- obligation's first year (else the plan's year of issue) on: every past due date with no report
-- recorded in report_submissions (overdue, it stays until one is), and the next one to come.
-- A recurring obligation whose plan names no date gets an assumed one, 15 December: the yearly
-- reporting period of Decree 09/2019/ND-CP closes on 14 December; `date_assumed` says so.
DROP VIEW IF EXISTS dash_reports_due CASCADE;
CREATE VIEW dash_reports_due AS
WITH obligations AS (
    SELECT r.plan_id, r.code, r.description, r.recurrence, r.recipient,
           coalesce(r.first_year, extract(year FROM p.issued_on)::int, extract(year FROM current_date)::int)
               AS first_year,
           CASE WHEN cardinality(r.due_dates) = 0 AND r.recurrence <> 'once' THEN ARRAY['12-15']
                ELSE r.due_dates END AS due_dates,
           cardinality(r.due_dates) = 0 AND r.recurrence <> 'once' AS date_assumed,
           p.title AS plan_title, p.document_number AS plan_document
    FROM reporting_obligations r
    LEFT JOIN plans p ON p.id = r.plan_id
),
candidates AS (
    SELECT o.*, d.due
    FROM obligations o
    CROSS JOIN LATERAL unnest(o.due_dates) AS dd (raw)
    CROSS JOIN LATERAL (
        SELECT dd.raw::date AS due WHERE length(dd.raw) = 10
        UNION ALL
        SELECT make_date(y, split_part(dd.raw, '-', 1)::int, split_part(dd.raw, '-', 2)::int)
        FROM generate_series(o.first_year, extract(year FROM current_date)::int + 5) AS y
        WHERE length(dd.raw) = 5
          AND (o.recurrence IN ('half_yearly', 'yearly')
               OR (o.recurrence = 'every_3_years' AND (y - o.first_year) % 3 = 0)
               OR (o.recurrence = 'every_5_years' AND (y - o.first_year) % 5 = 0))
    ) d
),
open AS (
    SELECT c.* FROM candidates c
    WHERE NOT EXISTS (SELECT 1 FROM report_submissions s
                      WHERE s.plan_id = c.plan_id AND s.code = c.code AND s.due_date = c.due)
),
shown AS (
    SELECT * FROM open WHERE due < current_date
    UNION ALL
    SELECT DISTINCT ON (plan_id, code) * FROM open WHERE due >= current_date ORDER BY plan_id, code, due
)
SELECT plan_id, plan_title, plan_document, code, description, recurrence, recipient,
       due AS next_due, due - current_date AS days_until,
       CASE WHEN due < current_date THEN 'overdue' WHEN due - current_date <= 14 THEN 'due_soon'
            ELSE 'upcoming' END AS state,
       date_assumed
FROM shown;

GRANT SELECT ON dash_indicator_format, dash_headline_counts, dash_scorecard, dash_scorecard_coverage,
    dash_behind_trajectory, dash_indicators, dash_status_labels, dash_plans, dash_variable_options, dash_status_latest, dash_status_counts,
    dash_alerts_firing, dash_observation_series, dash_target_path, dash_target_thresholds, dash_projection,
    dash_province_series, dash_source_freshness, dash_batches, dash_rejections, dash_pipeline_runs,
    dash_dag_runs, dash_outbox_state, dash_reports_due TO chitieu_readonly;
