//! Every store knows which store it is: a random id chosen at creation and its bench,
//! in the chain's first record, in every backup and in every JSON export.

mod store_support;

use store_support::*;
use traveler::export::json::write_json;
use traveler::export::{ExportOptions, Scope, verify_json_export};
use traveler::instruction::Library;
use traveler::store::{OpenOptions, Store, StoreIdentity, is_uuid};

#[test]
fn a_new_store_gets_a_random_id_and_its_bench() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let opts = OpenOptions {
        bench: Some("BENCH-7".into()),
        ..OpenOptions::default()
    };
    let sa = Store::open(a.path().join("s"), opts.clone()).unwrap();
    let sb = Store::open(b.path().join("s"), opts).unwrap();
    let ia: &StoreIdentity = sa.identity();
    assert!(is_uuid(&ia.store_id), "{ia:?}");
    assert_eq!(ia.bench, "BENCH-7");
    assert_ne!(ia.store_id, sb.identity().store_id);

    // The bench given when reopening does not change the store's identity.
    let id = ia.clone();
    drop(sa);
    let again = Store::open(
        a.path().join("s"),
        OpenOptions {
            bench: Some("OTHER".into()),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    assert_eq!(again.identity(), &id);
}

#[test]
fn the_json_export_header_names_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    full_job(&store, "J1", "SN-1", "LOT-A", t0());
    let mut out = Vec::new();
    write_json(
        &store,
        &Library::default(),
        &Scope::default(),
        &ExportOptions::default(),
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["store"]["store_id"], store.identity().store_id.as_str());
    assert_eq!(v["store"]["bench"], store.identity().bench.as_str());
    let report = verify_json_export(out.as_slice()).unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(report.store.as_ref(), Some(store.identity()));
}
