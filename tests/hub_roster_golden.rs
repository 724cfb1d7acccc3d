//! The record saying on what roster a signature was decided keeps its golden bytes
//! (tests/fixtures/schema2-roster): it decodes into today's event, encodes to
//! exactly the stored bytes, and hashes as stored.

use std::path::Path;

use traveler::domain::event::Event;
use traveler::store::wire::{self, KINDS_V2};
use traveler::store::{canonical_bytes, chain_hash};

#[test]
fn signed_on_roster_decodes_and_encodes_to_its_golden_bytes() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema2-roster/records.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut events = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let seq = v["seq"].as_u64().unwrap();
        let hash = v["hash"].as_str().unwrap();
        let start = line.find("\"record\":").unwrap() + "\"record\":".len();
        let bytes = &line[start..line.len() - 1];
        let d = wire::decode(seq, bytes.as_bytes()).unwrap_or_else(|e| panic!("seq {seq}: {e}"));
        assert_eq!(d.schema, 2);
        let again = canonical_bytes(&d.record, None).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), bytes, "seq {seq}");
        let mut prev = [0u8; 32];
        hex::decode_to_slice(&d.record.prev_hash, &mut prev).unwrap();
        assert_eq!(hex::encode(chain_hash(seq, &prev, bytes.as_bytes())), hash);
        assert!(KINDS_V2.contains(&d.record.event.kind()));
        events.push(d.record.event);
    }
    match events.as_slice() {
        [
            Event::SignedOnRoster {
                job: Some(_),
                stale: true,
                verified_online: true,
                contact_at: None,
                ..
            },
            Event::SignedOnRoster {
                job: None,
                stale: false,
                contact_at: Some(_),
                ..
            },
        ] => {}
        other => panic!("{other:?}"),
    }
}
