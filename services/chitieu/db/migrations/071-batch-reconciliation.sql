-- Where every non-empty cell of a loaded file went: {cells, loaded, unchanged, duplicate, rejected,
-- label, missing}, with cells the sum of the rest. NULL for batches loaded before it was counted.
ALTER TABLE load_batches ADD COLUMN reconciliation jsonb;
