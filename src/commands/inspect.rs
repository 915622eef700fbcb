//! `status` and `verify`: read-only looks at the live keys.

use chrono::{DateTime, Utc};

use super::{observe, CommandError, Outcome};
use crate::cli::{AwsArgs, Output};
use crate::core::desired::Desired;
use crate::core::planner;
use crate::schedule::Schedule;
use crate::verify::check::check_key;
use crate::verify::Outcome as CheckOutcome;
use crate::view::health;
use crate::view::render;
use crate::view::status;

/// `status`: users, keys with their use, workshops with their state, and the plan's warnings.
pub(super) async fn status(
    s: &Schedule,
    aws: &AwsArgs,
    now: DateTime<Utc>,
    output: Output,
    wide: bool,
) -> Result<Outcome, CommandError> {
    let (observed, _) = observe(s, aws, true).await?;
    let desired = Desired::from_schedule(s);
    let plan = planner::plan(&desired, &observed, now);
    let view = status::status_view(s, &desired, &observed, plan.quarantined, plan.warnings, now);
    match output {
        Output::Text if wide => print!("{}", render::status_text(&view)),
        Output::Text => {
            let width = super::text_width().unwrap_or(crate::view::timeline::DEFAULT_WIDTH);
            print!("{}", render::status_text_fitted(&view, width));
        }
        Output::Json => print!("{}", render::json(&view)),
    }
    Ok(Outcome::Done)
}

/// `status --check`: one `CRITICAL:` line per problem, then a summary; exit 1 on any problem.
pub(super) async fn check(
    s: &Schedule,
    aws: &AwsArgs,
    now: DateTime<Utc>,
    output: Output,
) -> Result<Outcome, CommandError> {
    let (observed, _) = observe(s, aws, false).await?;
    let desired = Desired::from_schedule(s);
    let plan = planner::plan(&desired, &observed, now);
    let view = status::status_view(s, &desired, &observed, plan.quarantined, plan.warnings, now);
    let problems = health::problems(&view, &plan.blocked, s.settings.verify);
    let summary = health::summary(&view, &problems, s.settings.verify);
    match output {
        Output::Text => {
            for p in &problems {
                println!("{}", p.line());
            }
            println!("{summary}");
        }
        Output::Json => print!(
            "{}",
            render::json(&serde_json::json!({
                "ok": problems.is_empty(),
                "problems": problems,
                "summary": summary,
            }))
        ),
    }
    Ok(Outcome::done_unless(
        problems.is_empty(),
        Outcome::ProblemsFound,
    ))
}

/// `verify`: check each workshop's key (or one workshop's) with the secret in its credentials
/// file, or report a live key whose secret is not on this machine.
pub(super) async fn verify_live_keys(
    s: &Schedule,
    aws: &AwsArgs,
    only: Option<&str>,
    now: DateTime<Utc>,
    output: Output,
) -> Result<Outcome, CommandError> {
    if let Some(id) = only {
        if s.workshop(id).is_none() {
            return Err(CommandError::UnknownWorkshop { id: id.to_string() });
        }
    }
    let stored = super::backends::open(s, &s.file, aws).await;
    let (observed, iam) = observe(s, aws, false).await?;
    let mut checks = Vec::new();
    let mut without_key = Vec::new();
    for w in s
        .workshops
        .iter()
        .filter(|w| only.is_none_or(|id| id == w.id))
    {
        for (claim, user_name) in claims_of(w, &observed) {
            let user = observed.user(&user_name);
            let live = user.and_then(|u| u.live_key_of(&claim));
            // The key the trainer holds is the one in the credentials file; check it even when
            // IAM no longer lists it (deleted behind the tool's back reads `invalid-token`).
            let key = match (observed.files.get(&claim), live) {
                (Some(f), _) => f.access_key_id.clone(),
                (None, Some(k)) => k.access_key_id.clone(),
                (None, None) => {
                    without_key.push(claim);
                    continue;
                }
            };
            let listed = user.is_some_and(|u| u.key(&key).is_some());
            checks.push(
                check_key(
                    &iam,
                    &s.settings,
                    stored.store.as_ref(),
                    &claim,
                    &user_name,
                    &key,
                    now,
                    listed,
                    false,
                    &w.models,
                )
                .await,
            );
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
    let all_verified = checks.iter().all(|c| c.outcome == CheckOutcome::Verified);
    let ok = all_verified && (only.is_none() || without_key.is_empty());
    Ok(Outcome::done_unless(ok, Outcome::VerificationFailed))
}

/// The keys a workshop hands out, with the user each is on: its shared key on its user, or
/// each participant's (`ws/p07`) on the pool user whose claim tag names it.
fn claims_of(
    w: &crate::schedule::Workshop,
    observed: &crate::core::observed::Observed,
) -> Vec<(String, String)> {
    let Some(n) = w.participants else {
        return vec![(w.id.clone(), w.user.clone())];
    };
    crate::core::participants::labels(n)
        .iter()
        .map(|label| {
            let claim = crate::core::participants::claim(&w.id, Some(label));
            let user = observed
                .users
                .iter()
                .find(|u| u.live_key_of(&claim).is_some())
                .map_or_else(|| w.user.clone(), |u| u.name.clone());
            (claim, user)
        })
        .collect()
}
