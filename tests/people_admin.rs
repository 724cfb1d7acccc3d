//! `traveler people` beyond setting up: the life of a badge (update, revoke,
//! deactivate, PIN reset after a lockout), the last admin, refusals that save
//! nothing, and help that documents the PIN order.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use traveler::domain::event::Event;
use traveler::domain::types::{Role, SkillLevel};
use traveler::instruction::load_dir;
use traveler::people::auth::{authenticate, roster};
use traveler::store::{OpenOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn instructions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

fn people(store: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("--instructions")
        .arg(instructions())
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
    // A command may refuse before it reads its PINs; a closed pipe is fine then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

fn refused(o: Output, why: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(why), "want {why:?} in: {}", text(&o));
}

fn events(store: &Path) -> Vec<Event> {
    let s = Store::open(store, OpenOptions::default()).unwrap();
    s.events().map(|r| r.unwrap().event).collect()
}

fn shop() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ok(people(
        &store,
        &[
            "init",
            "--badge",
            "A1",
            "--name",
            "Ada Admin",
            "--role",
            "supervisor",
        ],
        "9999\n",
    ));
    (dir, store)
}

fn add(store: &Path, badge: &str, roles: &str, pin: &str) -> Output {
    people(
        store,
        &[
            "add", badge, "--name", "Some One", "--role", roles, "--skill", "advanced", "--admin",
            "A1",
        ],
        &format!("9999\n{pin}\n"),
    )
}

#[test]
fn help_documents_the_pin_order_and_the_roster_file() {
    let h = Command::new(BIN)
        .args(["people", "--help"])
        .output()
        .unwrap();
    assert!(h.status.success());
    let h = String::from_utf8_lossy(&h.stdout);
    assert!(h.contains("the admin's PIN, then the new PIN"), "{h}");
    for sub in [
        "init",
        "add",
        "update",
        "set-pin",
        "certify",
        "revoke",
        "deactivate",
        "list",
        "gaps",
        "import",
    ] {
        let o = Command::new(BIN)
            .args(["people", sub, "--help"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{sub}");
    }
    let o = Command::new(BIN)
        .args(["people", "import", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("[[person.certification]]"));
}

#[test]
fn the_life_of_a_badge() {
    let (_dir, store) = shop();
    ok(add(&store, "T1", "technician", "1234"));
    let issued = (Utc::now().date_naive() - chrono::Duration::days(10)).to_string();
    let certify = |no: &str| {
        people(
            &store,
            &[
                "certify",
                "T1",
                "--level",
                "cis",
                "--modules",
                "8,1,8",
                "--certificate",
                no,
                "--issued",
                &issued,
                "--admin",
                "A1",
            ],
            "9999\n",
        )
    };
    ok(certify("CIS-1"));
    ok(people(
        &store,
        &["update", "T1", "--skill", "expert", "--admin", "A1"],
        "9999\n",
    ));
    refused(
        people(
            &store,
            &[
                "revoke",
                "T1",
                "--certificate",
                "CIS-9",
                "--reason",
                "typo",
                "--admin",
                "A1",
            ],
            "9999\n",
        ),
        "holds no certificate CIS-9",
    );
    ok(people(
        &store,
        &[
            "revoke",
            "T1",
            "--certificate",
            "CIS-1",
            "--reason",
            "forged",
            "--admin",
            "A1",
        ],
        "9999\n",
    ));
    ok(people(
        &store,
        &["deactivate", "T1", "--reason", "left", "--admin", "A1"],
        "9999\n",
    ));
    refused(certify("CIS-2"), "deactivated");

    let s = Store::open(&store, OpenOptions::default()).unwrap();
    let r = roster(&s).unwrap();
    let t1 = r.get("T1").unwrap();
    assert_eq!(t1.skill, SkillLevel::Expert);
    assert!(t1.certifications.is_empty() && !t1.active);
    assert_eq!(
        r.get("A1").unwrap().roles,
        vec![Role::Supervisor, Role::Admin]
    );
    // A deactivated badge cannot log in, even with its right PIN.
    let policy = load_dir(&instructions()).library.policy.unwrap();
    let e = authenticate(
        &s,
        &roster(&s).unwrap(),
        &policy,
        "T1",
        "1234",
        "log-in",
        Utc::now(),
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            traveler::domain::command::Rejection::Auth(
                traveler::domain::command::AuthFailure::Deactivated { badge }
            ) if badge == "T1"
        ),
        "{e}"
    );
    // Every change names the admin as its actor, with the modules deduplicated.
    let recs: Vec<_> = s.events().map(Result::unwrap).collect();
    assert!(recs.iter().skip(1).all(|r| r.actor == "A1"), "{recs:#?}");
    assert!(recs.iter().any(|r| matches!(&r.event,
        Event::PersonCertified { certification, .. } if certification.modules == vec![1, 8])));
}

#[test]
fn the_last_admin_stays_and_a_deactivated_admin_authorises_nothing() {
    let (_dir, store) = shop();
    refused(
        people(
            &store,
            &["deactivate", "A1", "--reason", "retiring", "--admin", "A1"],
            "9999\n",
        ),
        "last active admin",
    );
    refused(
        people(
            &store,
            &["update", "A1", "--role", "supervisor", "--admin", "A1"],
            "9999\n",
        ),
        "last active admin",
    );
    ok(add(&store, "A2", "admin", "2222"));
    ok(people(
        &store,
        &["deactivate", "A1", "--reason", "retired", "--admin", "A2"],
        "2222\n",
    ));
    let before = events(&store).len();
    refused(add(&store, "T5", "technician", "5555"), "deactivated");
    assert_eq!(events(&store).len(), before, "nothing saved");
}

#[test]
fn a_locked_admin_is_unlocked_by_a_new_pin_from_another_admin() {
    let (_dir, store) = shop();
    ok(add(&store, "A2", "admin,supervisor", "2222"));
    let by_a2 = |pins: &str| {
        people(
            &store,
            &[
                "add",
                "T9",
                "--name",
                "Nine",
                "--role",
                "technician",
                "--skill",
                "expert",
                "--admin",
                "A2",
            ],
            pins,
        )
    };
    for _ in 0..5 {
        refused(by_a2("0000\n9999\n"), "wrong PIN");
    }
    refused(by_a2("2222\n9999\n"), "locked");
    ok(people(
        &store,
        &["set-pin", "A2", "--admin", "A1"],
        "9999\n2468\n",
    ));
    ok(by_a2("2468\n9999\n"));
    let evs = events(&store);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, Event::BadgeLocked { badge, .. } if badge == "A2"))
            .count(),
        1
    );
    let listed = ok(people(&store, &["list"], ""));
    assert!(
        listed.contains("Nine") && !listed.contains("LOCKED"),
        "{listed}"
    );
}

#[test]
fn refusals_before_and_after_the_pin_save_nothing() {
    let (dir, store) = shop();
    let n = events(&store).len();
    refused(add(&store, "T 1", "technician", "1234"), "contains ' '");
    refused(add(&store, "T1", "technician", "12"), "4 to 12 digits");
    refused(
        people(
            &store,
            &[
                "add",
                "T1",
                "--name",
                "X",
                "--role",
                "technician",
                "--skill",
                "expert",
                "--admin",
                "A1",
            ],
            "9999\n",
        ),
        "PIN line is missing",
    );
    refused(
        people(
            &store,
            &["init", "--badge", "A9", "--name", "Again"],
            "1234\n",
        ),
        "not empty",
    );
    let tomorrow = (Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    refused(
        people(
            &store,
            &[
                "certify",
                "A1",
                "--level",
                "CIS",
                "--modules",
                "1",
                "--certificate",
                "C-1",
                "--issued",
                &tomorrow,
                "--admin",
                "A1",
            ],
            "9999\n",
        ),
        "after today",
    );
    let roster = dir.path().join("roster.toml");
    std::fs::write(
        &roster,
        "[[person]]\nbadge = \"T7\"\nname = \"Seven\"\nroles = [\"technician\"]\nskill = \"expert\"\npin = \"1234\"\n",
    )
    .unwrap();
    refused(
        people(
            &store,
            &["import", roster.to_str().unwrap(), "--admin", "A1"],
            "9999\n",
        ),
        "roster.toml:6:1: unknown field `pin`",
    );
    assert_eq!(events(&store).len(), n, "nothing saved");
    // A wrong admin PIN is the one refusal that is recorded.
    ok(add(&store, "T1", "technician", "1234"));
    refused(
        people(
            &store,
            &[
                "add",
                "T3",
                "--name",
                "X",
                "--role",
                "technician",
                "--skill",
                "expert",
                "--admin",
                "A1",
            ],
            "1111\n1234\n",
        ),
        "wrong PIN (1 of 5",
    );
    let evs = events(&store);
    assert_eq!(evs.len(), n + 2, "{evs:#?}");
    assert!(matches!(&evs[n], Event::PersonEnrolled { badge, .. } if badge == "T1"));
    assert!(
        matches!(&evs[n + 1], Event::PinRejected { badge, purpose } if badge == "A1" && purpose == "admin")
    );
}

#[test]
fn import_check_saves_nothing_and_imported_people_need_a_pin() {
    let (dir, store) = shop();
    let file = dir.path().join("roster.toml");
    std::fs::write(
        &file,
        "[[person]]\nbadge = \"T10\"\nname = \"Iris Ito\"\nroles = [\"technician\"]\nskill = \"expert\"\n\n[[person.certification]]\nlevel = \"CIS\"\nmodules = [1, 8]\ncertificate = \"CIS-10\"\nissued = 2025-01-15\n",
    )
    .unwrap();
    let n = events(&store).len();
    let out = ok(people(
        &store,
        &["import", file.to_str().unwrap(), "--check"],
        "",
    ));
    assert!(
        out.contains("T10 Iris Ito") && out.contains("nothing saved"),
        "{out}"
    );
    assert_eq!(events(&store).len(), n);
    let out = ok(people(
        &store,
        &["import", file.to_str().unwrap(), "--admin", "A1"],
        "9999\n",
    ));
    assert!(out.contains("set-pin"), "{out}");
    let out = ok(people(&store, &["list", "--expiring", "3650"], ""));
    assert!(
        out.contains("CIS-10") && out.contains("2027-01-15"),
        "{out}"
    );
    ok(people(
        &store,
        &["set-pin", "T10", "--admin", "A1"],
        "9999\n7777\n",
    ));
    let s = Store::open(&store, OpenOptions::default()).unwrap();
    let policy = load_dir(&instructions()).library.policy.unwrap();
    assert!(
        authenticate(
            &s,
            &roster(&s).unwrap(),
            &policy,
            "T10",
            "7777",
            "log-in",
            Utc::now()
        )
        .is_ok()
    );
}
