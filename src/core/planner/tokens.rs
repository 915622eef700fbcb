//! Bearer tokens (`settings.bedrock_api_key`) for new and live keys.

use super::*;

/// `settings.bedrock_api_key`, after every other decision: a new key's file gets a bearer token
/// that dies at end + grace, and a live key's token is renewed when it is missing, or expires
/// within `bedrock_api_key_refresh` and before end + grace. The expiry is compared with the
/// plan's time, so that `plan --at` shows what a reconcile then does; the executor signs the
/// token with the real clock (AWS checks the signing time).
pub(super) fn plan_bearer_tokens(
    b: &mut Builder,
    desired: &Desired,
    observed: &Observed,
    now: DateTime<Utc>,
) {
    if !desired.bedrock_api_key {
        return;
    }
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut revoked: BTreeSet<String> = BTreeSet::new();
    for (_, a) in &mut b.actions {
        let claim = a.claim();
        match (&mut a.action, claim) {
            (Op::CreateKey { bearer_token_until }, Some(w)) => {
                *bearer_token_until = desired.window(&a.user, &w).map(|w| w.revoke_at);
                created.insert(w);
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
        for w in windows.iter().filter(|w| w.is_live(now) && !w.hold_only) {
            let claim = w.claim();
            // A key made in this run gets its token with it.
            if created.contains(&claim) {
                continue;
            }
            let Some(k) = u.live_key_of(&claim) else {
                continue;
            };
            let id = &k.access_key_id;
            let in_file = observed
                .files
                .get(&claim)
                .is_some_and(|f| &f.access_key_id == id);
            if !in_file || revoked.contains(id) || observed.deleted.contains_key(id) {
                continue;
            }
            let refresh = desired.bedrock_api_key_refresh;
            let reason = match observed.tokens.get(&claim).copied() {
                None => format!("the {} holds no bearer token yet", desired.bundles.kind()),
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
            let a = Action::new(op, Effect::Change, user, reason).claimed(&claim);
            b.push(Phase::RefreshToken, a);
            // A new token is a new credential: hand it over like a new key.
            if desired.deliver && !b.deliveries.iter().any(|d| d.workshop == claim) {
                b.deliveries.push(Delivery {
                    workshop: claim.clone(),
                    user: user.clone(),
                    access_key_id: Some(id.clone()),
                    reason: crate::core::plan::TOKEN_RENEWED.into(),
                });
            }
        }
    }
}
