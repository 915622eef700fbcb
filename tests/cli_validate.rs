//! `workshop-keys validate --schedule FILE` on the fixtures in tests/fixtures/schedules:
//! valid files print `ok: N workshops, M users` (singular for one) and exit 0; invalid ones exit 1 and print every
//! problem as `PATH:LINE:COLUMN: error: ...` (PATH as given) followed by its `  hint: ...`.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_workshop-keys");
const DIR: &str = "tests/fixtures/schedules";

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `validate` from the crate root, with no AWS configuration in reach.
fn validate(schedule: &str) -> Outcome {
    let out = Command::new(BIN)
        .args(["validate", "--schedule", schedule])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("run workshop-keys");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn assert_valid(schedule: &str, workshops: usize, users: usize) {
    let out = validate(schedule);
    assert_eq!(
        out.code,
        Some(0),
        "{schedule} should be valid\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        out.stdout.trim_end(),
        format!(
            "ok: {workshops} workshop{}, {users} user{}",
            if workshops == 1 { "" } else { "s" },
            if users == 1 { "" } else { "s" }
        ),
        "stderr: {}",
        out.stderr
    );
}

/// `expected`: the diagnostics without the path, as `LINE:COL: error: message`, each
/// optionally followed by its `  hint: ...` line, in order. The error lines on stderr (and
/// the hint lines among them) must be exactly these, each prefixed with `schedule` as given.
fn assert_invalid_at(schedule: &str, expected: &[&str]) {
    let out = validate(schedule);
    assert_eq!(
        out.code,
        Some(1),
        "{schedule} should be invalid (exit 1)\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let prefix = format!("{schedule}:");
    let got: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(&prefix) || l.starts_with("  hint: "))
        .collect();
    let want: Vec<String> = expected
        .iter()
        .map(|e| {
            if e.starts_with("  hint: ") {
                e.to_string()
            } else {
                format!("{prefix}{e}")
            }
        })
        .collect();
    assert_eq!(got, want, "full stderr:\n{}", out.stderr);
    assert!(
        out.stdout.trim().is_empty(),
        "nothing on stdout for an invalid schedule, got: {}",
        out.stdout
    );
}

fn assert_invalid(name: &str, expected: &[&str]) {
    assert_invalid_at(&fixture(name), expected);
}

// ---- valid schedules ------------------------------------------------------------------------

#[test]
fn the_example_schedule_is_valid() {
    assert_valid("workshops.toml", 4, 2);
}

#[test]
fn valid_minimal() {
    assert_valid(&fixture("valid_minimal.toml"), 1, 1);
}

#[test]
fn valid_no_workshops() {
    // settings.user counts even when no workshop uses it.
    assert_valid(&fixture("valid_no_workshops.toml"), 0, 1);
}

#[test]
fn valid_full() {
    assert_valid(&fixture("valid_full.toml"), 3, 3);
}

#[test]
fn valid_back_to_back() {
    assert_valid(&fixture("valid_back_to_back.toml"), 3, 1);
}

#[test]
fn a_valid_schedule_by_absolute_path() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture("valid_minimal.toml"));
    assert_valid(path.to_str().unwrap(), 1, 1);
}

#[test]
fn regression_rotate_after_that_the_capacity_cannot_honour_is_a_warning() {
    // Issue 15, defect 4: two week-long workshops on one user with rotate_after = "2d" could
    // never rotate (each run said "rotation postponed"). Valid, but validate says so, at each
    // workshop, with what it means; the workshop alone later on is fine.
    let schedule = fixture("valid_rotation_without_a_free_slot.toml");
    let out = validate(&schedule);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout.trim_end(), "ok: 3 workshops, 1 user, 2 warnings");
    let warning = |line: usize, id: &str, other: &str| {
        format!(
            "{schedule}:{line}:1: warning: rotate_after = \"2d\" cannot be honoured for workshop {id}: \
             its key is due for rotation at 2026-12-08T09:00:00Z, but user workshop-bedrock-user then \
             also holds the key of workshop {other} (until 2026-12-13T18:00:00Z), and a rotation needs \
             a third key for rotation_overlap (1h); the key stays active until 2026-12-13T18:00:00Z, \
             7d 9h instead of at most 2d 1h\n  hint: give workshop {id} or {other} a `user = ...` of its \
             own, or accept the longer key life (a warning: the schedule is valid)"
        )
    };
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "{}\n{}",
            warning(9, "week-a", "week-b"),
            warning(14, "week-b", "week-a")
        )
    );
}

// ---- one rule per file ----------------------------------------------------------------------

#[test]
fn syntax_error_is_reported_alone() {
    assert_invalid(
        "syntax_error.toml",
        &[
            "3:8: error: invalid TOML: string values must be quoted, expected literal string",
            "  hint: fix the TOML syntax first; nothing else was checked",
        ],
    );
}

#[test]
fn unknown_keys() {
    assert_invalid(
        "unknown_keys.toml",
        &[
            "2:1: error: unknown key `regoin` in [settings]",
            "  hint: did you mean `region`?",
            "3:1: error: unknown key `start` in [settings]",
            "  hint: `start` belongs in a [[workshop]] table",
            "5:3: error: unknown top-level key `workshops`",
            "  hint: did you mean `workshop`?",
            "10:1: error: unknown key `titel` in [[workshop]]",
            "  hint: did you mean `title`?",
            "13:1: error: unknown key `region` in [[workshop]]",
            "  hint: `region` can only be set in [settings]",
        ],
    );
}

#[test]
fn missing_fields() {
    assert_invalid(
        "missing_fields.toml",
        &[
            "1:1: error: workshop has no id",
            "  hint: add id = \"...\": unique, 1-64 characters of A-Z a-z 0-9 . _ -, used in file names and IAM tags",
            "1:1: error: workshop has no start",
            "  hint: add start = 2026-12-03T09:00:00+01:00",
            "1:1: error: workshop has no end",
            "  hint: add end = 2026-12-03T17:00:00+01:00",
            "4:1: error: workshop \"no-end\" has no end",
            "  hint: add end = 2026-12-03T17:00:00+01:00",
        ],
    );
}

#[test]
fn mistyped_fields() {
    assert_invalid(
        "mistyped_fields.toml",
        &[
            "2:8: error: lead must be a duration string like \"24h\"",
            "  hint: write lead = \"24h\", with quotes and a unit (found an integer)",
            "3:10: error: verify must be true or false",
            "  hint: write verify = true or verify = false, without quotes (found a string)",
            "4:8: error: user must be a string",
            "  hint: write user = \"workshop-bedrock-user\" (found an integer)",
            "8:9: error: start must be a TOML date-time, not a string",
            "  hint: write it without quotes: start = 2026-12-03T09:00:00+01:00",
            "9:7: error: end must be a date-time",
            "  hint: write an unquoted TOML date-time, e.g. end = 2026-12-03T17:00:00+01:00 (found an integer)",
        ],
    );
}

#[test]
fn duplicate_id() {
    assert_invalid(
        "duplicate_id.toml",
        &[
            "7:6: error: duplicate workshop id \"twice\" (first used on line 2)",
            "  hint: workshop ids must be unique; rename one of them",
        ],
    );
}

#[test]
fn bad_id() {
    let hint = "  hint: ids are 1-64 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\"); they are used in file names and IAM tags";
    assert_invalid(
        "bad_id.toml",
        &[
            "2:6: error: invalid workshop id \"../escape\"",
            hint,
            "7:6: error: invalid workshop id \"..\"",
            hint,
        ],
    );
}

#[test]
fn end_before_start() {
    assert_invalid(
        "end_before_start.toml",
        &[
            "4:7: error: workshop \"backwards\" ends (2026-12-03T08:00:00Z) before or when it starts (2026-12-03T16:00:00Z)",
            "  hint: end must be after start",
        ],
    );
}

#[test]
fn bad_duration() {
    let out = validate(&fixture("bad_duration.toml"));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    // humantime's own wording follows the colon; the location and our part are fixed.
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(": error: "))
        .collect();
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert!(lines[0].starts_with(&format!(
        "{DIR}/bad_duration.toml:2:8: error: invalid duration \"a day\" for lead: "
    )));
    assert_eq!(
        lines[1],
        format!("{DIR}/bad_duration.toml:3:8: error: hold cannot be negative (\"-1h\")")
    );
    assert_eq!(
        lines[2],
        format!("{DIR}/bad_duration.toml:9:8: error: lead = \"400d\" is too long: at most 365d")
    );
    assert!(out
        .stderr
        .contains("  hint: write a number and a unit, e.g. \"90m\", \"24h\" or \"2d\""));
}

#[test]
fn long_grace() {
    let hint = "  hint: keys should be revoked within a day of a workshop's end; to allow a longer grace, set allow_long_grace = true in [settings]";
    assert_invalid(
        "long_grace.toml",
        &[
            "2:9: error: grace = \"25h\" is longer than 24h",
            hint,
            "8:9: error: grace = \"2d\" is longer than 24h",
            hint,
        ],
    );
}

#[test]
fn local_time_without_timezone() {
    assert_invalid(
        "local_time_without_timezone.toml",
        &[
            "3:9: error: start = 2026-12-03T09:00:00 has no UTC offset, and settings.timezone is not set",
            "  hint: add an offset (start = 2026-12-03T09:00:00+01:00 or 2026-12-03T09:00:00Z), or set timezone = \"Europe/Berlin\" (an IANA name) in [settings] to read local times there",
        ],
    );
}

#[test]
fn dst_gap_and_overlap() {
    assert_invalid(
        "dst.toml",
        &[
            "6:9: error: start = 2026-03-29T02:30:00 does not exist in Europe/Berlin (the clocks skip it for daylight saving time)",
            "  hint: write the time with an explicit offset, e.g. start = 2026-03-29T03:30:00+02:00",
            "11:9: error: start = 2026-10-25T02:30:00 is ambiguous in Europe/Berlin (it happens twice when the clocks go back)",
            "  hint: write the time with an explicit offset: 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00",
        ],
    );
}

#[test]
fn date_or_time_only() {
    assert_invalid(
        "date_or_time_only.toml",
        &[
            "3:9: error: start = 2026-12-03 is a date without a time of day",
            "  hint: write a date-time with an offset, e.g. start = 2026-12-03T09:00:00+01:00",
            "4:7: error: end = 17:00:00 is a time of day without a date",
            "  hint: write a date-time with an offset, e.g. end = 2026-12-03T17:00:00+01:00",
        ],
    );
}

#[test]
fn bad_timezone() {
    // The local times that needed the zone are not reported a second time.
    assert_invalid(
        "bad_timezone.toml",
        &[
            "2:12: error: unknown time zone \"Europe/Berln\"",
            "  hint: did you mean `Europe/Berlin`?",
        ],
    );
}

#[test]
fn restricted_without_models() {
    assert_invalid(
        "restricted_without_models.toml",
        &[
            "2:10: error: policy = \"restricted\" needs a non-empty models list",
            "  hint: list the model ids or ARNs keys may invoke, e.g. models = [\"anthropic.claude-3-5-haiku-20241022-v1:0\"]",
        ],
    );
}

#[test]
fn unknown_policy() {
    assert_invalid(
        "policy_problems.toml",
        &[
            "2:10: error: unknown policy \"restrcted\"",
            "  hint: did you mean `restricted`?",
        ],
    );
}

/// With the wildcard policy, `models` names the models the workshops use (readiness checks and
/// verification); the policy stays `*` (issue 16).
#[test]
fn models_with_all_models() {
    assert_valid(&fixture("valid_models_with_all_models.toml"), 0, 1);
}

#[test]
fn bad_names() {
    let user_hint = "  hint: IAM user names are 1-64 characters of A-Z a-z 0-9 and + = , . @ _ -";
    assert_invalid(
        "bad_names.toml",
        &[
            "2:8: error: invalid IAM user name \"workshop user\"",
            user_hint,
            "3:8: error: IAM path \"workshop\" must start and end with '/'",
            "  hint: an IAM path starts and ends with '/' and has 1-512 printable ASCII characters without spaces, e.g. \"/workshop/\"",
            "4:10: error: region \"moon-1\" does not look like an AWS region",
            "  hint: write a region name such as \"us-east-1\" or \"eu-central-1\"",
            "10:8: error: invalid IAM user name \"a/b\"",
            user_hint,
        ],
    );
}

#[test]
fn capacity() {
    assert_invalid(
        "capacity.toml",
        &[
            "19:1: error: user workshop-bedrock-user would need 3 keys at once from 2026-12-02T09:00:00Z to 2026-12-03T12:00:00Z (workshops a, b, c); AWS allows two per user",
            "  hint: move one workshop to another `user = ...`, or shorten lead/grace",
        ],
    );
}

#[test]
fn valid_participants() {
    // The pool's users are not counted: which exist depends on who is live.
    assert_valid(&fixture("valid_participants.toml"), 2, 1);
}

#[test]
fn participants_and_pool_problems() {
    assert_invalid(
        "participants_problems.toml",
        &[
            "3:8: error: invalid pool \"this-pool-prefix-is-far-too-long-for-iam-user-names-with-numbers\": its users are named \"this-pool-prefix-is-far-too-long-for-iam-user-names-with-numbers-001\" to \"this-pool-prefix-is-far-too-long-for-iam-user-names-with-numbers-100\", and each must be a valid IAM user name",
            "  hint: IAM user names are 1-64 characters of A-Z a-z 0-9 and + = , . @ _ -; write e.g. pool = \"workshop-participant\"",
            "4:13: error: pool_size = 5000 is out of range: it must be from 1 to 4900",
            "  hint: write pool_size = 100, or another number in that range",
            "8:16: error: participants = 0 is out of range: it must be from 1 to 1000",
            "  hint: write participants = 12, or another number in that range",
            "14:16: error: participants must be a whole number",
            "  hint: write it without quotes: participants = 40 (found a string)",
            "21:1: error: workshop \"own-user\" has both participants and its own user",
            "  hint: participants' keys live on the pool's users (settings.pool); remove `user` or `participants`",
        ],
    );
}

#[test]
fn a_pool_too_small_is_located_at_the_workshop_that_tips_it_over() {
    // afternoon's keys are needed from 2026-12-02T12:00Z (24h lead), while morning's are
    // still held (until 12:00Z on the 3rd + 1h grace + 24h hold).
    assert_invalid(
        "pool_too_small.toml",
        &[
            "17:1: error: the schedule needs 24 participant keys at 2026-12-02T12:00:00Z (workshop \"afternoon\" adds 12); the pool of 10 users holds 20",
            "  hint: raise pool_size, or shorten lead/grace/hold",
        ],
    );
}

// ---- several problems at once ---------------------------------------------------------------

#[test]
fn many_problems_are_all_reported_in_file_order() {
    assert_invalid(
        "many_problems.toml",
        &[
            "3:8: error: lead must be a duration string like \"24h\"",
            "  hint: write lead = \"24h\", with quotes and a unit (found an integer)",
            "4:9: error: grace = \"2d\" is longer than 24h",
            "  hint: keys should be revoked within a day of a workshop's end; to allow a longer grace, set allow_long_grace = true in [settings]",
            "6:1: error: unknown key `polcy` in [settings]",
            "  hint: did you mean `policy`?",
            "14:6: error: duplicate workshop id \"ok-one\" (first used on line 9)",
            "  hint: workshop ids must be unique; rename one of them",
            "15:9: error: start must be a TOML date-time, not a string",
            "  hint: write it without quotes: start = 2026-12-04T09:00:00",
            "19:6: error: invalid workshop id \"bad id!\"",
            "  hint: ids are 1-64 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\"); they are used in file names and IAM tags",
            "21:7: error: workshop ends (2026-12-05T08:00:00Z) before or when it starts (2026-12-05T16:00:00Z)",
            "  hint: end must be after start",
            "22:8: error: invalid duration \"soon\" for lead: expected number at 0",
            "  hint: write a number and a unit, e.g. \"90m\", \"24h\" or \"2d\"",
            "24:1: error: workshop has no id",
            "  hint: add id = \"...\": unique, 1-64 characters of A-Z a-z 0-9 . _ -, used in file names and IAM tags",
            "26:9: error: start = 2026-12-06 is a date without a time of day",
            "  hint: write a date-time with an offset, e.g. start = 2026-12-06T09:00:00+01:00",
        ],
    );
}

// ---- paths as given -------------------------------------------------------------------------

#[test]
fn messages_use_the_path_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken schedule.toml");
    std::fs::write(&file, "[settings]\nlead = 24\n").unwrap();
    let given = file.to_str().unwrap();
    assert_invalid_at(
        given,
        &[
            "2:8: error: lead must be a duration string like \"24h\"",
            "  hint: write lead = \"24h\", with quotes and a unit (found an integer)",
        ],
    );
    // And a relative path with ./ stays as typed.
    assert_invalid_at(
        &format!("./{DIR}/duplicate_id.toml"),
        &[
            "7:6: error: duplicate workshop id \"twice\" (first used on line 2)",
            "  hint: workshop ids must be unique; rename one of them",
        ],
    );
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let out = validate(&fixture("does-not-exist.toml"));
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("cannot read the schedule"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// IAM refuses `PutUserPolicy` past 2,048 non-whitespace characters of inline policy per user;
/// moto accepts it (measured: 3,716 accepted), so the quota is checked by `validate`, on the
/// document the tool would write, deadline statement included.
#[test]
fn a_policy_over_iams_inline_quota_is_refused_at_the_models_line() {
    let file = fixture("policy_too_large.toml");
    let out = validate(&file);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "{file}:4:10: error: the policy BedrockInvokeOnly for these 10 models would be 5751 characters (white space not counted); AWS allows 2048 for all of a user's inline policies together and refuses PutUserPolicy beyond that\n  hint: list fewer models (an inference profile id such as \"us.…\" adds one ARN per region it routes to), or use policy = \"all-models\""
        )
    );
    // Two of the same profiles fit, deadline statement and all.
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.toml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&file)).unwrap();
    let head: Vec<&str> = text.lines().take(6).collect();
    std::fs::write(&small, format!("{}\n]\n", head.join("\n"))).unwrap();
    let out = validate(small.to_str().unwrap());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

// ---- hook programs (issue 15, defect 6) -------------------------------------------------------

/// A schedule in a directory of its own holding `hooks` (TOML lines for [settings]), and an
/// executable `hooks/deliver.sh` and a non-executable `notify.sh` next to it.
fn schedule_with_hooks(hooks: &str) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("hooks")).unwrap();
    let deliver = dir.path().join("hooks/deliver.sh");
    std::fs::write(&deliver, "#!/bin/sh\ncat >/dev/null\n").unwrap();
    std::fs::set_permissions(&deliver, std::fs::Permissions::from_mode(0o755)).unwrap();
    let notify = dir.path().join("notify.sh");
    std::fs::write(&notify, "#!/bin/sh\ncat >/dev/null\n").unwrap();
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o644)).unwrap();
    let schedule = dir.path().join("workshops.toml");
    std::fs::write(
        &schedule,
        format!(
            "[settings]\n{hooks}\n\n[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n"
        ),
    )
    .unwrap();
    let schedule = schedule.to_str().unwrap().to_string();
    (dir, schedule)
}

/// Programs are resolved against the schedule file's directory (validate runs from the crate
/// root here), bare names in PATH; each missing or non-executable one is a located error.
#[test]
fn defect_6_validate_checks_that_hook_programs_exist_and_are_executable() {
    let (_dir, ok) = schedule_with_hooks(
        "deliver = [\"hooks/deliver.sh\", \"--to\", \"vault\"]\nnotify = [\"sh\", \"-c\", \"cat >/dev/null\"]",
    );
    assert_valid(&ok, 1, 1);

    let (dir, bad) = schedule_with_hooks(
        "deliver = [\"hooks/missing.sh\"]\nnotify = [\"./notify.sh\", \"http://127.0.0.1:9/\"]",
    );
    let root = dir.path().display();
    assert_invalid_at(
        &bad,
        &[
            &format!(
                "2:12: error: deliver program \"hooks/missing.sh\" (relative to the schedule file: {root}/hooks/missing.sh) does not exist"
            ),
            "  hint: write the path of an executable file, absolute or relative to the directory of the schedule file",
            &format!(
                "3:11: error: notify program \"./notify.sh\" (relative to the schedule file: {root}/notify.sh) is not executable"
            ),
            &format!("  hint: run `chmod +x {root}/notify.sh`"),
        ],
    );

    let (_dir, unknown) = schedule_with_hooks("deliver = [\"no-such-hand-over-program\"]");
    assert_invalid_at(
        &unknown,
        &[
            "2:12: error: deliver program \"no-such-hand-over-program\" is not found in PATH",
            "  hint: write the program's absolute path (cron and systemd run commands with a short PATH), or a path relative to the schedule file",
        ],
    );
}
