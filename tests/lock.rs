//! One reconcile at a time, with two real processes: the first runs through a proxy that delays
//! every IAM call (tests/common/proxy.rs), so it holds `<schedule>.lock` for seconds.
//!
//! - a second run exits 3 at once, naming the lock file, and makes no network call at all;
//! - with `--lock-timeout 1s` it gives up after about a second, again with exit 3;
//! - with `--lock-timeout 30s` it waits, starts after the first has finished, and finds nothing
//!   left to do (`No changes.`): overlapping cron ticks never both act;
//! - after SIGKILL of the holder, the next run gets the lock at once (the OS released it).

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::proxy::{self, output_within, wait_within, Faults, Proxy};
use workshop_keys::view::render::NO_CHANGES;

const AT: &str = "2026-12-10T12:00:00Z";
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// For runs that must end at once (or after `--lock-timeout 1s`).
const QUICK: Duration = Duration::from_secs(20);

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A listener nobody should call: the endpoint for runs that must stop before any IAM call. (A
/// run that did call would wait for an answer and hit [`QUICK`].)
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Tripwire {
        let l = TcpListener::bind(("127.0.0.1", 0)).expect("bind a tripwire");
        l.set_nonblocking(true).expect("nonblocking");
        Tripwire(l)
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    fn assert_untouched(&self, context: &str) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, from)) => panic!("{context}: a network call was made (from {from})"),
            Err(e) => panic!("{context}: tripwire accept: {e}"),
        }
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    schedule: PathBuf,
    lock: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let path = common::unique_path("lock");
    let user = format!("wk-lock-{}", common::unique_suffix());
    let schedule = dir.join("workshops.toml");
    std::fs::write(
        &schedule,
        format!(
            r#"[settings]
path = "{path}"
user = "{user}"
verify = false

[[workshop]]
id = "locked-in"
start = 2026-12-10T13:00:00Z
end = 2026-12-10T17:00:00Z
"#
        ),
    )
    .expect("write the schedule");
    let lock = dir.join("workshops.toml.lock");
    Setup {
        _tmp: tmp,
        dir,
        schedule,
        lock,
    }
}

fn reconcile(s: &Setup, endpoint: &str, extra: &[&str]) -> Command {
    reconcile_of(&s.schedule, s, endpoint, extra)
}

/// `reconcile` of the schedule named `schedule` (the setup's, or another spelling of it).
fn reconcile_of(schedule: &Path, s: &Setup, endpoint: &str, extra: &[&str]) -> Command {
    let mut cmd = common::shared().command();
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("RUST_LOG", "warn")
        .current_dir(&s.dir)
        .arg("reconcile")
        .arg("--schedule")
        .arg(schedule)
        .args(["--at", AT])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts a reconcile through `proxy` and returns once it has sent its first IAM request: the
/// lock is taken before the first IAM call, so it holds the lock from then on.
fn start_holder(s: &Setup, proxy: &Proxy) -> Child {
    proxy.clear_seen();
    let mut child = reconcile(s, &proxy.endpoint(), &[])
        .spawn()
        .expect("spawn the first reconcile");
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.request_count() == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            let o = wait_within(child, RUN_TIMEOUT);
            panic!(
                "the holder ended before its first IAM call ({status}): {}",
                text(&o)
            );
        }
        assert!(Instant::now() < deadline, "the holder made no IAM call");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the holder ended early"
    );
    child
}

fn assert_locked(o: &Output, lock: &Path, context: &str) {
    assert_eq!(o.status.code(), Some(3), "{context}: {}", text(o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("another reconcile") && stderr.contains(&lock.display().to_string()),
        "{context}: the message should say another reconcile holds {}: {}",
        lock.display(),
        text(o)
    );
    assert!(
        o.stdout.is_empty(),
        "{context}: no plan is printed: {}",
        text(o)
    );
}

#[test]
fn a_second_reconcile_waits_or_exits_3_and_a_killed_holder_frees_the_lock() {
    let started = Instant::now();
    let s = setup();
    let proxy = Proxy::start(common::shared().endpoint());
    // Every IAM call takes 600 ms: the first run holds the lock for seconds.
    proxy.set_faults(Faults::delay(proxy::seed("LOCK_SEED"), 600, 600));
    let holder = start_holder(&s, &proxy);
    assert!(
        s.lock.exists(),
        "{} should exist while held",
        s.lock.display()
    );

    // Default --lock-timeout 0: exit 3 at once, before any IAM call.
    let tripwire = Tripwire::new();
    let t = Instant::now();
    let second = output_within(&mut reconcile(&s, &tripwire.endpoint(), &[]), QUICK);
    let took = t.elapsed();
    assert_locked(&second, &s.lock, "second run, no timeout");
    assert!(
        took < Duration::from_secs(2),
        "exit 3 should be at once, took {took:?}"
    );
    tripwire.assert_untouched("second run, no timeout");

    // --lock-timeout 1s: waits about a second, then exit 3.
    let t = Instant::now();
    let short = output_within(
        &mut reconcile(&s, &tripwire.endpoint(), &["--lock-timeout", "1s"]),
        QUICK,
    );
    let took = t.elapsed();
    assert_locked(&short, &s.lock, "second run, --lock-timeout 1s");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "--lock-timeout 1s took {took:?}"
    );
    tripwire.assert_untouched("second run, --lock-timeout 1s");

    // --lock-timeout 30s: waits for the holder, then finds its work done.
    let mut waiter = reconcile(&s, common::shared().endpoint(), &["--lock-timeout", "30s"])
        .spawn()
        .expect("spawn the waiting reconcile");
    std::thread::sleep(Duration::from_millis(500));
    let mut holder = holder;
    assert!(
        holder.try_wait().unwrap().is_none(),
        "the holder should still hold the lock here (make its calls slower)"
    );
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "the waiter should be waiting for the lock"
    );
    let held_from = Instant::now();
    let first = wait_within(holder, RUN_TIMEOUT);
    let first_done = Instant::now();
    eprintln!(
        "the holder ran {:?} more while the waiter waited",
        first_done - held_from
    );
    assert_eq!(first.status.code(), Some(0), "the holder: {}", text(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("create_key"),
        "the holder should have created the key: {}",
        text(&first)
    );
    let waited = wait_within(waiter, RUN_TIMEOUT);
    let waiter_done = Instant::now();
    assert_eq!(
        waited.status.code(),
        Some(0),
        "the waiter: {}",
        text(&waited)
    );
    assert!(
        String::from_utf8_lossy(&waited.stdout).contains(NO_CHANGES),
        "the waiter must plan after the holder applied, and find nothing to do: {}",
        text(&waited)
    );
    assert!(waiter_done >= first_done);

    // SIGKILL the holder: the OS releases the lock, the next run gets it at once.
    let mut holder = start_holder(&s, &proxy);
    holder.kill().expect("SIGKILL the holder");
    let _ = wait_within(holder, RUN_TIMEOUT);
    proxy.wait_idle(Duration::from_secs(30));
    let t = Instant::now();
    let next = output_within(
        &mut reconcile(&s, common::shared().endpoint(), &[]),
        RUN_TIMEOUT,
    );
    assert_eq!(
        next.status.code(),
        Some(0),
        "the run after the kill should get the lock at once: {}",
        text(&next)
    );
    assert!(
        String::from_utf8_lossy(&next.stdout).contains(NO_CHANGES),
        "{}",
        text(&next)
    );
    eprintln!(
        "run after the kill took {:?}; test {:.1}s",
        t.elapsed(),
        started.elapsed().as_secs_f64()
    );
}

/// Issue 15, defect 15: relative and absolute spellings of the schedule shared one lock, but a
/// run through a symlink to the same file ran beside a holder, so two cron entries could act
/// at once. The lock is keyed on the fully resolved path: the symlink's run exits 3, naming
/// the lock next to the real file, before any IAM call.
#[test]
fn defect_15_a_run_through_a_symlink_to_the_schedule_meets_the_same_lock() {
    let s = setup();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let link = elsewhere.path().join("linked.toml");
    std::os::unix::fs::symlink(&s.schedule, &link).expect("symlink the schedule");
    let proxy = Proxy::start(common::shared().endpoint());
    proxy.set_faults(Faults::delay(proxy::seed("LOCK_SEED"), 600, 600));
    let holder = start_holder(&s, &proxy);

    let tripwire = Tripwire::new();
    let through_link = output_within(
        &mut reconcile_of(&link, &s, &tripwire.endpoint(), &[]),
        QUICK,
    );
    assert_locked(&through_link, &s.lock, "a run through a symlink");
    tripwire.assert_untouched("a run through a symlink");
    assert!(
        !elsewhere.path().join("linked.toml.lock").exists(),
        "no second lock file next to the symlink"
    );

    let first = wait_within(holder, RUN_TIMEOUT);
    assert_eq!(first.status.code(), Some(0), "the holder: {}", text(&first));
}
