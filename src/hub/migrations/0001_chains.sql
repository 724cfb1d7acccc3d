-- The hub's first schema: every bench chain, verbatim, checked by the database too.
--
-- hub_records.bytes are the canonical bytes exactly as the bench stored and hashed
-- them; doc is a decoded copy for queries only. The CHECK recomputes the chain hash
-- from the stored bytes (SHA-256(seq u64 BE || prev hash || bytes)) and the trigger
-- checks each record links to the one before it, so even a direct INSERT cannot
-- break a chain. History tables refuse UPDATE, DELETE and TRUNCATE for everyone
-- (statement triggers: they fire even when no row matches).

CREATE TABLE hub_benches (
    bench        text PRIMARY KEY CHECK (bench <> ''),
    -- 'bench' may append to its own stores and read; 'desk' may only read.
    kind         text NOT NULL CHECK (kind IN ('bench', 'desk')),
    -- SHA-256 of the token: the token is 256 random bits, so a plain hash suffices.
    token_hash   bytea NOT NULL UNIQUE,
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_contact timestamptz
);

CREATE TABLE hub_stores (
    store_id         text PRIMARY KEY,
    bench            text NOT NULL REFERENCES hub_benches (bench),
    -- The bench name the store itself carries (its identity), as last reported.
    store_bench      text NOT NULL DEFAULT '',
    head_seq         bigint NOT NULL DEFAULT 0,
    head_hash        bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    -- The head the bench reported on its last contact.
    bench_head_seq   bigint,
    bench_head_hash  bytea,
    first_contact    timestamptz NOT NULL DEFAULT now(),
    last_contact     timestamptz NOT NULL DEFAULT now(),
    -- Set when a bench offered different bytes under a seq the hub holds.
    fork_seq         bigint
);

CREATE TABLE hub_records (
    store_id    text NOT NULL REFERENCES hub_stores (store_id),
    seq         bigint NOT NULL CHECK (seq >= 1),
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    bytes       bytea NOT NULL,
    doc         jsonb NOT NULL,
    kind        text GENERATED ALWAYS AS (doc -> 'event' ->> 'type') STORED,
    job         text GENERATED ALWAYS AS (doc -> 'event' ->> 'job') STORED,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, seq),
    CONSTRAINT hub_records_hash CHECK (hash = sha256(int8send(seq) || prev_hash || bytes)),
    CONSTRAINT hub_records_envelope CHECK (
        (doc ->> 'seq')::bigint = seq AND doc ->> 'prev_hash' = encode(prev_hash, 'hex'))
);
CREATE INDEX hub_records_job ON hub_records (store_id, job, seq) WHERE job IS NOT NULL;
CREATE INDEX hub_records_lot ON hub_records ((doc -> 'event' ->> 'lot')) WHERE kind = 'lot_recorded';
CREATE INDEX hub_records_serial ON hub_records ((doc -> 'event' ->> 'board_serial')) WHERE kind = 'job_started';
CREATE INDEX hub_records_submitted ON hub_records (kind) WHERE kind IN ('job_submitted', 'job_reviewed', 'job_aborted');

CREATE FUNCTION hub_records_link() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    before bytea;
BEGIN
    IF NEW.seq = 1 THEN
        before := decode(repeat('00', 32), 'hex');
    ELSE
        SELECT hash INTO before FROM hub_records WHERE store_id = NEW.store_id AND seq = NEW.seq - 1;
    END IF;
    IF before IS NULL OR before <> NEW.prev_hash THEN
        RAISE EXCEPTION 'record % of store % does not follow the record before it', NEW.seq, NEW.store_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hub_records_link BEFORE INSERT ON hub_records
    FOR EACH ROW EXECUTE FUNCTION hub_records_link();

-- Temperature samples of a sealed step, checked against the digest its
-- step_completed record carries (seal_seq).
CREATE TABLE hub_samples (
    store_id    text NOT NULL,
    seal_seq    bigint NOT NULL,
    job         text NOT NULL,
    step        integer NOT NULL,
    count       bigint NOT NULL,
    digest      bytea NOT NULL,
    samples     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, seal_seq),
    FOREIGN KEY (store_id, seal_seq) REFERENCES hub_records (store_id, seq)
);

-- What the hub refused and why: forks, losses, claimed store ids, bad records.
CREATE TABLE hub_alarms (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    bench    text NOT NULL,
    store_id text NOT NULL,
    kind     text NOT NULL,
    seq      bigint,
    detail   jsonb NOT NULL,
    -- The bytes offered, when a record was refused.
    offered  bytea
);

CREATE FUNCTION hub_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER hub_records_append_only BEFORE UPDATE OR DELETE ON hub_records
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();
CREATE TRIGGER hub_records_no_truncate BEFORE TRUNCATE ON hub_records
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();
CREATE TRIGGER hub_samples_append_only BEFORE UPDATE OR DELETE ON hub_samples
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();
CREATE TRIGGER hub_samples_no_truncate BEFORE TRUNCATE ON hub_samples
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();
CREATE TRIGGER hub_alarms_append_only BEFORE UPDATE OR DELETE ON hub_alarms
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();
CREATE TRIGGER hub_alarms_no_truncate BEFORE TRUNCATE ON hub_alarms
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();

-- Privileges for the role the service logs in as (see `traveler hub init --service-role`):
-- it may read everything and append history, never rewrite it.
REVOKE ALL ON hub_records, hub_samples, hub_alarms FROM PUBLIC;
CREATE INDEX hub_records_sealed ON hub_records (store_id, seq) WHERE kind = 'step_completed';
