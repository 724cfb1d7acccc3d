//! `board_history_counted` keeps its golden bytes (tests/fixtures/schema2-history):
//! the records decode into today's events, encode to exactly the stored bytes, and
//! hash as stored.

use std::path::Path;

use traveler::domain::board::{HistoryScope, HubMissing};
use traveler::domain::event::Event;
use traveler::store::wire::{self, KINDS_V2};
use traveler::store::{canonical_bytes, chain_hash};

#[test]
fn board_history_counted_decodes_and_encodes_to_its_golden_bytes() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema2-history/records.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut scopes = Vec::new();
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
        match d.record.event {
            Event::BoardHistoryCounted { jobs, scope, .. } => scopes.push((jobs, scope)),
            e => panic!("seq {seq}: {e:?}"),
        }
    }
    assert!(matches!(&scopes[0], (0, HistoryScope::Shop { heads, .. }) if heads.is_empty()));
    assert!(matches!(&scopes[1], (1, HistoryScope::Shop { heads, .. }) if heads[0].seq == 25));
    assert!(matches!(
        &scopes[2],
        (0, HistoryScope::Bench { why: HubMissing::Unreachable, detail }) if detail.contains("Connection refused")
    ));
}
