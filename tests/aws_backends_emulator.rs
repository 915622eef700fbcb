//! `settings.store = "secretsmanager"` and `settings.state = "s3://..."` against moto, which
//! serves Secrets Manager and S3 on the same port as IAM. The tests create the bucket
//! themselves: the tool never creates or deletes buckets.
//!
//! - two hosts (two folders holding only the same schedule) take turns over a week replayed
//!   with `--at`: every live workshop's secret names its active key, deleted keys take their
//!   secrets with them, and neither folder ends with any file but the schedule;
//! - the lock: a run held (calls slowed by the fault-injecting proxy) makes a second run exit 3;
//!   after SIGKILL of the holder its lease stays until `lock_lease` lapses, then the next run
//!   proceeds;
//! - a race: two runs started together, exactly one does the work, the other exits 3;
//! - crashes: SIGKILL at random moments, and the runs after converge with every live key's
//!   secret in Secrets Manager.
//!
//! moto 5.2.5 enforces `If-None-Match: *` and `If-Match` on PutObject and `If-Match` on
//! DeleteObject (checked by `moto_enforces_conditional_writes`), but checks and writes without a
//! lock of its own: two truly simultaneous conditional writes can both pass there (seen once in
//! this test: both runs exited 0, and one's release then failed with 412), where S3 lets
//! exactly one through. The race test therefore spreads the requests by a random 0-150 ms at
//! the fault-injecting proxy and checks the outcome (one worker, one exit 3), in three rounds.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, TimeDelta, Utc};
use common::proxy::{self, output_within, wait_within, Faults, Proxy, Rng};
use common::run::Run;
use common::MotoServer;

const RUN_TIMEOUT: Duration = Duration::from_secs(180);
const WEEK_START: &str = "2026-12-07T00:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One schedule, its bucket and prefixes, and two hosts' folders.
struct World {
    server: MotoServer,
    bucket: String,
    state_prefix: String,
    secrets_prefix: String,
    user: String,
    hosts: [tempfile::TempDir; 2],
}

impl World {
    fn new(label: &str, lease: &str) -> World {
        let server = MotoServer::start();
        let suffix = common::unique_suffix().to_lowercase();
        let w = World {
            bucket: format!("wk-{label}-{suffix}")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .take(60)
                .collect(),
            state_prefix: format!("state/{label}"),
            secrets_prefix: format!("workshop-keys/{label}/"),
            user: format!("wk-{label}-{suffix}"),
            hosts: [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()],
            server,
        };
        let path = common::unique_path(label);
        let start = t(WEEK_START);
        let mut text = format!(
            "[settings]\npath = \"{path}\"\nuser = \"{}\"\nverify = false\nlead = \"12h\"\ngrace = \"1h\"\nhold = \"1h\"\nstore = \"secretsmanager\"\nsecrets_prefix = \"{}\"\nstate = \"s3://{}/{}\"\nlock_lease = \"{lease}\"\n",
            w.user, w.secrets_prefix, w.bucket, w.state_prefix
        );
        for (i, day) in [1, 3, 5].iter().enumerate() {
            let s = start + TimeDelta::days(*day) + TimeDelta::hours(9);
            text.push_str(&format!(
                "\n[[workshop]]\nid = \"ws-{i}\"\nstart = {}\nend = {}\n",
                workshop_keys::time::format_time(s),
                workshop_keys::time::format_time(s + TimeDelta::hours(8))
            ));
        }
        for h in &w.hosts {
            std::fs::write(h.path().join("workshops.toml"), &text).unwrap();
        }
        rt().block_on(async {
            w.s3()
                .create_bucket()
                .bucket(&w.bucket)
                .send()
                .await
                .expect("create the bucket")
        });
        w
    }

    fn config(&self) -> aws_config::SdkConfig {
        self.server.sdk_config(common::test_credentials())
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config())
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    fn sm(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config())
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config())
    }

    fn reconcile(&self, host: usize, endpoint: &str, at: DateTime<Utc>, extra: &[&str]) -> Command {
        let mut cmd = self.server.command();
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("RUST_LOG", "warn")
            .current_dir(self.hosts[host].path())
            .args(["reconcile", "--schedule", "workshops.toml", "--at"])
            .arg(workshop_keys::time::format_time(at))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, host: usize, at: DateTime<Utc>, extra: &[&str]) -> Run {
        let cmd = self.reconcile(host, self.server.endpoint(), at, extra);
        Run::of(cmd, format!("host {host}: reconcile --at {at}"))
    }

    /// Every file in a host's folder.
    fn files(&self, host: usize) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dirs = vec![self.hosts[host].path().to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p.clone());
                }
                out.push(p);
            }
        }
        out
    }

    /// Secrets under the prefix: name -> the key id their value holds.
    async fn secrets(&self) -> BTreeMap<String, String> {
        let sm = self.sm();
        let list = sm.list_secrets().max_results(100).send().await.unwrap();
        let mut out = BTreeMap::new();
        for s in list.secret_list() {
            let name = s.name().unwrap_or_default();
            if !name.starts_with(&self.secrets_prefix) {
                continue;
            }
            let v = sm.get_secret_value().secret_id(name).send().await.unwrap();
            let json: serde_json::Value = serde_json::from_str(v.secret_string().unwrap()).unwrap();
            for var in ["AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"] {
                assert!(json.get(var).is_some(), "{name} lacks {var}: keys only");
            }
            out.insert(
                name.to_string(),
                json["AWS_ACCESS_KEY_ID"].as_str().unwrap().to_string(),
            );
        }
        out
    }

    /// IAM: the user's active keys, and which workshop claims which key.
    async fn keys(&self) -> (BTreeSet<String>, BTreeMap<String, String>) {
        let iam = self.iam();
        let Ok(keys) = iam.list_access_keys().user_name(&self.user).send().await else {
            return Default::default();
        };
        let active = keys
            .access_key_metadata()
            .iter()
            .filter(|k| k.status().map(|s| s.as_str()) == Some("Active"))
            .filter_map(|k| k.access_key_id().map(str::to_string))
            .collect();
        let tags = iam
            .list_user_tags()
            .user_name(&self.user)
            .send()
            .await
            .unwrap();
        let claims = tags
            .tags()
            .iter()
            .filter(|t| workshop_keys::core::tags::is_access_key_id(t.key()))
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        (active, claims)
    }

    /// Every claimed active key's secret is in place and names it; every secret names a key
    /// IAM still lists as claimed.
    fn assert_secrets_match(&self, context: &str) {
        self.assert_secrets(context, true)
    }

    /// With `no_stale`, also: no secret outlives its key.
    fn assert_secrets(&self, context: &str, no_stale: bool) {
        rt().block_on(async {
            let (active, claims) = self.keys().await;
            let secrets = self.secrets().await;
            for (key, workshop) in &claims {
                if active.contains(key) {
                    let name = format!("{}{workshop}", self.secrets_prefix);
                    assert_eq!(
                        secrets.get(&name),
                        Some(key),
                        "{context}: the secret {name} should hold live key {key}; secrets {secrets:?}"
                    );
                }
            }
            for (name, key) in secrets.iter().filter(|_| no_stale) {
                let tags = self.sm().describe_secret().secret_id(name).send().await.unwrap();
                let tags = format!("{:?}", tags.tags());
                assert!(
                    claims.contains_key(key),
                    "{context}: {name} holds {key}, which no workshop claims (deleted keys take their secrets): {claims:?}; tags {tags}"
                );
            }
        });
    }

    fn lock_exists(&self) -> bool {
        rt().block_on(async {
            self.s3()
                .head_object()
                .bucket(&self.bucket)
                .key(format!("{}/lock", self.state_prefix))
                .send()
                .await
                .is_ok()
        })
    }
}

#[test]
fn moto_enforces_conditional_writes() {
    let w = World::new("cond", "10m");
    rt().block_on(async {
        let s3 = w.s3();
        let put = |m: Option<&str>, n: Option<&str>, body: &str| {
            s3.put_object()
                .bucket(&w.bucket)
                .key("probe")
                .set_if_match(m.map(str::to_string))
                .set_if_none_match(n.map(str::to_string))
                .body(ByteStream::from(body.as_bytes().to_vec()))
                .send()
        };
        let first = put(None, Some("*"), "one").await.expect("first create");
        assert!(
            put(None, Some("*"), "two").await.is_err(),
            "If-None-Match: *"
        );
        assert!(
            put(Some("\"nope\""), None, "two").await.is_err(),
            "If-Match"
        );
        let second = put(first.e_tag(), None, "two")
            .await
            .expect("If-Match on the ETag");
        let stale = s3
            .delete_object()
            .bucket(&w.bucket)
            .key("probe")
            .if_match(first.e_tag().unwrap())
            .send()
            .await;
        assert!(stale.is_err(), "DeleteObject If-Match on a stale ETag");
        s3.delete_object()
            .bucket(&w.bucket)
            .key("probe")
            .if_match(second.e_tag().unwrap())
            .send()
            .await
            .expect("DeleteObject If-Match");
    });
}

#[test]
fn two_hosts_take_turns_over_a_week() {
    let w = World::new("week", "10m");
    let start = t(WEEK_START);
    // Every 6 hours for a week and a day, the hosts in turn.
    let mut seen_secrets = BTreeSet::new();
    for tick in 0..33 {
        let at = start + TimeDelta::hours(6 * tick);
        let host = (tick % 2) as usize;
        w.run(host, at, &[]).code(0);
        w.assert_secrets_match(&format!("tick {tick} ({at}) on host {host}"));
        seen_secrets.extend(rt().block_on(w.secrets()).into_keys());
        // The other host sees exactly what this one did: nothing left to do.
        w.run(1 - host, at, &[])
            .code(0)
            .stdout_line_with(&[workshop_keys::view::render::NO_CHANGES]);
    }
    assert_eq!(
        seen_secrets.len(),
        3,
        "each workshop had its secret: {seen_secrets:?}"
    );
    rt().block_on(async {
        assert!(
            w.secrets().await.is_empty(),
            "every key deleted, every secret gone"
        );
    });
    for host in 0..2 {
        let files = w.files(host);
        assert_eq!(
            files,
            vec![w.hosts[host].path().join("workshops.toml")],
            "host {host} writes nothing locally"
        );
    }
    assert!(!w.lock_exists(), "the lock is released after each run");
}

/// Starts a reconcile through `proxy` and returns once it holds the lock (the lock object
/// exists and IAM is being read).
fn start_holder(w: &World, proxy: &Proxy, at: DateTime<Utc>) -> Child {
    proxy.clear_seen();
    let mut child = w
        .reconcile(0, &proxy.endpoint(), at, &[])
        .spawn()
        .expect("spawn the holder");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The first IAM read: the bulk read by default, `ListUsers` when reading user by user.
    let first_read = |a: &str| a == "GetAccountAuthorizationDetails" || a == "ListUsers";
    while !proxy.seen().iter().any(|s| first_read(&s.action)) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the holder ended early"
        );
        assert!(Instant::now() < deadline, "the holder never read IAM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(w.lock_exists(), "the holder holds the lock object");
    child
}

#[test]
fn a_held_lease_makes_others_exit_3_until_it_lapses_after_a_kill() {
    let w = World::new("lease", "5s");
    let at = t("2026-12-08T12:00:00Z");
    let proxy = Proxy::start(w.server.endpoint());
    proxy.set_faults(Faults::delay(proxy::seed("LEASE_SEED"), 400, 400));
    let holder = start_holder(&w, &proxy, at);
    let second = w.run(1, at, &[]);
    second.code(3).stderr_has("another reconcile");
    assert!(
        second.stderr.contains(&format!("s3://{}/", w.bucket)),
        "{second}"
    );
    let mut holder = holder;
    holder.kill().expect("SIGKILL the holder");
    let _ = wait_within(holder, RUN_TIMEOUT);
    proxy.wait_idle(Duration::from_secs(30));
    // The dead holder's lease still runs: exit 3 at once...
    w.run(1, at, &[]).code(3);
    // ...and once it lapses (5 s), a run waiting for it proceeds.
    let took = Instant::now();
    let next = w.run(1, at, &["--lock-timeout", "30s"]);
    next.code(0);
    assert!(took.elapsed() < Duration::from_secs(25), "{next}");
    w.assert_secrets_match("after the lease lapsed");
    assert!(!w.lock_exists());
}

#[test]
fn of_two_racing_runs_exactly_one_works() {
    let w = World::new("race", "10m");
    // Each request waits 0-150 ms at the proxy, so that moto (whose conditional writes are a
    // check, then a write, without a lock) sees the two lock writes apart, as S3 would order
    // them; the two runs still start together and race for the lock.
    let proxy = Proxy::start(w.server.endpoint());
    proxy.set_faults(Faults::delay(proxy::seed("RACE_SEED"), 0, 150));
    for (round, at) in [
        "2026-12-08T12:00:00Z",
        "2026-12-10T12:00:00Z",
        "2026-12-13T00:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        let at = t(at);
        let a = w
            .reconcile(0, w.server.endpoint(), at, &[])
            .spawn()
            .unwrap();
        let b = w
            .reconcile(1, w.server.endpoint(), at, &[])
            .spawn()
            .unwrap();
        let (a, b) = (wait_within(a, RUN_TIMEOUT), wait_within(b, RUN_TIMEOUT));
        let mut codes = [a.status.code(), b.status.code()];
        codes.sort();
        assert_eq!(
            codes,
            [Some(0), Some(3)],
            "round {round}: one works, one exits 3:\n{}\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        w.assert_secrets_match(&format!("race round {round}"));
    }
}

#[test]
fn sigkill_at_random_moments_then_converges_with_aws_store_and_state() {
    let w = World::new("kill", "3s");
    let proxy = Proxy::start(w.server.endpoint());
    let mut rng = Rng::new(proxy::seed("KILL_SEED"));
    for at in [
        "2026-12-08T12:00:00Z",
        "2026-12-10T12:00:00Z",
        "2026-12-13T00:00:00Z",
    ] {
        let at = t(at);
        for _ in 0..3 {
            proxy.set_faults(Faults::delay(rng.next_u64(), 20, 120));
            proxy.clear_seen();
            let mut child = w
                .reconcile(0, &proxy.endpoint(), at, &["--lock-timeout", "20s"])
                .spawn()
                .unwrap();
            let nth = 1 + rng.below(25) as usize;
            let deadline = Instant::now() + RUN_TIMEOUT;
            while proxy.request_count() < nth
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            child.kill().unwrap();
            let _ = wait_within(child, RUN_TIMEOUT);
            proxy.wait_idle(Duration::from_secs(30));
        }
        // The runs after the kills wait out a dead holder's lease, then converge.
        w.run(1, at, &["--lock-timeout", "20s"]).code(0);
        let again = w.run(0, at, &["--lock-timeout", "20s"]);
        again.code(0);
        // A run killed between DeleteAccessKey and DeleteSecret leaves the dead key's secret
        // (harmless; plans warn about it, as about a credentials file left behind): only the
        // live keys' secrets are checked here.
        w.assert_secrets(&format!("converged at {at}"), false);
    }
    for host in 0..2 {
        assert_eq!(w.files(host).len(), 1, "host {host}: only the schedule");
    }
    let _ = output_within;
}

/// At `RUST_LOG=trace`, text and JSON logs and output: no secret the store holds shows in
/// anything a run printed (whole or as any 16-character piece), though the runs wrote, read
/// (verify, status) and deleted them.
#[test]
fn no_secret_in_any_output_at_trace_with_aws_store_and_state() {
    let w = World::new("hygiene", "10m");
    let mut printed = String::new();
    let mut secrets = Vec::new();
    let mut run = |args: &[&str], at: &str| {
        for format in ["text", "json"] {
            let mut cmd = w.server.command();
            cmd.env("RUST_LOG", "trace")
                .current_dir(w.hosts[0].path())
                .args(["--log-format", format])
                .args(args)
                .args(["--schedule", "workshops.toml", "--at", at])
                .stdin(Stdio::null());
            let o = output_within(&mut cmd, RUN_TIMEOUT);
            printed.push_str(&String::from_utf8_lossy(&o.stdout));
            printed.push_str(&String::from_utf8_lossy(&o.stderr));
        }
    };
    for at in ["2026-12-08T12:00:00Z", "2026-12-10T12:00:00Z"] {
        run(&["reconcile"], at);
        secrets.extend(rt().block_on(async {
            let sm = w.sm();
            let mut out = Vec::new();
            for name in w.secrets().await.keys() {
                let v = sm.get_secret_value().secret_id(name).send().await.unwrap();
                let json: serde_json::Value =
                    serde_json::from_str(v.secret_string().unwrap()).unwrap();
                out.push(json["AWS_SECRET_ACCESS_KEY"].as_str().unwrap().to_string());
            }
            out
        }));
        run(&["status", "--output", "json"], at);
        run(&["verify"], at);
    }
    run(&["reconcile"], "2026-12-14T00:00:00Z");
    assert!(secrets.len() >= 2, "keys were made: {secrets:?}");
    assert!(
        printed.contains("TRACE") || printed.contains("\"TRACE\""),
        "trace logs"
    );
    for s in &secrets {
        let chars: Vec<char> = s.chars().collect();
        for piece in chars.windows(16) {
            let piece: String = piece.iter().collect();
            assert!(
                !printed.contains(&piece),
                "a secret's piece {piece:?} was printed"
            );
        }
    }
    assert_eq!(w.files(0).len(), 1, "nothing but the schedule on disk");
}

/// A bucket that does not exist: exit 1 before any IAM write, with what to check, and the tool
/// does not create it.
#[test]
fn a_missing_bucket_stops_the_run_with_a_hint() {
    let w = World::new("nobucket", "10m");
    for h in &w.hosts {
        let path = h.path().join("workshops.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(&format!("s3://{}/", w.bucket), "s3://no-such-bucket-wk/");
        std::fs::write(&path, text).unwrap();
    }
    let run = w.run(0, t("2026-12-08T12:00:00Z"), &[]);
    run.code(1).stderr_has("bucket exists");
    rt().block_on(async {
        let buckets = w.s3().list_buckets().send().await.unwrap();
        assert!(
            buckets
                .buckets()
                .iter()
                .all(|b| b.name() != Some("no-such-bucket-wk")),
            "the tool never creates buckets"
        );
        let (active, _) = w.keys().await;
        assert!(active.is_empty(), "no key without the lock");
    });
}
