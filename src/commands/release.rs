//! `release USER`: the explicit way back from AWS's quarantine of a leaked key. First every
//! exposed key is deleted; only when all are gone is the quarantine policy detached. Then it
//! shows what the next reconcile will do (fresh keys for the live workshops, verified as usual).

use chrono::{DateTime, Utc};

use super::plan_apply::observe_and_plan;
use super::{observe, CommandError, Outcome};
use crate::apply::{self, ApplyContext};
use crate::cli::AwsArgs;
use crate::core::planner;
use crate::core::tags;
use crate::schedule::Schedule;
use crate::view::render;

pub(super) async fn release(
    s: &Schedule,
    user: &str,
    aws: &AwsArgs,
    stored: &super::backends::Backends,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    let (observed, iam) = observe(s, aws, false).await?;
    let u = match observed.user(user) {
        Some(u) if u.is_managed() => u,
        _ => {
            return Err(CommandError::Usage {
                message: format!(
                    "user {user} is not managed by workshop-keys (no user under {} with the tag {}={}); release changed nothing",
                    s.settings.path,
                    tags::MANAGED_BY_KEY,
                    tags::MANAGED_BY_VALUE
                ),
            })
        }
    };
    if u.quarantine_policy().is_none() {
        return Err(CommandError::Usage {
            message: format!(
                "user {user} is not quarantined (no AWSCompromisedKeyQuarantine policy attached); release changed nothing"
            ),
        });
    }
    let (deletes, lift) = planner::release(u, now);
    // Files of deleted keys go too; an unusable credentials folder must not keep exposed keys.
    let ctx = ApplyContext {
        credentials: stored.store.as_ref(),
        state: stored.state.as_ref(),
        region: &s.settings.region,
        concurrency: aws.concurrency.into(),
    };
    let deleted = apply::apply(&deletes, &iam, &ctx).await;
    print!("{}", render::report_text(&deleted));
    if !deleted.all_ok() {
        println!(
            "\nNot every exposed key of user {user} could be deleted, so AWS's quarantine policy stays attached. Fix the error above and run release again."
        );
        return Ok(Outcome::ReleaseIncomplete);
    }
    let lifted = apply::apply(&lift, &iam, &ctx).await;
    print!("{}", render::report_text(&lifted));
    if !lifted.all_ok() {
        println!("\nThe exposed keys of user {user} are deleted, but detaching the quarantine policy failed. Run release again.");
        return Ok(Outcome::ReleaseIncomplete);
    }
    println!(
        "\nReleased user {user}: {} deleted, AWS's quarantine policy detached.",
        crate::text::count(deletes.actions.len(), "exposed key", "exposed keys")
    );
    let (next, _, _) = observe_and_plan(s, aws, now).await?;
    println!("The next reconcile will do this (new keys are verified as usual):\n");
    print!("{}", render::plan_text(&next));
    Ok(Outcome::Done)
}
