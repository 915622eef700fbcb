//! Speed of the pipeline's steps, printed as figures (run: `cargo bench --bench pipeline`).
//!
//! - parse + validate a schedule of 10,000 workshops;
//! - observe 1,000 managed users (2 keys, 1 policy each) through an IAM with 20 ms per call,
//!   at concurrency 1, 8 and 32 (the `--concurrency` flag);
//! - plan over that snapshot;
//! - the `validate` command over 10,000 workshops (the release binary, whole process), and the
//!   planner over 10,000 workshops on 2,000 users (one key each, read in bulk from the
//!   in-memory IAM).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use workshop_keys::core::desired::Desired;
use workshop_keys::core::observed::{KeyStatus, LastUsed};
use workshop_keys::core::planner::plan;
use workshop_keys::core::policy;
use workshop_keys::core::tags;
use workshop_keys::iam::fake::{FakeIam, FakeUser};
use workshop_keys::iam::{Iam, IamError, KeyMeta, NewKey, UserDetail, UserSummary};
use workshop_keys::observe::{observe, ObserveMode, ObserveOptions};
use workshop_keys::schedule::{self, PolicyChoice};

const LATENCY: Duration = Duration::from_millis(20);

/// The in-memory IAM behind a fixed network latency per call.
struct Slow(FakeIam);

macro_rules! slow {
    ($self:ident, $call:expr) => {{
        tokio::time::sleep(LATENCY).await;
        $call
    }};
}

impl Iam for Slow {
    async fn list_users(&self, p: &str) -> Result<Vec<UserSummary>, IamError> {
        slow!(self, self.0.list_users(p).await)
    }
    async fn get_user(&self, u: &str) -> Result<Option<UserSummary>, IamError> {
        slow!(self, self.0.get_user(u).await)
    }
    async fn list_user_tags(&self, u: &str) -> Result<BTreeMap<String, String>, IamError> {
        slow!(self, self.0.list_user_tags(u).await)
    }
    async fn list_access_keys(&self, u: &str) -> Result<Vec<KeyMeta>, IamError> {
        slow!(self, self.0.list_access_keys(u).await)
    }
    async fn get_access_key_last_used(&self, k: &str) -> Result<LastUsed, IamError> {
        slow!(self, self.0.get_access_key_last_used(k).await)
    }
    async fn list_user_policies(&self, u: &str) -> Result<Vec<String>, IamError> {
        slow!(self, self.0.list_user_policies(u).await)
    }
    async fn get_user_policy(&self, u: &str, p: &str) -> Result<String, IamError> {
        slow!(self, self.0.get_user_policy(u, p).await)
    }
    async fn list_attached_user_policies(&self, u: &str) -> Result<Vec<String>, IamError> {
        slow!(self, self.0.list_attached_user_policies(u).await)
    }
    async fn get_account_authorization_details(&self) -> Result<Vec<UserDetail>, IamError> {
        slow!(self, self.0.get_account_authorization_details().await)
    }
    async fn create_user(
        &self,
        u: &str,
        p: &str,
        t: &BTreeMap<String, String>,
    ) -> Result<(), IamError> {
        slow!(self, self.0.create_user(u, p, t).await)
    }
    async fn tag_user(&self, u: &str, t: &BTreeMap<String, String>) -> Result<(), IamError> {
        slow!(self, self.0.tag_user(u, t).await)
    }
    async fn untag_user(&self, u: &str, k: &[String]) -> Result<(), IamError> {
        slow!(self, self.0.untag_user(u, k).await)
    }
    async fn put_user_policy(&self, u: &str, n: &str, d: &str) -> Result<(), IamError> {
        slow!(self, self.0.put_user_policy(u, n, d).await)
    }
    async fn delete_user_policy(&self, u: &str, n: &str) -> Result<(), IamError> {
        slow!(self, self.0.delete_user_policy(u, n).await)
    }
    async fn detach_user_policy(&self, u: &str, a: &str) -> Result<(), IamError> {
        slow!(self, self.0.detach_user_policy(u, a).await)
    }
    async fn create_access_key(&self, u: &str) -> Result<NewKey, IamError> {
        slow!(self, self.0.create_access_key(u).await)
    }
    async fn update_access_key(&self, u: &str, k: &str, s: KeyStatus) -> Result<(), IamError> {
        slow!(self, self.0.update_access_key(u, k, s).await)
    }
    async fn delete_access_key(&self, u: &str, k: &str) -> Result<(), IamError> {
        slow!(self, self.0.delete_access_key(u, k).await)
    }
    async fn delete_user(&self, u: &str) -> Result<(), IamError> {
        slow!(self, self.0.delete_user(u).await)
    }
}

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// 10,000 workshops on 1,000 users, ten consecutive ones per user.
fn schedule_text() -> String {
    let mut text =
        String::from("[settings]\npath = \"/workshop/\"\nlead = \"1h\"\ngrace = \"1h\"\n");
    for i in 0..10_000 {
        let start = base() + TimeDelta::days((i % 10) as i64);
        text.push_str(&format!(
            "[[workshop]]\nid = \"w{i}\"\nuser = \"user-{:04}\"\nstart = {}\nend = {}\n",
            i / 10,
            workshop_keys::time::format_time(start),
            workshop_keys::time::format_time(start + TimeDelta::hours(8)),
        ));
    }
    text
}

/// 10,000 workshops on 2,000 users, five consecutive days each, all open at `base() + 3h`.
fn big_schedule_text() -> String {
    let mut text =
        String::from("[settings]\npath = \"/workshop/\"\nlead = \"1h\"\ngrace = \"1h\"\n");
    for i in 0..10_000 {
        let start = base() + TimeDelta::days((i / 2_000) as i64);
        text.push_str(&format!(
            "[[workshop]]\nid = \"w{i}\"\nuser = \"user-{:04}\"\nstart = {}\nend = {}\n",
            i % 2_000,
            workshop_keys::time::format_time(start),
            workshop_keys::time::format_time(start + TimeDelta::hours(8)),
        ));
    }
    text
}

/// The `validate` command over 10,000 workshops, as a user runs it: the release binary as a
/// whole process (start-up, read, parse, checks, warnings), the median of seven runs.
fn validate_figures() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("workshops.toml");
    std::fs::write(&file, schedule_text()).expect("write the schedule");
    let mut walls: Vec<Duration> = (0..7)
        .map(|_| {
            let started = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_workshop-keys"))
                .arg("validate")
                .arg("--schedule")
                .arg(&file)
                .output()
                .expect("run workshop-keys validate");
            let wall = started.elapsed();
            assert!(
                out.status.success() && out.stdout.starts_with(b"ok: 10000 workshops"),
                "validate failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            wall
        })
        .collect();
    walls.sort();
    println!(
        "validate: 10000 workshops, whole process, median of 7: {:.1} ms (target < 100 ms)",
        walls[3].as_secs_f64() * 1e3
    );
}

/// The planner over 10,000 workshops x 2,000 users, each user holding its live key.
fn big_plan_figures(rt: &tokio::runtime::Runtime) {
    let text = big_schedule_text();
    let s = schedule::parse(Path::new("big.toml"), &text).expect("valid schedule");
    let fake = FakeIam::new();
    let doc = policy::document(&PolicyChoice::AllModels, None).to_string();
    for u in 0..2_000 {
        let name = format!("user-{u:04}");
        fake.insert_user(
            &name,
            FakeUser {
                path: "/workshop/".into(),
                tags: [(tags::MANAGED_BY_KEY.into(), tags::MANAGED_BY_VALUE.into())].into(),
                inline_policies: [(policy::POLICY_NAME.into(), doc.clone())].into(),
                ..FakeUser::default()
            },
        );
        fake.insert_key(&name, KeyStatus::Active, base());
    }
    let opts = ObserveOptions {
        concurrency: 8,
        last_used: false,
        mode: ObserveMode::Bulk,
    };
    let observed = rt
        .block_on(observe(&fake, "/workshop/", &s.users(), None, &opts))
        .expect("observe");
    let desired = Desired::from_schedule(&s);
    let started = Instant::now();
    let p = plan(&desired, &observed, base() + TimeDelta::hours(3));
    println!(
        "plan: {} workshops x {} users -> {} actions in {:.1} ms (target < 200 ms)",
        s.workshops.len(),
        observed.users.len(),
        p.actions.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    validate_figures();
    let text = schedule_text();
    let started = Instant::now();
    let s = schedule::parse(Path::new("bench.toml"), &text).expect("valid schedule");
    println!(
        "parse+validate: {} workshops, {} users, {} KiB in {:.1} ms",
        s.workshops.len(),
        s.users().len(),
        text.len() / 1024,
        started.elapsed().as_secs_f64() * 1e3
    );

    let fake = FakeIam::new();
    let doc = policy::document(&PolicyChoice::AllModels, None).to_string();
    for u in 0..1_000 {
        let name = format!("user-{u:04}");
        fake.insert_user(
            &name,
            FakeUser {
                path: "/workshop/".into(),
                tags: [(tags::MANAGED_BY_KEY.into(), tags::MANAGED_BY_VALUE.into())].into(),
                inline_policies: [(policy::POLICY_NAME.into(), doc.clone())].into(),
                ..FakeUser::default()
            },
        );
        fake.insert_key(&name, KeyStatus::Active, base());
        fake.insert_key(&name, KeyStatus::Inactive, base());
    }
    let iam = Slow(fake);
    let users = s.users();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut snapshot = None;
    for concurrency in [1usize, 8, 32] {
        let opts = ObserveOptions {
            concurrency,
            last_used: false,
            mode: ObserveMode::PerUser,
        };
        let started = Instant::now();
        let observed = rt
            .block_on(observe(&iam, "/workshop/", &users, None, &opts))
            .expect("observe");
        println!(
            "observe: {} users at concurrency {concurrency:>2}, {} ms per IAM call: {:.2} s",
            observed.users.len(),
            LATENCY.as_millis(),
            started.elapsed().as_secs_f64()
        );
        snapshot = Some(observed);
    }
    let observed = snapshot.unwrap();
    let desired = Desired::from_schedule(&s);
    let started = Instant::now();
    let p = plan(&desired, &observed, base() + TimeDelta::hours(3));
    println!(
        "plan: {} users, {} keys -> {} actions in {:.1} ms",
        observed.users.len(),
        observed.users.iter().map(|u| u.keys.len()).sum::<usize>(),
        p.actions.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    big_plan_figures(&rt);
}
