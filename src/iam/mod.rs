//! The narrow seam between the tool and IAM: the `Iam` trait (implemented over the AWS SDK in
//! `aws` and in memory in `fake`), its error type, and `observe`, which reads a snapshot.

pub mod aws;
mod error;
pub mod fake;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use error::{AccessProblem, IamError, IamErrorKind};

use crate::core::observed::{KeyStatus, LastUsed};
use crate::store::files::Secret;

/// A user as `ListUsers` / `GetUser` return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub name: String,
    pub path: String,
}

/// An access key's metadata as `ListAccessKeys` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta {
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created: DateTime<Utc>,
}

/// A key just made by `CreateAccessKey`: the only moment its secret exists.
#[derive(Debug)]
pub struct NewKey {
    pub access_key_id: String,
    pub secret: Secret,
    pub created: DateTime<Utc>,
}

/// One user as `GetAccountAuthorizationDetails` (filter `User`) describes it: everything the
/// per-user reads give except the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetail {
    pub name: String,
    pub path: String,
    pub tags: BTreeMap<String, String>,
    /// Inline policies: name to document as JSON text (already URL-decoded).
    pub inline_policies: BTreeMap<String, String>,
    /// Attached managed policies' ARNs.
    pub attached_policies: Vec<String>,
}

/// The IAM operations the tool uses, and nothing more. Every method names one IAM API call.
/// Not-found answers are errors of kind `NoSuchEntity` except where an `Option` says otherwise.
#[allow(async_fn_in_trait)]
pub trait Iam {
    /// `ListUsers` with a path prefix, all pages.
    async fn list_users(&self, path_prefix: &str) -> Result<Vec<UserSummary>, IamError>;
    /// `GetUser`; `None` when there is no such user.
    async fn get_user(&self, user: &str) -> Result<Option<UserSummary>, IamError>;
    /// `ListUserTags`, all pages.
    async fn list_user_tags(&self, user: &str) -> Result<BTreeMap<String, String>, IamError>;
    /// `ListAccessKeys`.
    async fn list_access_keys(&self, user: &str) -> Result<Vec<KeyMeta>, IamError>;
    /// `GetAccessKeyLastUsed`.
    async fn get_access_key_last_used(&self, access_key_id: &str) -> Result<LastUsed, IamError>;
    /// `ListUserPolicies`, all pages: inline policy names.
    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError>;
    /// `GetUserPolicy`: the document as JSON text (already URL-decoded).
    async fn get_user_policy(&self, user: &str, policy_name: &str) -> Result<String, IamError>;
    /// `ListAttachedUserPolicies`, all pages: policy ARNs.
    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError>;

    /// `GetAccountAuthorizationDetails` with filter `User`, all pages: every user in the
    /// account, whatever its path. Needs its own permission, which callers may lack.
    async fn get_account_authorization_details(&self) -> Result<Vec<UserDetail>, IamError>;

    /// `CreateUser` with a path and tags in the same call.
    async fn create_user(
        &self,
        user: &str,
        path: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), IamError>;
    /// `TagUser`.
    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError>;
    /// `UntagUser`.
    async fn untag_user(&self, user: &str, keys: &[String]) -> Result<(), IamError>;
    /// `PutUserPolicy`.
    async fn put_user_policy(
        &self,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError>;
    /// `DeleteUserPolicy`.
    async fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<(), IamError>;
    /// `DetachUserPolicy`.
    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError>;
    /// `CreateAccessKey`.
    async fn create_access_key(&self, user: &str) -> Result<NewKey, IamError>;
    /// `UpdateAccessKey` (activate or deactivate).
    async fn update_access_key(
        &self,
        user: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError>;
    /// `DeleteAccessKey`.
    async fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError>;
    /// `DeleteUser`.
    async fn delete_user(&self, user: &str) -> Result<(), IamError>;
}
