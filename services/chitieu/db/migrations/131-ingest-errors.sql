-- Why a batch (and an upload's report) was rejected or failed, in each language apart. Never edit
-- after it lands: add 132, 133...
--
-- A batch kept its error as one line, Vietnamese then English ("vi / en"), and so did the summary of
-- an upload's report (summary.error); readers had to split it. A batch now keeps the error's code and
-- its two sentences in columns of their own, and a report's summary.error is {code, vi, en}.
-- What was recorded before is split once here, at the first " / " (the order both() wrote them in);
-- a line without one (a driver's own text) stands for both languages, with no code.
ALTER TABLE load_batches
    ADD COLUMN error_code text,
    ADD COLUMN error_vi text,
    ADD COLUMN error_en text;
UPDATE load_batches
SET error_vi = CASE WHEN position(' / ' IN error) > 0 THEN left(error, position(' / ' IN error) - 1) ELSE error END,
    error_en = CASE WHEN position(' / ' IN error) > 0 THEN substr(error, position(' / ' IN error) + 3) ELSE error END
WHERE error IS NOT NULL;
-- The views reading the line go with it; the view definitions (re-applied after this) read the columns.
ALTER TABLE load_batches DROP COLUMN error CASCADE;
ALTER TABLE load_batches ADD CONSTRAINT load_batches_error_both CHECK ((error_vi IS NULL) = (error_en IS NULL));

UPDATE upload_jobs
SET report = jsonb_set(
        report, '{summary,error}',
        jsonb_build_object(
            'code', NULL,
            'vi', CASE WHEN position(' / ' IN e.line) > 0 THEN left(e.line, position(' / ' IN e.line) - 1) ELSE e.line END,
            'en', CASE WHEN position(' / ' IN e.line) > 0 THEN substr(e.line, position(' / ' IN e.line) + 3) ELSE e.line END))
FROM (SELECT id, report #>> '{summary,error}' AS line FROM upload_jobs
      WHERE jsonb_typeof(report #> '{summary,error}') = 'string') e
WHERE upload_jobs.id = e.id;
