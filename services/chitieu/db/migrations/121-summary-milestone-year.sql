-- The overview's counters read the precomputed counts (dash_status_summary) instead of counting the
-- latest statuses at each panel refresh, and "milestones due" needs the year a milestone falls due:
-- counts of milestones (headline milestone_pending or milestone_overdue) are kept per target year;
-- every other count has 0 there. Never edit after it lands: add 122, 123...
ALTER TABLE dash_status_summary ADD COLUMN milestone_year integer NOT NULL DEFAULT 0;
ALTER TABLE dash_status_summary DROP CONSTRAINT dash_status_summary_pkey;
ALTER TABLE dash_status_summary
    ADD PRIMARY KEY (plan_id, jurisdiction_id, status, every_year_check, behind, milestone_year);
