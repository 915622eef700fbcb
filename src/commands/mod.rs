//! The commands: each loads the schedule first (stopping before any IAM call if it is invalid),
//! then runs the pipeline as far as it needs. Returns the exit code; `main` prints errors.

mod backends;
mod edit;
mod inspect;
mod lock;
mod model_access;
mod plan_apply;
mod release;
mod timeline;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use clap::CommandFactory;

use crate::cli::{AwsArgs, Cli, Command};
use crate::core::observed::Observed;
use crate::iam::aws::{load_sdk_config, AwsIam};
use crate::observe::{self as observe_iam, ObserveOptions};
use crate::saved_plan::{SavedPlan, SavedPlanError};
use crate::schedule::{self, Schedule, ScheduleError};
use crate::store::SecretsError;

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
    Observe(#[from] crate::observe::ObserveError),
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error("{0}")]
    SavedPlan(#[from] SavedPlanError),
    #[error("{0}")]
    Edit(#[from] crate::schedule::edit::EditError),
    #[error("{message}")]
    Usage { message: String },
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to standard output: {source}")]
    Output {
        #[source]
        source: std::io::Error,
    },
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
            let text = schedule::read(&schedule.schedule)?;
            let s = schedule::parse(&schedule.schedule, &text)?;
            schedule::check_hook_programs(&s, &text)?;
            let warnings = schedule::warnings(&s);
            if !warnings.is_empty() {
                eprintln!("{}", schedule::render_warnings(&s.file, &warnings));
            }
            let noted = match warnings.len() {
                0 => String::new(),
                n => format!(", {}", crate::view::render::count(n, "warning", "warnings")),
            };
            println!(
                "ok: {}, {}{noted}",
                crate::view::render::count(s.workshops.len(), "workshop", "workshops"),
                crate::view::render::count(s.users().len(), "user", "users")
            );
            Ok(EXIT_OK)
        }
        Command::Plan {
            schedule,
            at,
            output,
            detailed_exitcode,
            out,
            aws,
        } => {
            let text = schedule::read(&schedule.schedule)?;
            let s = schedule::parse(&schedule.schedule, &text)?;
            let at = parse_at(at.as_deref(), now)?;
            let job = plan_apply::Job {
                schedule: &s,
                text: &text,
                aws: &aws,
                output,
            };
            plan_apply::plan(&job, at, detailed_exitcode, out.as_deref()).await
        }
        Command::Reconcile {
            schedule,
            at,
            output,
            dry_run,
            lock_timeout,
            plan,
            metrics_file,
            aws,
        } => {
            // The lock is kept until the metrics file is written, by the run that holds it.
            let mut held = None;
            let mut gauges = None;
            let result: Result<u8, CommandError> = async {
                let text = schedule::read(&schedule.schedule)?;
                let s = schedule::parse(&schedule.schedule, &text)?;
                let saved = match &plan {
                    Some(path) => Some((path.as_path(), SavedPlan::read(path)?)),
                    None => None,
                };
                let at = match &saved {
                    Some((_, saved)) => saved.plan.at,
                    None => parse_at(at.as_deref(), now)?,
                };
                if dry_run {
                    match saved {
                        Some((path, _)) => return plan_apply::show(path, output),
                        None => {
                            let (plan, _, _) = plan_apply::observe_and_plan(&s, &aws, at).await?;
                            plan_apply::print_plan(&plan, output);
                            return Ok(EXIT_OK);
                        }
                    }
                }
                // Not checked here: a credentials directory unfit for new secrets must not stop
                // revocation. The planner refuses only the new keys then.
                let stored = backends::open(&s, &schedule.schedule, &aws).await;
                held = Some(lock::lock(stored.state.as_ref(), lock_timeout.into()).await?);
                let job = plan_apply::Job {
                    schedule: &s,
                    text: &text,
                    aws: &aws,
                    output,
                };
                let (code, g) = plan_apply::reconcile(&job, at, now, &stored, saved).await?;
                gauges = Some(g);
                Ok(code)
            }
            .await;
            let result = match &metrics_file {
                // A run that found the lock taken did nothing: the run holding it writes the file.
                Some(path) if !matches!(result, Err(CommandError::Locked { .. })) => {
                    let ok = matches!(result, Ok(EXIT_OK));
                    match (write_metrics(path, now, ok, gauges.as_ref()), result) {
                        (Ok(()), result) => result,
                        (Err(e), Ok(_)) => Err(e),
                        (Err(e), Err(run)) => {
                            eprintln!("error: {e}");
                            Err(run)
                        }
                    }
                }
                _ => result,
            };
            if let Some(held) = held {
                held.release().await;
            }
            result
        }
        Command::Show { planfile, output } => plan_apply::show(&planfile, output),
        Command::Release {
            user,
            schedule,
            at,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let now = parse_at(at.as_deref(), now)?;
            // Not beside a reconcile of the same schedule: both write this user's keys.
            let stored = backends::open(&s, &schedule.schedule, &aws).await;
            let held = lock::lock(stored.state.as_ref(), std::time::Duration::ZERO).await?;
            let result = release::release(&s, &user, &aws, &stored, now).await;
            held.release().await;
            result
        }
        Command::Add {
            id,
            start,
            end,
            title,
            user,
            lead,
            grace,
            schedule,
            aws,
        } => {
            let w = crate::schedule::edit::NewWorkshop {
                id,
                start,
                end,
                title,
                user,
                lead,
                grace,
            };
            edit::edit(&schedule.schedule, edit::Edit::Add(w), &aws, now).await
        }
        Command::Remove { id, schedule, aws } => {
            edit::edit(&schedule.schedule, edit::Edit::Remove(id), &aws, now).await
        }
        Command::Move {
            id,
            start,
            end,
            schedule,
            aws,
        } => {
            let change = edit::Edit::Move { id, start, end };
            edit::edit(&schedule.schedule, change, &aws, now).await
        }
        Command::List { schedule, output } => edit::list(&schedule.schedule, now, output),
        Command::Timeline {
            schedule,
            from,
            days,
            at,
            output,
            file,
        } => timeline::timeline(
            &schedule.schedule,
            from.as_deref(),
            days,
            output,
            file.as_deref(),
            parse_at(at.as_deref(), now)?,
        ),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "workshop-keys", &mut script);
            write_stdout(&script)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|source| CommandError::Output { source })?;
            write_stdout(&page)
        }
        Command::Verify {
            schedule,
            workshop,
            output,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            inspect::verify_live_keys(&s, &aws, workshop.as_deref(), now, output).await
        }
        Command::Models { command } => model_access::run(command, now).await,
        Command::Status {
            schedule,
            at,
            output,
            wide,
            check,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let now = parse_at(at.as_deref(), now)?;
            if check {
                return inspect::check(&s, &aws, now, output).await;
            }
            inspect::status(&s, &aws, now, output, wide).await
        }
    }
}

pub(super) fn write_stdout(bytes: &[u8]) -> Result<u8, CommandError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| CommandError::Output { source })?;
    Ok(EXIT_OK)
}

/// The width text output should fit: `COLUMNS`, else the terminal's (the same detection as
/// `timeline`), else `None` (stdout is a pipe or a file).
pub(super) fn text_width() -> Option<usize> {
    crate::view::timeline::known_width(std::env::var("COLUMNS").ok().as_deref(), terminal_width())
}

/// The terminal's width, when stdout is one.
pub(super) fn terminal_width() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
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

/// Write `reconcile --metrics-file`: this run (at the real clock's `now`), the last success
/// carried over from the file's previous text when this run failed, and the state gauges when
/// the run got that far.
fn write_metrics(
    path: &std::path::Path,
    now: DateTime<Utc>,
    ok: bool,
    gauges: Option<&crate::view::metrics::Gauges>,
) -> Result<(), CommandError> {
    use crate::view::metrics::{render, RunInfo};
    let previous = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the previous metrics file; its last success time is lost");
            }
            None
        }
    };
    let run = RunInfo::new(now, ok, previous.as_deref());
    crate::schedule::edit::write_atomically(path, &render(&run, gauges)).map_err(CommandError::from)
}

pub(super) async fn iam_client(aws: &AwsArgs) -> AwsIam {
    let config = load_sdk_config(aws.profile.as_deref(), aws.region.as_deref()).await;
    AwsIam::new(&config)
}

/// Read IAM and this schedule's credentials files into a snapshot; also returns the client.
pub(super) async fn observe(
    s: &Schedule,
    aws: &AwsArgs,
    last_used: bool,
) -> Result<(Observed, AwsIam), CommandError> {
    let stored = backends::open(s, &s.file, aws).await;
    let iam = iam_client(aws).await;
    let opts = ObserveOptions {
        concurrency: aws.concurrency.into(),
        last_used,
    };
    let observed = observe_iam::observe(
        &iam,
        &s.settings.path,
        &s.users(),
        Some((stored.store.as_ref(), stored.state.as_ref())),
        &opts,
    )
    .await
    .map_err(|e| match e {
        crate::observe::ObserveError::Iam(e) => {
            let profile = aws
                .profile
                .clone()
                .or_else(|| std::env::var("AWS_PROFILE").ok());
            crate::observe::ObserveError::Iam(
                e.with_setup(profile.as_deref(), Some(iam.endpoint())),
            )
        }
        other => other,
    })?;
    Ok((observed, iam))
}
