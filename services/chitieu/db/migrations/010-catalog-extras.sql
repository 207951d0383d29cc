-- Catalog details the foundation schema has no column for. Never edit after it lands: add 011, 012...
-- phrase: the target wording its operator/value were read from ('đạt trên 80%'), shown in alerts.
ALTER TABLE targets ADD COLUMN IF NOT EXISTS phrase text;
-- A plan whose copy carries no date says why (issued_on stays NULL, never guessed).
ALTER TABLE plans ADD COLUMN IF NOT EXISTS issued_on_note text;
-- Aims the plan states without a figure, kept with their citation for the record.
ALTER TABLE plans ADD COLUMN IF NOT EXISTS unquantified jsonb NOT NULL DEFAULT '[]';
