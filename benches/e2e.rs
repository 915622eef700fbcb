//! End-to-end speed of the release binary against moto through a loopback proxy that adds a
//! fixed 50 ms round trip to every IAM call (run: `cargo bench --bench e2e`). For each run it
//! prints the IAM calls (counted at the proxy), the calls per user or action, the wall time,
//! the floor (calls x RTT / concurrency) and the ratio of the two; a no-op plan's figures are
//! the median of three runs. Figures, not a timed test. Last, a 40-participant workshop's whole
//! life (create, revoke one, reissue, revoke all, delete), step by step.
//!
//! Bedrock (model readiness, verification) goes to the local stand-in, never through the proxy
//! and never to AWS.

#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bedrock::{Bedrock, Model};
use common::proxy::{Faults, Proxy};
use common::MotoServer;

const RTT: Duration = Duration::from_millis(50);
const CONCURRENCY: usize = 8;
const AT: &str = "2030-01-01T10:00:00Z";
const VERIFY_MODEL: &str = "amazon.titan-embed-text-v1";

/// A moto server, the Bedrock stand-in, a delaying proxy and a schedule of `users` workshops
/// (one user each) in a directory of its own.
struct Bench {
    moto: MotoServer,
    bedrock: Bedrock,
    proxy: Proxy,
    dir: tempfile::TempDir,
}

impl Bench {
    fn new(users: usize, verify: bool) -> Bench {
        let mut text = settings(verify);
        for i in 0..users {
            text.push_str(&format!(
                "\n[[workshop]]\nid = \"w{i:04}\"\nuser = \"bench-user-{i:04}\"\n\
                 start = 2030-01-01T09:00:00Z\nend = 2030-01-01T17:00:00Z\n"
            ));
        }
        Bench::with_schedule(&text)
    }

    fn with_schedule(text: &str) -> Bench {
        let moto = MotoServer::start();
        let bedrock = Bedrock::start();
        bedrock.set(VERIFY_MODEL, Model::available());
        let proxy = Proxy::start(moto.endpoint());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("workshops.toml"), text).unwrap();
        Bench {
            moto,
            bedrock,
            proxy,
            dir,
        }
    }

    /// The release binary in the bench's directory; IAM at `endpoint`, Bedrock at the stand-in.
    fn command(&self, endpoint: &str, args: &[&str]) -> Command {
        let mut cmd = self.moto.command();
        self.bedrock.apply_env(&mut cmd);
        cmd.current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", endpoint)
            .env_remove("RUST_LOG")
            .args(args);
        cmd
    }

    /// Straight to moto, for setup.
    fn direct(&self, args: &[&str]) {
        let out = self
            .command(self.moto.endpoint(), args)
            .output()
            .expect("run workshop-keys");
        assert!(
            out.status.success(),
            "setup `{}` failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Through the proxy: (wall time, IAM calls, stdout).
    fn timed(&self, args: &[&str]) -> (Duration, usize, String) {
        self.proxy.set_faults(Faults::delay(
            1,
            RTT.as_millis() as u64,
            RTT.as_millis() as u64,
        ));
        self.proxy.clear_seen();
        let started = Instant::now();
        let out = self
            .command(&self.proxy.endpoint(), args)
            .output()
            .expect("run workshop-keys");
        let wall = started.elapsed();
        assert!(
            out.status.success(),
            "`{}` failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            wall,
            self.proxy.request_count(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// The bench's `[settings]`: keys from 1 h before the start until 1 h after the end, held 1 h.
fn settings(verify: bool) -> String {
    format!(
        "[settings]\npath = \"/bench/\"\nlead = \"1h\"\ngrace = \"1h\"\nhold = \"1h\"\n\
         verify = {verify}\nverify_model = \"{VERIFY_MODEL}\"\nverify_timeout = \"10s\"\n"
    )
}

fn report(name: &str, wall: Duration, calls: usize, per: (usize, &str), target: &str) {
    let floor = calls as f64 * RTT.as_secs_f64() / CONCURRENCY as f64;
    println!(
        "{name}: {calls} IAM calls ({:.2} per {}), {:.2} s, floor {:.2} s, ratio {:.2} (target {target})",
        calls as f64 / per.0.max(1) as f64,
        per.1,
        wall.as_secs_f64(),
        floor,
        wall.as_secs_f64() / floor
    );
}

/// A no-op `plan` over `users` settled users, reading in `mode`.
fn noop_plan(users: usize, mode: &str, target: &str) -> Bench {
    let b = Bench::new(users, false);
    b.direct(&["reconcile", "--at", AT, "--concurrency", "32"]);
    // The median of three runs: one run on a shared machine can catch another's busy second.
    let mut runs: Vec<(Duration, usize, String)> = (0..3)
        .map(|_| b.timed(&["plan", "--at", AT, "--observe", mode]))
        .collect();
    runs.sort_by_key(|r| r.0);
    let (wall, calls, out) = runs.swap_remove(1);
    assert!(out.contains("No changes."), "not a no-op plan:\n{out}");
    report(
        &format!("no-op plan, {users} users, {mode}"),
        wall,
        calls,
        (users, "user"),
        target,
    );
    // What moto alone takes for the same calls (no proxy, no added RTT): it answers one request
    // at a time, so this is its own share of the time above the floor.
    let started = Instant::now();
    b.direct(&["plan", "--at", AT, "--observe", mode]);
    println!(
        "  the same plan straight to moto: {:.2} s ({:.1} ms of moto per call)",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() * 1e3 / calls as f64
    );
    b
}

/// Peak resident memory of a `plan` (straight to moto), from the child's own rusage.
// Reaped by wait4 below, which also gives its rusage; std never waits for it.
#[allow(clippy::zombie_processes)]
fn peak_rss_kib(b: &Bench) -> i64 {
    let child = b
        .command(b.moto.endpoint(), &["plan", "--at", AT])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run workshop-keys");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, once; std's handle is never waited afterwards.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    usage.ru_maxrss
}

/// A 40-participant workshop's whole life, every step through the proxy: the keys made and
/// verified, one revoked and reissued, all revoked, then deleted with their pool users.
fn participants_life() {
    let mut text = settings(true);
    text.push_str(
        "\n[[workshop]]\nid = \"room\"\nparticipants = 40\n\
         start = 2030-01-01T09:00:00Z\nend = 2030-01-01T17:00:00Z\n",
    );
    let b = Bench::with_schedule(&text);
    let steps: [(&str, &[&str], &str); 5] = [
        (
            "create and verify 40 keys",
            &["reconcile", "--at", AT],
            "create_key",
        ),
        (
            "revoke p07",
            &["revoke", "room", "--participant", "p07", "--at", AT],
            "deactivated",
        ),
        ("reissue p07", &["reconcile", "--at", AT], "create_key"),
        ("revoke all", &["revoke", "room", "--at", AT], "deactivated"),
        (
            "delete keys and pool users",
            &["reconcile", "--at", "2030-01-01T19:30:00Z"],
            "delete_user",
        ),
    ];
    let (mut total, mut calls) = (Duration::ZERO, 0);
    for (name, args, expect) in steps {
        let (wall, n, out) = b.timed(args);
        assert!(out.contains(expect), "{name}: no {expect:?} in\n{out}");
        println!("  {name}: {n} IAM calls, {:.2} s", wall.as_secs_f64());
        total += wall;
        calls += n;
    }
    let (_, _, out) = b.timed(&["plan", "--at", "2030-01-01T19:35:00Z"]);
    assert!(out.contains("No changes."), "not settled:\n{out}");
    report(
        "a 40-participant workshop's whole life (5 commands)",
        total,
        calls,
        (40, "participant"),
        "< 10 s",
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing: nothing to list.
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_workshop-keys")).is_file());
    println!(
        "RTT {} ms per IAM call, --concurrency {CONCURRENCY}",
        RTT.as_millis()
    );
    noop_plan(200, "bulk", "<= 1.2 x (201 x RTT / 8) + 0.3 s = 1.81 s");
    noop_plan(200, "per-user", "<= 1.1 x its floor");
    let big = noop_plan(2_000, "bulk", "<= 1.2 x floor");
    println!(
        "peak RSS, plan over 2,000 users: {:.1} MB (target < 40 MB)",
        peak_rss_kib(&big) as f64 / 1024.0
    );
    drop(big);

    let b = Bench::new(40, true);
    let (wall, calls, out) = b.timed(&["reconcile", "--at", AT]);
    let created = out
        .lines()
        .filter(|l| l.trim_start().starts_with("ok") && l.contains("create_key"))
        .count();
    let verified = b
        .bedrock
        .calls()
        .iter()
        .filter(|c| c.contains("invoke"))
        .count();
    report(
        &format!("create and verify 40 keys on 40 users ({created} keys created, {verified} Bedrock invocations)"),
        wall,
        calls,
        (40, "key"),
        "<= 1.5 x floor + 0.5 s",
    );
    drop(b);
    participants_life();
}
