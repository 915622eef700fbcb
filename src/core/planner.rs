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
    for w in windows.iter().filter(|w| w.is_live(now)) {
        b.blocked.push(Blocked {
            workshop: w.workshop.clone(),
            reason: format!("user {name} {why}; workshop-keys never touches such a user: {fix}"),
        });
    }
    b.warnings
        .push(format!("user {name} {why}: left untouched ({fix})"));
}

fn put_policy(
    desired: &Desired,
    user: &str,
    now: DateTime<Utc>,
    effect: Effect,
    reason: &str,
) -> Action {
    let op = Op::PutUserPolicy {
        policy_name: POLICY_NAME.to_string(),
        document: desired.policy_document(user, now),
    };
    Action::new(op, effect, user, reason)
}

/// Exactly the schedule's inline policy, with the user's deadline; nothing else inline or
/// attached, except AWS's quarantine policy, which only `release` takes off.
fn plan_policies(b: &mut Builder, desired: &Desired, u: &ObservedUser, now: DateTime<Utc>) {
    let wanted = desired.policy_document(&u.name, now);
    match u.inline_policies.get(POLICY_NAME) {
        None => b.push(
            Phase::Policy,
            put_policy(desired, &u.name, now, Effect::Create, "policy missing"),
        ),
        Some(doc) if !policy::same_document(doc, &wanted) => {
            let moved = match (policy::deadline_of(doc), policy::deadline_of(&wanted)) {
                (Some(old), Some(new)) if old != new && same_but_deadline(doc, &wanted) => {
                    format!(
                        "deadline moves from {} to {}",
                        crate::time::format_time(old),
                        crate::time::format_time(new)
                    )
                }
                _ => "policy differs from the schedule's".to_string(),
            };
            b.push(
                Phase::Policy,
                put_policy(desired, &u.name, now, Effect::Change, &moved),
            )
        }
        Some(_) => {}
    }
    for name in u.inline_policies.keys().filter(|n| *n != POLICY_NAME) {
        let op = Op::DeleteUserPolicy {
            policy_name: name.clone(),
        };
        let a = Action::new(
            op,
            Effect::Delete,
            &u.name,
            "inline policy not in the schedule",
        );
        b.push(Phase::PolicyCleanup, a);
    }
    for arn in u
        .attached_policies
        .iter()
        .filter(|a| !policy::is_quarantine(a))
    {
        let op = Op::DetachUserPolicy {
            policy_arn: arn.clone(),
        };
        let a = Action::new(
            op,
            Effect::Delete,
            &u.name,
            "managed policy not in the schedule",
        );
        b.push(Phase::PolicyCleanup, a);
    }
}

/// Two documents that differ only in the deadline's time.
fn same_but_deadline(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let strip = |d: &serde_json::Value| {
        let mut d = d.clone();
        if let Some(list) = d["Statement"].as_array_mut() {
            list.retain(|s| s["Sid"] != policy::DEADLINE_SID);
        }
        d
    };
    policy::same_document(&strip(a), &strip(b))
}

/// AWS's quarantine on a managed user: reported on every run, recorded once (when it was first
/// seen and which keys were exposed), and its record dropped once the policy is gone. Returns
/// the quarantine policy's ARN.
fn plan_quarantine<'u>(
    b: &mut Builder,
    observed: &Observed,
    u: &'u ObservedUser,
    now: DateTime<Utc>,
) -> Option<&'u str> {
    let record = u.tags.get(tags::QUARANTINED);
    let Some(arn) = u.quarantine_policy() else {
        if record.is_some() {
            let op = Op::TagUser {
                access_key_id: None,
                tags: BTreeMap::new(),
                untag: vec![tags::QUARANTINED.to_string()],
            };
            let a = Action::new(
                op,
                Effect::Change,
                &u.name,
                "AWS's quarantine policy is no longer attached: drop its record",
            );
            b.push(Phase::TagUser, a);
        }
        return None;
    };
    let keys: Vec<String> = u
        .keys
        .iter()
        .filter(|k| !observed.deleted.contains_key(&k.access_key_id))
        .map(|k| k.access_key_id.clone())
        .collect();
    let since = match record {
        Some(value) => tags::parse_quarantined(value).0,
        None => {
            let op = Op::TagUser {
                access_key_id: None,
                tags: BTreeMap::from([(
                    tags::QUARANTINED.to_string(),
                    tags::quarantined_value(now, &keys),
                )]),
                untag: Vec::new(),
            };
            let a = Action::new(
                op,
                Effect::Change,
                &u.name,
                "record when AWS's quarantine was first seen, and the exposed keys",
            );
            b.push(Phase::TagUser, a);
            None
        }
    };
    b.quarantined.push(Quarantined {
        user: u.name.clone(),
        policy_arn: arn.to_string(),
        keys,
        since,
    });
    Some(arn)
}

/// `release USER`, in two steps: first delete every key the user held when the quarantine was
/// seen and every key it holds now (their secrets are exposed); only when all of those are gone,
/// detach AWS's quarantine policies and drop the record. Empty when the user is not quarantined.
pub fn release(u: &ObservedUser, now: DateTime<Utc>) -> (Plan, Plan) {
    let empty = |actions: Vec<Action>| Plan {
        at: now,
        actions,
        blocked: vec![],
        waiting: vec![],
        warnings: vec![],
        deliveries: vec![],
        settled: vec![],
        quarantined: vec![],
        models_not_ready: vec![],
        reverify: vec![],
    };
    if u.quarantine_policy().is_none() {
        return (empty(vec![]), empty(vec![]));
    }
    let recorded = u
        .tags
        .get(tags::QUARANTINED)
        .map(|v| tags::parse_quarantined(v).1)
        .unwrap_or_default();
    let exposed: BTreeSet<String> = recorded
        .into_iter()
        .chain(u.keys.iter().map(|k| k.access_key_id.clone()))
        .collect();
    let deletes = exposed
        .iter()
        .map(|id| {
            let op = Op::DeleteKey {
                access_key_id: id.clone(),
            };
            let mut a = Action::new(
                op,
                Effect::Delete,
                &u.name,
                "exposed: held by the user when AWS quarantined it",
            );
            a.workshop = u.tags.get(id).cloned();
            a
        })
        .collect();
    let mut lift: Vec<Action> = u
        .attached_policies
        .iter()
        .filter(|arn| policy::is_quarantine(arn))
        .map(|arn| {
            let op = Op::DetachUserPolicy {
                policy_arn: arn.clone(),
            };
            Action::new(
                op,
                Effect::Delete,
                &u.name,
                "release: every exposed key is deleted",
            )
        })
        .collect();
    let op = Op::TagUser {
        access_key_id: None,
        tags: BTreeMap::new(),
        untag: vec![tags::QUARANTINED.to_string()],
    };
    let untag = Action::new(
        op,
        Effect::Change,
        &u.name,
        "release: drop the quarantine record",
    );
    lift.push(untag);
    (empty(deletes), empty(lift))
}

/// Why nothing new happens on a quarantined user, and what the operator does about it.
fn quarantine_reason(user: &str, arn: &str) -> String {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    format!(
        "user {user} is quarantined by AWS ({name} attached: one of its keys leaked), so it gets no new key; check CloudTrail for unwanted use, then run `workshop-keys release {user}`, or move the workshop to another user"
    )
}

/// A quarantined user the schedule no longer names: its keys are deactivated, and the user,
/// its keys and AWS's policy stay until `release`; the next reconcile then deletes the user.
fn plan_quarantined_removal(b: &mut Builder, observed: &Observed, u: &ObservedUser) {
    let why = "user quarantined by AWS: its keys leaked";
    for k in u.keys.iter().filter(|k| k.status == KeyStatus::Active) {
        if !observed.deleted.contains_key(&k.access_key_id) {
            let workshop = u.tags.get(&k.access_key_id);
            b.push(
                Phase::Deactivate,
                key_action(ActionKind::DeactivateKey, &u.name, k, workshop, why),
            );
        }
    }
    b.warnings.push(format!(
        "user {} is no longer in the schedule but quarantined by AWS: it stays until `workshop-keys release {}`; the next reconcile then deletes it",
        u.name, u.name
    ));
}

/// A managed user the schedule no longer names: emptied, then deleted.
fn plan_user_removal(b: &mut Builder, observed: &Observed, u: &ObservedUser) {
    let why = "user no longer named by the schedule";
    for name in u.inline_policies.keys() {
        let op = Op::DeleteUserPolicy {
            policy_name: name.clone(),
        };
        let a = Action::new(op, Effect::Delete, &u.name, why);
        b.push(Phase::PolicyCleanup, a);
    }
    for arn in &u.attached_policies {
        let op = Op::DetachUserPolicy {
            policy_arn: arn.clone(),
        };
        let a = Action::new(op, Effect::Delete, &u.name, why);
        b.push(Phase::PolicyCleanup, a);
    }
    for k in &u.keys {
        if observed.deleted.contains_key(&k.access_key_id) {
            continue;
        }
        let workshop = u.tags.get(&k.access_key_id);
        if k.status == KeyStatus::Active {
            b.push(
                Phase::Deactivate,
                key_action(ActionKind::DeactivateKey, &u.name, k, workshop, why),
            );
        }
        b.push(
            Phase::DeleteKey,
            key_action(ActionKind::DeleteKey, &u.name, k, workshop, why),
        );
    }
    b.push(
        Phase::DeleteUser,
        Action::new(Op::DeleteUser, Effect::Delete, &u.name, why),
    );
}

fn key_action(
    kind: ActionKind,
    user: &str,
    k: &ObservedKey,
    workshop: Option<&String>,
    reason: &str,
) -> Action {
    let access_key_id = k.access_key_id.clone();
    let op = match kind {
        ActionKind::DeactivateKey => Op::DeactivateKey {
            access_key_id,
            tags: BTreeMap::new(),
        },
        _ => Op::DeleteKey { access_key_id },
    };
    let mut a = Action::new(op, Effect::Delete, user, reason);
    a.workshop = workshop.cloned();
    a
}

/// What happens to one existing key in this run.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// Stays active.
    Keep,
    /// Active now, deactivated in this run, kept inactive afterwards.
    Deactivate(String),
    /// Inactive, kept until `until`.
    Hold { until: DateTime<Utc> },
    /// Deleted in this run (deactivated first if active).
    Delete(String),
}

struct KeyPlan<'a> {
    key: &'a ObservedKey,
    /// The workshop that owns it, when that workshop is scheduled on this user.
    owner: Option<&'a Window>,
    /// The claim tag's value, whatever it names.
    claim: Option<String>,
    fate: Fate,
}

/// A key a live workshop needs.
struct Need<'a> {
    window: &'a Window,
    reason: String,
    /// The workshop holds a key already (rotation, or a replacement).
    rotation: bool,
    /// Replaces a key whose secret is lost: the workshop cannot run without it.
    lost_secret: bool,
}

#[allow(clippy::too_many_arguments)]
fn plan_keys(
    b: &mut Builder,
    desired: &Desired,
    observed: &Observed,
    user: &str,
    windows: &[Window],
    existing: Option<&ObservedUser>,
    now: DateTime<Utc>,
) {
    let empty_tags = BTreeMap::new();
    let (listed, user_tags) = match existing {
        Some(u) => (u.keys.as_slice(), &u.tags),
        None => (&[][..], &empty_tags),
    };
    // Keys this tool deleted are gone, even while IAM still lists them.
    let live: Vec<ObservedKey> = listed
        .iter()
        .filter(|k| !observed.deleted.contains_key(&k.access_key_id))
        .cloned()
        .collect();
    let keys = live.as_slice();
    let window_of = |id: &str| windows.iter().find(|w| w.workshop == id);

    // Ownership: the claim tag, or (when a run stopped between writing the credentials file and
    // tagging) the credentials file that holds the key.
    let mut plans: Vec<KeyPlan> = Vec::new();
    for k in keys {
        let id = &k.access_key_id;
        let claim = user_tags.get(id).cloned();
        let mut owner = claim.as_deref().and_then(window_of);
        if claim.is_none() {
            let adopted = windows.iter().find(|w| {
                observed
                    .files
                    .get(&w.workshop)
                    .is_some_and(|f| &f.access_key_id == id)
            });
            if let Some(w) = adopted {
                let op = Op::TagUser {
                    access_key_id: Some(id.clone()),
                    tags: BTreeMap::from([(id.clone(), w.workshop.clone())]),
                    untag: Vec::new(),
                };
                let a = Action::new(
                    op,
                    Effect::Change,
                    user,
                    format!(
                        "claim key for workshop {}: its credentials file holds the key",
                        w.workshop
                    ),
                )
                .workshop(&w.workshop);
                b.push(Phase::TagUser, a);
                owner = Some(w);
            }
        }
        plans.push(KeyPlan {
            key: k,
            owner,
            claim,
            fate: Fate::Keep,
        });
    }

    // When each inactive key was deactivated, from our tag; stamp keys that lack it.
    let deactivated_at = |k: &ObservedKey| {
        user_tags
            .get(&tags::deactivated_tag(&k.access_key_id))
            .and_then(|v| crate::time::parse_time(v))
    };

    // Fates before slot accounting.
    for i in 0..plans.len() {
        let fate = {
            let p = &plans[i];
            let k = p.key;
            let active = k.status == KeyStatus::Active;
            let since = deactivated_at(k).unwrap_or(now);
            match p.owner {
                Some(w) if now >= w.delete_at => Fate::Delete(format!(
                    "workshop {} ended {} ago; hold over",
                    w.workshop,
                    human(now - w.end)
                )),
                Some(w) if now >= w.revoke_at => {
                    if active {
                        Fate::Deactivate(format!(
                            "workshop {} ended {} ago; grace over",
                            w.workshop,
                            human(now - w.end)
                        ))
                    } else {
                        Fate::Hold { until: w.delete_at }
                    }
                }
                Some(w) if now < w.key_from => {
                    let why = format!(
                        "workshop {} does not need a key until {}",
                        w.workshop,
                        crate::time::format_time(w.key_from)
                    );
                    hold_or_delete(active, since + desired.hold, now, why)
                }
                Some(w) => {
                    // Live window: the newest active key is current; older ones go after the
                    // rotation overlap.
                    let newest = plans
                        .iter()
                        .filter(|q| {
                            q.key.status == KeyStatus::Active
                                && q.owner.is_some_and(|o| o.workshop == w.workshop)
                        })
                        .map(|q| (q.key.created, &q.key.access_key_id))
                        .max();
                    match newest {
                        Some((_, id)) if id == &k.access_key_id => Fate::Keep,
                        Some((created, id)) if active => {
                            if now >= created + desired.rotation_overlap {
                                Fate::Deactivate(format!(
                                    "replaced by newer key {id} of workshop {}",
                                    w.workshop
                                ))
                            } else {
                                Fate::Keep
                            }
                        }
                        _ => {
                            let until = (since + desired.hold).min(w.delete_at);
                            hold_or_delete(
                                false,
                                until,
                                now,
                                format!("inactive key of workshop {}; hold over", w.workshop),
                            )
                        }
                    }
                }
                None => {
                    let why = match &p.claim {
                        Some(other) => format!(
                            "claimed by workshop {other}, which the schedule does not list on this user"
                        ),
                        None => "not claimed by any scheduled workshop".to_string(),
                    };
                    hold_or_delete(active, since + desired.hold, now, why)
                }
            }
        };
        plans[i].fate = fate;
    }

    // AWS quarantined the user: every active key goes now, none comes.
    let quarantine = existing.and_then(ObservedUser::quarantine_policy);
    if let Some(arn) = quarantine {
        let why = quarantine_reason(user, arn);
        for p in &mut plans {
            if matches!(p.fate, Fate::Keep | Fate::Deactivate(_)) {
                p.fate = Fate::Deactivate(format!(
                    "user quarantined by AWS ({}): the key leaked",
                    arn.rsplit('/').next().unwrap_or(arn)
                ));
            }
        }
        for w in windows.iter().filter(|w| w.is_live(now)) {
            b.blocked.push(Blocked {
                workshop: w.workshop.clone(),
                reason: why.clone(),
            });
        }
    }
    // IAM refuses a 51st tag: a new key needs room for the tags the tool keeps.
    let foreign_tags = user_tags.keys().filter(|t| !tags::is_own(t)).count();
    let tags_full = foreign_tags + tags::MAX_OWN_TAGS > TAGS_PER_USER;

    // Inactive keys we keep for a while need a deactivation time to count the hold from.
    for p in &plans {
        let stays_inactive = matches!(p.fate, Fate::Hold { .. });
        if stays_inactive && deactivated_at(p.key).is_none() {
            let tag = tags::deactivated_tag(&p.key.access_key_id);
            let op = Op::TagUser {
                access_key_id: Some(p.key.access_key_id.clone()),
                tags: BTreeMap::from([(tag, crate::time::format_time(now))]),
                untag: Vec::new(),
            };
            let a = Action::new(
                op,
                Effect::Change,
                user,
                "record when the inactive key was first seen, to count its hold from",
            );
            b.push(Phase::TagUser, a);
        }
    }

    // What live workshops need.
    let mut needs: Vec<Need> = Vec::new();
    let files_unknown = observed
        .credentials_problem
        .as_ref()
        .is_some_and(|p| p.unlisted);
    for w in windows
        .iter()
        .filter(|w| w.is_live(now) && quarantine.is_none())
    {
        let current = plans
            .iter()
            .filter(|p| p.fate == Fate::Keep && p.owner.is_some_and(|o| o.workshop == w.workshop))
            .map(|p| p.key)
            .max_by_key(|k| (k.created, &k.access_key_id));
        match current {
            None => {
                if let Some(pending) = pending_key(observed, &w.workshop, now) {
                    b.warnings.push(format!(
                        "workshop {}: key {pending} was created less than {} ago and is not visible in IAM yet; not creating another",
                        w.workshop,
                        human(VISIBILITY_WINDOW)
                    ));
                    continue;
                }
                let reason = if now < w.start {
                    format!("workshop {} starts in {}", w.workshop, human(w.start - now))
                } else {
                    format!(
                        "workshop {} is live until {}",
                        w.workshop,
                        crate::time::format_time(w.revoke_at)
                    )
                };
                needs.push(Need {
                    window: w,
                    reason,
                    rotation: false,
                    lost_secret: false,
                });
            }
            Some(k) => {
                match observed.files.get(&w.workshop) {
                    Some(f) if f.access_key_id == k.access_key_id => {
                        let delivered =
                            user_tags.contains_key(&tags::delivered_tag(&k.access_key_id));
                        if desired.deliver && !delivered {
                            b.deliveries.push(Delivery {
                                workshop: w.workshop.clone(),
                                user: user.to_string(),
                                access_key_id: Some(k.access_key_id.clone()),
                                reason: "not handed over yet (an earlier delivery failed)".into(),
                            });
                        }
                    }
                    // A newer key written moments ago that IAM does not list yet: in hand.
                    _ if pending_key(observed, &w.workshop, now).is_some() => {}
                    // The files could not be listed: nothing is known about the secret.
                    _ if files_unknown => {}
                    // The secret is gone: nobody can run the workshop with this key, so it
                    // is replaced like a rotation (the old key goes after the overlap).
                    other => {
                        let why = match other {
                            None => "is missing".to_string(),
                            Some(f) => format!("holds another key ({})", f.access_key_id),
                        };
                        // A key claimed for the workshop that IAM does not list may be one
                        // made moments ago (its file lost with the folder): it takes a slot
                        // that cannot be counted, so wait for IAM rather than meet the limit.
                        let unlisted_claim = user_tags.iter().find(|(id, claim)| {
                            **claim == w.workshop
                                && tags::is_access_key_id(id)
                                && !listed.iter().any(|l| &l.access_key_id == *id)
                        });
                        if let Some((id, _)) = unlisted_claim {
                            b.waiting.push(Blocked {
                                workshop: w.workshop.clone(),
                                reason: format!(
                                    "key {} has lost its secret (no {}.env here), but key {id} claimed for the workshop is not listed in IAM yet; it is replaced once IAM shows that key, or its claim is removed",
                                    k.access_key_id, w.workshop
                                ),
                            });
                            continue;
                        }
                        // Said where `status` shows it too.
                        b.warnings.push(format!(
                            "workshop {}: its live key {} has no credentials file here ({}.env {why}): its secret is lost, so the key is replaced",
                            w.workshop, k.access_key_id, w.workshop
                        ));
                        needs.push(Need {
                            window: w,
                            reason: format!(
                                "replace key {} of workshop {}: its credentials file {}.env {why}, so its secret is lost",
                                k.access_key_id, w.workshop, w.workshop
                            ),
                            rotation: true,
                            lost_secret: true,
                        });
                        continue;
                    }
                }
                if let Some(rotate_after) = desired.rotate_after {
                    let worth_it = now + desired.rotation_overlap < w.revoke_at;
                    if now - k.created >= rotate_after && worth_it {
                        needs.push(Need {
                            window: w,
                            reason: format!(
                                "rotate key {} of workshop {}: live for {} (rotate_after {})",
                                k.access_key_id,
                                w.workshop,
                                human(now - k.created),
                                human(rotate_after)
                            ),
                            rotation: true,
                            lost_secret: false,
                        });
                    }
                }
            }
        }
    }
    needs.sort_by_key(|n| (n.rotation, n.window.key_from, n.window.workshop.clone()));

    // Slots: two keys per user, inactive ones included, and keys this tool made moments ago
    // that IAM does not list yet (they count in IAM's limit already).
    let settled = settle_creations(observed, user, listed, user_tags, now);
    let invisible = invisible_keys(observed, user, windows, now, &settled);
    b.settled.extend(settled);
    let mut used = plans
        .iter()
        .filter(|p| !matches!(p.fate, Fate::Delete(_)))
        .count()
        + invisible;
    // IAM never holds more than two keys on a user: a view with more is still catching up
    // with deletions, and no slot can be trusted to be free.
    let lagging = keys.len() > KEYS_PER_USER;
    for need in needs {
        // A new secret needs a safe place; without one the key is not made (nothing else
        // waits for it: revocations go on).
        if let Some(problem) = &observed.credentials_problem {
            b.blocked.push(Blocked {
                workshop: need.window.workshop.clone(),
                reason: format!(
                    "{}, but no key is created: {}",
                    need.reason, problem.message
                ),
            });
            continue;
        }
        if tags_full {
            let msg = format!(
                "user {user} carries {foreign_tags} tags that are not workshop-keys' own; with the up to {} the tool keeps for its keys it would pass IAM's limit of {TAGS_PER_USER} tags per user, and tagging a new key would fail: remove at least {} of them",
                tags::MAX_OWN_TAGS,
                foreign_tags + tags::MAX_OWN_TAGS - TAGS_PER_USER
            );
            if need.rotation {
                b.warnings.push(format!(
                    "workshop {}: rotation postponed: {msg}",
                    need.window.workshop
                ));
            } else {
                b.blocked.push(Blocked {
                    workshop: need.window.workshop.clone(),
                    reason: msg,
                });
            }
            continue;
        }
        if lagging {
            b.waiting.push(Blocked {
                workshop: need.window.workshop.clone(),
                reason: format!(
                    "IAM lists {} keys for user {user}, more than it allows, so its view is still catching up; the next run creates the key",
                    keys.len()
                ),
            });
            continue;
        }
        if used >= KEYS_PER_USER {
            // Free as many slots as needed (more than one when keys IAM does not list yet
            // take some), or delete nothing.
            let short = used + 1 - KEYS_PER_USER;
            let victims = plans
                .iter()
                .filter(|p| matches!(p.fate, Fate::Hold { .. } | Fate::Deactivate(_)))
                .count();
            if victims < short {
                no_slot(b, &plans, user, &need, victims + invisible >= short);
                continue;
            }
            for _ in 0..short {
                let i = pick_victim(&plans).expect("victims counted above");
                plans[i].fate = Fate::Delete(format!(
                    "frees a slot for workshop {} (AWS allows two keys per user)",
                    need.window.workshop
                ));
                used -= 1;
            }
        }
        used += 1;
        if desired.deliver {
            b.deliveries.push(Delivery {
                workshop: need.window.workshop.clone(),
                user: user.to_string(),
                access_key_id: None,
                reason: "new key".into(),
            });
        }
        b.push(
            Phase::CreateKey,
            Action::new(
                Op::CreateKey {
                    bearer_token_until: None,
                },
                Effect::Create,
                user,
                need.reason,
            )
            .workshop(&need.window.workshop),
        );
    }

    // Emit key actions.
    for p in &plans {
        let workshop = p.owner.map(|w| &w.workshop).or(p.claim.as_ref());
        let active = p.key.status == KeyStatus::Active;
        match &p.fate {
            Fate::Keep | Fate::Hold { .. } => {}
            Fate::Deactivate(why) => {
                let mut a = key_action(ActionKind::DeactivateKey, user, p.key, workshop, why);
                // Deactivated before (IAM's view lagging): the hold still counts from then.
                let tag = tags::deactivated_tag(&p.key.access_key_id);
                if let (Some(since), Op::DeactivateKey { tags, .. }) =
                    (user_tags.get(&tag), &mut a.action)
                {
                    tags.insert(tag, since.clone());
                }
                b.push(Phase::Deactivate, a)
            }
            // Every deletion precedes the creates: slot accounting counts deleted keys as
            // gone. Keys deleted here are past their use, so no downtime follows.
            Fate::Delete(why) => {
                if active {
                    b.push(
                        Phase::FreeSlot,
                        key_action(ActionKind::DeactivateKey, user, p.key, workshop, why),
                    );
                }
                b.push(
                    Phase::FreeSlot,
                    key_action(ActionKind::DeleteKey, user, p.key, workshop, why),
                );
            }
        }
    }

    plan_stale_tags(b, observed, user, keys, user_tags, now);
}

/// A workshop finds no slot: it waits when only keys IAM does not list yet stand in the way
/// (they show shortly, or their creation was interrupted), is blocked otherwise (a rotation
/// is only postponed).
fn no_slot(b: &mut Builder, plans: &[KeyPlan], user: &str, need: &Need, invisible_only: bool) {
    let workshop = need.window.workshop.clone();
    if invisible_only {
        b.waiting.push(Blocked {
            workshop,
            reason: format!(
                "user {user}'s last slot may hold a key made less than {} ago that IAM does not list yet; the key is created once IAM shows it, or after that time",
                human(VISIBILITY_WINDOW)
            ),
        });
        return;
    }
    let holders: Vec<String> = plans
        .iter()
        .filter(|p| !matches!(p.fate, Fate::Delete(_)))
        .map(|p| match p.owner {
            Some(o) => format!(
                "{} (workshop {}, live until {})",
                p.key.access_key_id,
                o.workshop,
                crate::time::format_time(o.revoke_at)
            ),
            None => p.key.access_key_id.clone(),
        })
        .collect();
    let msg = format!(
        "user {user} already holds two keys in use: {}",
        holders.join(", ")
    );
    if need.lost_secret {
        b.blocked.push(Blocked {
            workshop,
            reason: format!(
                "{}, but {msg}; restore the credentials file, or move a workshop to another user",
                need.reason
            ),
        });
    } else if need.rotation {
        b.warnings
            .push(format!("workshop {workshop}: rotation postponed: {msg}"));
    } else {
        b.blocked.push(Blocked {
            workshop,
            reason: format!("{msg}; move the workshop to another user or wait until one ends"),
        });
    }
}

/// An active key is deactivated now; an inactive one is deleted once its hold is over.
fn hold_or_delete(active: bool, until: DateTime<Utc>, now: DateTime<Utc>, why: String) -> Fate {
    if active {
        Fate::Deactivate(why)
    } else if now >= until {
        Fate::Delete(format!("{why}; hold over"))
    } else {
        Fate::Hold { until }
    }
}

/// The key to delete when a slot is needed: an inactive one first (the one due soonest), then
/// one being deactivated in this run. Never a key that stays active.
fn pick_victim(plans: &[KeyPlan]) -> Option<usize> {
    let held = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.fate {
            Fate::Hold { until } => Some((until, &p.key.access_key_id, i)),
            _ => None,
        })
        .min()
        .map(|(_, _, i)| i);
    held.or_else(|| {
        plans
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.fate, Fate::Deactivate(_)))
            .min_by_key(|(_, p)| &p.key.access_key_id)
            .map(|(i, _)| i)
    })
}

/// How many keys on `user` this tool made in the last `VISIBILITY_WINDOW` that IAM does not
/// list yet: named by a recent credentials file, or by a creation record whose file was never
/// written (the run died, or the answer was lost) and whose key IAM does not list either.
fn invisible_keys(
    observed: &Observed,
    user: &str,
    windows: &[Window],
    now: DateTime<Utc>,
    settled: &[Settled],
) -> usize {
    let from_files = windows
        .iter()
        .filter(|w| pending_key(observed, &w.workshop, now).is_some())
        .count();
    let from_records = open_creations(observed, user, now)
        .into_iter()
        .filter(|(workshop, _)| !settled.iter().any(|s| s.workshop == **workshop))
        .count();
    from_files + from_records
}

/// Creation records on `user` that may still stand for a key IAM does not list: recent, and
/// not followed by the workshop's credentials file. Oldest first.
fn open_creations<'o>(
    observed: &'o Observed,
    user: &str,
    now: DateTime<Utc>,
) -> Vec<(&'o String, &'o PendingCreate)> {
    let mut open: Vec<_> = observed
        .creating
        .iter()
        .filter(|(workshop, c)| {
            let superseded = observed
                .files
                .get(*workshop)
                .and_then(|f| f.written)
                .is_some_and(|t| t >= c.at);
            c.user == user && (now - c.at).abs() < VISIBILITY_WINDOW && !superseded
        })
        .collect();
    open.sort_by_key(|(workshop, c)| (c.at, *workshop));
    open
}

/// Open creation records whose key IAM lists now: a key that was not on the user when the
/// record was written, that no workshop claims and no credentials file names. Nobody holds
/// its secret; it is handled like any unclaimed key. Each such key settles one record.
fn settle_creations(
    observed: &Observed,
    user: &str,
    listed: &[ObservedKey],
    user_tags: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Vec<Settled> {
    let mut unexplained: Vec<&ObservedKey> = listed
        .iter()
        .filter(|k| {
            let id = &k.access_key_id;
            !user_tags.contains_key(id) && !observed.files.values().any(|f| &f.access_key_id == id)
        })
        .collect();
    unexplained.sort_by_key(|k| (k.created, &k.access_key_id));
    let mut settled = Vec::new();
    for (workshop, c) in open_creations(observed, user, now) {
        let Some(before) = &c.keys_before else {
            continue;
        };
        if let Some(i) = unexplained
            .iter()
            .position(|k| !before.contains(&k.access_key_id))
        {
            let k = unexplained.remove(i);
            settled.push(Settled {
                workshop: workshop.clone(),
                user: user.to_string(),
                access_key_id: k.access_key_id.clone(),
            });
        }
    }
    settled
}

/// A key this tool wrote for `workshop` recently that IAM does not list yet.
fn pending_key(observed: &Observed, workshop: &str, now: DateTime<Utc>) -> Option<String> {
    let f = observed.files.get(workshop)?;
    let written = f.written?;
    let recent = (now - written).abs() < VISIBILITY_WINDOW;
    // Listed on any user counts: a workshop moved to another user left its key behind.
    let listed = observed
        .users
        .iter()
        .any(|u| u.key(&f.access_key_id).is_some());
    (recent && !listed).then(|| f.access_key_id.clone())
}

/// Claim and bookkeeping tags about keys that no longer exist.
fn plan_stale_tags(
    b: &mut Builder,
    observed: &Observed,
    user: &str,
    keys: &[ObservedKey],
    user_tags: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) {
    let exists = |id: &str| keys.iter().any(|k| k.access_key_id == id);
    let pending: BTreeSet<&str> = observed
        .files
        .values()
        .filter(|f| {
            f.written
                .is_some_and(|t| (now - t).abs() < VISIBILITY_WINDOW)
        })
        .map(|f| f.access_key_id.as_str())
        .collect();
    let mut stale: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for tag in user_tags.keys() {
        let key_id = if tags::is_access_key_id(tag) {
            Some(tag.as_str())
        } else {
            tags::bookkeeping_key_id(tag)
        };
        if let Some(id) = key_id {
            if !exists(id) && !pending.contains(id) {
                stale.entry(id).or_default().push(tag.clone());
            }
        }
    }
    for (id, untag) in stale {
        let op = Op::TagUser {
            access_key_id: Some(id.to_string()),
            tags: BTreeMap::new(),
            untag,
        };
        let mut a = Action::new(
            op,
            Effect::Change,
            user,
            "remove tags of a key that no longer exists",
        );
        a.workshop = user_tags.get(id).cloned();
        b.push(Phase::TagUser, a);
    }
}

/// Credentials files holding keys that are gone (and will not be replaced in this run).
fn plan_stale_files(b: &mut Builder, desired: &Desired, observed: &Observed, now: DateTime<Utc>) {
    let live: BTreeSet<&str> = desired
        .users
        .values()
        .flatten()
        .filter(|w| w.is_live(now))
        .map(|w| w.workshop.as_str())
        .collect();
    for (workshop, f) in &observed.files {
        let exists = observed
            .users
            .iter()
            .any(|u| u.key(&f.access_key_id).is_some());
        let recent = f
            .written
            .is_some_and(|t| (now - t).abs() < VISIBILITY_WINDOW);
        if !exists && !recent && !live.contains(workshop.as_str()) {
            b.warnings.push(format!(
                "credentials file {workshop}.env holds key {}, which no longer exists in IAM: delete the file",
                f.access_key_id
            ));
        }
    }
}

/// `settings.bedrock_api_key`, after every other decision: a new key's file gets a bearer token
/// that dies at end + grace, and a live key's token is renewed when it is missing, or expires
/// within `bedrock_api_key_refresh` and before end + grace. The expiry is compared with the
/// plan's time, so that `plan --at` shows what a reconcile then does; the executor signs the
/// token with the real clock (AWS checks the signing time).
fn plan_bearer_tokens(b: &mut Builder, desired: &Desired, observed: &Observed, now: DateTime<Utc>) {
    if !desired.bedrock_api_key {
        return;
    }
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut revoked: BTreeSet<String> = BTreeSet::new();
    for (_, a) in &mut b.actions {
        match (&mut a.action, a.workshop.as_deref()) {
            (Op::CreateKey { bearer_token_until }, Some(w)) => {
                *bearer_token_until = desired.window(&a.user, w).map(|w| w.revoke_at);
                created.insert(w.to_string());
            }
            (Op::DeactivateKey { access_key_id, .. } | Op::DeleteKey { access_key_id }, _) => {
                revoked.insert(access_key_id.clone());
            }
            _ => {}
        }
    }
    // A directory unfit for secrets gets none written, renewed tokens included.
    if observed.credentials_problem.is_some() {
        return;
    }
    for (user, windows) in &desired.users {
        let Some(u) = observed.user(user) else {
            continue;
        };
        if !u.is_managed()
            || u.quarantine_policy().is_some()
            || observed.outside_path.contains(user)
        {
            continue;
        }
        for w in windows.iter().filter(|w| w.is_live(now)) {
            // A key made in this run gets its token with it.
            if created.contains(&w.workshop) {
                continue;
            }
            let Some(k) = u.live_key_of(&w.workshop) else {
                continue;
            };
            let id = &k.access_key_id;
            let in_file = observed
                .files
                .get(&w.workshop)
                .is_some_and(|f| &f.access_key_id == id);
            if !in_file || revoked.contains(id) || observed.deleted.contains_key(id) {
                continue;
            }
            let refresh = desired.bedrock_api_key_refresh;
            let reason = match observed.tokens.get(&w.workshop).copied() {
                None => "the credentials file holds no bearer token yet".to_string(),
                // It dies with the window anyway.
                Some(expires) if expires >= w.revoke_at => continue,
                Some(expires) if expires <= now => {
                    format!("bearer token expired {} ago", human(now - expires))
                }
                Some(expires) if expires - now <= refresh => format!(
                    "bearer token expires in {}, within bedrock_api_key_refresh {}",
                    human(expires - now),
                    human(refresh)
                ),
                Some(_) => continue,
            };
            let op = Op::RefreshToken {
                access_key_id: id.clone(),
                bearer_token_until: w.revoke_at,
            };
            let a = Action::new(op, Effect::Change, user, reason).workshop(&w.workshop);
            b.push(Phase::RefreshToken, a);
            // A new token is a new credential: hand it over like a new key.
            if desired.deliver && !b.deliveries.iter().any(|d| d.workshop == w.workshop) {
                b.deliveries.push(Delivery {
                    workshop: w.workshop.clone(),
                    user: user.clone(),
                    access_key_id: Some(id.clone()),
                    reason: crate::core::plan::TOKEN_RENEWED.into(),
                });
            }
        }
    }
}
