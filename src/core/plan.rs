//! The Plan: a value that says which IAM changes are due at one moment and why. It is rendered
//! for people, serialised to JSON, saved, and applied; the executor acts on nothing else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    CreateUser,
    TagUser,
    PutUserPolicy,
    DeleteUserPolicy,
    DetachUserPolicy,
    CreateKey,
    DeactivateKey,
    DeleteKey,
    DeleteUser,
    /// Rewrite a credentials file with a fresh bearer token (`settings.bedrock_api_key`).
    RefreshToken,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::CreateUser => "create_user",
            ActionKind::TagUser => "tag_user",
            ActionKind::PutUserPolicy => "put_user_policy",
            ActionKind::DeleteUserPolicy => "delete_user_policy",
            ActionKind::DetachUserPolicy => "detach_user_policy",
            ActionKind::CreateKey => "create_key",
            ActionKind::DeactivateKey => "deactivate_key",
            ActionKind::DeleteKey => "delete_key",
            ActionKind::DeleteUser => "delete_user",
            ActionKind::RefreshToken => "refresh_token",
        }
    }
}

/// How an action shows in the text rendering and the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Create,
    Change,
    Delete,
}

impl Effect {
    pub fn symbol(self) -> char {
        match self {
            Effect::Create => '+',
            Effect::Change => '~',
            Effect::Delete => '-',
        }
    }
}

/// What one IAM change does, with exactly the data it needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateUser {
        path: String,
        tags: BTreeMap<String, String>,
    },
    /// Set `tags` and remove `untag`; `access_key_id` names the key the tags are about, if any.
    TagUser {
        access_key_id: Option<String>,
        tags: BTreeMap<String, String>,
        untag: Vec<String>,
    },
    PutUserPolicy {
        policy_name: String,
        document: serde_json::Value,
    },
    DeleteUserPolicy {
        policy_name: String,
    },
    /// Detach the managed policy with this ARN.
    DetachUserPolicy {
        policy_arn: String,
    },
    /// With `settings.bedrock_api_key`, the credentials file gets a bearer token that AWS
    /// refuses from this time on (end + grace) at the latest. The token itself is made when the
    /// action runs, never held in a plan.
    CreateKey {
        bearer_token_until: Option<DateTime<Utc>>,
    },
    /// `tags`: the deactivation time to keep when the key was deactivated before (empty: the
    /// plan's time).
    DeactivateKey {
        access_key_id: String,
        tags: BTreeMap<String, String>,
    },
    DeleteKey {
        access_key_id: String,
    },
    DeleteUser,
    /// Rewrite a credentials file with a fresh bearer token valid until `bearer_token_until`.
    RefreshToken {
        access_key_id: String,
        bearer_token_until: DateTime<Utc>,
    },
}

impl Op {
    pub fn kind(&self) -> ActionKind {
        match self {
            Op::CreateUser { .. } => ActionKind::CreateUser,
            Op::TagUser { .. } => ActionKind::TagUser,
            Op::PutUserPolicy { .. } => ActionKind::PutUserPolicy,
            Op::DeleteUserPolicy { .. } => ActionKind::DeleteUserPolicy,
            Op::DetachUserPolicy { .. } => ActionKind::DetachUserPolicy,
            Op::CreateKey { .. } => ActionKind::CreateKey,
            Op::DeactivateKey { .. } => ActionKind::DeactivateKey,
            Op::DeleteKey { .. } => ActionKind::DeleteKey,
            Op::DeleteUser => ActionKind::DeleteUser,
            Op::RefreshToken { .. } => ActionKind::RefreshToken,
        }
    }

    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// A `tag_user` that sets and removes nothing yet.
    pub fn tag_user() -> Self {
        Op::TagUser {
            access_key_id: None,
            tags: BTreeMap::new(),
            untag: Vec::new(),
        }
    }
}

/// So that `action.action == ActionKind::CreateKey` reads as before.
impl PartialEq<ActionKind> for Op {
    fn eq(&self, other: &ActionKind) -> bool {
        self.kind() == *other
    }
}

/// One IAM change. Its JSON is flat: fields that do not apply to an action are absent
/// (see `Wire`, the shape saved plans and reports have always had).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct Action {
    pub action: Op,
    pub effect: Effect,
    pub user: String,
    pub workshop: Option<String>,
    /// The participant whose key the action is about (`p07`), for workshops with
    /// `participants`; `None` for a shared key.
    pub participant: Option<String>,
    /// A short phrase a person understands.
    pub reason: String,
}

impl Action {
    pub fn new(action: Op, effect: Effect, user: &str, reason: impl Into<String>) -> Self {
        Action {
            action,
            effect,
            user: user.to_string(),
            workshop: None,
            participant: None,
            reason: reason.into(),
        }
    }

    pub fn workshop(mut self, id: &str) -> Self {
        self.workshop = Some(id.to_string());
        self
    }

    /// About the key of a claim (`ws`, or `ws/p07`): sets the workshop and the participant.
    pub fn claimed(mut self, claim: &str) -> Self {
        self.set_claim(Some(claim));
        self
    }

    /// Sets the workshop and participant from a claim tag's value, when there is one.
    pub fn set_claim(&mut self, claim: Option<&str>) {
        let (workshop, participant) = match claim.map(crate::core::participants::parse_claim) {
            Some((w, p)) => (Some(w.to_string()), p.map(str::to_string)),
            None => (None, None),
        };
        self.workshop = workshop;
        self.participant = participant;
    }

    /// The claim the action's key carries or gets: `ws`, or `ws/p07`.
    pub fn claim(&self) -> Option<String> {
        let w = self.workshop.as_deref()?;
        Some(crate::core::participants::claim(
            w,
            self.participant.as_deref(),
        ))
    }

    pub fn kind(&self) -> ActionKind {
        self.action.kind()
    }

    /// The key the action is about, if any.
    pub fn access_key_id(&self) -> Option<&str> {
        match &self.action {
            Op::TagUser { access_key_id, .. } => access_key_id.as_deref(),
            Op::DeactivateKey { access_key_id, .. }
            | Op::DeleteKey { access_key_id }
            | Op::RefreshToken { access_key_id, .. } => Some(access_key_id),
            _ => None,
        }
    }

    pub fn policy_name(&self) -> Option<&str> {
        match &self.action {
            Op::PutUserPolicy { policy_name, .. } | Op::DeleteUserPolicy { policy_name } => {
                Some(policy_name)
            }
            _ => None,
        }
    }

    pub fn policy_arn(&self) -> Option<&str> {
        match &self.action {
            Op::DetachUserPolicy { policy_arn } => Some(policy_arn),
            _ => None,
        }
    }

    pub fn policy_document(&self) -> Option<&serde_json::Value> {
        match &self.action {
            Op::PutUserPolicy { document, .. } => Some(document),
            _ => None,
        }
    }

    /// Tags the action sets (`create_user`, `tag_user`) or keeps (`deactivate_key`).
    pub fn tags(&self) -> Option<&BTreeMap<String, String>> {
        match &self.action {
            Op::CreateUser { tags, .. }
            | Op::TagUser { tags, .. }
            | Op::DeactivateKey { tags, .. } => Some(tags),
            _ => None,
        }
    }

    pub fn untag(&self) -> &[String] {
        match &self.action {
            Op::TagUser { untag, .. } => untag,
            _ => &[],
        }
    }

    pub fn bearer_token_until(&self) -> Option<DateTime<Utc>> {
        match &self.action {
            Op::CreateKey { bearer_token_until } => *bearer_token_until,
            Op::RefreshToken {
                bearer_token_until, ..
            } => Some(*bearer_token_until),
            _ => None,
        }
    }

    /// What the action is about, for one-line renderings: `key AKIA...`, `policy X`, ...
    pub fn target(&self) -> String {
        let user = &self.user;
        match &self.action {
            Op::CreateUser { .. } | Op::DeleteUser => format!("user {user}"),
            Op::TagUser { .. } => format!("tags of user {user}"),
            Op::PutUserPolicy { policy_name, .. } | Op::DeleteUserPolicy { policy_name } => {
                format!("policy {policy_name} of user {user}")
            }
            Op::DetachUserPolicy { policy_arn } => {
                format!("managed policy {policy_arn} from user {user}")
            }
            Op::CreateKey { .. } => format!("new key for user {user}"),
            Op::DeactivateKey { access_key_id, .. } | Op::DeleteKey { access_key_id } => {
                format!("key {access_key_id} of user {user}")
            }
            Op::RefreshToken { access_key_id, .. } => {
                format!("bearer token of key {access_key_id} of user {user}")
            }
        }
    }
}

/// The JSON shape of an action: flat, in this field order, absent fields left out.
#[derive(Serialize, Deserialize)]
struct Wire {
    action: ActionKind,
    effect: Effect,
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workshop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    participant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_document: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    untag: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bearer_token_until: Option<DateTime<Utc>>,
    reason: String,
}

impl From<Action> for Wire {
    fn from(a: Action) -> Wire {
        let mut w = Wire {
            action: a.action.kind(),
            effect: a.effect,
            user: a.user,
            workshop: a.workshop,
            participant: a.participant,
            access_key_id: None,
            policy_name: None,
            policy_arn: None,
            policy_document: None,
            path: None,
            tags: BTreeMap::new(),
            untag: Vec::new(),
            bearer_token_until: None,
            reason: a.reason,
        };
        match a.action {
            Op::CreateUser { path, tags } => {
                w.path = Some(path);
                w.tags = tags;
            }
            Op::TagUser {
                access_key_id,
                tags,
                untag,
            } => {
                w.access_key_id = access_key_id;
                w.tags = tags;
                w.untag = untag;
            }
            Op::PutUserPolicy {
                policy_name,
                document,
            } => {
                w.policy_name = Some(policy_name);
                w.policy_document = Some(document);
            }
            Op::DeleteUserPolicy { policy_name } => w.policy_name = Some(policy_name),
            Op::DetachUserPolicy { policy_arn } => w.policy_arn = Some(policy_arn),
            Op::CreateKey { bearer_token_until } => w.bearer_token_until = bearer_token_until,
            Op::DeactivateKey {
                access_key_id,
                tags,
            } => {
                w.access_key_id = Some(access_key_id);
                w.tags = tags;
            }
            Op::DeleteKey { access_key_id } => w.access_key_id = Some(access_key_id),
            Op::DeleteUser => {}
            Op::RefreshToken {
                access_key_id,
                bearer_token_until,
            } => {
                w.access_key_id = Some(access_key_id);
                w.bearer_token_until = Some(bearer_token_until);
            }
        }
        w
    }
}

impl TryFrom<Wire> for Action {
    type Error = String;

    fn try_from(w: Wire) -> Result<Action, String> {
        let kind = w.action.as_str();
        let need = |field: &str| format!("a {kind} action without {field}");
        let key = || w.access_key_id.clone().ok_or_else(|| need("access_key_id"));
        let policy_name = || w.policy_name.clone().ok_or_else(|| need("policy_name"));
        let action = match w.action {
            ActionKind::CreateUser => Op::CreateUser {
                path: w.path.clone().ok_or_else(|| need("path"))?,
                tags: w.tags.clone(),
            },
            ActionKind::TagUser => Op::TagUser {
                access_key_id: w.access_key_id.clone(),
                tags: w.tags.clone(),
                untag: w.untag.clone(),
            },
            ActionKind::PutUserPolicy => Op::PutUserPolicy {
                policy_name: policy_name()?,
                document: w
                    .policy_document
                    .clone()
                    .ok_or_else(|| need("policy_document"))?,
            },
            ActionKind::DeleteUserPolicy => Op::DeleteUserPolicy {
                policy_name: policy_name()?,
            },
            ActionKind::DetachUserPolicy => Op::DetachUserPolicy {
                policy_arn: w.policy_arn.clone().ok_or_else(|| need("policy_arn"))?,
            },
            ActionKind::CreateKey => Op::CreateKey {
                bearer_token_until: w.bearer_token_until,
            },
            ActionKind::DeactivateKey => Op::DeactivateKey {
                access_key_id: key()?,
                tags: w.tags.clone(),
            },
            ActionKind::DeleteKey => Op::DeleteKey {
                access_key_id: key()?,
            },
            ActionKind::DeleteUser => Op::DeleteUser,
            ActionKind::RefreshToken => Op::RefreshToken {
                access_key_id: key()?,
                bearer_token_until: w
                    .bearer_token_until
                    .ok_or_else(|| need("bearer_token_until"))?,
            },
        };
        Ok(Action {
            action,
            effect: w.effect,
            user: w.user,
            workshop: w.workshop,
            participant: w.participant,
            reason: w.reason,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The claim: the workshop id, or `ws/p07` for a participant.
    pub workshop: String,
    pub reason: String,
}

impl Blocked {
    /// The workshop this entry is about, whether it blocks the shared key or a participant's.
    pub fn workshop_id(&self) -> &str {
        crate::core::participants::parse_claim(&self.workshop).0
    }

    /// The participant label (`p07`) of a participant's entry.
    pub fn participant(&self) -> Option<&str> {
        crate::core::participants::parse_claim(&self.workshop).1
    }
}

/// The reason of a delivery that hands over a renewed bearer token of a key handed over before.
pub const TOKEN_RENEWED: &str = "bearer token renewed";

/// A key to hand over with `settings.deliver`: a key created in this run (no id yet), or a
/// live key whose earlier delivery has not succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub workshop: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    pub reason: String,
}

/// A key creation an earlier run started and never saw through (its `.creating.<workshop>`
/// record is still there), whose key IAM now lists: nobody holds its secret, so it is handled
/// like any unclaimed key. The record is removed before the actions, so that its slot is not
/// counted twice, nor again once the key is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    pub workshop: String,
    pub user: String,
    pub access_key_id: String,
}

/// A managed user to which AWS attached its quarantine policy (a key leaked). The tool never
/// detaches that policy, deletes the user or makes a key on it; it deactivates the user's keys
/// and reports the user on every run until `workshop-keys release USER`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub user: String,
    pub policy_arn: String,
    /// The keys the user holds (all exposed on a shared user: the whole room saw the secret).
    pub keys: Vec<String>,
    /// When the tool first saw the quarantine (absent until it has recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// A model a live workshop uses that the account cannot serve yet (`settings.check_models`).
/// The key is still made: the organiser has until the start to fix the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelNotReady {
    pub workshop: String,
    pub model: String,
    pub fix: String,
}

/// A live key verified once more inside `settings.verify_before_start` before its workshop
/// starts: a first call may succeed while a Marketplace subscription is still failing. No IAM
/// change; the result is recorded in the key's `workshop-keys:verified:<key>` tag, so that a
/// later run in the same hour does nothing once it reads `verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverify {
    pub workshop: String,
    pub user: String,
    pub access_key_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The moment planned for.
    pub at: DateTime<Utc>,
    /// In the order they are applied.
    pub actions: Vec<Action>,
    pub blocked: Vec<Blocked>,
    /// Workshops that need a key but wait, for a few minutes at most, for IAM to list keys
    /// made or deleted moments ago before using a slot (IAM is eventually consistent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Blocked>,
    pub warnings: Vec<String>,
    /// Keys to hand over with `settings.deliver`, after the actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivery>,
    /// Interrupted creations whose key IAM lists now: their records go first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settled: Vec<Settled>,
    /// Users AWS quarantined: an incident until released.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<Quarantined>,
    /// Models of live workshops that are not ready in the account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models_not_ready: Vec<ModelNotReady>,
    /// Live keys to verify again before their workshop starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reverify: Vec<Reverify>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    pub delete: usize,
    pub blocked: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Nothing to do, nothing to hand over or re-verify, nothing blocked, no user quarantined
    /// and no model of a live workshop not ready.
    pub fn is_clean(&self) -> bool {
        self.actions.is_empty()
            && self.blocked.is_empty()
            && self.deliveries.is_empty()
            && self.settled.is_empty()
            && self.quarantined.is_empty()
            && self.models_not_ready.is_empty()
            && self.reverify.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            blocked: self.blocked.len(),
            ..Summary::default()
        };
        for a in &self.actions {
            match a.effect {
                Effect::Create => s.create += 1,
                Effect::Change => s.change += 1,
                Effect::Delete => s.delete += 1,
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn at() -> DateTime<Utc> {
        "2026-12-03T18:00:00Z".parse().unwrap()
    }

    fn map(k: &str, v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(k.to_string(), v.to_string())])
    }

    /// Every variant, with the JSON the struct of options wrote before `Op` existed.
    fn cases() -> Vec<(Action, &'static str)> {
        let a = |op, effect| Action::new(op, effect, "wk", "why");
        vec![
            (
                a(
                    Op::CreateUser {
                        path: "/workshop/".into(),
                        tags: map("managed-by", "workshop-keys"),
                    },
                    Effect::Create,
                ),
                r#"{"action":"create_user","effect":"create","user":"wk","path":"/workshop/","tags":{"managed-by":"workshop-keys"},"reason":"why"}"#,
            ),
            (
                a(
                    Op::TagUser {
                        access_key_id: Some("AKIA1".into()),
                        tags: map("AKIA1", "w1"),
                        untag: vec!["x".into()],
                    },
                    Effect::Change,
                )
                .workshop("w1"),
                r#"{"action":"tag_user","effect":"change","user":"wk","workshop":"w1","access_key_id":"AKIA1","tags":{"AKIA1":"w1"},"untag":["x"],"reason":"why"}"#,
            ),
            (
                a(Op::tag_user(), Effect::Change),
                r#"{"action":"tag_user","effect":"change","user":"wk","reason":"why"}"#,
            ),
            (
                a(
                    Op::PutUserPolicy {
                        policy_name: "P".into(),
                        document: serde_json::json!({"Version": "2012-10-17"}),
                    },
                    Effect::Change,
                ),
                r#"{"action":"put_user_policy","effect":"change","user":"wk","policy_name":"P","policy_document":{"Version":"2012-10-17"},"reason":"why"}"#,
            ),
            (
                a(
                    Op::DeleteUserPolicy {
                        policy_name: "P".into(),
                    },
                    Effect::Delete,
                ),
                r#"{"action":"delete_user_policy","effect":"delete","user":"wk","policy_name":"P","reason":"why"}"#,
            ),
            (
                a(
                    Op::DetachUserPolicy {
                        policy_arn: "arn:aws:iam::aws:policy/X".into(),
                    },
                    Effect::Delete,
                ),
                r#"{"action":"detach_user_policy","effect":"delete","user":"wk","policy_arn":"arn:aws:iam::aws:policy/X","reason":"why"}"#,
            ),
            (
                a(
                    Op::CreateKey {
                        bearer_token_until: Some(at()),
                    },
                    Effect::Create,
                )
                .workshop("w1"),
                r#"{"action":"create_key","effect":"create","user":"wk","workshop":"w1","bearer_token_until":"2026-12-03T18:00:00Z","reason":"why"}"#,
            ),
            (
                a(
                    Op::CreateKey {
                        bearer_token_until: None,
                    },
                    Effect::Create,
                )
                .workshop("w1"),
                r#"{"action":"create_key","effect":"create","user":"wk","workshop":"w1","reason":"why"}"#,
            ),
            (
                a(
                    Op::DeactivateKey {
                        access_key_id: "AKIA1".into(),
                        tags: map("t", "v"),
                    },
                    Effect::Delete,
                ),
                r#"{"action":"deactivate_key","effect":"delete","user":"wk","access_key_id":"AKIA1","tags":{"t":"v"},"reason":"why"}"#,
            ),
            (
                a(
                    Op::DeleteKey {
                        access_key_id: "AKIA1".into(),
                    },
                    Effect::Delete,
                )
                .workshop("w1"),
                r#"{"action":"delete_key","effect":"delete","user":"wk","workshop":"w1","access_key_id":"AKIA1","reason":"why"}"#,
            ),
            (
                a(Op::DeleteUser, Effect::Delete),
                r#"{"action":"delete_user","effect":"delete","user":"wk","reason":"why"}"#,
            ),
            (
                a(
                    Op::RefreshToken {
                        access_key_id: "AKIA1".into(),
                        bearer_token_until: at(),
                    },
                    Effect::Change,
                )
                .workshop("w1"),
                r#"{"action":"refresh_token","effect":"change","user":"wk","workshop":"w1","access_key_id":"AKIA1","bearer_token_until":"2026-12-03T18:00:00Z","reason":"why"}"#,
            ),
        ]
    }

    #[test]
    fn every_variant_keeps_its_json_shape_and_reads_back() {
        let mut kinds = BTreeSet::new();
        for (action, json) in cases() {
            kinds.insert(action.kind());
            assert_eq!(serde_json::to_string(&action).unwrap(), json);
            let back: Action = serde_json::from_str(json).unwrap();
            assert_eq!(back, action);
        }
        assert_eq!(kinds.len(), 10, "a variant has no case");
    }

    #[test]
    fn an_action_missing_its_data_is_refused_by_name() {
        let json = r#"{"action":"delete_key","effect":"delete","user":"wk","reason":"why"}"#;
        let err = serde_json::from_str::<Action>(json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("delete_key action without access_key_id"),
            "{err}"
        );
    }
}
