-- Derived values also follow the catalog's 'mean' rule, and a successor with a single predecessor
-- is the same territory under a new id ('identity').
ALTER TABLE derived_observations DROP CONSTRAINT derived_observations_rule_check;
ALTER TABLE derived_observations
    ADD CONSTRAINT derived_observations_rule_check
    CHECK (rule IN ('sum', 'weighted_mean', 'mean', 'identity', 'none'));
