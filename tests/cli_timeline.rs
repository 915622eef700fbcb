//! `workshop-keys timeline` through the built binary, on the repository's `workshops.toml`:
//! `timeline [--schedule PATH] [--from DATE] [--days N] [--output text|svg] [FILE]`.
//!
//! The text output is compared with `tests/snapshots/cli_timeline.txt`. The command draws "now"
//! from the clock, so the now marker is normalised away before comparing: the marker line (the
//! second) becomes `<now>` and the now line `│` through empty cells becomes blank. The rest of
//! the picture does not depend on the clock. `UPDATE_SNAPSHOTS=1` rewrites the snapshot.

use std::path::Path;
use std::process::Command;

use workshop_keys::timeline::{self, TimelineOptions};

const BIN: &str = env!("CARGO_BIN_EXE_workshop-keys");
const SNAPSHOT: &str = "tests/snapshots/cli_timeline.txt";

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `timeline ARGS` from the crate root with `COLUMNS=columns`, no AWS configuration in
/// reach, and `NO_COLOR` set or not.
fn run(args: &[&str], columns: &str, no_color: bool) -> Outcome {
    let mut cmd = Command::new(BIN);
    cmd.arg("timeline")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", columns)
        .env("RUST_LOG", "warn")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().expect("run workshop-keys");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(args: &[&str], columns: &str, no_color: bool) -> String {
    let out = run(args, columns, no_color);
    assert_eq!(
        out.code,
        Some(0),
        "timeline {args:?} failed\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// The picture without the clock: the marker line becomes `<now>`, the now line is removed.
fn without_now(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 1 {
            out.push_str("<now>");
        } else {
            out.push_str(line.replace('│', " ").trim_end());
        }
        out.push('\n');
    }
    out
}

fn snapshot_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT)
}

fn expected_snapshot() -> String {
    std::fs::read_to_string(snapshot_path())
        .unwrap_or_else(|e| panic!("{SNAPSHOT}: {e} (UPDATE_SNAPSHOTS=1 writes it)"))
}

const WEEK: [&str; 6] = [
    "--schedule",
    "workshops.toml",
    "--from",
    "2026-12-01",
    "--days",
    "7",
];

#[test]
fn text_matches_the_snapshot() {
    let stdout = ok(&WEEK, "100", true);
    assert!(
        !stdout.contains('\x1b'),
        "NO_COLOR=1 but escape codes:\n{stdout}"
    );
    let actual = without_now(&stdout);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path(), &actual).unwrap();
    }
    assert!(
        actual == expected_snapshot(),
        "{SNAPSHOT} differs (UPDATE_SNAPSHOTS=1 rewrites it); got:\n{actual}"
    );
    for line in stdout.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than COLUMNS=100: {line:?}"
        );
    }
}

/// The snapshot is what the library draws for the same schedule, range and width (so the
/// command adds nothing of its own, and the snapshot can be checked without the binary).
#[test]
fn the_snapshot_is_the_library_rendering() {
    let schedule = workshop_keys::schedule::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/workshops.toml"
    )))
    .expect("workshops.toml is valid");
    let opts = TimelineOptions {
        from: timeline::parse_from("2026-12-01").unwrap(),
        days: 7,
        now: timeline::parse_from("2026-12-03T12:00:00Z").unwrap(),
        width: 100,
        color: false,
    };
    let text = without_now(&timeline::render_text(
        &timeline::model(&schedule, &opts),
        &opts,
    ));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path(), &text).unwrap();
    }
    assert_eq!(text, expected_snapshot());
}

#[test]
fn colour_only_on_a_terminal() {
    // stdout is a pipe here: no colour even without NO_COLOR.
    let stdout = ok(&WEEK, "100", false);
    assert!(
        !stdout.contains('\x1b'),
        "escape codes on a pipe:\n{stdout}"
    );
}

#[test]
fn narrow_terminals_fit_and_keep_every_row() {
    let wide = ok(&WEEK, "100", true);
    for columns in ["20", "40"] {
        let stdout = ok(&WEEK, columns, true);
        let width: usize = columns.parse().unwrap();
        for line in stdout.lines() {
            assert!(
                line.chars().count() <= width,
                "wider than {width}: {line:?}\n{stdout}"
            );
        }
        for id in ["A rag", "B con", "C con", "D age"] {
            assert!(
                stdout.lines().any(|l| l.starts_with(id)),
                "no row {id} at {width}:\n{stdout}"
            );
        }
        // The slot rows: their labels start with the user name.
        let rows = |s: &str| s.lines().filter(|l| l.starts_with("wo")).count();
        assert_eq!(
            rows(&stdout),
            rows(&wide),
            "slot rows at {width}:\n{stdout}"
        );
    }
}

#[test]
fn days_default_to_fourteen_and_from_takes_rfc3339() {
    let stdout = ok(
        &["--schedule", "workshops.toml", "--from", "2026-12-01"],
        "100",
        true,
    );
    assert!(
        stdout.starts_with("Timeline 2026-12-01 – 2026-12-14 UTC (14 days)"),
        "{stdout}"
    );
    let stdout = ok(
        &[
            "--schedule",
            "workshops.toml",
            "--from",
            "2026-12-01T06:30:00+01:00",
            "--days",
            "3",
        ],
        "100",
        true,
    );
    assert!(
        stdout.starts_with("Timeline 2026-12-01 05:30 – 2026-12-04 05:30 UTC (3 days)"),
        "{stdout}"
    );
}

#[test]
fn svg_output_is_written_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("week.svg");
    let mut args = WEEK.to_vec();
    let file_arg = file.to_str().unwrap();
    args.extend(["--output", "svg", file_arg]);
    let out = run(&args, "100", true);
    assert_eq!(
        out.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let svg = std::fs::read_to_string(&file).expect("the svg file is written");
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    for id in [
        "rag-basics-london",
        "context-engine-berlin",
        "context-engine-berlin-2",
        "agents-lab-paris",
    ] {
        assert!(svg.contains(&format!("{id} live ")), "{id} missing");
    }
    assert!(
        !out.stdout.contains("<svg"),
        "the picture goes to the file, not stdout"
    );
}

#[test]
fn svg_needs_a_file() {
    let mut args = WEEK.to_vec();
    args.extend(["--output", "svg"]);
    let out = run(&args, "100", true);
    assert_ne!(out.code, Some(0), "stdout: {}", out.stdout);
    assert!(!out.stderr.is_empty());
    assert!(!out.stdout.contains("<svg"));
}

#[test]
fn a_bad_from_is_refused() {
    let out = run(
        &["--schedule", "workshops.toml", "--from", "next tuesday"],
        "100",
        true,
    );
    assert_ne!(out.code, Some(0), "stdout: {}", out.stdout);
    assert!(
        out.stderr.contains("next tuesday"),
        "stderr: {}",
        out.stderr
    );
}
