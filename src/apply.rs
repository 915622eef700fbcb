//! The executor: carries out a Plan's actions in order through the `Iam` trait, writing new
//! secrets to credentials files. It goes on past a failure with the actions that do not depend
//! on it, treats "already done" answers as success, and reports what happened to each action.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bedrock_api_key;
use crate::core::observed::KeyStatus;
use crate::core::plan::{Action, ActionKind, Effect, Op, Plan};
use crate::core::tags;
use crate::iam::{Iam, IamError, IamErrorKind};
use crate::limit::CallLimit;
use crate::progress::Progress;
use crate::state::StateStore;
use crate::store::{Bundle, CredentialStore};

/// What the executor needs besides IAM.
pub struct ApplyContext<'a> {
    pub credentials: &'a dyn CredentialStore,
    /// The records of recent writes.
    pub state: &'a dyn StateStore,
    /// Written into credentials files.
    pub region: &'a str,
    /// Actions (of different users) in flight at once: `--concurrency`.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionResult {
    #[serde(flatten)]
    pub action: Action,
    pub status: Status,
    /// What happened beyond "ok": the error and what to do, or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `create_key`: the new key's id and the file holding its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub results: Vec<ActionResult>,
}

impl Report {
    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|r| r.status == Status::Ok)
    }

    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }
}

/// Apply a plan. Never stops early: each action either runs, or is skipped because an action
/// it depends on failed. Users are independent: each user's actions run in the plan's order,
/// different users' concurrently under `ctx.concurrency`. Results come in the plan's order.
pub async fn apply(plan: &Plan, iam: &impl Iam, ctx: &ApplyContext<'_>) -> Report {
    // Before any action: a settled record's key is listed now and counted as such.
    for s in &plan.settled {
        tracing::info!(
            workshop = %s.workshop,
            user = %s.user,
            key = %s.access_key_id,
            "interrupted creation settled: IAM lists its key"
        );
        end_create(ctx, &s.workshop).await;
    }
    let mut by_user: BTreeMap<&str, Vec<(usize, &Action)>> = BTreeMap::new();
    for (i, action) in plan.actions.iter().enumerate() {
        by_user.entry(&action.user).or_default().push((i, action));
    }
    let limit = CallLimit::new(ctx.concurrency);
    let bar = Progress::start(
        "applying",
        plan.actions.len(),
        crate::progress::ACTIONS_THRESHOLD,
    );
    let groups = by_user
        .into_values()
        .map(|actions| apply_user(actions, plan, iam, ctx, &limit, bar.as_ref()));
    let mut results: Vec<(usize, ActionResult)> = futures::future::join_all(groups)
        .await
        .into_iter()
        .flatten()
        .collect();
    bar.inspect(|b| b.finish());
    results.sort_by_key(|(i, _)| *i);
    Report {
        results: results.into_iter().map(|(_, r)| r).collect(),
    }
}

/// One user's actions, in order; each holds one slot of the run's bound while it runs.
async fn apply_user(
    actions: Vec<(usize, &Action)>,
    plan: &Plan,
    iam: &impl Iam,
    ctx: &ApplyContext<'_>,
    limit: &CallLimit,
    bar: Option<&Progress>,
) -> Vec<(usize, ActionResult)> {
    let mut failed = Failed::default();
    let mut results = Vec::with_capacity(actions.len());
    for (i, action) in actions {
        let user = &action.user;
        let mut result = ActionResult {
            action: action.clone(),
            status: Status::Ok,
            detail: None,
            created_key: None,
            credentials_file: None,
        };
        if let Some(why) = failed.skip(action) {
            tracing::warn!(action = action.action.as_str(), %user, "skipped: {why}");
            result.status = Status::Skipped;
            result.detail = Some(why);
            results.push((i, result));
            continue;
        }
        let outcome = limit.run(run(action, plan, iam, ctx, &mut result)).await;
        if let Err(detail) = outcome {
            tracing::error!(action = action.action.as_str(), %user, "failed: {detail}");
            result.status = Status::Failed;
            result.detail = Some(detail);
            failed.record(action.kind());
        } else {
            tracing::info!(action = action.action.as_str(), %user, "done");
        }
        bar.inspect(|b| b.inc(1));
        results.push((i, result));
    }
    results
}

/// What already failed on one user, deciding which of its later actions are skipped.
#[derive(Default)]
struct Failed {
    any: bool,
    create_user: bool,
    /// A key deletion or deactivation: a create could hit the two-key limit.
    delete: bool,
    /// The policy (and so its deadline) could not be written: a new key there would meet the
    /// old deadline, or the wrong rights.
    policy: bool,
}

impl Failed {
    fn skip(&self, action: &Action) -> Option<String> {
        let user = &action.user;
        let kind = action.kind();
        if self.create_user {
            Some(format!("creating user {user} failed"))
        } else if kind == ActionKind::CreateKey && self.delete {
            Some(format!(
                "a key of user {user} could not be deleted, so there may be no free slot"
            ))
        } else if kind == ActionKind::CreateKey && self.policy {
            Some(format!(
                "writing the policy of user {user} failed, so a new key would not get its deadline and rights"
            ))
        } else if kind == ActionKind::DeleteUser && self.any {
            Some(format!("an earlier action on user {user} failed"))
        } else {
            None
        }
    }

    fn record(&mut self, kind: ActionKind) {
        self.any = true;
        match kind {
            ActionKind::CreateUser => self.create_user = true,
            ActionKind::DeleteKey | ActionKind::DeactivateKey => self.delete = true,
            ActionKind::PutUserPolicy => self.policy = true,
            _ => {}
        }
    }
}

/// A tag that records what a run saw or did outside the plan (a key verified, a key handed
/// over). It is written by `record`, so that every IAM change takes the executor's path and
/// shows in the run's results.
#[derive(Debug, Clone)]
pub struct Bookkeeping {
    pub user: String,
    /// The claim: `ws`, or `ws/p07` for a participant.
    pub workshop: String,
    pub access_key_id: String,
    pub tags: BTreeMap<String, String>,
    pub untag: Vec<String>,
    pub reason: String,
}

/// Write bookkeeping tags, each as a `tag_user` result. Never stops early.
pub async fn record(iam: &impl Iam, entries: Vec<Bookkeeping>) -> Vec<ActionResult> {
    let mut results = Vec::with_capacity(entries.len());
    for b in entries {
        let outcome = write_tags(iam, &b.user, &b.tags, &b.untag).await;
        let op = Op::TagUser {
            access_key_id: Some(b.access_key_id),
            tags: b.tags,
            untag: b.untag,
        };
        let action = Action::new(op, Effect::Change, &b.user, b.reason).claimed(&b.workshop);
        let (status, detail) = match outcome {
            Ok(()) => {
                tracing::info!(action = "tag_user", user = %b.user, "done");
                (Status::Ok, None)
            }
            Err(detail) => {
                tracing::error!(action = "tag_user", user = %b.user, "failed: {detail}");
                (Status::Failed, Some(detail))
            }
        };
        results.push(ActionResult {
            action,
            status,
            detail,
            created_key: None,
            credentials_file: None,
        });
    }
    results
}

/// Set `tags`, then remove `untag`: one user's tags, as `tag_user` and bookkeeping write them.
async fn write_tags(
    iam: &impl Iam,
    user: &str,
    tags: &BTreeMap<String, String>,
    untag: &[String],
) -> Result<(), String> {
    if !tags.is_empty() {
        iam.tag_user(user, tags).await.map_err(|e| e.to_string())?;
    }
    if !untag.is_empty() {
        iam.untag_user(user, untag)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// "Already done" answers count as success.
fn tolerate(r: Result<(), IamError>, done: IamErrorKind) -> Result<(), IamError> {
    match r {
        Err(e) if e.kind == done => {
            tracing::debug!("{}: already done ({})", e.operation, e.code);
            Ok(())
        }
        other => other,
    }
}

async fn run(
    action: &Action,
    plan: &Plan,
    iam: &impl Iam,
    ctx: &ApplyContext<'_>,
    result: &mut ActionResult,
) -> Result<(), String> {
    let user = action.user.as_str();
    let e = |e: IamError| e.to_string();
    match &action.action {
        Op::CreateUser { path, tags } => match iam.create_user(user, path, tags).await {
            Err(err) if err.is(IamErrorKind::EntityAlreadyExists) => {
                // Someone (or a run we did not see finish) made it: ours only if it is
                // under the path and tagged.
                confirm_managed(iam, user, path).await
            }
            other => other.map_err(e),
        },
        Op::TagUser { tags, untag, .. } => write_tags(iam, user, tags, untag).await,
        Op::PutUserPolicy {
            policy_name,
            document,
        } => iam
            .put_user_policy(user, policy_name, &document.to_string())
            .await
            .map_err(e),
        Op::DeleteUserPolicy { policy_name } => tolerate(
            iam.delete_user_policy(user, policy_name).await,
            IamErrorKind::NoSuchEntity,
        )
        .map_err(e),
        Op::DetachUserPolicy { policy_arn } => tolerate(
            iam.detach_user_policy(user, policy_arn).await,
            IamErrorKind::NoSuchEntity,
        )
        .map_err(e),
        Op::CreateKey { bearer_token_until } => {
            create_key(action, *bearer_token_until, plan, iam, ctx, result).await
        }
        Op::DeactivateKey {
            access_key_id: id,
            tags: kept,
        } => {
            tolerate(
                iam.update_access_key(user, id, KeyStatus::Inactive).await,
                IamErrorKind::NoSuchEntity,
            )
            .map_err(e)?;
            // Bookkeeping after the security-relevant write: if it fails, the next run stamps it.
            // The plan carries an earlier time when the key was deactivated before.
            let stamp = if kept.is_empty() {
                [(tags::deactivated_tag(id), crate::time::format_time(plan.at))].into()
            } else {
                kept.clone()
            };
            iam.tag_user(user, &stamp)
                .await
                .map_err(|err| format!("key deactivated, but recording when failed: {err}"))
        }
        Op::DeleteKey { access_key_id: id } => {
            tolerate(
                iam.delete_access_key(user, id).await,
                IamErrorKind::NoSuchEntity,
            )
            .map_err(e)?;
            // The local records and files are bookkeeping: the key is gone whatever they say.
            // Without the record, the next runs count the key until IAM stops listing it.
            if let Err(err) = ctx.state.record_deleted(id, plan.at).await {
                tracing::warn!("key {id} deleted, but recording it locally failed: {err}");
            }
            match ctx.credentials.remove_key(id).await {
                Ok(removed) => result.credentials_file = removed.into_iter().next(),
                // Its secret is dead now; the next plan names a file left behind.
                Err(err) => {
                    tracing::warn!("key {id} deleted, but its credentials file stays: {err}")
                }
            }
            tolerate(
                iam.untag_user(user, &tags::tags_of_key(id)).await,
                IamErrorKind::NoSuchEntity,
            )
            .map_err(|err| format!("key deleted, but removing its tags failed: {err}"))
        }
        Op::DeleteUser => {
            tolerate(iam.delete_user(user).await, IamErrorKind::NoSuchEntity).map_err(e)
        }
        Op::RefreshToken {
            access_key_id,
            bearer_token_until,
        } => {
            refresh_token(
                action,
                access_key_id,
                *bearer_token_until,
                plan,
                ctx,
                result,
            )
            .await
        }
    }
}

/// A fresh bearer token for the key a workshop's file holds, signed with the real clock (AWS
/// checks the signing time, so never the plan's `--at`), written over the file atomically with
/// the same key, secret and write time.
async fn refresh_token(
    action: &Action,
    key: &str,
    until: DateTime<Utc>,
    plan: &Plan,
    ctx: &ApplyContext<'_>,
    result: &mut ActionResult,
) -> Result<(), String> {
    // The claim names the file: `ws`, or `ws/p07` for a participant.
    let claim = action.claim().ok_or("refresh_token without workshop")?;
    let workshop = claim.as_str();
    let bundle = ctx.credentials.describe(workshop);
    let (id, secret) = ctx
        .credentials
        .read_secret(workshop)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{bundle} is gone; the next run plans again"))?;
    if id != key {
        return Err(format!(
            "{bundle} holds key {id} now, not {key}; the next run plans again"
        ));
    }
    let written = ctx
        .credentials
        .file(workshop)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|f| f.written)
        .unwrap_or(plan.at);
    let token = bedrock_api_key::for_window(key, &secret, ctx.region, Utc::now(), until)
        .map_err(|e| e.to_string())?;
    let bundle = Bundle {
        workshop,
        access_key_id: key,
        secret: &secret,
        region: ctx.region,
        written,
        token: Some(&token),
    };
    let path = ctx
        .credentials
        .write(bundle)
        .await
        .map_err(|e| format!("{e}; the old token stays"))?;
    result.credentials_file = Some(path);
    result.detail = Some(format!(
        "new bearer token valid until {}",
        crate::time::format_time(token.expires)
    ));
    Ok(())
}

async fn confirm_managed(iam: &impl Iam, user: &str, path: &str) -> Result<(), String> {
    let found = iam.get_user(user).await.map_err(|e| e.to_string())?;
    let user_tags = iam.list_user_tags(user).await.map_err(|e| e.to_string())?;
    match found {
        Some(u) if u.path == path && tags::is_managed(&user_tags) => Ok(()),
        _ => Err(format!(
            "user {user} already exists but is not under {path} with the tag {}={}: workshop-keys will not touch it; choose another user name",
            tags::MANAGED_BY_KEY,
            tags::MANAGED_BY_VALUE
        )),
    }
}

/// Create the key, put its secret in the credentials file, and only then claim it with a tag.
/// If the file cannot be written the key is deleted again: a key whose secret is lost must not
/// stay live.
async fn create_key(
    action: &Action,
    bearer_token_until: Option<DateTime<Utc>>,
    plan: &Plan,
    iam: &impl Iam,
    ctx: &ApplyContext<'_>,
    result: &mut ActionResult,
) -> Result<(), String> {
    let user = action.user.as_str();
    // The claim names the file and the claim tag: `ws`, or `ws/p07` for a participant.
    let claim = action.claim().ok_or("create_key without workshop")?;
    let workshop = claim.as_str();
    // What the user holds now, so that a later run can tell this creation's key from the
    // others if the answer is lost. Unknown when the read fails: the record then counts its
    // slot for the visibility window.
    let keys_before: Option<BTreeSet<String>> = match iam.list_access_keys(user).await {
        Ok(keys) => Some(keys.into_iter().map(|k| k.access_key_id).collect()),
        Err(e) => {
            tracing::warn!(%user, "listing keys before the create failed: {e}");
            None
        }
    };
    ctx.state
        .begin_create(workshop, user, plan.at, keys_before.as_ref())
        .await
        .map_err(|e| format!("{e}; no key was created"))?;
    let new = match iam.create_access_key(user).await {
        Ok(new) => new,
        Err(e) => {
            // After a timeout or a lost answer a key may exist: keep the record, so the next
            // run counts its slot until IAM shows it (then deactivates it as unclaimed).
            if !matches!(e.kind, IamErrorKind::Transient | IamErrorKind::Other) {
                end_create(ctx, workshop).await;
            }
            return Err(e.to_string());
        }
    };
    result.created_key = Some(new.access_key_id.clone());
    // With `settings.bedrock_api_key`, the file gets a bearer token signed now (the real clock).
    // Without one the key still works; the next run plans its token again.
    let token = bearer_token_until.and_then(|until| {
        match bedrock_api_key::for_window(
            &new.access_key_id,
            &new.secret,
            ctx.region,
            Utc::now(),
            until,
        ) {
            Ok(t) => {
                result.detail = Some(format!(
                    "with a bearer token valid until {}",
                    crate::time::format_time(t.expires)
                ));
                Some(t)
            }
            Err(e) => {
                tracing::warn!(%workshop, "no bearer token: {e}");
                result.detail = Some(format!("no bearer token: {e}"));
                None
            }
        }
    });
    let bundle = Bundle {
        workshop,
        access_key_id: &new.access_key_id,
        secret: &new.secret,
        region: ctx.region,
        written: plan.at,
        token: token.as_ref(),
    };
    let written = ctx.credentials.write(bundle).await;
    drop(token);
    drop(new.secret);
    let path = match written {
        Ok(path) => path,
        Err(err) => {
            let cleanup = iam.delete_access_key(user, &new.access_key_id).await;
            return Err(match cleanup {
                Ok(()) => {
                    end_create(ctx, workshop).await;
                    format!("{err}; the new key was deleted again")
                }
                Err(del) => format!(
                    "{err}; deleting the new key {} also failed ({del}); the next run deactivates it as unclaimed",
                    new.access_key_id
                ),
            });
        }
    };
    // The file names the key from now on; the record of the creation is no longer needed.
    end_create(ctx, workshop).await;
    result.credentials_file = Some(path);
    let claim_tag = [(new.access_key_id.clone(), workshop.to_string())].into();
    iam.tag_user(user, &claim_tag).await.map_err(|e| {
        format!("key created and saved, but claiming it failed: {e}; the next run claims it from its credentials file")
    })
}

/// A record left behind only makes the next runs count one more slot for a while: log it.
async fn end_create(ctx: &ApplyContext<'_>, workshop: &str) {
    if let Err(e) = ctx.state.end_create(workshop).await {
        tracing::warn!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fake::{FakeIam, FakeUser};

    fn entry(user: &str, tags: &[(&str, &str)], untag: &[&str]) -> Bookkeeping {
        Bookkeeping {
            user: user.into(),
            workshop: "berlin".into(),
            access_key_id: "AKIA1".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            untag: untag.iter().map(|t| t.to_string()).collect(),
            reason: "record".into(),
        }
    }

    #[tokio::test]
    async fn bookkeeping_is_written_and_reported_as_tag_user() {
        let iam = FakeIam::new();
        iam.insert_user(
            "wk",
            FakeUser {
                path: "/workshop/".into(),
                tags: [("old".to_string(), "x".to_string())].into(),
                ..FakeUser::default()
            },
        );
        let results = record(
            &iam,
            vec![
                entry("wk", &[("new", "y")], &["old"]),
                entry("nobody", &[("new", "y")], &[]),
            ],
        )
        .await;
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].status, Status::Ok);
        assert_eq!(results[0].action.kind(), ActionKind::TagUser);
        assert_eq!(results[0].action.access_key_id(), Some("AKIA1"));
        assert_eq!(results[0].action.workshop.as_deref(), Some("berlin"));
        let tags = &iam.users()["wk"].tags;
        assert_eq!(tags.get("new").map(String::as_str), Some("y"));
        assert!(!tags.contains_key("old"));
        // A failure is reported, and the next entry still runs.
        assert_eq!(results[1].status, Status::Failed);
        assert!(results[1].detail.is_some());
    }
}
