//! `scripts/demo` as a newcomer runs it: it finds the binary where cargo puts it (here a
//! `CARGO_TARGET_DIR` elsewhere), checks every step's exit status, and stops with a message at
//! the first step that fails.
//!
//! The demo runs `cargo build` itself. A build in the test's own target directory would wait for
//! the lock `cargo test` holds, and a build into an empty one would compile the whole dependency
//! tree again; so both tests share a target directory of hard links to the artifacts this test
//! run was built with (cargo finds them fresh), with this crate's own files copied so that a
//! rebuild could never write through a link into the original.

mod common;

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use common::run::Run;
use tempfile::TempDir;

/// Generous: should the demo's `cargo build` find something stale after all, it recompiles.
const DEMO_TIMEOUT: Duration = Duration::from_secs(600);

/// The profile directory the tests were built into, e.g. `target/debug`.
fn built_profile_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_workshop-keys"))
        .parent()
        .expect("the binary lies in a profile directory")
        .to_path_buf()
}

/// Whether a file or directory in the profile directory belongs to this crate (as opposed to a
/// dependency): these are copied, everything else is linked.
fn ours(name: &str) -> bool {
    name.contains("workshop_keys") || name.contains("workshop-keys")
}

/// Mirror `from` into `to`: hard links for dependencies' artifacts, copies for this crate's.
fn mirror(from: &Path, to: &Path, copy: bool) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("list {}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let name = entry.file_name();
        let copy = copy || ours(&name.to_string_lossy());
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            mirror(&src, &dst, copy);
        } else if kind.is_symlink() {
            let target = fs::read_link(&src).expect("read link");
            std::os::unix::fs::symlink(target, &dst).expect("symlink");
        } else if copy {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
            // Cargo compares modification times: a copy must look as old as its original.
            let modified = entry.metadata().and_then(|m| m.modified()).expect("mtime");
            fs::File::options()
                .write(true)
                .open(&dst)
                .and_then(|f| f.set_modified(modified))
                .unwrap_or_else(|e| panic!("set the mtime of {}: {e}", dst.display()));
        } else {
            fs::hard_link(&src, &dst).unwrap_or_else(|e| panic!("link {}: {e}", src.display()));
        }
    }
}

/// A `CARGO_TARGET_DIR` away from the default one, holding what `cargo build` needs to find the
/// binary fresh. Shared by the tests running at the same time; removed when the last one ends.
fn other_target_dir() -> Arc<TempDir> {
    static SHARED: Mutex<Weak<TempDir>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(dir) = shared.upgrade() {
        return dir;
    }
    // Hard links need the same file system: next to the test's own target directory.
    let dir = tempfile::Builder::new()
        .prefix("demo-target-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary target directory");
    let profile = built_profile_dir();
    let profile_name = profile.file_name().expect("profile directory name");
    // Fingerprints and build script outputs are small and rewritten in place when cargo
    // re-checks them: copied. Compiled crates are large and only ever replaced: linked.
    for (part, copy) in [(".fingerprint", true), ("build", true), ("deps", false)] {
        mirror(
            &profile.join(part),
            &dir.path().join(profile_name).join(part),
            copy,
        );
    }
    let dir = Arc::new(dir);
    *shared = Arc::downgrade(&dir);
    dir
}

/// Runs `scripts/demo` with `CARGO_TARGET_DIR=target_dir` and `extra` environment.
fn run_demo(target_dir: &Path, extra: &[(&str, &Path)]) -> Run {
    let tmp = TempDir::new().expect("temporary directory for the demo's files");
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo"));
    for name in common::AWS_ENV_TO_CLEAR {
        cmd.env_remove(name);
    }
    // What `cargo test` adds to a test's environment: build scripts (ring's among them) ask to
    // be re-run when such variables change, which would rebuild half the dependency tree.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
                "LD_LIBRARY_PATH",
                "RUST_RECURSION_COUNT",
            ]
            .contains(&name.as_ref())
        {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd.env_remove("RUST_LOG")
        .env_remove("WORKSHOP_KEYS_DEMO_SCHEDULE")
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", target_dir)
        // The demo leaves its directory for the reader to look at: here, in ours.
        .env("TMPDIR", tmp.path());
    for (name, value) in extra {
        cmd.env(name, value);
    }
    let out = common::proxy::output_within(&mut cmd, DEMO_TIMEOUT);
    Run {
        what: format!(
            "CARGO_TARGET_DIR={} scripts/demo {extra:?}",
            target_dir.display()
        ),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The port from "Demo directory: ... (the emulator listens on 127.0.0.1:PORT)".
fn emulator_port(run: &Run) -> u16 {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Demo directory: "))
        .unwrap_or_else(|| panic!("no demo directory line:\n{run}"));
    let port = line
        .rsplit_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no emulator port in {line:?}"));
    port.parse().expect("a port number")
}

fn assert_emulator_stopped(run: &Run) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, emulator_port(run)));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "the demo's emulator still listens on {addr} after the demo ended:\n{run}"
    );
}

#[test]
fn demo_succeeds_with_another_cargo_target_dir() {
    let target = other_target_dir();
    let run = run_demo(target.path(), &[]);
    run.code(0);
    assert!(
        run.stdout.contains("Demo finished: all ")
            && run.stdout.contains(" steps exited as expected."),
        "no closing line:\n{run}"
    );
    // It ran the binary cargo built into CARGO_TARGET_DIR (and says so in its closing advice).
    let profile = built_profile_dir();
    let bin = target
        .path()
        .join(profile.file_name().unwrap())
        .join("workshop-keys");
    assert!(bin.is_file(), "no binary at {}:\n{run}", bin.display());
    run.stdout_line_with(&[&format!("{} timeline --schedule ", bin.display())]);
    // The week happened: a key file appeared, and at the end nothing is left to do.
    run.stdout_line_with(&["credentials/: rag-basics-london.env"]);
    run.stdout_line_with(&["No changes. IAM matches the schedule."]);
    // Every README section the demo points to exists.
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let advice = &run.stdout[run.stdout.find("What to look at next:").unwrap()..];
    let sections: Vec<&str> = advice.split('"').skip(1).step_by(2).collect();
    assert!(sections.len() >= 5, "too few README sections named:\n{run}");
    for section in sections {
        if section == "credentials/:" {
            continue;
        }
        assert!(
            readme
                .lines()
                .any(|l| l.trim_start_matches('#').trim() == section),
            "the demo names README section {section:?}, which README.md lacks"
        );
    }
    assert_emulator_stopped(&run);
}

#[test]
fn demo_stops_at_the_first_step_that_fails() {
    let target = other_target_dir();
    // The demo's schedule with a deliver hook that fails: the first reconcile that creates a
    // key (at 2026-12-01T10:00:00Z) exits 1.
    let inputs = TempDir::new().expect("temporary directory");
    let original = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("workshops.toml"))
        .expect("workshops.toml");
    let failing: String = original
        .lines()
        .map(|l| {
            if l.starts_with("# deliver = ") {
                r#"deliver = ["sh", "-c", "cat >/dev/null; exit 3"]"#.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(failing, original.trim_end(), "no deliver line to replace");
    let schedule = inputs.path().join("workshops.toml");
    fs::write(&schedule, failing).expect("write the schedule");

    let run = run_demo(
        target.path(),
        &[("WORKSHOP_KEYS_DEMO_SCHEDULE", schedule.as_path())],
    );
    run.code(1).stderr_has(
        "demo: step 6, `workshop-keys reconcile --at 2026-12-01T10:00:00Z`, exited 1 where 0 \
         was expected; stopping here.",
    );
    // The steps before it ran, none after it.
    run.stdout_line_with(&["Reconcile: 4 ok, 0 failed, 0 skipped."]);
    assert!(
        !run.stdout.contains("2026-12-02T10:00:00Z") && !run.stdout.contains("Demo finished"),
        "the demo went on after the failed step:\n{run}"
    );
    assert_emulator_stopped(&run);
}
