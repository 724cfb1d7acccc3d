//! Writes the golden fixture of store format `traveler-store-4`, record schema 2
//! (tests/fixtures/format4/): one store with every event variant of schema 2.
//!
//! Run once, by the build that introduced format 4, with
//! `cargo test --test store_fixture_gen -- --ignored`, and committed. Later builds must
//! read those bytes as they are (tests/store_fixtures.rs); never regenerate the
//! committed fixture with a later build. When a later schema comes, copy this file for
//! it and keep this one as the record of how format 4 was written.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use traveler::domain::event::{
    ChannelSummary, DeviationKind, Event, LotRefusal, Measurement, RecordedFigure, SYSTEM_ACTOR,
};
use traveler::domain::types::{
    CertLevel, Certification, CheckResult, Decision, Meaning, ProductClass, Role, SkillLevel,
};
use traveler::export::ExportOptions;
use traveler::export::Scope;
use traveler::export::json::write_json;
use traveler::instruction::Library;
use traveler::store::{OpenOptions, Store, StoredSample};

const BGA_HASH: &str = "f055f80be3fad86a4666cf06acf50cd649a314d272df7d9b0a2eb072e55baa96";
const TH_HASH: &str = "f00ec4aa8bc27158ac964e4f619d1deb9872d1bfa284643c13e210c4f9b9e7e7";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 7, 30, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn started(job: &str, serial: &str, id: &str, hash: &str, steps: u32, approval: bool) -> Event {
    Event::JobStarted {
        job: job.into(),
        board_serial: serial.into(),
        assembly_part: "PCA-1001".into(),
        assembly_rev: "C".into(),
        refdes: vec!["U7".into(), "C12".into()],
        defect_ref: "NCR-42 \"bridged\" — ball Ø 0.5 mm".into(),
        class: ProductClass::Class3,
        alloy: "SAC305".into(),
        instruction_id: id.into(),
        instruction_rev: "A".into(),
        instruction_hash: hash.into(),
        step_count: steps,
        approval_ref: approval.then(|| "ECO-7781".into()),
        bench: "bench-7".into(),
        performer: "T100".into(),
        procedures: vec!["7711 ORG-8.1".into(), "7711 ORG-8.3".into()],
    }
}

fn samples(n: usize, start: DateTime<Utc>) -> Vec<StoredSample> {
    (0..n)
        .map(|i| StoredSample {
            channel: if i % 2 == 0 { "tip" } else { "board" }.into(),
            time: start + Duration::milliseconds(250 * i as i64),
            celsius: 180.0 + i as f64 * 0.75,
        })
        .collect()
}

fn summary(channel: &str) -> ChannelSummary {
    ChannelSummary {
        channel: channel.into(),
        count: 10,
        min_c: 180.0,
        max_c: 246.25,
        mean_c: 211.125,
        peak_c: 246.25,
        above_liquidus_s: 42.5,
        window_min_c: Some(230.0),
        window_max_c: Some(245.0),
        excursions: 1,
    }
}

fn complete(store: &Store, t: DateTime<Utc>, job: &str, step: u32, with_summary: bool) {
    let d = store.samples_digest(job, step).unwrap();
    store
        .append_at(
            t,
            "T100",
            Event::StepCompleted {
                job: job.into(),
                step,
                temperature: if with_summary {
                    vec![summary("tip"), summary("board")]
                } else {
                    vec![]
                },
                sample_count: d.count,
                samples_digest: d.sha256,
                attempt: 1,
            },
        )
        .unwrap();
}

fn sign(job: &str, step: u32, cp: u32, signer: &str, meaning: Meaning, r: CheckResult) -> Event {
    Event::CheckpointSigned {
        job: job.into(),
        step,
        checkpoint: cp,
        signer: signer.into(),
        signer_name: if signer == "T100" {
            "Ana Lima"
        } else {
            "Chen Wei"
        }
        .into(),
        meaning,
        result: r,
        measurement: (cp == 0).then(|| Measurement {
            value: 0.125,
            unit: "mm".into(),
        }),
        comment: (r == CheckResult::Fail).then(|| "bridge at A3\tand B4; «re-do»".into()),
        recorded: (cp == 0).then(|| RecordedFigure {
            metric: "above_liquidus_s".into(),
            value: 42.5,
            tolerance: 0.5,
        }),
    }
}

fn populate(store: &Store) {
    let t = t0();
    let at = |m: i64| t + Duration::minutes(m);
    let person = |badge: &str, name: &str, roles: Vec<Role>| Event::PersonEnrolled {
        badge: badge.into(),
        name: name.into(),
        roles,
        skill: SkillLevel::Expert,
        pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$Zml4dHVyZXNhbHQ$Zml4dHVyZWhhc2g".into(),
    };
    let ev = |m: i64, actor: &str, e: Event| store.append_at(at(m), actor, e).unwrap();

    // People: every roster variant.
    ev(
        -60,
        SYSTEM_ACTOR,
        person("T100", "Ana Lima", vec![Role::Technician]),
    );
    ev(
        -59,
        SYSTEM_ACTOR,
        person("I300", "Chen Wei", vec![Role::Inspector, Role::Technician]),
    );
    ev(
        -58,
        SYSTEM_ACTOR,
        person("S400", "Dana Roth", vec![Role::Supervisor, Role::Admin]),
    );
    ev(
        -57,
        "S400",
        Event::PersonUpdated {
            badge: "I300".into(),
            name: "Chen Wei".into(),
            roles: vec![Role::Inspector],
            skill: SkillLevel::Advanced,
        },
    );
    for (badge, cert) in [("T100", "CIS-2026-0001"), ("I300", "CIS-2026-0002")] {
        ev(
            -56,
            "S400",
            Event::PersonCertified {
                badge: badge.into(),
                certification: Certification {
                    level: CertLevel::CIS,
                    modules: vec![1, 2, 3, 8, 10],
                    certificate: cert.into(),
                    issued: day(2026, 1, 15),
                    expires: day(2028, 1, 15),
                },
            },
        );
    }
    ev(
        -55,
        "S400",
        person("T200", "Ben Okafor", vec![Role::Technician]),
    );
    ev(
        -54,
        "S400",
        Event::PersonCertified {
            badge: "T200".into(),
            certification: Certification {
                level: CertLevel::CSE,
                modules: vec![1],
                certificate: "CSE-2025-0420".into(),
                issued: day(2025, 2, 1),
                expires: day(2027, 2, 1),
            },
        },
    );
    ev(
        -53,
        "S400",
        Event::CertificationRevoked {
            badge: "T200".into(),
            certificate: "CSE-2025-0420".into(),
            reason: "issued in error".into(),
        },
    );
    ev(
        -52,
        "S400",
        Event::PersonDeactivated {
            badge: "T200".into(),
            reason: "left the company".into(),
        },
    );
    ev(
        -51,
        "T100",
        Event::PinChanged {
            badge: "T100".into(),
            pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA".into(),
        },
    );
    ev(
        -50,
        "I300",
        Event::PinRejected {
            badge: "I300".into(),
            purpose: "login".into(),
        },
    );
    ev(
        -49,
        SYSTEM_ACTOR,
        Event::BadgeLocked {
            badge: "I300".into(),
            until: at(-34),
        },
    );
    ev(
        -1,
        "T100",
        Event::LoggedIn {
            badge: "T100".into(),
            bench: "bench-7".into(),
        },
    );

    // J1: BGA job, every step event, an excursion acknowledged, approved.
    ev(
        0,
        "T100",
        started("J-BGA-1", "SN-0001", "WI-BGA-001", BGA_HASH, 2, true),
    );
    for step in 0..2u32 {
        let m = 10 * (step as i64 + 1);
        ev(
            m,
            "T100",
            Event::StepStarted {
                job: "J-BGA-1".into(),
                step,
            },
        );
        ev(
            m,
            "T100",
            Event::LotRecorded {
                job: "J-BGA-1".into(),
                step,
                material: "flux".into(),
                lot: format!("LOT-FX-{step}"),
                expiry: Some(day(2027, 6, 30)),
                gtin: Some("09506000134352".into()),
                raw_scan: format!("(01)09506000134352(17)270630(10)LOT-FX-{step}"),
            },
        );
        store
            .append_samples("J-BGA-1", step, &samples(10, at(m)))
            .unwrap();
        if step == 1 {
            ev(
                m + 1,
                SYSTEM_ACTOR,
                Event::Excursion {
                    job: "J-BGA-1".into(),
                    step,
                    id: 1,
                    channel: "tip".into(),
                    window_min_c: 230.0,
                    window_max_c: 245.0,
                    peak_c: 246.25,
                    started: at(m + 1),
                    ended: Some(at(m + 1) + Duration::seconds(3)),
                },
            );
            ev(
                m + 2,
                "T100",
                Event::ExcursionAcknowledged {
                    job: "J-BGA-1".into(),
                    step,
                    id: 1,
                    comment: "1.25 °C over for 3 s, joint inspected".into(),
                },
            );
        }
        ev(
            m + 3,
            "T100",
            sign(
                "J-BGA-1",
                step,
                0,
                "T100",
                Meaning::Performed,
                CheckResult::Pass,
            ),
        );
        ev(
            m + 3,
            "I300",
            sign(
                "J-BGA-1",
                step,
                1,
                "I300",
                Meaning::Inspected,
                CheckResult::Confirmed,
            ),
        );
        complete(store, at(m + 4), "J-BGA-1", step, true);
    }
    ev(
        40,
        "T100",
        Event::JobSubmitted {
            job: "J-BGA-1".into(),
        },
    );
    ev(
        45,
        "S400",
        Event::JobReviewed {
            job: "J-BGA-1".into(),
            decision: Decision::Approved,
            reviewer: "S400".into(),
            reviewer_name: "Dana Roth".into(),
            comment: "X-ray clean".into(),
        },
    );

    // J2: through-hole job, failed checkpoint, step redone, suspended and resumed,
    // submitted, rejected.
    ev(
        50,
        "T100",
        started("J-TH-1", "SN-0002", "WI-TH-001", TH_HASH, 1, false),
    );
    ev(
        51,
        "T100",
        Event::StepStarted {
            job: "J-TH-1".into(),
            step: 0,
        },
    );
    store
        .append_samples("J-TH-1", 0, &samples(6, at(51)))
        .unwrap();
    ev(
        52,
        "T100",
        sign(
            "J-TH-1",
            0,
            0,
            "T100",
            Meaning::Performed,
            CheckResult::Fail,
        ),
    );
    ev(
        53,
        "T100",
        Event::StepRedone {
            job: "J-TH-1".into(),
            step: 0,
            reason: "bridge removed, re-soldered".into(),
        },
    );
    ev(
        54,
        "T100",
        Event::JobSuspended {
            job: "J-TH-1".into(),
            reason: "shift end".into(),
        },
    );
    ev(
        55,
        "T100",
        Event::JobResumed {
            job: "J-TH-1".into(),
            reason: "next shift".into(),
        },
    );
    store
        .append_samples("J-TH-1", 0, &samples(4, at(56)))
        .unwrap();
    ev(
        57,
        "T100",
        sign(
            "J-TH-1",
            0,
            0,
            "T100",
            Meaning::Performed,
            CheckResult::Pass,
        ),
    );
    complete(store, at(58), "J-TH-1", 0, false);
    ev(
        59,
        "T100",
        Event::JobSubmitted {
            job: "J-TH-1".into(),
        },
    );
    ev(
        60,
        "S400",
        Event::JobReviewed {
            job: "J-TH-1".into(),
            decision: Decision::Rejected,
            reviewer: "S400".into(),
            reviewer_name: "Dana Roth".into(),
            comment: "redo without approval".into(),
        },
    );

    // J3: an instruction file nobody kept, aborted.
    ev(
        70,
        "T100",
        started(
            "J-GONE-1",
            "SN-0003",
            "WI-GONE-001",
            &"0d".repeat(32),
            1,
            false,
        ),
    );
    ev(
        71,
        "S400",
        Event::JobAborted {
            job: "J-GONE-1".into(),
            reason: "board scrapped".into(),
        },
    );

    // J4: still running: an excursion not yet over, samples not yet sealed.
    ev(
        80,
        "T100",
        started("J-BGA-2", "SN-0001", "WI-BGA-001", BGA_HASH, 2, false),
    );
    ev(
        81,
        "T100",
        Event::StepStarted {
            job: "J-BGA-2".into(),
            step: 0,
        },
    );
    store
        .append_samples("J-BGA-2", 0, &samples(5, at(81)))
        .unwrap();
    ev(
        82,
        SYSTEM_ACTOR,
        Event::Excursion {
            job: "J-BGA-2".into(),
            step: 0,
            id: 1,
            channel: "board".into(),
            window_min_c: 100.0,
            window_max_c: 150.0,
            peak_c: 151.5,
            started: at(82),
            ended: None,
        },
    );
    ev(
        83,
        "T100",
        Event::Deviated {
            job: "J-BGA-2".into(),
            step: 0,
            attempt: 1,
            kind: DeviationKind::WindowNeverReached,
            reason: "preheat plate failed; engineering approved ECO-7790".into(),
            by: "T100".into(),
            by_name: "Ana Lima".into(),
        },
    );
    ev(
        84,
        "T100",
        Event::LotRefused {
            job: "J-BGA-2".into(),
            step: 0,
            material: "flux".into(),
            lot: "LOT-OLD".into(),
            expiry: Some(day(2026, 1, 31)),
            gtin: None,
            raw_scan: "(17)260131(10)LOT-OLD".into(),
            reason: LotRefusal::Expired {
                on: day(2026, 1, 31),
            },
        },
    );
    ev(
        85,
        SYSTEM_ACTOR,
        Event::InstructionArchived {
            job: "J-BGA-2".into(),
            hash: BGA_HASH.into(),
            file_name: "WI-BGA-001.toml".into(),
            text: std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/format3/instructions/WI-BGA-001.toml"),
            )
            .unwrap(),
        },
    );
    ev(
        86,
        SYSTEM_ACTOR,
        Event::StoreMigrated {
            store_id: "7f0c6a52-3b1e-4c8d-9a27-5e4f1d2c3b4a".into(),
            bench: "bench-7".into(),
            from_format: 3,
            to_format: 4,
            from_schema: 1,
        },
    );
    ev(
        90,
        "T100",
        Event::LoggedOut {
            badge: "T100".into(),
            reason: "timeout".into(),
        },
    );
}

#[test]
#[ignore = "writes the committed format-4 fixture; only the format-4 code may run it"]
fn write_format4_fixture() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format4");
    std::fs::create_dir_all(&out).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("store");
    {
        let options = OpenOptions {
            bench: Some("bench-7".into()),
            ..OpenOptions::default()
        };
        let store = Store::open(&dir, options).unwrap();
        populate(&store);
        store.verify().unwrap();
        store.backup_to_file(&out.join("backup.jsonl")).unwrap();
        let f = std::fs::File::create(out.join("export.json")).unwrap();
        let lib = Library::default();
        write_json(
            &store,
            &lib,
            &Scope::default(),
            &ExportOptions { samples: true },
            f,
            &mut |_| {},
        )
        .unwrap();
    }
    // sled lets go of its lock a moment after the handle drops.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ok = Command::new("tar")
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg("-czf")
        .arg(out.join("store.tar.gz"))
        .arg("-C")
        .arg(work.path())
        .arg("store")
        .status()
        .unwrap();
    assert!(ok.success());
}
