//! Users the schedule no longer names, and the key actions that empty them.

use super::*;

/// A quarantined user the schedule no longer names: its keys are deactivated, and the user,
/// its keys and AWS's policy stay until `release`; the next reconcile then deletes the user.
pub(super) fn plan_quarantined_removal(b: &mut Builder, observed: &Observed, u: &ObservedUser) {
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
pub(super) fn plan_user_removal(b: &mut Builder, observed: &Observed, u: &ObservedUser) {
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

/// A pool user whose last keys go in this run and that carries no live window is deleted in
/// the same run, like a user the schedule no longer names (its held keys have had their hold).
pub(super) fn retire_pool_user(
    b: &mut Builder,
    observed: &Observed,
    u: &ObservedUser,
    windows: &[Window],
    now: DateTime<Utc>,
) {
    let live = windows.iter().any(|w| w.is_live(now) && !w.hold_only);
    let keys: Vec<&str> = u
        .keys
        .iter()
        .map(|k| k.access_key_id.as_str())
        .filter(|id| !observed.deleted.contains_key(*id))
        .collect();
    let on_user = |kind: ActionKind, id: Option<&str>| {
        b.actions.iter().any(|(_, a)| {
            a.user == u.name && a.kind() == kind && (id.is_none() || a.access_key_id() == id)
        })
    };
    let all_go = keys
        .iter()
        .all(|id| on_user(ActionKind::DeleteKey, Some(id)));
    let in_flight = !open_creations(observed, &u.name, now).is_empty()
        || u.tags.iter().any(|(id, claim)| {
            tags::is_access_key_id(id)
                && u.key(id).is_none()
                && pending_key(observed, claim, now).is_some()
        });
    if live
        || !all_go
        || in_flight
        || on_user(ActionKind::CreateKey, None)
        || u.quarantine_policy().is_some()
    {
        return;
    }
    let why = "pool user no longer needed: its last keys are deleted";
    // Other inline and attached policies go by `plan_policies` already.
    if u.inline_policies.contains_key(POLICY_NAME) {
        let op = Op::DeleteUserPolicy {
            policy_name: POLICY_NAME.to_string(),
        };
        b.push(
            Phase::PolicyCleanup,
            Action::new(op, Effect::Delete, &u.name, why),
        );
    }
    b.actions
        .retain(|(phase, a)| !(a.user == u.name && *phase == Phase::Policy));
    b.push(
        Phase::DeleteUser,
        Action::new(Op::DeleteUser, Effect::Delete, &u.name, why),
    );
}

pub(super) fn key_action(
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
    a.set_claim(workshop.map(String::as_str));
    a
}
