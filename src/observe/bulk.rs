//! The bulk read: one `GetAccountAuthorizationDetails` (filter `User`) per 1,000 users gives
//! every user's path, tags and policies; then one `ListAccessKeys` per managed user under the
//! path. The schedule's names found outside the path come from the same answer.

use std::collections::BTreeSet;

use futures::future::try_join_all;

use super::{policy_json, read_keys, unless_vanished, user_bar, IamUsers, ObserveOptions};
use crate::core::observed::ObservedUser;
use crate::core::tags;
use crate::iam::{Iam, IamError, UserDetail};
use crate::limit::CallLimit;

pub(super) async fn read(
    iam: &impl Iam,
    limit: &CallLimit,
    path: &str,
    schedule_users: &[String],
    opts: &ObserveOptions,
) -> Result<IamUsers, IamError> {
    let details = limit.run(iam.get_account_authorization_details()).await?;
    // `ListUsers`' path prefix is a plain string prefix too.
    let (under, elsewhere): (Vec<UserDetail>, Vec<UserDetail>) =
        details.into_iter().partition(|u| u.path.starts_with(path));
    let wanted: BTreeSet<&str> = schedule_users.iter().map(String::as_str).collect();
    let outside_path = elsewhere
        .into_iter()
        .filter(|u| wanted.contains(u.name.as_str()))
        .map(|u| u.name)
        .collect();
    let bar = user_bar(under.len());
    let bar = bar.as_ref();
    let users = try_join_all(under.into_iter().map(|d| async move {
        let name = d.name.clone();
        let read = unless_vanished(&name, read_user(iam, limit, d, opts.last_used).await);
        bar.inspect(|b| b.inc(1));
        read
    }))
    .await;
    bar.inspect(|b| b.finish());
    let users = users?;
    Ok(IamUsers {
        users: users.into_iter().flatten().collect(),
        outside_path,
    })
}

/// The snapshot of one user, as the per-user read would make it: tags only for unmanaged users.
async fn read_user(
    iam: &impl Iam,
    limit: &CallLimit,
    d: UserDetail,
    last_used: bool,
) -> Result<ObservedUser, IamError> {
    let mut u = ObservedUser {
        name: d.name,
        path: d.path,
        tags: d.tags,
        keys: Vec::new(),
        inline_policies: Default::default(),
        attached_policies: Vec::new(),
    };
    if !tags::is_managed(&u.tags) {
        return Ok(u);
    }
    u.keys = read_keys(iam, limit, &u.name, last_used).await?;
    u.inline_policies = d
        .inline_policies
        .into_iter()
        .map(|(name, text)| (name, policy_json(text)))
        .collect();
    u.attached_policies = d.attached_policies;
    u.attached_policies.sort();
    Ok(u)
}
