//! A plain snapshot of what exists: IAM users under the managed path with their keys, tags and
//! policies, plus which key each local credentials file holds. No SDK types, no secrets.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::tags;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// What `GetAccessKeyLastUsed` says (only read for `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LastUsed {
    pub at: Option<DateTime<Utc>>,
    pub service: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedKey {
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<LastUsed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedUser {
    pub name: String,
    pub path: String,
    pub tags: BTreeMap<String, String>,
    /// Sorted by access key id. Empty for users that are not managed (not read).
    pub keys: Vec<ObservedKey>,
    /// Inline policies by name, documents parsed as JSON (decoded from IAM's URL encoding).
    pub inline_policies: BTreeMap<String, serde_json::Value>,
    /// ARNs of attached managed policies.
    pub attached_policies: Vec<String>,
}

impl ObservedUser {
    /// Carries `managed-by = workshop-keys`: the only users the tool writes to.
    pub fn is_managed(&self) -> bool {
        tags::is_managed(&self.tags)
    }

    /// AWS's quarantine policy, when AWS attached it because one of the user's keys leaked.
    pub fn quarantine_policy(&self) -> Option<&str> {
        self.attached_policies
            .iter()
            .map(String::as_str)
            .find(|arn| crate::core::policy::is_quarantine(arn))
    }

    pub fn key(&self, id: &str) -> Option<&ObservedKey> {
        self.keys.iter().find(|k| k.access_key_id == id)
    }

    /// The newest active key the claim tags give to `workshop`.
    pub fn live_key_of(&self, workshop: &str) -> Option<&ObservedKey> {
        self.keys
            .iter()
            .filter(|k| {
                k.status == KeyStatus::Active
                    && self.tags.get(&k.access_key_id).map(String::as_str) == Some(workshop)
            })
            .max_by_key(|k| k.created)
    }
}

/// The key id a workshop's credentials file holds, and when the tool wrote it (the plan time
/// recorded in the file). Never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsFile {
    pub access_key_id: String,
    pub written: Option<DateTime<Utc>>,
}

/// A key creation the tool started (recorded before `CreateAccessKey`) and has not seen
/// through to a credentials file: a key may exist that IAM does not list yet, or whose secret
/// was lost. It occupies a slot on `user` until IAM shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCreate {
    pub user: String,
    pub at: DateTime<Utc>,
    /// The keys IAM listed on `user` just before the create (absent: not known). A key that
    /// shows up later, outside this set, and that no workshop claims, is this creation's
    /// outcome: once IAM lists it, the record has done its job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_before: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Observed {
    /// Users under the managed path, managed or not, sorted by name.
    pub users: Vec<ObservedUser>,
    /// Users the schedule names that exist outside the managed path (never touched).
    pub outside_path: BTreeSet<String>,
    /// Credentials files by workshop id.
    pub files: BTreeMap<String, CredentialsFile>,
    /// Key creations started but not seen through, by workshop id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub creating: BTreeMap<String, PendingCreate>,
    /// Keys this tool deleted, and when: IAM may list them for a while after.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deleted: BTreeMap<String, DateTime<Utc>>,
    /// When the bearer token (`AWS_BEARER_TOKEN_BEDROCK`) in a credentials file expires, by
    /// workshop id, as its comment line says. Never the token.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokens: BTreeMap<String, DateTime<Utc>>,
    /// Why the credentials directory is no safe place for a new secret, when it is not: no key
    /// is created then, but revocation goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_problem: Option<CredentialsProblem>,
    /// Readiness of the models live workshops use, by model as the schedule names it (read
    /// only with `settings.check_models`, and only while some workshop's key window is open).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, crate::models::Readiness>,
    /// Models whose readiness could not be read, with why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models_unread: BTreeMap<String, String>,
}

/// The credentials directory cannot take new secrets (open to others, not a directory,
/// unreadable, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsProblem {
    /// What is wrong and what to do, as one sentence.
    pub message: String,
    /// Its files could not be listed: `files`, `creating` and `deleted` are unknown (empty),
    /// so a missing file there says nothing about a lost secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlisted: bool,
}

impl Observed {
    pub fn user(&self, name: &str) -> Option<&ObservedUser> {
        self.users.iter().find(|u| u.name == name)
    }
}
