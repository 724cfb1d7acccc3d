-- Submissions waiting for a decision, kept by the database as records arrive, so
-- the review queue (desk, `reviews --hub`) reads what is open instead of every job
-- the shop ever did. Derived from hub_records alone and rebuilt from them here; it
-- decides nothing (the hub re-checks each decision against the records).
CREATE TABLE hub_open_submissions (
    store_id text NOT NULL,
    job      text NOT NULL,
    -- The job's latest job_submitted with no job_reviewed or job_aborted after it.
    seq      bigint NOT NULL,
    PRIMARY KEY (store_id, job)
);

-- The owner's function: the service role appends records and reads this table,
-- it never writes it itself.
CREATE FUNCTION hub_open_submissions_track() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.kind = 'job_submitted' THEN
        INSERT INTO hub_open_submissions (store_id, job, seq)
        VALUES (NEW.store_id, NEW.job, NEW.seq)
        ON CONFLICT (store_id, job) DO UPDATE SET seq = EXCLUDED.seq
            WHERE hub_open_submissions.seq < EXCLUDED.seq;
    ELSE
        DELETE FROM hub_open_submissions
        WHERE store_id = NEW.store_id AND job = NEW.job AND seq < NEW.seq;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_open_submissions_track AFTER INSERT ON hub_records
    FOR EACH ROW WHEN (NEW.kind IN ('job_submitted', 'job_reviewed', 'job_aborted') AND NEW.job IS NOT NULL)
    EXECUTE FUNCTION hub_open_submissions_track();

INSERT INTO hub_open_submissions (store_id, job, seq)
SELECT store_id, job, seq FROM (
    SELECT DISTINCT ON (store_id, job) store_id, job, seq, kind FROM hub_records
    WHERE kind IN ('job_submitted', 'job_reviewed', 'job_aborted') AND job IS NOT NULL
    ORDER BY store_id, job, seq DESC
) latest WHERE kind = 'job_submitted';
