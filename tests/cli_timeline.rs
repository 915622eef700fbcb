//! `workshop-keys timeline` through the built binary, on the repository's `workshops.toml`:
//! `timeline [--schedule PATH] [--from DATE] [--days N] [--output text|svg] [FILE]`.
//!
//! The text output is compared with `tests/snapshots/cli_timeline.txt`. The command draws "now"
//! from the clock, so the now marker is normalised away before comparing: the marker line (the
//! second) becomes `<now>` and the now line `│` through empty cells becomes blank. The rest of
//! the picture does not depend on the clock. `UPDATE_SNAPSHOTS=1` rewrites the snapshot.

use std::path::Path;
use std::process::Command;

use workshop_keys::view::timeline::{self, TimelineOptions};

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

/// Run `timeline ARGS` in `dir` with `COLUMNS=columns` and `NO_COLOR=1`.
fn run_in(dir: &Path, args: &[&str], columns: &str) -> Outcome {
    let out = Command::new(BIN)
        .arg("timeline")
        .args(args)
        .current_dir(dir)
        .env("COLUMNS", columns)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run workshop-keys");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Issue 15, defect 8: at COLUMNS=60 the two users' slot rows read alike
/// (`workshop-bedro… / slot 1`) and agents-lab-paris (lead 3h, live 3.5h, grace 30m) lost its
/// live cell. Names are now shortened in the middle, apart from each other, and every phase
/// keeps a cell.
#[test]
fn defect_8_a_narrow_timeline_keeps_names_apart_and_every_phase() {
    let mut args = WEEK.to_vec();
    args.extend(["--at", "2026-12-03T12:00:00Z"]);
    for columns in ["60", "50"] {
        let stdout = ok(&args, columns, true);
        let width: usize = columns.parse().unwrap();
        assert!(
            stdout.lines().all(|l| l.chars().count() <= width),
            "{stdout}"
        );
        let slot_labels: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("wo"))
            .map(|l| l.split("  ").next().unwrap().trim_end())
            .collect();
        assert_eq!(slot_labels.len(), 4, "{stdout}");
        let distinct: std::collections::BTreeSet<&str> = slot_labels.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            4,
            "slot labels read alike: {slot_labels:?}\n{stdout}"
        );
        // The row of the short workshop shows lead, live, grace and hold.
        let paris = stdout
            .lines()
            .find(|l| l.starts_with("D "))
            .unwrap_or_else(|| panic!("no row D:\n{stdout}"));
        for glyph in ['░', '█', '▒', '·'] {
            assert!(
                paris.contains(glyph),
                "{glyph} missing in {paris:?}\n{stdout}"
            );
        }
        // In its user's slot, the tag D and then its live cell.
        let slot = stdout
            .lines()
            .find(|l| l.starts_with("wo") && l.contains('D'))
            .unwrap_or_else(|| panic!("no slot row with D:\n{stdout}"));
        let after_d = &slot[slot.rfind('D').unwrap()..];
        assert!(
            after_d.contains('█'),
            "live cell missing after D in {slot:?}\n{stdout}"
        );
    }
}

/// The README's timeline block: its `$ ...` command line and the output shown under it.
fn readme_timeline_block() -> (Vec<(String, String)>, Vec<String>, String) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let mut lines = readme.lines();
    let command = lines
        .by_ref()
        .find(|l| l.starts_with("$ ") && l.contains("workshop-keys timeline"))
        .expect("README shows a `$ ... workshop-keys timeline` example");
    let shown: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    let mut env = Vec::new();
    let mut words = command[2..].split_whitespace();
    for word in words.by_ref() {
        match word.split_once('=') {
            Some((k, v)) if word != "workshop-keys" => env.push((k.to_string(), v.to_string())),
            _ => {
                assert_eq!(word, "workshop-keys", "unexpected word in {command:?}");
                break;
            }
        }
    }
    let args: Vec<String> = words.map(String::from).collect();
    (env, args, shown.join("\n") + "\n")
}

/// Issue 15, defect 9: README drew agents-lab-paris a day late. Its timeline example is now
/// the output of the command it shows, run on the repository's workshops.toml (fixed `--at`
/// and COLUMNS), and this test keeps it so.
#[test]
fn defect_9_the_readme_timeline_is_a_real_run() {
    let (env, args, shown) = readme_timeline_block();
    assert!(
        args.iter().any(|a| a == "--at"),
        "the README example needs a fixed --at: {args:?}"
    );
    let mut cmd = Command::new(BIN);
    cmd.args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR");
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run workshop-keys");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let actual = String::from_utf8_lossy(&out.stdout);
    assert!(
        actual == shown,
        "README's timeline example differs from a real run of `{}`; replace it with:\n{actual}",
        args.join(" ")
    );
    // What the defect was about: Paris's key starts on Sat 05 06:00Z, so under Sat's column.
    let days = shown.lines().find(|l| l.contains("Sat 05")).unwrap();
    let paris = shown
        .lines()
        .find(|l| l.contains("agents-lab-paris"))
        .unwrap();
    let sat = days.chars().take_while(|&c| c != 'S').count();
    let first = paris.chars().position(|c| "░█▒·".contains(c)).unwrap();
    assert!((sat..sat + 9).contains(&first), "{shown}");
}

/// Issue 15, defect 10: `timeline out.svg` printed text and wrote nothing; `--output svg -`
/// wrote a file named `-`. Now the `.svg` name picks SVG, `-` is standard output, and a FILE
/// that would not be written is refused.
#[test]
fn defect_10_svg_from_the_file_name_and_dash_for_stdout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/workshops.toml"),
        dir.path().join("workshops.toml"),
    )
    .unwrap();
    let week = ["--from", "2026-12-01", "--days", "7"];

    let mut args = week.to_vec();
    args.push("out.svg");
    let out = run_in(dir.path(), &args, "100");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let svg = std::fs::read_to_string(dir.path().join("out.svg")).expect("out.svg written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(out.stdout.trim_end(), "Wrote out.svg.");

    let mut args = week.to_vec();
    args.extend(["--output", "svg", "-"]);
    let out = run_in(dir.path(), &args, "100");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("<svg"), "{}", out.stdout);
    assert!(out.stdout.trim_end().ends_with("</svg>"));
    assert!(!dir.path().join("-").exists(), "a file named - was written");

    for args in [vec!["out.txt"], vec!["--output", "text", "out.svg"]] {
        let out = run_in(dir.path(), &args, "100");
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.stdout);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.contains("writes only SVG to a file") && out.stderr.contains("--output svg"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(!dir.path().join("out.txt").exists());
}

/// Issue 15, defect 14: the legend's `!` could never show, since a schedule needing a third
/// key was refused. It is drawn now, `!` where the clash is, with validate's message as a
/// warning on stderr.
#[test]
fn defect_14_a_third_key_is_drawn_with_bang_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("workshops.toml"),
        "[settings]\nuser = \"trainer\"\n\n\
         [[workshop]]\nid = \"one\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n\n\
         [[workshop]]\nid = \"two\"\nstart = 2026-12-03T10:00:00Z\nend = 2026-12-03T12:00:00Z\n\n\
         [[workshop]]\nid = \"three\"\nstart = 2026-12-03T13:00:00Z\nend = 2026-12-03T15:00:00Z\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "--from",
            "2026-12-01",
            "--days",
            "5",
            "--at",
            "2026-12-01T00:00:00Z",
        ],
        "100",
    );
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let bang = out
        .stdout
        .lines()
        .find(|l| l.starts_with("trainer / !"))
        .unwrap_or_else(|| panic!("no ! row:\n{}", out.stdout));
    assert!(bang["trainer / !".len()..].contains('!'), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("! trainer needs 3 keys at once 2026-12-02 13:00 – 2026-12-03 13:00 UTC"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "workshops.toml:14:1: warning: user trainer would need 3 keys at once from 2026-12-02T13:00:00Z to 2026-12-03T13:00:00Z (workshops one, two, three); AWS allows two per user"
        ),
        "stderr: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: move one workshop"),
        "{}",
        out.stderr
    );
    // validate still refuses it.
    let v = Command::new(BIN)
        .args(["validate"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
}
