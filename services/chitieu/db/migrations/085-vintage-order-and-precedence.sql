-- Vintage order and source precedence. Never edit after it lands: add 086, 087...
--
-- Vintage time is commit order: the loader stamps loaded_at with a clock read after it holds the
-- advisory locks of every indicator it writes (not the transaction's start), so a load that commits
-- later always carries a later loaded_at than the loads it compared itself with.
--
-- Precedence decides which claim is a figure's current value when several sources or files give
-- one: a final figure beats a provisional one, then the higher source priority (declared in the
-- source spec, frozen on the row so that a later spec change cannot rewrite what as_of returned),
-- then the newest publication (fetched_at), then the later load. A claim that wins when it arrives
-- is a new vintage in `observations`; one that loses is kept, with all its provenance, in
-- `observations_superseded`. Since a winner outranks everything before it and rows are never
-- removed, the latest vintage in `observations` is always the best claim known.
ALTER TABLE observations ADD COLUMN source_priority integer NOT NULL DEFAULT 0;

CREATE TABLE observations_superseded (LIKE observations INCLUDING DEFAULTS);
CREATE INDEX observations_superseded_key
    ON observations_superseded (jurisdiction_id, indicator_code, period_type, period_start, source_id, loaded_at);
CREATE INDEX observations_superseded_batch_idx ON observations_superseded (batch_id);
GRANT SELECT ON observations_superseded TO chitieu_readonly;
