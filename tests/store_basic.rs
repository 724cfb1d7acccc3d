//! The store on real sled folders: chain, indexes, queries, reindex, in-use, verify.

mod store_support;

use chrono::NaiveDate;
use store_support::*;
use traveler::domain::event::Event;
use traveler::domain::job::JobStatus;
use traveler::domain::types::CheckResult;
use traveler::store::{GENESIS, OpenOptions, Store, StoreError, canonical_bytes, chain_hash};

#[test]
fn appends_chain_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.chain_head().seq, 0);
    let a = store.append("T1", started("J1", "SN-1", "T1", 1)).unwrap();
    let b = store.append("T1", lot("J1", 0, "L")).unwrap();
    let c = store
        .append_batch(
            "T1",
            vec![
                signed("J1", 0, 0, "T1", CheckResult::Pass),
                lot("J1", 0, "M"),
            ],
        )
        .unwrap();
    assert_eq!((a.seq, b.seq, c[0].seq, c[1].seq), (1, 2, 3, 4));
    assert_eq!(a.prev_hash, hex::encode(GENESIS));

    let stored: Vec<_> = store.stored_events().map(|r| r.unwrap()).collect();
    assert_eq!(stored.len(), 4);
    let mut prev = GENESIS;
    for s in &stored {
        assert_eq!(s.record.prev_hash, hex::encode(prev));
        assert_eq!(s.hash, chain_hash(s.record.seq, &prev, &s.canonical));
        // Canonical bytes are the envelope's JSON, so they re-encode identically; the
        // first record names the store.
        let store_id = (s.record.seq == 1).then(|| store.identity());
        assert_eq!(
            s.canonical,
            canonical_bytes(&s.record, store_id).unwrap(),
            "{}",
            String::from_utf8_lossy(&s.canonical)
        );
        prev = s.hash;
    }
    assert_eq!(store.chain_head().hash, prev);
    let first = String::from_utf8(stored[0].canonical.clone()).unwrap();
    let identity = store.identity().clone();
    assert!(
        first.starts_with(&format!(
            "{{\"schema\":2,\"store\":{{\"store_id\":\"{}\",\"bench\":\"{}\"}},\"seq\":1,",
            identity.store_id, identity.bench
        )),
        "{first}"
    );
    assert!(String::from_utf8_lossy(&stored[1].canonical).starts_with("{\"schema\":2,\"seq\":2,"));
    drop(store);

    let store = open(dir.path());
    // The identity is the store's for good.
    assert_eq!(store.identity(), &identity);
    assert!(traveler::store::is_uuid(&identity.store_id));
    assert_eq!(store.chain_head().seq, 4);
    assert_eq!(store.chain_head().hash, prev);
    let d = store
        .append("T1", Event::JobSubmitted { job: "J1".into() })
        .unwrap();
    assert_eq!(d.seq, 5);
    assert_eq!(store.events().count(), 5);
    assert_eq!(store.events_from(4).count(), 2);
    assert_eq!(
        store.job("J1").unwrap().unwrap().status,
        JobStatus::Submitted
    );
    store.verify().unwrap();
}

#[test]
fn queries_answer_and_reindex_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    populate(&store);

    assert_eq!(store.jobs_by_serial("SN-1").unwrap(), ["J1", "J4"]);
    assert_eq!(store.jobs_by_lot("LOT-B").unwrap(), ["J2", "J4"]);
    let used: Vec<(String, String)> = store
        .where_used("LOT-B")
        .unwrap()
        .into_iter()
        .map(|u| (u.job, u.board_serial))
        .collect();
    assert_eq!(
        used,
        [
            ("J2".to_string(), "SN-2".to_string()),
            ("J4".into(), "SN-1".into())
        ]
    );
    assert_eq!(store.jobs_by_person("I9").unwrap(), ["J1", "J4"]);
    assert_eq!(store.jobs_by_person("S5").unwrap(), ["J1", "J3", "J4"]);
    assert_eq!(
        store.jobs_by_status(JobStatus::Approved).unwrap(),
        ["J1", "J4"]
    );
    assert_eq!(store.jobs_by_status(JobStatus::Held).unwrap(), ["J2"]);
    assert_eq!(store.jobs_by_status(JobStatus::Suspended).unwrap(), ["J3"]);
    assert!(
        store
            .jobs_by_status(JobStatus::InProgress)
            .unwrap()
            .is_empty()
    );
    let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
    assert_eq!(store.jobs_between(day(10), day(11)).unwrap(), ["J1", "J2"]);
    assert_eq!(store.jobs_between(day(12), day(12)).unwrap(), ["J3", "J4"]);
    assert!(store.jobs_between(day(12), day(10)).unwrap().is_empty());
    let ids: Vec<String> = store.job_ids().map(|j| j.unwrap()).collect();
    assert_eq!(ids, ["J1", "J2", "J3", "J4"]);
    let people: Vec<&str> = store
        .people_events()
        .map(|r| r.unwrap().event.kind())
        .collect::<Vec<_>>();
    assert_eq!(people, ["person_enrolled", "logged_in"]);
    let j1 = store.job("J1").unwrap().unwrap();
    assert_eq!(j1.lots.len(), 2);
    assert_eq!(j1.steps[1].sample_count, 20);
    assert_eq!(store.events_of_job("J1").unwrap().len(), 13);
    assert!(store.job("nope").unwrap().is_none());

    let before = answers(&store);
    let n = store.reindex().unwrap();
    assert_eq!(n, store.chain_head().seq);
    assert_eq!(answers(&store), before);
    drop(store);
    let store = open(dir.path());
    assert_eq!(answers(&store), before);
    let report = store.verify().unwrap();
    assert_eq!(report.events, store.chain_head().seq);
    assert_eq!(report.samples, 80);
    assert_eq!(report.unsealed_samples, 0);
}

#[test]
fn status_index_follows_the_job_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.append("T1", started("J1", "SN", "T1", 1)).unwrap();
        store
            .append("T1", signed("J1", 0, 0, "T1", CheckResult::Fail))
            .unwrap();
    }
    // A fresh process has no cached job: the status must come from the stored events.
    let store = open(dir.path());
    assert_eq!(store.jobs_by_status(JobStatus::Held).unwrap(), ["J1"]);
    store
        .append(
            "T1",
            Event::StepRedone {
                job: "J1".into(),
                step: 0,
                reason: "r".into(),
            },
        )
        .unwrap();
    assert!(store.jobs_by_status(JobStatus::Held).unwrap().is_empty());
    assert_eq!(store.jobs_by_status(JobStatus::InProgress).unwrap(), ["J1"]);
    store
        .append(
            "S",
            Event::JobSuspended {
                job: "J1".into(),
                reason: "x".into(),
            },
        )
        .unwrap();
    store
        .append(
            "S",
            Event::JobResumed {
                job: "J1".into(),
                reason: String::new(),
            },
        )
        .unwrap();
    assert_eq!(store.job_status("J1").unwrap(), Some(JobStatus::InProgress));
}

#[test]
fn a_second_opener_is_told_the_store_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    let quick = OpenOptions {
        lock_wait: std::time::Duration::ZERO,
        ..OpenOptions::default()
    };
    let err = Store::open(dir.path(), quick).err().expect("must refuse");
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("is in use by another traveler (close it first)"),
        "{msg}"
    );
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");

    let args = traveler::cli::store::VerifyArgs {
        store: traveler::cli::store::StoreDir {
            store: Some(dir.path().to_path_buf()),
        },
        export: None,
    };
    assert_eq!(traveler::cli::store::run_verify(args).unwrap(), 2);
}

#[test]
fn clones_append_from_many_threads_without_forking_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append("T1", started("J1", "SN", "T1", 1)).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || {
                for n in 0..10 {
                    s.append("T1", lot("J1", 0, &format!("L{i}-{n}"))).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.chain_head().seq, 41);
    assert_eq!(store.job("J1").unwrap().unwrap().lots.len(), 40);
    store.verify().unwrap();
}

#[test]
fn samples_come_back_in_time_order_with_a_stable_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut s = samples(10, t0());
    s.reverse();
    store.append_samples("J1", 0, &s[..5]).unwrap();
    store.append_samples("J1", 0, &s[5..]).unwrap();
    store.append_samples("J1", 1, &samples(3, t0())).unwrap();
    store.append_samples("J10", 0, &samples(4, t0())).unwrap();
    let back: Vec<_> = store.samples("J1", 0).map(|r| r.unwrap()).collect();
    s.reverse();
    assert_eq!(back, s);
    let d = store.samples_digest("J1", 0).unwrap();
    assert_eq!(d.count, 10);
    // Same samples written another way give the same digest.
    let dir2 = tempfile::tempdir().unwrap();
    let other = open(dir2.path());
    let mut w = traveler::store::SampleWriter::new(other.clone(), "J1", 0)
        .with_interval(std::time::Duration::from_secs(60), 3);
    for x in &s {
        w.push(x.clone()).unwrap();
    }
    assert_eq!(w.finish().unwrap(), d);
    assert_eq!(store.sample_count(), 17);

    let nan = traveler::store::StoredSample {
        channel: "tc1".into(),
        time: t0(),
        celsius: f64::NAN,
    };
    assert!(matches!(
        store.append_samples("J1", 0, &[nan]),
        Err(StoreError::InvalidSample(_))
    ));
}

#[test]
fn overlapping_batches_merge_in_time_order_and_the_later_repeat_wins() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let all = samples(30, t0());
    // Interleaved batches: evens, then odds, then a re-reading of sample 10.
    let evens: Vec<_> = all.iter().step_by(2).cloned().collect();
    let odds: Vec<_> = all.iter().skip(1).step_by(2).cloned().collect();
    store.append_samples("J1", 0, &evens).unwrap();
    store.append_samples("J1", 0, &odds).unwrap();
    let mut again = all[10].clone();
    again.celsius = 999.5;
    store.append_samples("J1", 0, &[again.clone()]).unwrap();
    let mut expected = all.clone();
    expected[10] = again;
    let back: Vec<_> = store.samples("J1", 0).map(|r| r.unwrap()).collect();
    assert_eq!(back, expected);

    let dir2 = tempfile::tempdir().unwrap();
    let other = open(dir2.path());
    other.append_samples("J1", 0, &expected).unwrap();
    assert_eq!(
        store.samples_digest("J1", 0).unwrap(),
        other.samples_digest("J1", 0).unwrap()
    );
    assert_eq!(store.samples_digest("J1", 0).unwrap().count, 30);
    assert!(store.samples("J1", 1).next().is_none());
    assert!(store.samples("J", 0).next().is_none());
}
