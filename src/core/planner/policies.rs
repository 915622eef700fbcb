//! The user's inline policy (the schedule's, with the user's deadline) and nothing else.

use super::*;

pub(super) fn put_policy(
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
pub(super) fn plan_policies(
    b: &mut Builder,
    desired: &Desired,
    u: &ObservedUser,
    now: DateTime<Utc>,
) {
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
pub(super) fn same_but_deadline(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let strip = |d: &serde_json::Value| {
        let mut d = d.clone();
        if let Some(list) = d["Statement"].as_array_mut() {
            list.retain(|s| s["Sid"] != policy::DEADLINE_SID);
        }
        d
    };
    policy::same_document(&strip(a), &strip(b))
}
