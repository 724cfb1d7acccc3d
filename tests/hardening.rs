//! Bad configuration, bad input and weak secrets, met through the binary the way
//! a user meets them: owner-only logs, a log folder that cannot be written, a bad
//! `[station]` table in config.toml, oversized instruction files, look-alike
//! badges and names, and the PIN policy.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn shipped_instructions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The bench application on `config`, with no terminal and an umask that
/// would leave everything readable by all: it sets up logging, then stops at
/// the instructions folder (empty on purpose) before any screen.
fn app(config: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .env_remove("TRAVELER_CONFIG")
        .stdin(Stdio::null());
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o000);
            Ok(())
        });
    }
    cmd.output().unwrap()
}

fn config(dir: &Path, log_dir: &str, station: &str) -> PathBuf {
    let empty = dir.join("no-instructions");
    fs::create_dir_all(&empty).unwrap();
    let path = dir.join("config.toml");
    fs::write(
        &path,
        format!(
            "bench = \"B-1\"\nstore = \"{}\"\ninstructions = \"{}\"\nlog_dir = \"{log_dir}\"\n\n{station}",
            dir.join("store").display(),
            empty.display()
        ),
    )
    .unwrap();
    path
}

const SIMULATED: &str =
    "[station]\nchannels = [{ name = \"tip\" }]\n\n[station.protocol]\nkind = \"simulated\"\n";

#[test]
fn logs_are_owner_only_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = app(&config(dir.path(), &logs.display().to_string(), SIMULATED));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(mode(&logs), 0o700, "log folder");
    let files: Vec<PathBuf> = fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("traveler.log.")
    );
    assert_eq!(mode(&files[0]), 0o600, "log file");
    assert!(fs::read_to_string(&files[0]).unwrap().contains("starting"));
}

#[test]
fn a_log_folder_that_cannot_be_written_is_a_warning_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // /proc takes no new files, even from root (tests may run as root, where
    // permission bits would not stop anything); a path under a file is the other way.
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    for log_dir in ["/proc".to_string(), file.join("logs").display().to_string()] {
        let out = app(&config(dir.path(), &log_dir, SIMULATED));
        let said = text(&out);
        assert_ne!(out.status.code(), Some(101), "panicked: {said}");
        assert!(
            said.contains("warning: no log file") && said.contains(&log_dir),
            "{said}"
        );
        // It went on: the next thing it checks is the (empty) instructions folder.
        assert!(said.contains("cannot be used"), "{said}");
        assert_eq!(out.status.code(), Some(1), "{said}");
    }
}

#[test]
fn a_bad_station_table_in_config_toml_is_refused_at_start_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs").display().to_string();
    let cases = [
        (
            "[station]\nport = \"/dev/ttyUSB0\"\nbaud = 0\nchannels = [{ name = \"tip\" }]\n\n[station.protocol]\nkind = \"center-309\"\n",
            ":8:8:",
            "baud must be positive",
        ),
        (
            "[station]\nport = \"/dev/ttyUSB0\"\nchannels = [{ name = \"tip\" }]\n\n[station.protocol]\nkind = \"ascii-line\"\nregex = '(?P<tip'\n",
            ":12:9:",
            "bad regex",
        ),
    ];
    for (station, at, what) in cases {
        let cfg = config(dir.path(), &logs, station);
        let out = app(&cfg);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(
            said.contains(&format!("{}{at}", cfg.display())) && said.contains(what),
            "want {at} {what:?}: {said}"
        );
        // Same words as the table given with --station.
        let station_file = dir.path().join("station.toml");
        fs::write(&station_file, station).unwrap();
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&cfg)
            .arg("--station")
            .arg(&station_file)
            .output()
            .unwrap();
        assert!(text(&out).contains(what), "{}", text(&out));
    }
}

fn instructions_copy(dir: &Path) -> PathBuf {
    let to = dir.join("instructions");
    fs::create_dir_all(&to).unwrap();
    for e in fs::read_dir(shipped_instructions()).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to
}

fn check(dir: &Path) -> Output {
    Command::new(BIN).arg("check").arg(dir).output().unwrap()
}

#[test]
fn check_refuses_oversized_instruction_files_and_too_many_steps() {
    let dir = tempfile::tempdir().unwrap();
    let folder = instructions_copy(dir.path());
    let good = fs::read_to_string(folder.join("WI-CHIP-001.toml")).unwrap();
    assert_eq!(
        check(&folder).status.code(),
        Some(0),
        "shipped folder is clean"
    );

    // 1.5 MB of comment in front of a valid instruction with its own id.
    let mut big = "# padding padding padding padding padding padding padding\n".repeat(26_000);
    big.push_str(&good.replace("WI-CHIP-001", "WI-BIG-001"));
    fs::write(folder.join("WI-BIG-001.toml"), &big).unwrap();
    let out = check(&folder);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("WI-BIG-001.toml:1:1: the file is") && said.contains("at most 1048576 bytes"),
        "{said}"
    );
    fs::remove_file(folder.join("WI-BIG-001.toml")).unwrap();

    // 501 steps in a small file.
    let step = "\n[[step]]\ntext = \"Clean the pad.\"\n";
    let many = good.replace("WI-CHIP-001", "WI-MANY-001") + &step.repeat(501);
    fs::write(folder.join("WI-MANY-001.toml"), &many).unwrap();
    let out = check(&folder);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let steps_before = good.matches("[[step]]").count();
    // The first step beyond 500 is named by its line.
    let line = many
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("[[step]]"))
        .nth(500)
        .map(|(i, _)| i + 1)
        .unwrap();
    assert!(
        said.contains(&format!(
            "WI-MANY-001.toml:{line}:1: {} steps",
            steps_before + 501
        )) && said.contains("at most 500"),
        "{said}"
    );
}

/// A roster in a store of its own, under an instructions folder whose policy
/// can be changed between commands.
struct Shop {
    _dir: tempfile::TempDir,
    store: PathBuf,
    instructions: PathBuf,
}

impl Shop {
    fn new() -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let instructions = instructions_copy(dir.path());
        let shop = Shop {
            store: dir.path().join("store"),
            instructions,
            _dir: dir,
        };
        let out = shop.people(
            &["init", "--badge", "A1", "--name", "Ada Admin"],
            "958173\n",
        );
        assert!(out.status.success(), "{}", text(&out));
        shop
    }

    fn people(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(BIN)
            .arg("--instructions")
            .arg(&self.instructions)
            .arg("people")
            .arg("--store")
            .arg(&self.store)
            .arg("--pin-stdin")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    fn add(&self, badge: &str, name: &str, pin: &str) -> Output {
        self.people(
            &[
                "add",
                badge,
                "--name",
                name,
                "--role",
                "technician",
                "--skill",
                "advanced",
                "--admin",
                "A1",
            ],
            &format!("958173\n{pin}\n"),
        )
    }

    fn list(&self) -> String {
        let out = self.people(&["list"], "");
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    }

    fn set_pin_rules(&self, rules: &str) {
        let path = self.instructions.join("policy.toml");
        let policy = fs::read_to_string(&path).unwrap();
        let head = &policy[..policy.find("[pin]").unwrap()];
        fs::write(&path, format!("{head}[pin]\n{rules}\n")).unwrap();
    }
}

fn refused(o: &Output, why: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", text(o));
    assert!(text(o).contains(why), "want {why:?} in: {}", text(o));
}

#[test]
fn look_alike_badges_and_names_are_refused_on_the_command_line() {
    let shop = Shop::new();
    refused(
        &shop.add("T100\u{200B}", "Ana Lima", "418263"),
        "U+200B at character 5",
    );
    refused(&shop.add("T100\u{1F600}", "Ana Lima", "418263"), "U+1F600");
    refused(&shop.add("\u{0422}100", "Ana Lima", "418263"), "U+0422");
    refused(
        &shop.add("T100", "\u{202E}amiL anA", "418263"),
        "invisible character U+202E at character 1",
    );
    refused(&shop.add("T100", &"A".repeat(81), "418263"), "at most 80");
    assert!(shop.add("T100", "Ana Lima", "418263").status.success());
    let upd = |name: &str| {
        shop.people(
            &["update", "T100", "--name", name, "--admin", "A1"],
            "958173\n",
        )
    };
    refused(&upd("Ana\u{2067}Lima"), "U+2067");
    assert!(upd("Ana M. Lima").status.success());
    let list = shop.list();
    assert_eq!(list.matches("T100").count(), 1, "{list}");
    assert!(
        !list.contains('\u{202E}') && !list.contains('\u{200B}'),
        "{list}"
    );
}

#[test]
fn look_alike_badges_and_names_in_a_roster_file_are_refused_with_their_place() {
    let shop = Shop::new();
    let file = shop.store.with_file_name("roster.toml");
    fs::write(
        &file,
        "[[person]]\nbadge = \"T100\u{200B}\"\nname = \"Ana Lima\"\nroles = [\"technician\"]\nskill = \"expert\"\n\n\
         [[person]]\nbadge = \"T200\"\nname = \"Ben \u{202E}rofakO\"\nroles = [\"technician\"]\nskill = \"expert\"\n",
    )
    .unwrap();
    let out = shop.people(&["import", file.to_str().unwrap(), "--check"], "");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let at = |line: usize, col: usize| format!("{}:{line}:{col}: ", file.display());
    assert!(
        said.contains(&format!("{}the badge contains U+200B", at(2, 9))),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "{}the printed name has the invisible character U+202E",
            at(9, 8)
        )),
        "{said}"
    );
    assert!(said.contains("nothing imported"), "{said}");
}

#[test]
fn new_pins_follow_the_policy_and_older_short_pins_are_marked_until_changed() {
    let shop = Shop::new();
    // Short and trivial PINs are refused, and nothing is saved.
    refused(&shop.add("T1", "Tess One", "1111"), "at least 6");
    refused(&shop.add("T1", "Tess One", "123456"), "run of digits");
    refused(&shop.add("T1", "Tess One", "654321"), "run of digits");
    refused(&shop.add("T1", "Tess One", "000000"), "repeats one digit");
    refused(
        &shop.add("T1", "Tess One", "121212"),
        "repeats a short group",
    );
    assert!(!shop.list().contains("T1 "), "nothing saved");
    assert!(shop.add("T1", "Tess One", "418263").status.success());
    assert!(!shop.list().contains("PIN below policy"), "{}", shop.list());

    // A PIN set while the organisation still allowed four digits...
    shop.set_pin_rules("min_length = 4\nrefuse_trivial = false");
    assert!(shop.add("T2", "Two Short", "1111").status.success());
    assert!(!shop.list().contains("PIN below policy"));
    // ...keeps working under today's rules, and `list` marks it.
    shop.set_pin_rules("min_length = 6\nrefuse_trivial = true");
    let list = shop.list();
    let row = |who: &str| {
        list.lines()
            .find(|l| l.starts_with(who))
            .unwrap()
            .to_string()
    };
    assert!(row("T2").contains("active, PIN below policy"), "{list}");
    assert!(!row("T1").contains("below"), "{list}");
    let store = traveler::store::Store::open(&shop.store, Default::default()).unwrap();
    let policy = traveler::instruction::load_dir(&shop.instructions)
        .library
        .policy
        .unwrap();
    traveler::people::auth::authenticate(
        &store,
        &traveler::people::auth::roster(&store).unwrap(),
        &policy,
        "T2",
        "1111",
        "log-in",
        chrono::Utc::now(),
    )
    .expect("an older short PIN still logs in");
    drop(store);
    // A new PIN for T2 must meet today's rules, and then the mark goes.
    let set = |pin: &str| {
        shop.people(
            &["set-pin", "T2", "--admin", "A1"],
            &format!("958173\n{pin}\n"),
        )
    };
    refused(&set("2222"), "at least 6");
    assert!(set("730194").status.success());
    assert!(!shop.list().contains("PIN below policy"), "{}", shop.list());
}

#[test]
fn a_pin_policy_out_of_range_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let folder = instructions_copy(dir.path());
    let path = folder.join("policy.toml");
    let policy = fs::read_to_string(&path).unwrap();
    fs::write(&path, policy.replace("min_length = 6", "min_length = 3")).unwrap();
    let out = check(&folder);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("policy.toml:") && said.contains("min_length = 3"),
        "{said}"
    );
}
