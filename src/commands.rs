//! The commands: each loads the schedule first (stopping before any IAM call if it is invalid),
//! then runs the pipeline as far as it needs. Returns the exit code; `main` prints errors.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fs4::fs_std::FileExt;

use crate::apply::{self, ApplyContext};
use crate::cli::{AwsArgs, Command, Output};
use crate::desired::Desired;
use crate::iam::aws::{load_sdk_config, AwsIam};
use crate::iam::{self, ObserveOptions};
use crate::observed::{KeyStatus, Observed};
use crate::plan::Plan;
use crate::planner;
use crate::render;
use crate::schedule::{self, Schedule, ScheduleError};
use crate::secrets::{CredentialsDir, SecretsError};
use crate::status;
use crate::verify::check::check_key;
use crate::verify::Outcome;

/// Exit codes: 0 success, 1 failure or error, 2 changes pending (`plan --detailed-exitcode`),
/// 3 another reconcile holds the lock.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;
pub const EXIT_LOCKED: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Schedule(#[from] ScheduleError),
    #[error("{0}")]
    Observe(#[from] iam::observe::ObserveError),
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error("--at {value:?} is not an RFC 3339 time ({reason}); write it like 2026-12-02T09:00:00Z or 2026-12-02T10:00:00+01:00")]
    BadTime { value: String, reason: String },
    #[error("{} changed while the plan was computed; nothing was applied. Run reconcile again", path.display())]
    ScheduleChanged { path: PathBuf },
    #[error("workshop {id:?} is not in the schedule; see the ids in the schedule file")]
    UnknownWorkshop { id: String },
    #[error("another reconcile of this schedule is running (lock file {}); it holds the lock until it ends. Wait with --lock-timeout 5m, or check for a stuck process", path.display())]
    Locked { path: PathBuf },
    #[error("cannot use lock file {}: {source}; check that the schedule's directory is writable", path.display())]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Locked { .. } => EXIT_LOCKED,
            _ => EXIT_FAILED,
        }
    }
}

pub async fn run(command: Command, now: DateTime<Utc>) -> Result<u8, CommandError> {
    match command {
        Command::Validate { schedule } => {
            let s = schedule::load(&schedule.schedule)?;
            println!(
                "ok: {} workshops, {} users",
                s.workshops.len(),
                s.users().len()
            );
            Ok(EXIT_OK)
        }
        Command::Plan {
            schedule,
            at,
            output,
            detailed_exitcode,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let at = parse_at(at.as_deref(), now)?;
            let (plan, _) = observe_and_plan(&s, &aws, at).await?;
            print_plan(&plan, output);
            Ok(if detailed_exitcode && !plan.is_clean() {
                EXIT_CHANGES
            } else {
                EXIT_OK
            })
        }
        Command::Reconcile {
            schedule,
            at,
            output,
            dry_run,
            lock_timeout,
            aws,
        } => {
            let text = schedule::read(&schedule.schedule)?;
            let s = schedule::parse(&schedule.schedule, &text)?;
            let at = parse_at(at.as_deref(), now)?;
            if dry_run {
                let (plan, _) = observe_and_plan(&s, &aws, at).await?;
                print_plan(&plan, output);
                return Ok(EXIT_OK);
            }
            let credentials = credentials_dir(&s)?;
            let _lock = lock(&schedule.schedule, lock_timeout.into())?;
            reconcile(&s, &text, &aws, at, now, &credentials, output).await
        }
        Command::Verify {
            schedule,
            workshop,
            output,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            verify_live_keys(&s, &aws, workshop.as_deref(), now, output).await
        }
        Command::Status {
            schedule,
            at,
            output,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let now = parse_at(at.as_deref(), now)?;
            let credentials = CredentialsDir::new(&s.settings.credentials_dir);
            let iam = iam_client(&aws).await;
            let opts = ObserveOptions {
                concurrency: aws.concurrency.into(),
                last_used: true,
            };
            let observed = observe(&iam, &s, &credentials, &opts).await?;
            let desired = Desired::from_schedule(&s);
            let plan = planner::plan(&desired, &observed, now);
            let view = status::status_view(&s, &desired, &observed, plan.warnings, now);
            match output {
                Output::Text => print!("{}", render::status_text(&view)),
                Output::Json => print!("{}", render::json(&view)),
            }
            Ok(EXIT_OK)
        }
    }
}

fn parse_at(at: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    match at {
        None => Ok(now),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| CommandError::BadTime {
                value: v.to_string(),
                reason: e.to_string(),
            }),
    }
}

/// The credentials directory, refused before any IAM call if secrets would not be safe there.
fn credentials_dir(s: &Schedule) -> Result<CredentialsDir, CommandError> {
    let dir = CredentialsDir::new(&s.settings.credentials_dir);
    dir.check()?;
    Ok(dir)
}

async fn iam_client(aws: &AwsArgs) -> AwsIam {
    let config = load_sdk_config(aws.profile.as_deref(), aws.region.as_deref()).await;
    AwsIam::new(&config)
}

async fn observe(
    iam: &AwsIam,
    s: &Schedule,
    credentials: &CredentialsDir,
    opts: &ObserveOptions,
) -> Result<Observed, CommandError> {
    Ok(iam::observe(iam, &s.settings.path, &s.users(), Some(credentials), opts).await?)
}

async fn observe_and_plan(
    s: &Schedule,
    aws: &AwsArgs,
    at: DateTime<Utc>,
) -> Result<(Plan, AwsIam), CommandError> {
    let credentials = CredentialsDir::new(&s.settings.credentials_dir);
    let iam = iam_client(aws).await;
    let opts = ObserveOptions {
        concurrency: aws.concurrency.into(),
        last_used: false,
    };
    let observed = observe(&iam, s, &credentials, &opts).await?;
    let plan = planner::plan(&Desired::from_schedule(s), &observed, at);
    Ok((plan, iam))
}

fn print_plan(plan: &Plan, output: Output) {
    match output {
        Output::Text => print!("{}", render::plan_text(plan)),
        Output::Json => print!("{}", render::json(plan)),
    }
}

async fn reconcile(
    s: &Schedule,
    text: &str,
    aws: &AwsArgs,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    credentials: &CredentialsDir,
    output: Output,
) -> Result<u8, CommandError> {
    let (plan, iam) = observe_and_plan(s, aws, at).await?;
    // The plan answers the schedule as it was read; an edit since then gets its own run.
    if schedule::read(&s.file)? != text {
        return Err(CommandError::ScheduleChanged {
            path: s.file.clone(),
        });
    }
    let ctx = ApplyContext {
        credentials,
        region: &s.settings.region,
    };
    let report = apply::apply(&plan, &iam, &ctx).await;
    // Prove each new key works before anyone relies on it.
    let mut checks = Vec::new();
    if s.settings.verify {
        for r in report
            .results
            .iter()
            .filter(|r| r.credentials_file.is_some())
        {
            if let (Some(key), Some(workshop)) = (&r.created_key, &r.action.workshop) {
                checks.push(
                    check_key(
                        &iam,
                        &s.settings,
                        credentials,
                        workshop,
                        &r.action.user,
                        key,
                        now,
                    )
                    .await,
                );
            }
        }
    }
    let ok = report.all_ok()
        && plan.blocked.is_empty()
        && checks.iter().all(|c| !c.outcome.is_key_fault());
    match output {
        Output::Text => {
            print!("{}", render::plan_text(&plan));
            print!("{}", render::report_text(&report));
            print!("{}", render::checks_text(&checks));
        }
        Output::Json => print!(
            "{}",
            render::json(&serde_json::json!({
                "plan": plan,
                "results": report.results,
                "verifications": checks,
                "ok": ok,
            }))
        ),
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAILED })
}

/// `verify`: check every live key (or one workshop's) with the secret in its credentials file.
async fn verify_live_keys(
    s: &Schedule,
    aws: &AwsArgs,
    only: Option<&str>,
    now: DateTime<Utc>,
    output: Output,
) -> Result<u8, CommandError> {
    if let Some(id) = only {
        if s.workshop(id).is_none() {
            return Err(CommandError::UnknownWorkshop { id: id.to_string() });
        }
    }
    let credentials = CredentialsDir::new(&s.settings.credentials_dir);
    let iam = iam_client(aws).await;
    let opts = ObserveOptions {
        concurrency: aws.concurrency.into(),
        last_used: false,
    };
    let observed = observe(&iam, s, &credentials, &opts).await?;
    let mut checks = Vec::new();
    let mut without_key = Vec::new();
    for w in s
        .workshops
        .iter()
        .filter(|w| only.is_none_or(|id| id == w.id))
    {
        let live = observed.user(&w.user).and_then(|u| {
            u.keys
                .iter()
                .filter(|k| {
                    k.status == KeyStatus::Active && u.tags.get(&k.access_key_id) == Some(&w.id)
                })
                .max_by_key(|k| k.created)
        });
        match live {
            Some(k) => checks.push(
                check_key(
                    &iam,
                    &s.settings,
                    &credentials,
                    &w.id,
                    &w.user,
                    &k.access_key_id,
                    now,
                )
                .await,
            ),
            None => without_key.push(w.id.clone()),
        }
    }
    match output {
        Output::Text => {
            if checks.is_empty() {
                println!("No live keys to verify.");
            }
            print!("{}", render::checks_text(&checks));
            if only.is_some() && !without_key.is_empty() {
                println!("workshop {} has no live key", without_key.join(", "));
            }
        }
        Output::Json => print!(
            "{}",
            render::json(
                &serde_json::json!({ "verifications": checks, "without_key": without_key })
            )
        ),
    }
    let all_verified = checks.iter().all(|c| c.outcome == Outcome::Verified);
    Ok(
        if all_verified && (only.is_none() || without_key.is_empty()) {
            EXIT_OK
        } else {
            EXIT_FAILED
        },
    )
}

/// An exclusive lock on `<schedule>.lock`, held until the guard drops; the OS releases it if
/// the process dies. Waits up to `timeout`.
fn lock(schedule: &Path, timeout: Duration) -> Result<File, CommandError> {
    let mut name = schedule.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| CommandError::LockFile {
            path: path.clone(),
            source,
        })?;
    let started = Instant::now();
    loop {
        match file.try_lock_exclusive() {
            Ok(true) => return Ok(file),
            Ok(false) => {}
            Err(source) => return Err(CommandError::LockFile { path, source }),
        }
        if started.elapsed() >= timeout {
            return Err(CommandError::Locked { path });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
