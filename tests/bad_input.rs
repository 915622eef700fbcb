//! Bad input never panics, never reaches IAM, and always says what is wrong.
//!
//! - Fuzz (proptest, runs on stable): arbitrary bytes and mutated valid schedules given to
//!   `schedule::parse` never panic; an error is always one or more `PATH:LINE:COLUMN: error: ...`
//!   lines (LINE and COLUMN >= 1, LINE at most the file's line count + 1), each optionally followed
//!   by `  hint: ...`.
//! - The built binary, pointed at a tripwire endpoint that records any connection (so "no IAM
//!   call" is observed, not assumed): a schedule with 100,000 workshops, one over the size limit,
//!   binary, a symlink to /dev/zero, a fifo, a directory, an unreadable file; a malformed `--at`;
//!   a credentials directory that is a file or that others can use; a credentials file others
//!   can read; a workshop id that would leave the credentials directory. Each is refused with a
//!   clear message, exit 1, nothing on stdout and no connection.
//! - Against moto through the delaying proxy: a schedule edited while `reconcile` observes IAM is
//!   refused before any write.

mod common;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use common::proxy::{self, is_read_only, output_within, wait_within, Faults, Proxy};
use workshop_keys::schedule::{parse, ScheduleError};

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Fuzzing the parser and validator.

const FUZZ_PATH: &str = "fuzz/workshops.toml";
/// The product refuses more workshops than this (README).
const MAX_WORKSHOPS: usize = 10_000;

const VALID: &[&str] = &[
    include_str!("../workshops.toml"),
    include_str!("fixtures/schedules/valid_full.toml"),
    include_str!("fixtures/schedules/valid_back_to_back.toml"),
];

/// Characters that tend to matter to TOML, dates, durations, ids and line/column counting.
const CHARS: &[char] = &[
    '"', '\'', '[', ']', '{', '}', '=', '.', ',', '#', '\n', '\r', '\t', ' ', '\\', ':', '-', '+',
    'T', 'Z', 'z', '0', '9', 'x', '/', '\0', '\u{7f}', 'é', '\u{feff}', '\u{2028}', '日', '🦀',
];

/// Lines and fragments that exercise the validator rather than the TOML syntax.
const SNIPPETS: &[&str] = &[
    "[[workshop]]\n",
    "[settings]\n",
    "id = \"../x\"\n",
    "id = \"\"\n",
    "\"a\\nb\" = 1\n",
    "title = \"line\\nbreak\"\n",
    "user = \"a\\nb\"\n",
    "lead = \"-1h\"\n",
    "grace = \"99999d\"\n",
    "hold = \"1h 1h 1h\"\n",
    "start = 2026-02-30T09:00:00Z\n",
    "end = 1979-05-27\n",
    "start = 07:32:00\n",
    "timezone = \"Mars/Olympus\"\n",
    "policy = \"restricted\"\n",
    "models = []\n",
    "models = [\"us.anthropic.claude-3-7-sonnet-20250219-v1:0\", 1]\n",
    "path = \"no-slash\"\n",
    "rotate_after = \"1s\"\n",
    "credentials_dir = \"../../etc\"\n",
    "verify_timeout = \"0s\"\n",
    "a.b.c = { d = [1, 2, { e = 3 }] }\n",
    "workshop = 3\n",
    "settings = []\n",
    "[[settings]]\n",
    "[workshop]\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    SetChar(usize, char),
    DeleteChar(usize),
    Truncate(usize),
    InsertLine(usize, &'static str),
    InsertText(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), proptest::sample::select(CHARS))
            .prop_map(|(i, c)| Mutation::SetChar(i, c)),
        any::<usize>().prop_map(Mutation::DeleteChar),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), proptest::sample::select(SNIPPETS))
            .prop_map(|(i, s)| Mutation::InsertLine(i, s)),
        (any::<usize>(), "\\PC{0,12}").prop_map(|(i, s)| Mutation::InsertText(i, s)),
    ]
}

fn mutate(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut chars: Vec<char> = text.chars().collect();
    let line = |i: usize| i % lines.len().max(1);
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match m {
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(line(*i));
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let l = line(*i);
            lines.insert(l, lines[l]);
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (line(*a), line(*b));
            lines.swap(a, b);
        }
        Mutation::InsertLine(i, s) => lines.insert(at(*i, lines.len() + 1), s),
        Mutation::SetChar(i, c) if !chars.is_empty() => {
            let i = at(*i, chars.len());
            chars[i] = *c;
            return chars.into_iter().collect();
        }
        Mutation::DeleteChar(i) if !chars.is_empty() => {
            chars.remove(at(*i, chars.len()));
            return chars.into_iter().collect();
        }
        Mutation::Truncate(i) => {
            chars.truncate(at(*i, chars.len() + 1));
            return chars.into_iter().collect();
        }
        Mutation::InsertText(i, s) => {
            let i = at(*i, chars.len() + 1);
            chars.splice(i..i, s.chars());
            return chars.into_iter().collect();
        }
        _ => {}
    }
    lines.concat()
}

/// `parse` must not panic (proptest reports a panic as a failure, shrunk), and an error must be
/// located diagnostics only.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    match parse(Path::new(FUZZ_PATH), text) {
        Ok(s) => {
            prop_assert!(s.workshops.len() <= MAX_WORKSHOPS);
            for w in &s.workshops {
                prop_assert!(w.end > w.start, "{} ends before it starts", w.id);
            }
        }
        Err(e) => {
            prop_assert!(
                matches!(e, ScheduleError::Invalid { .. }),
                "parse reads no file, yet: {e}"
            );
            check_diagnostics(&e.to_string(), text)?;
        }
    }
    Ok(())
}

fn check_diagnostics(shown: &str, text: &str) -> Result<(), TestCaseError> {
    let max_line = text.lines().count() + 1;
    let mut errors = 0;
    for l in shown.split('\n') {
        if let Some(hint) = l.strip_prefix("  hint: ") {
            prop_assert!(!hint.trim().is_empty(), "empty hint in:\n{shown}");
            prop_assert!(errors > 0, "a hint before any error:\n{shown}");
            continue;
        }
        let located = l
            .strip_prefix(FUZZ_PATH)
            .and_then(|r| r.strip_prefix(':'))
            .and_then(|r| {
                let (line, r) = r.split_once(':')?;
                let (column, r) = r.split_once(':')?;
                let message = r.strip_prefix(" error: ")?;
                Some((
                    line.parse::<usize>().ok()?,
                    column.parse::<usize>().ok()?,
                    message,
                ))
            });
        let Some((line, column, message)) = located else {
            return Err(TestCaseError::fail(format!(
                "not `PATH:LINE:COLUMN: error: ...` nor `  hint: ...`: {l:?}\nin:\n{shown}"
            )));
        };
        prop_assert!(line >= 1 && column >= 1, "{l:?}");
        prop_assert!(
            line <= max_line,
            "line {line} past the end ({max_line}): {l:?}"
        );
        prop_assert!(!message.trim().is_empty(), "{l:?}");
        errors += 1;
    }
    prop_assert!(errors > 0, "an error without any diagnostic: {shown:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_are_located(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        check_parse(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn tomlish_text_never_panics_and_errors_are_located(
        text in "[\\[\\]{}=\"'.,#a-z0-9:TZ+\\- \n\t]{0,300}",
    ) {
        check_parse(&text)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_valid_schedules_never_panic_and_errors_are_located(
        base in proptest::sample::select(VALID),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let text = mutations.iter().fold(base.to_string(), |t, m| mutate(&t, m));
        check_parse(&text)?;
    }
}

#[test]
fn the_valid_bases_are_valid() {
    for text in VALID {
        assert!(parse(Path::new(FUZZ_PATH), text).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// The built binary on bad input, with a tripwire for IAM.

/// A listener that counts (and drops) every connection: the endpoint for runs that must stop
/// before any IAM call.
struct Tripwire {
    addr: std::net::SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Tripwire {
    fn new() -> Tripwire {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a tripwire");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok(_) => {
                        h.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Tripwire { addr, hits, stop }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        // Let a connection made just before the process ended be counted.
        std::thread::sleep(Duration::from_millis(20));
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Tripwire {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A temporary directory with a valid schedule; tests break one thing in it.
struct Case {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    schedule: PathBuf,
    tripwire: Tripwire,
}

const SCHEDULE: &str = r#"[settings]
path = "/bad-input/"
user = "bad-input-user"
credentials_dir = "creds"

[[workshop]]
id = "w1"
start = 2026-12-10T09:00:00Z
end = 2026-12-10T17:00:00Z
"#;

impl Case {
    fn new() -> Case {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let schedule = dir.join("workshops.toml");
        std::fs::write(&schedule, SCHEDULE).unwrap();
        Case {
            _tmp: tmp,
            dir,
            schedule,
            tripwire: Tripwire::new(),
        }
    }

    /// The binary with test credentials, every AWS endpoint at the tripwire.
    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_workshop-keys"));
        for name in common::AWS_ENV_TO_CLEAR {
            cmd.env_remove(name);
        }
        cmd.env("AWS_ENDPOINT_URL", self.tripwire.endpoint())
            .env("AWS_ACCESS_KEY_ID", common::TEST_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", common::TEST_SECRET_ACCESS_KEY)
            .env("AWS_REGION", common::REGION)
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "warn")
            .current_dir(&self.dir)
            .args(args)
            .stdin(Stdio::null());
        output_within(&mut cmd, RUN_TIMEOUT)
    }

    /// `command --schedule SCHEDULE extra...`
    fn run_on(&self, command: &str, schedule: &Path, extra: &[&str]) -> Output {
        let mut args: Vec<&OsStr> = vec![OsStr::new(command), OsStr::new("--schedule")];
        args.push(schedule.as_os_str());
        args.extend(extra.iter().map(OsStr::new));
        self.run(&args)
    }

    /// Exit 1, `needle` on stderr, nothing on stdout, and no connection to the tripwire.
    fn assert_refused(&self, o: &Output, needle: &str, context: &str) {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{context}: {}", text(o));
        assert!(
            stderr.contains(needle),
            "{context}: stderr should contain {needle:?}: {}",
            text(o)
        );
        assert!(!stderr.contains("panicked"), "{context}: {}", text(o));
        assert!(
            o.stdout.is_empty(),
            "{context}: nothing on stdout: {}",
            text(o)
        );
        assert_eq!(self.tripwire.hits(), 0, "{context}: an IAM call was made");
    }

    /// The schedule is refused by every command that reads it, before any IAM call.
    fn assert_schedule_refused(&self, schedule: &Path, needle: &str, context: &str) {
        for command in ["validate", "plan", "reconcile", "status", "verify"] {
            let o = self.run_on(command, schedule, &[]);
            self.assert_refused(&o, needle, &format!("{context}, {command}"));
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn a_schedule_with_100k_workshops_is_refused_with_a_located_error() {
    let c = Case::new();
    let huge = c.dir.join("huge.toml");
    let mut t = String::with_capacity(12 << 20);
    t.push_str("[settings]\npath = \"/bad-input/\"\nlead = \"1m\"\ngrace = \"1m\"\n");
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    for i in 0..100_000i64 {
        let start = base + chrono::TimeDelta::minutes(10 * i);
        let end = start + chrono::TimeDelta::minutes(5);
        let _ = write!(
            t,
            "\n[[workshop]]\nid = \"w{i}\"\nstart = {}\nend = {}\n",
            start.format("%Y-%m-%dT%H:%M:%SZ"),
            end.format("%Y-%m-%dT%H:%M:%SZ")
        );
    }
    std::fs::write(&huge, &t).unwrap();
    let lines = t.lines().count();
    for command in ["validate", "reconcile"] {
        let started = Instant::now();
        let o = c.run_on(command, &huge, &[]);
        eprintln!("{command} on {} bytes: {:?}", t.len(), started.elapsed());
        c.assert_refused(
            &o,
            "100000 workshops; a schedule may hold at most 10000",
            command,
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        let first = stderr.lines().next().unwrap_or("");
        let prefix = format!("{}:", huge.display());
        let rest = first
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("not located: {first}"));
        let mut parts = rest.splitn(3, ':');
        let line: usize = parts.next().unwrap().parse().expect("LINE");
        let column: usize = parts.next().unwrap().parse().expect("COLUMN");
        assert!(line >= 1 && line <= lines + 1 && column >= 1, "{first}");
        assert!(parts.next().unwrap().starts_with(" error: "), "{first}");
    }
}

#[test]
fn a_schedule_over_the_size_limit_is_refused_before_it_is_read() {
    let c = Case::new();
    let big = c.dir.join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(17 * 1024 * 1024).unwrap(); // sparse: costs no disk
    drop(f);
    c.assert_schedule_refused(&big, "bytes a schedule may have", "17 MiB schedule");
}

#[test]
fn a_binary_schedule_is_refused() {
    let c = Case::new();
    let binary = c.dir.join("binary.toml");
    let mut bytes: Vec<u8> = b"[settings]\n".to_vec();
    bytes.extend((0u8..=255).cycle().take(4096).map(|b| b.wrapping_mul(151)));
    std::fs::write(&binary, &bytes).unwrap();
    c.assert_schedule_refused(&binary, "not UTF-8 text", "binary schedule");

    // Valid UTF-8 full of control characters: a located TOML error.
    let controls = c.dir.join("controls.toml");
    std::fs::write(&controls, "\0\u{1}\u{2}[settings]\u{7f}\n\u{1b}[2J").unwrap();
    for command in ["validate", "reconcile"] {
        let o = c.run_on(command, &controls, &[]);
        let prefix = format!("{}:1:", controls.display());
        c.assert_refused(&o, &prefix, &format!("control characters, {command}"));
        assert!(String::from_utf8_lossy(&o.stderr).contains(": error: invalid TOML"));
    }
}

#[test]
fn a_symlink_to_a_device_a_fifo_and_a_directory_are_refused_without_blocking() {
    let c = Case::new();
    let zero = c.dir.join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let started = Instant::now();
    c.assert_schedule_refused(&zero, "not a regular file", "symlink to /dev/zero");

    let fifo = c.dir.join("fifo.toml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    c.assert_schedule_refused(&fifo, "not a regular file", "fifo");

    let dir = c.dir.join("dir.toml");
    std::fs::create_dir(&dir).unwrap();
    c.assert_schedule_refused(&dir, "not a regular file", "directory");
    // Nothing blocked on a read that never ends (each run has its own 60 s deadline too).
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn an_unreadable_schedule_is_refused() {
    let c = Case::new();
    // A regular file that nobody, root included, can read: reading it fails with EIO.
    c.assert_schedule_refused(
        Path::new("/proc/self/mem"),
        "cannot read the schedule",
        "/proc/self/mem",
    );
    // A schedule under a path component that is a file: ENOTDIR.
    c.assert_schedule_refused(
        &c.schedule.join("workshops.toml"),
        "cannot read the schedule",
        "path through a file",
    );

    std::fs::set_permissions(&c.schedule, std::fs::Permissions::from_mode(0o000)).unwrap();
    if is_root() {
        // Root reads a mode-000 file: the tool reads it like any other.
        eprintln!("running as root: chmod 000 does not stop root; checked that it still reads");
        let o = c.run_on("validate", &c.schedule, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "ok: 1 workshop, 1 user"
        );
    } else {
        c.assert_schedule_refused(&c.schedule, "permission denied", "mode 000");
        let stderr =
            String::from_utf8_lossy(&c.run_on("validate", &c.schedule, &[]).stderr).into_owned();
        assert!(stderr.contains("make the file readable"), "{stderr}");
    }
}

#[test]
fn a_malformed_at_is_refused() {
    let c = Case::new();
    for bad in [
        "tomorrow",
        "2026-12-10 12:00",
        "2026-13-01T00:00:00Z",
        "2026-12-10T25:00:00Z",
        "2026-12-10T12:00:00",
        "",
        "2026-12-10T12:00:00Z; rm -rf /",
    ] {
        for command in ["plan", "reconcile", "status"] {
            let o = c.run_on(command, &c.schedule, &["--at", bad]);
            c.assert_refused(
                &o,
                "is not an RFC 3339 time",
                &format!("{command} --at {bad:?}"),
            );
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(
                stderr.contains("2026-12-02T09:00:00Z"),
                "an example: {stderr}"
            );
        }
    }
}

// A credentials directory that is a file or open to others no longer stops a run before IAM
// is read (revocation needs no folder): tests/credentials_emulator.rs checks it end to end.

#[test]
fn a_workshop_id_that_would_leave_the_credentials_directory_is_refused() {
    let c = Case::new();
    for id in ["../x", "..", "a/b", "/etc/passwd", "x\\y", ""] {
        let schedule = c.dir.join("escape.toml");
        std::fs::write(
            &schedule,
            SCHEDULE.replace("id = \"w1\"", &format!("id = {id:?}")),
        )
        .unwrap();
        let line = SCHEDULE
            .lines()
            .position(|l| l.starts_with("id = "))
            .unwrap()
            + 1;
        for command in ["validate", "reconcile"] {
            let o = c.run_on(command, &schedule, &[]);
            let located = format!("{}:{line}:", schedule.display());
            c.assert_refused(&o, &located, &format!("id {id:?}, {command}"));
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(stderr.contains(": error: "), "{stderr}");
            assert!(stderr.contains("hint: "), "a hint for id {id:?}: {stderr}");
        }
    }
    assert!(
        !c.dir.join("creds").exists(),
        "no credentials directory was created"
    );
    assert!(!c.dir.join("x.env").exists());
}

#[test]
fn a_schedule_changed_while_reconcile_observes_is_not_applied() {
    let server = common::shared();
    let tmp = tempfile::tempdir().unwrap();
    let schedule = tmp.path().join("workshops.toml");
    let user = format!("wk-changed-{}", common::unique_suffix());
    let original = SCHEDULE
        .replace("/bad-input/", &common::unique_path("changed"))
        .replace("bad-input-user", &user);
    std::fs::write(&schedule, &original).unwrap();

    let proxy = Proxy::start(server.endpoint());
    proxy.set_faults(Faults::delay(proxy::seed("CHANGED_SEED"), 400, 400));
    let child = server
        .command()
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("RUST_LOG", "warn")
        .current_dir(tmp.path())
        .arg("reconcile")
        .arg("--schedule")
        .arg(&schedule)
        .args(["--at", "2026-12-10T08:00:00Z"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reconcile");
    // While it observes IAM (its first call is held up in the proxy), edit the schedule.
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.request_count() == 0 {
        assert!(Instant::now() < deadline, "reconcile made no IAM call");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(&schedule, original.replace("id = \"w1\"", "id = \"w2\"")).unwrap();
    let o = wait_within(child, RUN_TIMEOUT);
    proxy.wait_idle(Duration::from_secs(30));

    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("changed while the plan was computed")
            && stderr.contains("nothing was applied"),
        "{}",
        text(&o)
    );
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    let writes: Vec<_> = seen.iter().filter(|s| !is_read_only(&s.action)).collect();
    assert!(
        writes.is_empty(),
        "IAM writes after the schedule changed: {writes:?}"
    );
    // And IAM agrees: the user the plan would have created does not exist.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = server.iam_client(None, common::test_credentials());
    let got = rt.block_on(client.get_user().user_name(&user).send());
    assert!(got.is_err(), "user {user} exists: {got:?}");
    assert!(
        !tmp.path().join("creds").exists(),
        "no credentials were written"
    );
}

#[test]
fn a_saved_plan_is_not_applied_once_the_schedule_or_iam_changed() {
    let server = common::shared();
    let tmp = tempfile::tempdir().unwrap();
    let schedule = tmp.path().join("workshops.toml");
    let planfile = tmp.path().join("plan.json");
    let user = format!("wk-saved-{}", common::unique_suffix());
    let original = SCHEDULE
        .replace("/bad-input/", &common::unique_path("saved"))
        .replace("bad-input-user", &user);
    std::fs::write(&schedule, &original).unwrap();
    let proxy = Proxy::start(server.endpoint());
    let run = |endpoint: &str, args: &[&str]| {
        let mut cmd = server.command();
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("RUST_LOG", "warn")
            .current_dir(tmp.path())
            .args(args)
            .arg("--schedule")
            .arg(&schedule);
        output_within(&mut cmd, RUN_TIMEOUT)
    };
    let plan_out = ["plan", "--at", "2026-12-10T08:00:00Z", "--out", "plan.json"];
    let apply_saved = ["reconcile", "--plan", "plan.json"];
    let assert_stale = |o: &Output, context: &str| {
        let writes: Vec<_> = proxy
            .seen()
            .into_iter()
            .filter(|s| !is_read_only(&s.action))
            .collect();
        assert_eq!(o.status.code(), Some(1), "{context}: {}", text(o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("is stale, nothing was applied"),
            "{context}: {}",
            text(o)
        );
        assert!(writes.is_empty(), "{context}: IAM writes: {writes:?}");
        proxy.clear_seen();
    };

    // The schedule changes after `plan --out`.
    let o = run(server.endpoint(), &plan_out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(planfile.exists());
    std::fs::write(&schedule, original.replace("id = \"w1\"", "id = \"w2\"")).unwrap();
    assert_stale(&run(&proxy.endpoint(), &apply_saved), "schedule edited");

    // Restored, the same saved plan applies (the refusal above was about the edit).
    std::fs::write(&schedule, &original).unwrap();
    let o = run(&proxy.endpoint(), &apply_saved);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the fresh saved plan: {}",
        text(&o)
    );
    assert!(proxy.seen().iter().any(|s| s.action == "CreateAccessKey"));
    proxy.clear_seen();

    // IAM changes after `plan --out` (a key appears on the managed user).
    let o = run(
        server.endpoint(),
        &["plan", "--at", "2026-12-10T20:00:00Z", "--out", "plan.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = server.iam_client(None, common::test_credentials());
    rt.block_on(client.create_access_key().user_name(&user).send())
        .expect("CreateAccessKey");
    assert_stale(&run(&proxy.endpoint(), &apply_saved), "IAM changed");
}

#[test]
fn a_plan_file_that_is_not_one_is_refused_before_any_iam_call() {
    let c = Case::new();
    for (name, bytes) in [
        ("empty.json", &b""[..]),
        ("binary.json", &b"\xff\xfe\x00garbage"[..]),
        ("other.json", &b"{\"format\": \"something-else\"}"[..]),
    ] {
        let path = c.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let o = c.run_on(
            "reconcile",
            &c.schedule,
            &["--plan", path.to_str().unwrap()],
        );
        c.assert_refused(&o, &path.display().to_string(), &format!("--plan {name}"));
    }
}
