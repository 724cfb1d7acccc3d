-- When the bench last reported its head. A bench reports its head on every contact
-- (also when it has nothing to send); `verify --hub` compares it with the hub's copy
-- and says when the bench said so.
ALTER TABLE hub_stores ADD COLUMN bench_head_at timestamptz;
UPDATE hub_stores SET bench_head_at = last_contact WHERE bench_head_seq IS NOT NULL;
