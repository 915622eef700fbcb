//! The decision: `plan(desired, observed, now) -> Plan`. Pure: no I/O, no clock.
//!
//! Rules, per user the schedule names (see README, "How keys live"):
//! - the user exists under the managed path with the managed-by tag and carries exactly the
//!   schedule's inline policy;
//! - a workshop's key is live from `key_from` to `revoke_at`, deactivated then, deleted at
//!   `delete_at`, or earlier when its slot is needed (two keys per user; inactive keys count);
//! - keys no scheduled workshop claims are deactivated now and deleted after the hold;
//! - new keys come before old ones go; a workshop that cannot get a slot is `blocked`.
//!
//! Users the schedule no longer names are emptied and deleted. Users outside the path or
//! without the managed-by tag are never in a plan.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::core::desired::{Desired, Window};
use crate::core::limits::TAGS_PER_USER;
use crate::core::observed::{KeyStatus, Observed, ObservedKey, ObservedUser, PendingCreate};
use crate::core::plan::{
    Action, ActionKind, Blocked, Delivery, Effect, Op, Plan, Quarantined, Settled,
};
use crate::core::policy::{self, POLICY_NAME};
use crate::core::tags;
use crate::time::human;

pub use crate::core::limits::{KEYS_PER_USER, VISIBILITY_WINDOW};

mod keys;
mod pending;
mod policies;
mod pool;
mod quarantine;
mod removal;
mod revoke;
mod stale;
mod tokens;

use keys::*;
use pending::*;
use policies::*;
pub use quarantine::release;
use quarantine::*;
use removal::*;
pub use revoke::{revoke, RevokeError};
use stale::*;
use tokens::*;

/// Execution order: each action goes in one phase; phases run in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    CreateUser,
    TagUser,
    Policy,
    PolicyCleanup,
    /// Key deletions: before the creates, so that a create never meets the two-key limit.
    FreeSlot,
    CreateKey,
    /// New bearer tokens for live keys (`settings.bedrock_api_key`).
    RefreshToken,
    /// Revocations: after the creates (zero downtime).
    Deactivate,
    DeleteKey,
    DeleteUser,
}

#[derive(Default)]
struct Builder {
    actions: Vec<(Phase, Action)>,
    blocked: Vec<Blocked>,
    waiting: Vec<Blocked>,
    warnings: Vec<String>,
    deliveries: Vec<Delivery>,
    settled: Vec<Settled>,
    quarantined: Vec<Quarantined>,
}

impl Builder {
    fn push(&mut self, phase: Phase, action: Action) {
        self.actions.push((phase, action));
    }

    fn finish(mut self, now: DateTime<Utc>) -> Plan {
        self.actions.sort_by(|(pa, a), (pb, b)| {
            (
                pa,
                &a.user,
                a.access_key_id(),
                &a.workshop,
                a.kind(),
                a.policy_name(),
                a.policy_arn(),
                a.untag(),
            )
                .cmp(&(
                    pb,
                    &b.user,
                    b.access_key_id(),
                    &b.workshop,
                    b.kind(),
                    b.policy_name(),
                    b.policy_arn(),
                    b.untag(),
                ))
        });
        for list in [&mut self.blocked, &mut self.waiting] {
            list.sort_by(|a, b| (&a.workshop, &a.reason).cmp(&(&b.workshop, &b.reason)));
        }
        self.warnings.sort();
        self.warnings.dedup();
        self.deliveries.sort_by(|a, b| {
            (&a.user, &a.workshop, &a.access_key_id).cmp(&(&b.user, &b.workshop, &b.access_key_id))
        });
        self.settled
            .sort_by(|a, b| (&a.user, &a.workshop).cmp(&(&b.user, &b.workshop)));
        self.quarantined.sort_by(|a, b| a.user.cmp(&b.user));
        Plan {
            at: now,
            actions: self.actions.into_iter().map(|(_, a)| a).collect(),
            blocked: self.blocked,
            waiting: self.waiting,
            warnings: self.warnings,
            deliveries: self.deliveries,
            settled: self.settled,
            quarantined: self.quarantined,
            models_not_ready: vec![],
            reverify: vec![],
        }
    }
}

/// Compute the plan for `now`.
pub fn plan(desired: &Desired, observed: &Observed, now: DateTime<Utc>) -> Plan {
    let mut b = Builder::default();
    // Pool users join the schedule's users with the participants they carry in this run.
    let assigned = pool::assign(desired, observed, now);
    b.blocked.extend(assigned.blocked);
    let effective;
    let desired = if assigned.users.is_empty() {
        desired
    } else {
        effective = desired.with_pool_users(assigned.users);
        &effective
    };
    for (name, windows) in &desired.users {
        match observed.user(name) {
            _ if observed.outside_path.contains(name) => refuse_user(
                &mut b,
                name,
                windows,
                now,
                format!("exists outside the managed path {}", desired.path),
                "choose another user name for these workshops, or move the user under the path"
                    .to_string(),
            ),
            Some(u) if !u.is_managed() => refuse_user(
                &mut b,
                name,
                windows,
                now,
                format!(
                    "exists without the tag {}={}",
                    tags::MANAGED_BY_KEY,
                    tags::MANAGED_BY_VALUE
                ),
                format!(
                    "tag it {}={} to hand it to workshop-keys, or choose another user name",
                    tags::MANAGED_BY_KEY,
                    tags::MANAGED_BY_VALUE
                ),
            ),
            Some(u) => {
                plan_policies(&mut b, desired, u, now);
                plan_quarantine(&mut b, observed, u, now);
                plan_keys(&mut b, desired, observed, name, windows, Some(u), now);
                if desired.pool.contains(name) {
                    retire_pool_user(&mut b, observed, u, windows, now);
                }
            }
            None => {
                let op = Op::CreateUser {
                    path: desired.path.clone(),
                    tags: BTreeMap::from([(
                        tags::MANAGED_BY_KEY.to_string(),
                        tags::MANAGED_BY_VALUE.to_string(),
                    )]),
                };
                let create = Action::new(op, Effect::Create, name, "named by the schedule");
                b.push(Phase::CreateUser, create);
                b.push(
                    Phase::Policy,
                    put_policy(desired, name, now, Effect::Create, "new user"),
                );
                plan_keys(&mut b, desired, observed, name, windows, None, now);
            }
        }
    }
    for u in &observed.users {
        if u.is_managed() && !desired.users.contains_key(&u.name) {
            if plan_quarantine(&mut b, observed, u, now).is_some() {
                plan_quarantined_removal(&mut b, observed, u);
            } else {
                plan_user_removal(&mut b, observed, u);
            }
        }
    }
    plan_stale_files(&mut b, desired, observed, now);
    if let Some(problem) = &observed.credentials_problem {
        b.warnings.push(format!(
            "{}. Keys are still deactivated and deleted on time, but no new key is created until this is fixed",
            problem.message
        ));
    }
    plan_bearer_tokens(&mut b, desired, observed, now);
    let mut p = b.finish(now);
    crate::models::plan::add_to(&mut p, desired, observed, now);
    p
}

/// A user the tool may not touch: its live workshops are blocked.
fn refuse_user(
    b: &mut Builder,
    name: &str,
    windows: &[Window],
    now: DateTime<Utc>,
    why: String,
    fix: String,
) {
    for w in windows.iter().filter(|w| w.is_live(now) && !w.hold_only) {
        b.blocked.push(Blocked {
            workshop: w.claim(),
            reason: format!("user {name} {why}; workshop-keys never touches such a user: {fix}"),
        });
    }
    b.warnings
        .push(format!("user {name} {why}: left untouched ({fix})"));
}
