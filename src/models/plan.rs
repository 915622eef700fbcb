//! The models' part of a plan, pure like the planner: which models of live workshops are not
//! ready (from readiness observed before planning), and which live keys are verified again in
//! the hour before their workshop starts.

use chrono::{DateTime, Utc};

use crate::core::desired::Desired;
use crate::core::observed::Observed;
use crate::core::plan::{ActionKind, ModelNotReady, Plan, Reverify};
use crate::core::tags;
use crate::time::human;

/// Add `models_not_ready`, the warnings about readiness that could not be read, and `reverify`.
pub fn add_to(p: &mut Plan, desired: &Desired, observed: &Observed, now: DateTime<Utc>) {
    if desired.check_models {
        not_ready(p, desired, observed, now);
    }
    if desired.verify {
        reverify(p, desired, observed, now);
    }
}

fn not_ready(p: &mut Plan, desired: &Desired, observed: &Observed, now: DateTime<Utc>) {
    for w in desired
        .users
        .values()
        .flatten()
        .filter(|w| w.is_live(now) && !w.hold_only)
    {
        for m in &w.models {
            if let Some(r) = observed.models.get(m).filter(|r| !r.ready) {
                p.models_not_ready.push(ModelNotReady {
                    workshop: w.workshop.clone(),
                    model: m.clone(),
                    fix: r.fix.clone().unwrap_or_default(),
                });
            }
            if let Some(why) = observed.models_unread.get(m) {
                p.warnings.push(format!(
                    "could not check whether model {m} is ready: {why}; the operator needs bedrock:GetFoundationModelAvailability and bedrock:GetUseCaseForModelAccess, or set check_models = false"
                ));
            }
        }
    }
    p.models_not_ready
        .sort_by(|a, b| (&a.workshop, &a.model).cmp(&(&b.workshop, &b.model)));
    // A workshop's participants share its models: one entry per workshop and model.
    p.models_not_ready
        .dedup_by(|a, b| (&a.workshop, &a.model) == (&b.workshop, &b.model));
    p.warnings.sort();
    p.warnings.dedup();
}

/// A live key whose workshop starts within `verify_before_start`, held in its credentials file
/// here, and not recorded `verified` since that hour began. Not for a key this plan replaces or
/// deactivates (a new key is verified when made), nor on a quarantined user.
fn reverify(p: &mut Plan, desired: &Desired, observed: &Observed, now: DateTime<Utc>) {
    for (user, windows) in &desired.users {
        let Some(u) = observed.user(user).filter(|u| u.is_managed()) else {
            continue;
        };
        if p.quarantined.iter().any(|q| &q.user == user) {
            continue;
        }
        for w in windows {
            let from = w.start - desired.verify_before_start;
            if !(w.is_live(now) && from <= now && now < w.start) {
                continue;
            }
            let claim = w.claim();
            let Some(k) = u.live_key_of(&claim) else {
                continue;
            };
            let id = &k.access_key_id;
            let held_here = observed
                .files
                .get(&claim)
                .is_some_and(|f| &f.access_key_id == id);
            let touched = p.actions.iter().any(|a| {
                (a.action == ActionKind::CreateKey && a.claim().as_ref() == Some(&claim))
                    || (a.action == ActionKind::DeactivateKey
                        && a.access_key_id() == Some(id.as_str()))
            });
            let done = u
                .tags
                .get(&tags::verified_tag(id))
                .and_then(|v| v.split_once(' '))
                .and_then(|(t, outcome)| Some((crate::time::parse_time(t)?, outcome)))
                .is_some_and(|(t, outcome)| t >= from && outcome.trim() == "verified");
            if held_here && !touched && !done {
                p.reverify.push(Reverify {
                    workshop: claim.clone(),
                    user: user.clone(),
                    access_key_id: id.clone(),
                    reason: format!(
                        "workshop {} starts in {}: verify the key once more (a first call may succeed while a Marketplace subscription is still failing)",
                        w.workshop,
                        human(w.start - now)
                    ),
                });
            }
        }
    }
    p.reverify
        .sort_by(|a, b| (&a.user, &a.workshop).cmp(&(&b.user, &b.workshop)));
}
