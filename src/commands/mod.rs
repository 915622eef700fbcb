//! The commands: each loads the schedule first (stopping before any IAM call if it is invalid),
//! then runs the pipeline as far as it needs. Returns what happened; `main` prints errors and
//! picks the exit code.

mod aws_observe;
mod backends;
mod edit;
mod error;
mod handout;
mod inspect;
mod lock;
mod metrics_file;
mod model_access;
mod outcome;
mod plan_apply;
mod reconcile_output;
mod release;
mod revoke;
mod shell_docs;
mod status_workshop;
mod stdout;
mod timeline;
mod validate;

use chrono::{DateTime, Utc};

use crate::cli::{AtArg, Command, Output, OutputArg};
use crate::schedule;

use aws_observe::observe;
pub use error::CommandError;
pub use outcome::Outcome;
use stdout::{terminal_width, text_width, write_stdout};

pub async fn run(command: Command, now: DateTime<Utc>) -> Result<Outcome, CommandError> {
    match command {
        Command::Validate { schedule } => validate::validate(&schedule.schedule),
        Command::Plan {
            schedule,
            at: AtArg { at },
            output: OutputArg { output },
            detailed_exitcode,
            out,
            aws,
        } => {
            crate::progress::enable(output == Output::Text);
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
            at: AtArg { at },
            output: OutputArg { output },
            dry_run,
            lock_timeout,
            plan,
            metrics_file,
            aws,
        } => {
            crate::progress::enable(output == Output::Text);
            let flags = plan_apply::ReconcileFlags {
                schedule: &schedule.schedule,
                at: at.as_deref(),
                output,
                dry_run,
                lock_timeout: lock_timeout.into(),
                plan: plan.as_deref(),
                metrics_file: metrics_file.as_deref(),
                aws: &aws,
            };
            plan_apply::reconcile_command(&flags, now).await
        }
        Command::Show {
            planfile,
            output: OutputArg { output },
        } => plan_apply::show(&planfile, output),
        Command::Release {
            user,
            schedule,
            at: AtArg { at },
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let now = parse_at(at.as_deref(), now)?;
            let stored = backends::open(&s, &schedule.schedule, &aws).await;
            under_lock(&stored, release::release(&s, &user, &aws, &stored, now)).await
        }
        Command::Revoke {
            workshop,
            participant,
            schedule,
            at: AtArg { at },
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let now = parse_at(at.as_deref(), now)?;
            let stored = backends::open(&s, &schedule.schedule, &aws).await;
            let revoking =
                revoke::revoke(&s, &workshop, participant.as_deref(), &aws, &stored, now);
            under_lock(&stored, revoking).await
        }
        edit @ (Command::Add { .. } | Command::Remove { .. } | Command::Move { .. }) => {
            edit::run(edit, now).await
        }
        Command::List {
            schedule,
            output: OutputArg { output },
        } => edit::list(&schedule.schedule, now, output),
        Command::Timeline {
            schedule,
            from,
            days,
            at: AtArg { at },
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
        Command::Completions { shell } => shell_docs::completions(shell),
        Command::Man => shell_docs::man_page(),
        look @ (Command::Status { .. } | Command::Verify { .. } | Command::Handout { .. }) => {
            look_at_keys(look, now).await
        }
        Command::Models { command } => model_access::run(command, now).await,
    }
}

/// The commands that look at the live keys without changing them: `status`, `verify` and
/// `handout`.
async fn look_at_keys(command: Command, now: DateTime<Utc>) -> Result<Outcome, CommandError> {
    match command {
        Command::Verify {
            schedule,
            workshop,
            output: OutputArg { output },
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            inspect::verify_live_keys(&s, &aws, workshop.as_deref(), now, output).await
        }
        Command::Status {
            schedule,
            at: AtArg { at },
            output: OutputArg { output },
            wide,
            check,
            workshop,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let now = parse_at(at.as_deref(), now)?;
            match (workshop, check) {
                (Some(id), _) => status_workshop::status_workshop(&s, &id, &aws, output).await,
                (None, true) => inspect::check(&s, &aws, now, output).await,
                (None, false) => inspect::status(&s, &aws, now, output, wide).await,
            }
        }
        Command::Handout {
            workshop,
            output,
            out,
            force,
            schedule,
            aws,
        } => {
            let flags = handout::HandoutFlags {
                workshop: &workshop,
                output,
                out: &out,
                force,
            };
            let s = schedule::load(&schedule.schedule)?;
            let stored = backends::open(&s, &schedule.schedule, &aws).await;
            handout::handout(&s, stored.store.as_ref(), &flags, now).await
        }
        _ => unreachable!("look_at_keys is only called with status, verify or handout"),
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

/// Run `work` holding the reconcile lock, not waiting for it: a command beside a reconcile of
/// the same schedule would write the same keys. The lock is released whatever the outcome.
async fn under_lock(
    stored: &backends::Backends,
    work: impl std::future::Future<Output = Result<Outcome, CommandError>>,
) -> Result<Outcome, CommandError> {
    let held = lock::lock(stored.state.as_ref(), std::time::Duration::ZERO).await?;
    let result = work.await;
    held.release().await;
    result
}
