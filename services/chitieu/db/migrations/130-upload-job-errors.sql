-- An upload job's error in each language apart. Never edit after it lands: add 131, 132...
--
-- A job kept why it failed as one line, Vietnamese then English ("vi / en"); a client had to split it.
-- It now keeps the error's two sentences, its code and the HTTP status an answer carrying it has
-- (4xx: the file was refused; 5xx: the failure was ours), which the API serves as a problem document.
-- The jobs recorded before are split once here, at the first " / " (the order both() wrote them in).
ALTER TABLE upload_jobs
    ADD COLUMN error_code text,
    ADD COLUMN error_vi text,
    ADD COLUMN error_en text,
    ADD COLUMN error_status smallint CHECK (error_status BETWEEN 400 AND 599);
UPDATE upload_jobs
SET error_vi = CASE WHEN position(' / ' IN error) > 0 THEN left(error, position(' / ' IN error) - 1) ELSE error END,
    error_en = CASE WHEN position(' / ' IN error) > 0 THEN substr(error, position(' / ' IN error) + 3) ELSE error END,
    error_status = CASE WHEN result_status = 'rejected' THEN 422 ELSE 500 END
WHERE error IS NOT NULL;
ALTER TABLE upload_jobs DROP COLUMN error;
ALTER TABLE upload_jobs ADD CONSTRAINT upload_jobs_error_both
    CHECK ((error_vi IS NULL) = (error_en IS NULL) AND (error_en IS NULL) = (error_status IS NULL));
