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

/// One IAM change. Fields that do not apply to an action are absent from its JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub action: ActionKind,
    pub effect: Effect,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workshop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// `detach_user_policy`: the managed policy's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
    /// `put_user_policy`: the document to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_document: Option<serde_json::Value>,
    /// `create_user`: the IAM path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `create_user`, `tag_user`: tags to set. `deactivate_key`: the deactivation time to keep
    /// when the key was deactivated before (absent: the plan's time).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// `tag_user`: tags to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untag: Vec<String>,
    /// `create_key`, `refresh_token` with `settings.bedrock_api_key`: the credentials file gets
    /// a bearer token that AWS refuses from this time on (end + grace) at the latest. The token
    /// itself is made when the action runs, never held in a plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_until: Option<DateTime<Utc>>,
    /// A short phrase a person understands.
    pub reason: String,
}

impl Action {
    pub fn new(action: ActionKind, effect: Effect, user: &str, reason: impl Into<String>) -> Self {
        Action {
            action,
            effect,
            user: user.to_string(),
            workshop: None,
            access_key_id: None,
            policy_name: None,
            policy_arn: None,
            policy_document: None,
            path: None,
            tags: BTreeMap::new(),
            untag: Vec::new(),
            bearer_token_until: None,
            reason: reason.into(),
        }
    }

    pub fn workshop(mut self, id: &str) -> Self {
        self.workshop = Some(id.to_string());
        self
    }

    pub fn key(mut self, id: &str) -> Self {
        self.access_key_id = Some(id.to_string());
        self
    }

    /// What the action is about, for one-line renderings: `key AKIA...`, `policy X`, ...
    pub fn target(&self) -> String {
        match self.action {
            ActionKind::CreateUser | ActionKind::DeleteUser => format!("user {}", self.user),
            ActionKind::TagUser => format!("tags of user {}", self.user),
            ActionKind::PutUserPolicy | ActionKind::DeleteUserPolicy => format!(
                "policy {} of user {}",
                self.policy_name.as_deref().unwrap_or("?"),
                self.user
            ),
            ActionKind::DetachUserPolicy => format!(
                "managed policy {} from user {}",
                self.policy_arn.as_deref().unwrap_or("?"),
                self.user
            ),
            ActionKind::CreateKey => format!("new key for user {}", self.user),
            ActionKind::DeactivateKey | ActionKind::DeleteKey => format!(
                "key {} of user {}",
                self.access_key_id.as_deref().unwrap_or("?"),
                self.user
            ),
            ActionKind::RefreshToken => format!(
                "bearer token of key {} of user {}",
                self.access_key_id.as_deref().unwrap_or("?"),
                self.user
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub workshop: String,
    pub reason: String,
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
