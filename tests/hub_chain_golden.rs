//! The hub chain's kinds and the bench's mirror of a hub decision keep their golden
//! bytes (tests/fixtures/schema2-hub): they decode into today's events, encode to
//! exactly the stored bytes, and hash as stored.

use std::path::Path;

use traveler::store::wire::{self, KINDS_V2};
use traveler::store::{canonical_bytes, chain_hash};

#[test]
fn hub_chain_kinds_decode_and_encode_to_their_golden_bytes() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema2-hub/records.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut kinds = Vec::new();
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
        kinds.push(d.record.event.kind());
    }
    assert_eq!(
        kinds,
        ["roster_imported", "review_decided", "review_mirrored"]
    );
    assert!(kinds.iter().all(|k| KINDS_V2.contains(k)));
}
