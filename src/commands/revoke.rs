//! `revoke WORKSHOP [--participant LABEL]`: deactivate a leaked key (or a whole room's keys) at
//! once, then say what the next reconcile does about it. Runs under the reconcile lock.

use chrono::{DateTime, Utc};

use super::{observe, CommandError, Outcome};
use crate::apply::{self, ApplyContext, Status};
use crate::cli::AwsArgs;
use crate::core::desired::Desired;
use crate::core::planner;
use crate::schedule::Schedule;

pub(super) async fn revoke(
    s: &Schedule,
    workshop: &str,
    participant: Option<&str>,
    aws: &AwsArgs,
    stored: &super::backends::Backends,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    let desired = Desired::from_schedule(s);
    // Unknown names are refused before any IAM call.
    planner::revoke(
        &desired,
        &crate::core::observed::Observed::default(),
        workshop,
        participant,
        now,
    )
    .map_err(|e| CommandError::Usage {
        message: format!("{e}; revoke changed nothing"),
    })?;
    let (observed, iam) = observe(s, aws, false).await?;
    let plan = planner::revoke(&desired, &observed, workshop, participant, now).map_err(|e| {
        CommandError::Usage {
            message: e.to_string(),
        }
    })?;
    let whose = match participant {
        Some(label) => format!("participant {label} of workshop {workshop}"),
        None => format!("workshop {workshop}"),
    };
    if plan.actions.is_empty() {
        println!("{whose} has no live key: nothing to revoke, nothing changed.");
        return Ok(Outcome::NothingToRevoke);
    }
    let ctx = ApplyContext {
        credentials: stored.store.as_ref(),
        state: stored.state.as_ref(),
        region: &s.settings.region,
        concurrency: aws.concurrency.into(),
    };
    let report = apply::apply(&plan, &iam, &ctx).await;
    for r in &report.results {
        let a = &r.action;
        let who = match &a.participant {
            Some(label) => format!("{label}'s key"),
            None => format!(
                "workshop {}'s shared key",
                a.workshop.as_deref().unwrap_or("?")
            ),
        };
        let key = a.access_key_id().unwrap_or_default();
        match r.status {
            Status::Ok => println!("revoked {who} {key} on user {} (deactivated)", a.user),
            _ => println!(
                "could not revoke {who} {key} on user {}: {}",
                a.user,
                r.detail.as_deref().unwrap_or("skipped")
            ),
        }
    }
    let window_open = desired
        .users
        .values()
        .flatten()
        .chain(&desired.participants)
        .any(|w| {
            w.workshop == workshop
                && participant.is_none_or(|p| w.participant.as_deref() == Some(p))
                && w.is_live(now)
        });
    if window_open {
        println!(
            "The next reconcile hands {whose} a fresh key and credentials file while the window is open; the revoked key is deleted after the hold ({}).",
            crate::time::human(s.settings.hold)
        );
    } else {
        println!(
            "The window of {whose} is closed: no new key follows; the revoked key is deleted after the hold ({}).",
            crate::time::human(s.settings.hold)
        );
    }
    if report.all_ok() {
        Ok(Outcome::Done)
    } else {
        println!("Not every key was revoked: fix the error above and run revoke again.");
        Ok(Outcome::RevokeIncomplete)
    }
}
