//! `traveler cfx status`, run as the binary: the broker settings (password hidden), what
//! was published, and the backlog the bench still has to send.

mod export_support;

use std::process::Command;

use export_support::*;
use traveler::cfx::outbox;

fn status(store: &std::path::Path, config: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(["cfx", "status", "--store"])
        .arg(store)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn status_shows_settings_mark_and_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let (head, mark_seq) = {
        let store = open(&store_dir);
        demo_store(&store, &library());
        let head = store.chain_head().seq;
        let seq = head - 10;
        let hash = store.stored_record(seq).unwrap().unwrap().hash;
        outbox::write(store.path(), outbox::Mark { seq, hash }).unwrap();
        (head, seq)
    };
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "bench = \"BENCH-7\"\n[cfx]\nbroker = \"amqp://bench:s3cret@mes.local:5672\"\naddress = \"/exchange/cfx\"\n",
    )
    .unwrap();
    let (code, text) = status(&store_dir, &config);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("publishing: on"), "{text}");
    assert!(text.contains("amqp://bench:***@mes.local:5672"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("handle:     org.traveler.BENCH-7"), "{text}");
    assert!(
        text.contains(&format!("published:  up to record {mark_seq}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("backlog:    10 record(s) of {head}, oldest saved")),
        "{text}"
    );

    // A mark from another chain is refused, not followed.
    {
        let store = open(&store_dir);
        let seq = mark_seq;
        outbox::write(store.path(), outbox::Mark { seq, hash: [0; 32] }).unwrap();
    }
    let (code, text) = status(&store_dir, &config);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("has another record there"), "{text}");

    // No [cfx] table: publishing is off; a bad one is refused at its line and column.
    std::fs::write(&config, "bench = \"B\"\n").unwrap();
    let (_, text) = status(&store_dir, &config);
    assert!(text.contains("publishing: off"), "{text}");
    std::fs::write(&config, "[cfx]\nbroker = \"amqp://h\"\naddress = \"cfx\"\n").unwrap();
    let (code, text) = status(&store_dir, &config);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(":3:11"), "{text}");
    assert!(text.contains("/exchange/NAME"), "{text}");
}
