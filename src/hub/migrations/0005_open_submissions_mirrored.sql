-- A decision made at the desk reaches the bench chain as `review_mirrored`, not
-- `job_reviewed`: migration 4's trigger did not look at it, so every job decided at
-- the desk stayed open forever. The trigger now closes a submission on it too
-- (the same function: any kind but job_submitted closes what is older), and rows a
-- later review_mirrored already closed are removed.
DROP TRIGGER hub_open_submissions_track ON hub_records;
CREATE TRIGGER hub_open_submissions_track AFTER INSERT ON hub_records
    FOR EACH ROW WHEN (NEW.kind IN ('job_submitted', 'job_reviewed', 'job_aborted', 'review_mirrored')
        AND NEW.job IS NOT NULL)
    EXECUTE FUNCTION hub_open_submissions_track();

DELETE FROM hub_open_submissions o
WHERE EXISTS (
    SELECT 1 FROM hub_records r
    WHERE r.store_id = o.store_id AND r.job = o.job
      AND r.kind = 'review_mirrored' AND r.seq > o.seq
);
