//! What an operator reads, through the built binary: logs redirected to a file carry no colour
//! codes, and hints meant to be pasted into a shell work when pasted (issue 15, defects 11, 12).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

/// A schedule with one workshop whose key is due at `AT`, on a path and user of its own, with
/// `settings` added to [settings].
fn schedule(dir: &std::path::Path, label: &str, settings: &str) -> std::path::PathBuf {
    let path = dir.join("workshops.toml");
    std::fs::write(
        &path,
        format!(
            "[settings]\npath = \"{}\"\nuser = \"{label}-{}\"\nverify = false\n{settings}\n\n[[workshop]]\nid = \"due\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n",
            common::unique_path(label),
            common::unique_suffix()
        ),
    )
    .unwrap();
    path
}

const AT: &str = "2026-12-02T12:00:00Z";

/// Issue 15, defect 11: text-format WARN and ERROR lines kept their colour codes when stderr
/// was a file. Colour is only for a terminal: a log file gets plain text.
#[test]
fn defect_11_logs_redirected_to_a_file_have_no_colour_escapes() {
    let dir = tempfile::tempdir().unwrap();
    // A failing notification is logged as a WARN line.
    let path = schedule(dir.path(), "logs", "notify = [\"/bin/false\"]");
    let log = dir.path().join("reconcile.log");
    let mut cmd = common::shared().command();
    cmd.args(["reconcile", "--at", AT, "--schedule"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let status = cmd.status().expect("run workshop-keys");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains(" WARN ") && l.contains("notify failed")),
        "a WARN line is logged: {text}"
    );
    assert!(
        text.lines().any(|l| l.contains(" INFO ")),
        "INFO lines too: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a redirected log: {text:?}"
    );
}

/// Issue 15, defect 12: the `chmod` hint for a credentials folder others can read printed a
/// path with spaces unquoted (`run chmod 700 sub dir/../creds here`). It is quoted, and the
/// hint, pasted into a shell, fixes the folder.
#[test]
fn defect_12_the_chmod_hint_is_shell_quoted_for_a_path_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub dir")).unwrap();
    let creds = dir.path().join("creds here");
    std::fs::create_dir(&creds).unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = schedule(
        dir.path(),
        "chmod",
        "credentials_dir = \"sub dir/../creds here\"",
    );
    let mut cmd = common::shared().command();
    cmd.args(["reconcile", "--at", AT, "--schedule"]).arg(&path);
    let out = cmd.output().expect("run workshop-keys");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    let quoted = format!("'{}/sub dir/../creds here'", dir.path().display());
    let hint = format!("run `chmod 700 {quoted}`");
    assert!(text.contains(&hint), "wanted {hint:?} in:\n{text}");

    let command = hint
        .strip_prefix("run `")
        .and_then(|h| h.strip_suffix('`'))
        .unwrap();
    let pasted = std::process::Command::new("sh")
        .args(["-c", command])
        .status()
        .unwrap();
    assert!(pasted.success(), "the hint fails in a shell: {command}");
    let mode = std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the pasted hint fixed the folder");
}
