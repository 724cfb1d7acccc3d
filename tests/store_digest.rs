//! The digest a step seals is one definition: what the store computes from its
//! sample keys equals `domain::thermal::samples_digest` over the same readings in
//! time order, however they were batched.

use chrono::{Duration, TimeZone, Utc};
use traveler::domain::thermal::{Sample, samples_digest};
use traveler::store::{OpenOptions, Store, StoredSample};

#[test]
fn store_digest_is_the_domain_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let samples: Vec<Sample> = (0..200)
        .map(|i| Sample {
            channel: ["board", "preheat", "tip"][i % 3].to_string(),
            time: t0 + Duration::milliseconds(100 * (i / 3) as i64),
            celsius: 150.0 + (i as f64) * 0.25 - 7.0,
        })
        .collect();
    // Stored out of order and in uneven batches.
    let stored: Vec<StoredSample> = samples
        .iter()
        .rev()
        .map(|s| StoredSample {
            channel: s.channel.clone(),
            time: s.time,
            celsius: s.celsius,
        })
        .collect();
    for chunk in stored.chunks(37) {
        store.append_samples("J1", 2, chunk).unwrap();
    }
    let sealed = store.samples_digest("J1", 2).unwrap();
    assert_eq!(sealed.count, 200);
    let mut ordered = samples.clone();
    // Key order: time, then channel by length, then bytes (length-prefixed keys).
    ordered.sort_by(|a, b| {
        (a.time, a.channel.len(), &a.channel).cmp(&(b.time, b.channel.len(), &b.channel))
    });
    assert_eq!(sealed.sha256, hex::encode(samples_digest(&ordered)));
}
