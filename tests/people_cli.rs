//! `traveler people` through the real binary on a real store: a shop set up from
//! nothing, refusals that are recorded, lockout, and roster import.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use traveler::domain::event::Event;
use traveler::store::{OpenOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn people(store: &Path, args: &[&str], stdin: &str) -> Output {
    let instructions = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    let mut child = Command::new(BIN)
        .arg("--instructions")
        .arg(&instructions)
        .arg("people")
        .arg("--store")
        .arg(store)
        .arg("--pin-stdin")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn events(store: &Path) -> Vec<Event> {
    let s = Store::open(store, OpenOptions::default()).unwrap();
    s.events().map(|r| r.unwrap().event).collect()
}

#[test]
fn a_shop_is_set_up_from_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = people(
        &store,
        &["init", "--badge", "A1", "--name", "Ada Admin"],
        "958173\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = people(
        &store,
        &["init", "--badge", "A2", "--name", "Second"],
        "958173\n",
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a second init is refused: {}",
        text(&o)
    );

    let o = people(
        &store,
        &[
            "add",
            "T1",
            "--name",
            "Tom Tech",
            "--role",
            "technician",
            "--skill",
            "advanced",
            "--admin",
            "A1",
        ],
        "958173\n493817\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let issued = (chrono::Utc::now().date_naive() - chrono::Duration::days(700)).to_string();
    let o = people(
        &store,
        &[
            "certify",
            "T1",
            "--level",
            "CIS",
            "--modules",
            "1,5,6",
            "--certificate",
            "CIS-1",
            "--issued",
            &issued,
            "--admin",
            "A1",
        ],
        "958173\n",
    );
    assert!(o.status.success(), "{}", text(&o));

    let o = people(&store, &["list"], "");
    let out = text(&o);
    assert!(
        out.contains("Tom Tech") && out.contains("CIS-1") && out.contains("expires in"),
        "{out}"
    );
    let o = people(&store, &["list", "--expiring", "60"], "");
    assert!(text(&o).contains("CIS-1"), "{}", text(&o));
    let o = people(&store, &["gaps"], "");
    assert!(text(&o).contains("WI-BGA-001"), "{}", text(&o));

    let evs = events(&store);
    assert!(evs.iter().any(|e| matches!(e, Event::PersonCertified { badge, certification } if badge == "T1" && certification.modules == vec![1, 5, 6])));
    // The PIN itself is nowhere in the store.
    for e in &evs {
        let json = serde_json::to_string(e).unwrap();
        assert!(
            !json.contains("493817") && !json.contains("\"958173\""),
            "{json}"
        );
    }
}

#[test]
fn wrong_or_non_admin_pins_are_refused_recorded_and_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(
        people(
            &store,
            &["init", "--badge", "A1", "--name", "Ada"],
            "958173\n"
        )
        .status
        .success()
    );
    let add = |admin: &str, badge: &str, pins: &str| {
        people(
            &store,
            &[
                "add",
                badge,
                "--name",
                "X",
                "--role",
                "technician",
                "--skill",
                "expert",
                "--admin",
                admin,
            ],
            pins,
        )
    };
    assert!(add("A1", "T1", "958173\n118274\n").status.success());
    // A technician is no admin, even with the right PIN.
    let o = add("T1", "T2", "118274\n528364\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not an admin"), "{}", text(&o));
    // Wrong admin PINs are recorded against the admin badge and lock it at five.
    for i in 1..=5 {
        let o = add("A1", "T3", "0000\n338162\n");
        assert_eq!(o.status.code(), Some(1));
        if i == 5 {
            assert!(text(&o).contains("locked"), "{}", text(&o));
        }
    }
    let o = add("A1", "T3", "958173\n338162\n");
    assert!(
        text(&o).contains("locked"),
        "the right PIN does not open a locked badge: {}",
        text(&o)
    );
    let evs = events(&store);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, Event::PinRejected { badge, .. } if badge == "A1"))
            .count(),
        5
    );
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, Event::BadgeLocked { badge, .. } if badge == "A1"))
            .count(),
        1
    );
    assert!(!evs.iter().any(
        |e| matches!(e, Event::PersonEnrolled { badge, .. } if badge == "T2" || badge == "T3")
    ));
}

#[test]
fn roster_import_is_all_or_nothing_with_locations() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(
        people(
            &store,
            &["init", "--badge", "A1", "--name", "Ada"],
            "958173\n"
        )
        .status
        .success()
    );
    let good = dir.path().join("roster.toml");
    std::fs::write(
        &good,
        "[[person]]\nbadge = \"T10\"\nname = \"Iris Ito\"\nroles = [\"technician\"]\nskill = \"expert\"\n\n[[person.certification]]\nlevel = \"CIS\"\nmodules = [1, 8]\ncertificate = \"CIS-10\"\nissued = 2026-01-15\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[person]]\nbadge = \"T11\"\nname = \"Ola\"\nroles = [\"technician\"]\nskill = \"expert\"\n\n[[person.certification]]\nlevel = \"CIS\"\nmodules = [1, 12]\ncertificate = \"CIS-11\"\nissued = 2026-01-15\n",
    )
    .unwrap();
    let o = people(
        &store,
        &["import", bad.to_str().unwrap(), "--admin", "A1"],
        "958173\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("bad.toml:9:"), "{}", text(&o));
    assert!(text(&o).contains("module 12"), "{}", text(&o));
    let o = people(
        &store,
        &["import", good.to_str().unwrap(), "--admin", "A1"],
        "958173\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let evs = events(&store);
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Event::PersonEnrolled { badge, .. } if badge == "T11"))
    );
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::PersonCertified { badge, .. } if badge == "T10"))
    );
    // Importing the same file twice is refused at the badge.
    let o = people(
        &store,
        &["import", good.to_str().unwrap(), "--admin", "A1"],
        "958173\n",
    );
    assert!(
        text(&o).contains("roster.toml:2:") && text(&o).contains("already enrolled"),
        "{}",
        text(&o)
    );
}
