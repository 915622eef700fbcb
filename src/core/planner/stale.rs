//! Tags and credentials files about keys that no longer exist.

use super::*;

/// Claim and bookkeeping tags about keys that no longer exist.
pub(super) fn plan_stale_tags(
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
        a.set_claim(user_tags.get(id).map(String::as_str));
        b.push(Phase::TagUser, a);
    }
}

/// Credentials files holding keys that are gone (and will not be replaced in this run).
pub(super) fn plan_stale_files(
    b: &mut Builder,
    desired: &Desired,
    observed: &Observed,
    now: DateTime<Utc>,
) {
    let live: BTreeSet<String> = desired
        .users
        .values()
        .flatten()
        .chain(&desired.participants)
        .filter(|w| w.is_live(now))
        .map(Window::claim)
        .collect();
    for (workshop, f) in &observed.files {
        let exists = observed
            .users
            .iter()
            .any(|u| u.key(&f.access_key_id).is_some());
        let recent = f
            .written
            .is_some_and(|t| (now - t).abs() < VISIBILITY_WINDOW);
        if !exists && !recent && !live.contains(workshop) {
            let bundles = &desired.bundles;
            b.warnings.push(format!(
                "{} {} holds key {}, which no longer exists in IAM: delete the {}",
                bundles.kind(),
                bundles.name(workshop),
                f.access_key_id,
                bundles.noun()
            ));
        }
    }
}
