//! The read user by user: `ListUsers` under the path, then per user `ListUserTags` and, for
//! managed users, their keys, inline policies and attached policies, all concurrently under the
//! run's one bound; `GetUser` for the schedule's names not under the path.

use std::collections::BTreeSet;

use futures::future::try_join_all;

use super::{policy_json, read_keys, unless_vanished, user_bar, IamUsers, ObserveOptions};
use crate::core::observed::ObservedUser;
use crate::core::tags;
use crate::iam::{Iam, IamError, UserSummary};
use crate::limit::CallLimit;

pub(super) async fn read(
    iam: &impl Iam,
    limit: &CallLimit,
    path: &str,
    schedule_users: &[String],
    opts: &ObserveOptions,
) -> Result<IamUsers, IamError> {
    let summaries = limit.run(iam.list_users(path)).await?;
    let listed: BTreeSet<&str> = summaries.iter().map(|s| s.name.as_str()).collect();
    let elsewhere = schedule_users
        .iter()
        .filter(|n| !listed.contains(n.as_str()))
        .map(|name| limit.run(iam.get_user(name)));
    let bar = user_bar(summaries.len());
    let bar = bar.as_ref();
    let users = try_join_all(summaries.iter().map(|s| async move {
        let read = unless_vanished(&s.name, read_user(iam, limit, s, opts.last_used).await);
        bar.inspect(|b| b.inc(1));
        read
    }));
    let read = futures::try_join!(users, try_join_all(elsewhere));
    bar.inspect(|b| b.finish());
    let (users, elsewhere) = read?;
    Ok(IamUsers {
        users: users.into_iter().flatten().collect(),
        outside_path: elsewhere.into_iter().flatten().map(|u| u.name).collect(),
    })
}

/// One user's tags, and for managed users keys and policies.
async fn read_user(
    iam: &impl Iam,
    limit: &CallLimit,
    s: &UserSummary,
    last_used: bool,
) -> Result<ObservedUser, IamError> {
    let user_tags = limit.run(iam.list_user_tags(&s.name)).await?;
    let mut u = ObservedUser {
        name: s.name.clone(),
        path: s.path.clone(),
        tags: user_tags,
        keys: Vec::new(),
        inline_policies: Default::default(),
        attached_policies: Vec::new(),
    };
    if !tags::is_managed(&u.tags) {
        return Ok(u);
    }
    let inline = async {
        let names = limit.run(iam.list_user_policies(&s.name)).await?;
        try_join_all(names.into_iter().map(|name| async move {
            let text = limit.run(iam.get_user_policy(&s.name, &name)).await?;
            Ok::<_, IamError>((name, policy_json(text)))
        }))
        .await
    };
    let (keys, inline, attached) = futures::try_join!(
        read_keys(iam, limit, &s.name, last_used),
        inline,
        limit.run(iam.list_attached_user_policies(&s.name)),
    )?;
    u.keys = keys;
    u.inline_policies = inline.into_iter().collect();
    u.attached_policies = attached;
    u.attached_policies.sort();
    Ok(u)
}
