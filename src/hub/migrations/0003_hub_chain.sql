-- The hub's own hash chain: what the hub itself decides (reviews of bench
-- submissions, the shop roster), in the same record envelope and with the same hash
-- as a bench chain: hash = SHA-256(seq u64 BE || prev hash || canonical bytes).
-- Checked by the database as hub_records is, and append-only for everyone.

CREATE TABLE hub_chain (
    seq         bigint PRIMARY KEY CHECK (seq >= 1),
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL UNIQUE,
    bytes       bytea NOT NULL,
    doc         jsonb NOT NULL,
    kind        text GENERATED ALWAYS AS (doc -> 'event' ->> 'type') STORED,
    appended_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT hub_chain_hash CHECK (hash = sha256(int8send(seq) || prev_hash || bytes)),
    CONSTRAINT hub_chain_envelope CHECK (
        (doc ->> 'seq')::bigint = seq AND doc ->> 'prev_hash' = encode(prev_hash, 'hex'))
);

-- One decision per submission, whoever asks and however many services run.
CREATE UNIQUE INDEX hub_chain_one_decision ON hub_chain (
    (doc -> 'event' ->> 'store_id'), ((doc -> 'event' ->> 'submitted_seq')::bigint))
    WHERE kind = 'review_decided';
-- A bench roster is imported once.
CREATE UNIQUE INDEX hub_chain_one_import ON hub_chain ((doc -> 'event' ->> 'store_id'))
    WHERE kind = 'roster_imported';
CREATE INDEX hub_chain_people ON hub_chain (seq)
    WHERE kind IN ('person_enrolled', 'person_updated', 'person_certified',
        'certification_revoked', 'person_deactivated', 'pin_changed', 'pin_policy_met',
        'pin_rejected', 'badge_locked', 'review_decided');

CREATE FUNCTION hub_chain_link() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    before bytea;
BEGIN
    IF NEW.seq = 1 THEN
        before := decode(repeat('00', 32), 'hex');
    ELSE
        SELECT hash INTO before FROM hub_chain WHERE seq = NEW.seq - 1;
    END IF;
    IF before IS NULL OR before <> NEW.prev_hash THEN
        RAISE EXCEPTION 'hub record % does not follow the record before it', NEW.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hub_chain_link BEFORE INSERT ON hub_chain
    FOR EACH ROW EXECUTE FUNCTION hub_chain_link();

CREATE TRIGGER hub_chain_append_only BEFORE UPDATE OR DELETE ON hub_chain
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();
CREATE TRIGGER hub_chain_no_truncate BEFORE TRUNCATE ON hub_chain
    FOR EACH STATEMENT EXECUTE FUNCTION hub_history_is_append_only();

REVOKE ALL ON hub_chain FROM PUBLIC;
