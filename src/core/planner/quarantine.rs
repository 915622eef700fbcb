//! AWS's quarantine of a user: its record, and `release`.

use super::*;

/// AWS's quarantine on a managed user: reported on every run, recorded once (when it was first
/// seen and which keys were exposed), and its record dropped once the policy is gone. Returns
/// the quarantine policy's ARN.
pub(super) fn plan_quarantine<'u>(
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
            a.set_claim(u.tags.get(id).map(String::as_str));
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
pub(super) fn quarantine_reason(user: &str, arn: &str) -> String {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    format!(
        "user {user} is quarantined by AWS ({name} attached: one of its keys leaked), so it gets no new key; check CloudTrail for unwanted use, then run `workshop-keys release {user}`, or move the workshop to another user"
    )
}
