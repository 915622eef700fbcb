//! `plan`, `reconcile` and `show`: compute a plan (or read a saved one), print it, apply it,
//! and verify the keys it created.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::reconcile_output::{NotifyResult, ReconcileOutput};
use super::{lock, observe, parse_at, CommandError, Outcome};
use crate::apply::{self, ApplyContext, Status};
use crate::cli::{AwsArgs, Output};
use crate::core::desired::Desired;
use crate::core::observed::Observed;
use crate::core::plan::{ActionKind, Plan};
use crate::core::planner;
use crate::deliver;
use crate::iam::aws::AwsIam;
use crate::limit::CallLimit;
use crate::saved_plan::SavedPlan;
use crate::schedule::{self, Schedule};
use crate::verify::check::{check_key, KeyCheck};
use crate::view::metrics::{self, Gauges};
use crate::view::render;
use crate::view::status;

/// Observe IAM and the credentials files, and plan for `at`.
pub(super) async fn observe_and_plan(
    s: &Schedule,
    aws: &AwsArgs,
    at: DateTime<Utc>,
) -> Result<(Plan, Observed, AwsIam), CommandError> {
    let (mut observed, iam) = observe(s, aws, false).await?;
    let desired = Desired::from_schedule(s);
    crate::models::observe::readiness(s, &desired, aws, at, &mut observed).await;
    let plan = planner::plan(&desired, &observed, at);
    Ok((plan, observed, iam))
}

pub(super) fn print_plan(plan: &Plan, output: Output) {
    match output {
        Output::Text => print!(
            "{}",
            render::fit_lines(&render::plan_text(plan), super::text_width())
        ),
        Output::Json => print!("{}", render::json(plan)),
    }
}

/// A loaded schedule, its text as read, and how to reach IAM and print.
pub(super) struct Job<'a> {
    pub schedule: &'a Schedule,
    pub text: &'a str,
    pub aws: &'a AwsArgs,
    pub output: Output,
}

/// `plan`: print the plan, and with `--out` save it with its fingerprints.
pub(super) async fn plan(
    job: &Job<'_>,
    at: DateTime<Utc>,
    detailed_exitcode: bool,
    out: Option<&Path>,
) -> Result<Outcome, CommandError> {
    let Job {
        schedule: s,
        text,
        aws,
        output,
    } = *job;
    let (plan, observed, _) = observe_and_plan(s, aws, at).await?;
    // Saved before anything is printed: output is the last thing a command does.
    if let Some(path) = out {
        SavedPlan::new(&s.file, text, &observed, plan.clone()).write(path)?;
    }
    print_plan(&plan, output);
    if let Some(path) = out {
        if output == Output::Text {
            println!(
                "\nSaved this plan to {}. Apply exactly it with: workshop-keys reconcile --schedule {} --plan {}",
                path.display(),
                s.file.display(),
                path.display()
            );
        }
    }
    Ok(if detailed_exitcode && !plan.is_clean() {
        Outcome::ChangesPending
    } else {
        Outcome::Done
    })
}

/// The `reconcile` flags, as given.
pub(super) struct ReconcileFlags<'a> {
    pub schedule: &'a Path,
    pub at: Option<&'a str>,
    pub output: Output,
    pub dry_run: bool,
    pub lock_timeout: Duration,
    pub plan: Option<&'a Path>,
    pub metrics_file: Option<&'a Path>,
    pub aws: &'a AwsArgs,
}

/// `reconcile` as cron runs it: take the lock, plan (or read the saved plan), apply, and write
/// the metrics file whatever the outcome.
pub(super) async fn reconcile_command(
    flags: &ReconcileFlags<'_>,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    // The lock is kept until the metrics file is written, by the run that holds it.
    let mut held = None;
    let mut gauges = None;
    let result: Result<Outcome, CommandError> = async {
        let text = schedule::read(flags.schedule)?;
        let s = schedule::parse(flags.schedule, &text)?;
        let saved = match flags.plan {
            Some(path) => Some((path, SavedPlan::read(path)?)),
            None => None,
        };
        let at = match &saved {
            Some((_, saved)) => saved.plan.at,
            None => parse_at(flags.at, now)?,
        };
        if flags.dry_run {
            match saved {
                Some((path, _)) => return show(path, flags.output),
                None => {
                    let (plan, _, _) = observe_and_plan(&s, flags.aws, at).await?;
                    print_plan(&plan, flags.output);
                    return Ok(Outcome::Done);
                }
            }
        }
        // Not checked here: a credentials directory unfit for new secrets must not stop
        // revocation. The planner refuses only the new keys then.
        let stored = super::backends::open(&s, flags.schedule, flags.aws).await;
        held = Some(lock::lock(stored.state.as_ref(), flags.lock_timeout).await?);
        let job = Job {
            schedule: &s,
            text: &text,
            aws: flags.aws,
            output: flags.output,
        };
        let (outcome, g) = reconcile(&job, at, now, &stored, saved).await?;
        gauges = Some(g);
        Ok(outcome)
    }
    .await;
    let result = match flags.metrics_file {
        // A run that found the lock taken did nothing: the run holding it writes the file.
        Some(path) if !matches!(result, Err(CommandError::Locked { .. })) => {
            let ok = matches!(result, Ok(o) if o.is_done());
            match (
                super::metrics_file::write_metrics(path, now, ok, gauges.as_ref()),
                result,
            ) {
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

/// `reconcile`: plan now (or take the saved plan, if still fresh), apply, verify new keys.
pub(super) async fn reconcile(
    job: &Job<'_>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    stored: &super::backends::Backends,
    saved: Option<(&Path, SavedPlan)>,
) -> Result<(Outcome, Gauges), CommandError> {
    let Job {
        schedule: s,
        text,
        aws,
        output,
    } = *job;
    let (fresh, observed, iam) = observe_and_plan(s, aws, at).await?;
    let plan = match saved {
        Some((path, saved)) => {
            saved.check_fresh(path, text, &observed)?;
            saved.plan
        }
        None => fresh,
    };
    // The plan answers the schedule as it was read; an edit since then gets its own run.
    if schedule::read(&s.file)? != text {
        return Err(CommandError::ScheduleChanged {
            path: s.file.clone(),
        });
    }
    let credentials = stored.store.as_ref();
    let ctx = ApplyContext {
        credentials,
        state: stored.state.as_ref(),
        region: &s.settings.region,
        concurrency: aws.concurrency.into(),
    };
    let report = apply::apply(&plan, &iam, &ctx).await;
    let checks = check_keys(s, &iam, &ctx, &plan, &report, now, at).await;
    let deliveries = deliver::deliver(&plan, &report, s, credentials, &iam, now).await;
    // A credentials directory unfit for new secrets fails every run until it is fixed, even
    // when no key was due: the next one would be refused.
    if let Some(problem) = &observed.credentials_problem {
        tracing::error!("{}", problem.message);
    }
    // For --metrics-file: IAM as this run left it, judged at the plan's time.
    let after = metrics::after_run(&observed, &report, &checks, now);
    let view = status::status_view(
        s,
        &Desired::from_schedule(s),
        &after,
        plan.quarantined.clone(),
        Vec::new(),
        plan.at,
    );
    let gauges = metrics::gauges(&view, &plan.blocked);
    let ok = report.all_ok()
        && observed.credentials_problem.is_none()
        && plan.blocked.is_empty()
        && plan.quarantined.is_empty()
        && plan.models_not_ready.is_empty()
        && checks.iter().all(|c| !c.outcome.is_key_fault())
        && deliveries.iter().all(|d| d.ok);
    // The tags that recorded verifications and hand-overs are IAM writes too: report them.
    let bookkeeping = checks.iter().flat_map(|c| &c.recorded);
    let full = apply::Report {
        results: (report.results.iter())
            .chain(bookkeeping.chain(deliveries.iter().flat_map(|d| &d.recorded)))
            .cloned()
            .collect(),
    };
    let mut summary = ReconcileOutput {
        plan: &plan,
        results: &full.results,
        verifications: &checks,
        deliveries: &deliveries,
        ok,
        notify: None,
    };
    // Tell people when something changed; a failed notification is reported, not retried.
    // Also when a model is not ready or a re-verification failed: there is still time to fix it.
    let quiet = report.results.is_empty()
        && deliveries.is_empty()
        && plan.models_not_ready.is_empty()
        && checks.iter().all(|c| !c.outcome.is_key_fault());
    let notified = if quiet {
        None
    } else {
        deliver::notify(s, &summary.to_value()).await
    };
    match output {
        Output::Text => {
            let width = super::text_width();
            print!("{}", render::fit_lines(&render::plan_text(&plan), width));
            print!("{}", render::fit_lines(&render::report_text(&full), width));
            print!(
                "{}",
                render::fit_lines(&render::checks_text(&checks), width)
            );
            print!(
                "{}",
                render::fit_lines(&render::deliveries_text(&deliveries), width)
            );
            if let Some(Err(e)) = &notified {
                println!("\nwarning: notify failed: {e}");
            }
            print_quarantine_errors(&plan);
            print_model_errors(&plan);
        }
        Output::Json => {
            summary.notify = Some(NotifyResult::from(notified.as_ref()));
            print!("{}", render::json(&summary.to_value()));
            print_quarantine_errors(&plan);
            print_model_errors(&plan);
        }
    }
    Ok((Outcome::done_unless(ok, Outcome::ReconcileFailed), gauges))
}

/// Prove each new key works before anyone relies on it, and check again the keys due for their
/// re-verification before the start.
async fn check_keys(
    s: &Schedule,
    iam: &AwsIam,
    ctx: &ApplyContext<'_>,
    plan: &Plan,
    report: &apply::Report,
    now: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<KeyCheck> {
    let credentials = ctx.credentials;
    let policy_changed: std::collections::BTreeSet<&str> = report
        .results
        .iter()
        .filter(|r| r.action.action == ActionKind::PutUserPolicy && r.status == Status::Ok)
        .map(|r| r.action.user.as_str())
        .collect();
    // One check per key, in the report's order, run concurrently under the run's bound; each
    // keeps its own backoff.
    let limit = CallLimit::new(ctx.concurrency);
    let mut checks = Vec::new();
    if s.settings.verify {
        for r in &report.results {
            if let (Some(key), Some(workshop), Some(_)) =
                (&r.created_key, r.action.claim(), &r.credentials_file)
            {
                let user = &r.action.user;
                let changed = policy_changed.contains(user.as_str());
                checks.push((workshop, user, key, now, changed));
            }
        }
    }
    // Once more in the hour before the start: a first call may have succeeded while a
    // Marketplace subscription was still failing. Recorded at the plan's time, which decided it
    // was due: a second run at the same moment (a rehearsal with --at included) finds it done.
    for r in &plan.reverify {
        checks.push((r.workshop.clone(), &r.user, &r.access_key_id, at, false));
    }
    let runs = checks
        .into_iter()
        .map(|(workshop, user, key, when, changed)| {
            let limit = &limit;
            async move {
                let models = workshop_models(s, &workshop);
                let check = check_key(
                    iam,
                    &s.settings,
                    credentials,
                    &workshop,
                    user,
                    key,
                    when,
                    true,
                    changed,
                    &models,
                );
                limit.run(check).await
            }
        });
    futures::future::join_all(runs).await
}

/// The models a workshop uses, as the schedule resolves them (empty: none named).
fn workshop_models(s: &Schedule, claim: &str) -> Vec<String> {
    s.workshop(crate::core::participants::parse_claim(claim).0)
        .map(|w| w.models.clone())
        .unwrap_or_else(|| s.settings.models.clone())
}

/// A model the room cannot use yet: on stderr too, for cron's alerting.
fn print_model_errors(plan: &Plan) {
    for m in &plan.models_not_ready {
        eprintln!(
            "error: model {} of workshop {} is not ready: {}",
            m.model, m.workshop, m.fix
        );
    }
}

/// A quarantine is an incident: say so on stderr too, where cron's alerting looks.
fn print_quarantine_errors(plan: &Plan) {
    for q in &plan.quarantined {
        eprintln!(
            "error: user {} is quarantined by AWS ({}): its keys are deactivated and it gets no new key until `workshop-keys release {}`",
            q.user, q.policy_arn, q.user
        );
    }
}

/// `show`: render a saved plan.
pub(super) fn show(path: &Path, output: Output) -> Result<Outcome, CommandError> {
    let saved = SavedPlan::read(path)?;
    match output {
        Output::Text => {
            println!(
                "Saved plan {} (schedule {}, sha256 {}):",
                path.display(),
                saved.schedule.display(),
                &saved.schedule_sha256[..12]
            );
            print!(
                "{}",
                render::fit_lines(&render::plan_text(&saved.plan), super::text_width())
            );
        }
        Output::Json => print!("{}", render::json(&saved.plan)),
    }
    Ok(Outcome::Done)
}
