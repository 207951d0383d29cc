-- One headline verdict per evaluation row, with what it was computed on.
--
-- `status` keeps its meaning (the Open SDG / Eurostat ratio verdict, a component); the headline
-- combines it with the projection (see docs/assessment.md, "Headline verdict") and is what every
-- surface shows and what the behind-trajectory alert fires on.
ALTER TABLE evaluations
    ADD COLUMN headline_status  text,              -- a status_vocabulary key
    ADD COLUMN headline_rule    text,              -- which precedence rule decided the headline
    ADD COLUMN anticipated_gap  double precision,  -- ESCAP G = (target - projected) / (target - base), direction-adjusted
    ADD COLUMN series_basis     text;              -- own | successor_comparable | own_until_ceased

-- The status vocabulary, for SQL views and dashboards. Filled from chitieu.statuses on every
-- `chitieu db migrate` (the module is the one definition; a test checks the two are equal).
CREATE TABLE status_vocabulary (
    key         text PRIMARY KEY,
    label_vi    text NOT NULL,
    label_en    text NOT NULL,
    color       text NOT NULL,
    severity    integer NOT NULL,
    grp         text NOT NULL CHECK (grp IN ('achieved', 'on_track', 'behind', 'no_data', 'not_due')),
    meaning_vi  text NOT NULL,
    meaning_en  text NOT NULL
);

-- Values of a successor's territory for years before it existed, rebuilt from its predecessors by
-- the indicator's aggregation rule. Never mixed with published observations: a published figure for
-- the successor's territory and year wins and no derived row is used for it. `value` NULL means the
-- value could not be derived (`reason` says why, e.g. no weights loaded).
CREATE TABLE derived_observations (
    run_id           bigint NOT NULL REFERENCES evaluation_runs (id) ON DELETE CASCADE,
    jurisdiction_id  text NOT NULL,
    indicator_code   text NOT NULL,
    year             integer NOT NULL,
    value            double precision,
    rule             text NOT NULL CHECK (rule IN ('sum', 'weighted_mean', 'none')),
    weight_indicator text,
    inputs           jsonb NOT NULL,   -- [{"jurisdiction_id", "value", "weight"}] per predecessor
    reason           text,             -- why value is NULL (Vietnamese / English)
    PRIMARY KEY (run_id, jurisdiction_id, indicator_code, year)
);

GRANT SELECT ON status_vocabulary, derived_observations TO chitieu_readonly;
