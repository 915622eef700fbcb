//! Read IAM (and the credentials store and state) into an `Observed` snapshot: users under the managed
//! path, read concurrently with a bound, and the schedule's users that live elsewhere.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::core::observed::{CredentialsProblem, Observed, ObservedKey, ObservedUser};
use crate::core::tags;
use crate::iam::{Iam, IamError, IamErrorKind, UserSummary};
use crate::state::StateStore;
use crate::store::{CredentialStore, SecretsError};

/// How much to read.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Users read at once.
    pub concurrency: usize,
    /// Also call `GetAccessKeyLastUsed` for every key (for `status`).
    pub last_used: bool,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            concurrency: 8,
            last_used: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A problem with the caller's AWS setup is the whole story; other IAM errors say IAM.
    #[error("{}", if .0.problem.is_some() { .0.report() } else { format!("reading IAM failed: {}", .0) })]
    Iam(#[from] IamError),
    #[error("reading credentials files failed: {0}")]
    Secrets(#[from] SecretsError),
}

/// Read everything the planner needs. `schedule_users` are the names the schedule uses; those
/// not found under `path` are looked up to tell "missing" from "exists elsewhere".
pub async fn observe(
    iam: &impl Iam,
    path: &str,
    schedule_users: &[String],
    stored: Option<(&dyn CredentialStore, &dyn StateStore)>,
    opts: &ObserveOptions,
) -> Result<Observed, ObserveError> {
    let concurrency = opts.concurrency.max(1);
    let summaries = iam.list_users(path).await?;
    let mut users: Vec<ObservedUser> = stream::iter(summaries.iter())
        .map(|s| read_user(iam, s, opts.last_used))
        .buffer_unordered(concurrency)
        .try_filter_map(|u| async move { Ok(u) })
        .try_collect()
        .await?;
    users.sort_by(|a, b| a.name.cmp(&b.name));

    let listed: BTreeSet<&str> = summaries.iter().map(|s| s.name.as_str()).collect();
    let outside_path: BTreeSet<String> = stream::iter(
        schedule_users
            .iter()
            .filter(|n| !listed.contains(n.as_str())),
    )
    .map(|name| async move { iam.get_user(name).await })
    .buffer_unordered(concurrency)
    .try_filter_map(|u| async move { Ok(u.map(|u| u.name)) })
    .try_collect()
    .await?;

    let local = match stored {
        Some((store, state)) => observe_stored(store, state).await,
        None => Observed::default(),
    };
    Ok(Observed {
        users,
        outside_path,
        ..local
    })
}

/// The credentials bundles and records, and what is wrong with the store (IAM fields left
/// empty). A broken store never stops the read: revoking keys needs none of it (the planner
/// only refuses new keys then).
pub async fn observe_stored(store: &dyn CredentialStore, state: &dyn StateStore) -> Observed {
    let problem = store.check().await.err();
    let listed = async {
        Ok::<_, SecretsError>((
            store.scan().await?,
            state.scan_creating().await?,
            state.scan_deleted().await?,
            store.scan_tokens().await?,
        ))
    }
    .await;
    match listed {
        Ok((files, creating, deleted, tokens)) => Observed {
            files,
            creating,
            deleted,
            tokens,
            credentials_problem: problem.map(|e| CredentialsProblem {
                message: e.to_string(),
                unlisted: false,
            }),
            ..Observed::default()
        },
        Err(e) => {
            let message = problem.unwrap_or(e).to_string();
            tracing::warn!("{message}");
            Observed {
                credentials_problem: Some(CredentialsProblem {
                    message,
                    unlisted: true,
                }),
                ..Observed::default()
            }
        }
    }
}

/// One user's tags, and for managed users keys and policies. `None` when the user vanished
/// between the listing and the reads.
async fn read_user(
    iam: &impl Iam,
    s: &UserSummary,
    last_used: bool,
) -> Result<Option<ObservedUser>, IamError> {
    match read_user_inner(iam, s, last_used).await {
        Err(e) if e.is(IamErrorKind::NoSuchEntity) => {
            tracing::debug!(user = %s.name, "user vanished while being read");
            Ok(None)
        }
        other => other.map(Some),
    }
}

async fn read_user_inner(
    iam: &impl Iam,
    s: &UserSummary,
    last_used: bool,
) -> Result<ObservedUser, IamError> {
    let user_tags = iam.list_user_tags(&s.name).await?;
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
    for k in iam.list_access_keys(&s.name).await? {
        let last_used = if last_used {
            Some(iam.get_access_key_last_used(&k.access_key_id).await?)
        } else {
            None
        };
        u.keys.push(ObservedKey {
            access_key_id: k.access_key_id,
            status: k.status,
            created: k.created,
            last_used,
        });
    }
    u.keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    for name in iam.list_user_policies(&s.name).await? {
        let text = iam.get_user_policy(&s.name, &name).await?;
        // A document that is not JSON cannot equal ours, so it is rewritten.
        let doc = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        u.inline_policies.insert(name, doc);
    }
    u.attached_policies = iam.list_attached_user_policies(&s.name).await?;
    u.attached_policies.sort();
    Ok(u)
}
