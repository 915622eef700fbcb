//! Read IAM (and the credentials store and state) into an `Observed` snapshot: users under the managed
//! path and the schedule's users that live elsewhere. Every IAM call of the read goes through one
//! shared bound (`--concurrency`). Two ways to read: in bulk (`GetAccountAuthorizationDetails`
//! plus `ListAccessKeys` per managed user) or user by user (five or more calls per user).

mod bulk;
mod per_user;

use std::collections::BTreeSet;

use crate::core::observed::{CredentialsProblem, Observed, ObservedKey, ObservedUser};
use crate::iam::{Iam, IamError, IamErrorKind};
use crate::limit::CallLimit;
use crate::progress::Progress;
use crate::state::StateStore;
use crate::store::{CredentialStore, SecretsError};

/// How IAM is read (`--observe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ObserveMode {
    /// In bulk when allowed, else user by user.
    #[default]
    Auto,
    /// In bulk only: `iam:GetAccountAuthorizationDetails` must be allowed.
    Bulk,
    /// User by user, as without the bulk permission.
    PerUser,
}

/// How much to read.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// IAM calls in flight at once, over the whole read.
    pub concurrency: usize,
    /// Also call `GetAccessKeyLastUsed` for every key (for `status`).
    pub last_used: bool,
    pub mode: ObserveMode,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            concurrency: 8,
            last_used: false,
            mode: ObserveMode::Auto,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A problem with the caller's AWS setup is the whole story; other IAM errors say IAM.
    #[error("{}", if .0.problem.is_some() { .0.report() } else { format!("reading IAM failed: {}", .0) })]
    Iam(#[from] IamError),
    /// `--observe bulk` without the permission the bulk read needs.
    #[error(
        "reading IAM in bulk was refused: the caller may not call \
         iam:GetAccountAuthorizationDetails ({}: {}); allow that action in the operator's \
         policy, or pass --observe per-user (or auto) to read user by user",
        .0.code, .0.message
    )]
    BulkDenied(IamError),
    #[error("reading credentials files failed: {0}")]
    Secrets(#[from] SecretsError),
}

/// The users read from IAM: those under the path, and the schedule's names found elsewhere.
struct IamUsers {
    users: Vec<ObservedUser>,
    outside_path: BTreeSet<String>,
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
    let limit = CallLimit::new(opts.concurrency);
    let read = match opts.mode {
        ObserveMode::PerUser => per_user::read(iam, &limit, path, schedule_users, opts).await?,
        ObserveMode::Bulk => bulk::read(iam, &limit, path, schedule_users, opts)
            .await
            .map_err(|e| {
                if bulk_denied(&e) {
                    ObserveError::BulkDenied(e)
                } else {
                    ObserveError::Iam(e)
                }
            })?,
        ObserveMode::Auto => match bulk::read(iam, &limit, path, schedule_users, opts).await {
            Err(e) if bulk_denied(&e) => {
                tracing::debug!(
                    code = %e.code,
                    "iam:GetAccountAuthorizationDetails refused; reading user by user"
                );
                per_user::read(iam, &limit, path, schedule_users, opts).await?
            }
            other => other?,
        },
    };
    let mut users = read.users;
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let local = match stored {
        Some((store, state)) => observe_stored(store, state).await,
        None => Observed::default(),
    };
    Ok(Observed {
        users,
        outside_path: read.outside_path,
        ..local
    })
}

/// The bulk call itself was refused for lack of permission (not for bad credentials).
fn bulk_denied(e: &IamError) -> bool {
    e.operation == "GetAccountAuthorizationDetails"
        && e.is(IamErrorKind::AccessDenied)
        && e.problem.is_none()
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

/// A managed user's keys (`ListAccessKeys`, and `GetAccessKeyLastUsed` per key when asked),
/// sorted by id; the per-key reads run concurrently under the bound.
async fn read_keys(
    iam: &impl Iam,
    limit: &CallLimit,
    user: &str,
    last_used: bool,
) -> Result<Vec<ObservedKey>, IamError> {
    let metas = limit.run(iam.list_access_keys(user)).await?;
    let mut keys = futures::future::try_join_all(metas.into_iter().map(|k| async move {
        let last_used = if last_used {
            Some(
                limit
                    .run(iam.get_access_key_last_used(&k.access_key_id))
                    .await?,
            )
        } else {
            None
        };
        Ok::<_, IamError>(ObservedKey {
            access_key_id: k.access_key_id,
            status: k.status,
            created: k.created,
            last_used,
        })
    }))
    .await?;
    keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    Ok(keys)
}

/// A bar over `n` users, when worth it (see `progress`).
fn user_bar(n: usize) -> Option<Progress> {
    Progress::start("reading IAM users", n, crate::progress::USERS_THRESHOLD)
}

/// A policy document as JSON; a document that is not JSON cannot equal ours, so it is kept as
/// a string (and rewritten).
fn policy_json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// `None` for a user that vanished between the listing and its reads.
fn unless_vanished<T>(user: &str, read: Result<T, IamError>) -> Result<Option<T>, IamError> {
    match read {
        Err(e) if e.is(IamErrorKind::NoSuchEntity) => {
            tracing::debug!(user, "user vanished while being read");
            Ok(None)
        }
        other => other.map(Some),
    }
}
