//! `Iam` over the AWS SDK for Rust.
//!
//! Every SDK error becomes an [`IamError`] naming the IAM API call and the user it was about.
//! Throttling is left to the SDK's adaptive retry mode (its client-side rate limiter slows every
//! call of the client once IAM throttles, which suits many concurrent calls); what is still
//! throttled after its retries comes back as [`IamErrorKind::Throttling`]. `CreateAccessKey`
//! alone is never retried by the SDK. Secrets from `CreateAccessKey` are wrapped
//! in [`Secret`] at once and never logged.

#[cfg(test)]
mod canned;
mod bulk;
mod errors;
mod reads;

use std::collections::BTreeMap;

use aws_config::Region;
use aws_sdk_iam::types::StatusType;
use chrono::Utc;

use super::{Iam, IamError, IamErrorKind, KeyMeta, NewKey, UserDetail, UserSummary};
use crate::core::observed::{KeyStatus, LastUsed};
use crate::sdk::AwsSession;
use crate::store::files::Secret;

pub(crate) use errors::chain_text;
use errors::{map_sdk_error, other};
use reads::{not_na, tags_of, to_chrono};

/// The region IAM requests are signed for when none is configured: IAM is a global service whose
/// endpoint lives in us-east-1.
pub const IAM_SIGNING_REGION_FALLBACK: &str = "us-east-1";

/// IAM's global endpoint, named in errors when no other endpoint is configured.
pub const IAM_DEFAULT_ENDPOINT: &str = "https://iam.amazonaws.com";

/// [`Iam`] over `aws_sdk_iam`.
#[derive(Debug, Clone)]
pub struct AwsIam {
    client: aws_sdk_iam::Client,
    /// `AWS_ENDPOINT_URL` (or the configured endpoint), for error messages.
    endpoint: Option<String>,
}

impl AwsIam {
    /// A client for `session`, signing for us-east-1 when `config` has no region.
    pub fn new(session: &AwsSession) -> Self {
        let config = session.config();
        let mut builder = aws_sdk_iam::config::Builder::from(config)
            .retry_config(aws_smithy_types::retry::RetryConfig::adaptive());
        if config.region().is_none() {
            builder = builder.region(Region::from_static(IAM_SIGNING_REGION_FALLBACK));
        }
        AwsIam {
            client: aws_sdk_iam::Client::from_conf(builder.build()),
            endpoint: config.endpoint_url().map(str::to_string),
        }
    }

    pub fn from_client(client: aws_sdk_iam::Client) -> Self {
        AwsIam {
            client,
            endpoint: None,
        }
    }

    /// The endpoint IAM calls go to, as far as the configuration tells.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_deref().unwrap_or(IAM_DEFAULT_ENDPOINT)
    }

    pub fn client(&self) -> &aws_sdk_iam::Client {
        &self.client
    }
}

impl Iam for AwsIam {
    async fn list_users(&self, path_prefix: &str) -> Result<Vec<UserSummary>, IamError> {
        const OP: &str = "ListUsers";
        tracing::debug!(operation = OP, path_prefix, "iam call");
        let users = self
            .client
            .list_users()
            .path_prefix(path_prefix)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error(OP, None, e))?;
        Ok(users
            .into_iter()
            .map(|u| UserSummary {
                name: u.user_name,
                path: u.path,
            })
            .collect())
    }

    async fn get_user(&self, user: &str) -> Result<Option<UserSummary>, IamError> {
        const OP: &str = "GetUser";
        tracing::debug!(operation = OP, user, "iam call");
        match self.client.get_user().user_name(user).send().await {
            Ok(out) => Ok(out.user.map(|u| UserSummary {
                name: u.user_name,
                path: u.path,
            })),
            Err(e) => {
                let err = map_sdk_error(OP, Some(user), e);
                if err.is(IamErrorKind::NoSuchEntity) {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn list_user_tags(&self, user: &str) -> Result<BTreeMap<String, String>, IamError> {
        const OP: &str = "ListUserTags";
        tracing::debug!(operation = OP, user, "iam call");
        let tags = self
            .client
            .list_user_tags()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<KeyMeta>, IamError> {
        const OP: &str = "ListAccessKeys";
        tracing::debug!(operation = OP, user, "iam call");
        let keys = self
            .client
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        keys.into_iter()
            .map(|k| {
                let access_key_id = k
                    .access_key_id
                    .ok_or_else(|| other(OP, Some(user), "access key without an id"))?;
                let status = match k.status {
                    Some(StatusType::Active) => KeyStatus::Active,
                    Some(StatusType::Inactive) => KeyStatus::Inactive,
                    s => {
                        return Err(other(
                            OP,
                            Some(user),
                            format!("access key {access_key_id} has status {s:?}"),
                        ))
                    }
                };
                let created = k.create_date.as_ref().and_then(to_chrono).ok_or_else(|| {
                    other(
                        OP,
                        Some(user),
                        format!("access key {access_key_id} without a creation date"),
                    )
                })?;
                Ok(KeyMeta {
                    access_key_id,
                    status,
                    created,
                })
            })
            .collect()
    }

    async fn get_access_key_last_used(&self, access_key_id: &str) -> Result<LastUsed, IamError> {
        const OP: &str = "GetAccessKeyLastUsed";
        tracing::debug!(operation = OP, access_key_id, "iam call");
        let out = self
            .client
            .get_access_key_last_used()
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, None, e))?;
        Ok(match out.access_key_last_used {
            None => LastUsed::default(),
            Some(used) => LastUsed {
                at: used.last_used_date.as_ref().and_then(to_chrono),
                service: not_na(&used.service_name),
                region: not_na(&used.region),
            },
        })
    }

    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        const OP: &str = "ListUserPolicies";
        tracing::debug!(operation = OP, user, "iam call");
        self.client
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))
    }

    async fn get_user_policy(&self, user: &str, policy_name: &str) -> Result<String, IamError> {
        const OP: &str = "GetUserPolicy";
        tracing::debug!(operation = OP, user, policy_name, "iam call");
        let out = self
            .client
            .get_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        urlencoding::decode(&out.policy_document)
            .map(|d| d.into_owned())
            .map_err(|e| {
                other(
                    OP,
                    Some(user),
                    format!("policy {policy_name} is not URL-encoded UTF-8: {e}"),
                )
            })
    }

    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        const OP: &str = "ListAttachedUserPolicies";
        tracing::debug!(operation = OP, user, "iam call");
        let policies = self
            .client
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(policies.into_iter().filter_map(|p| p.policy_arn).collect())
    }

    async fn get_account_authorization_details(&self) -> Result<Vec<UserDetail>, IamError> {
        self.bulk_users().await
    }

    async fn create_user(
        &self,
        user: &str,
        path: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), IamError> {
        const OP: &str = "CreateUser";
        tracing::debug!(operation = OP, user, path, tags = tags.len(), "iam call");
        let mut request = self.client.create_user().user_name(user).path(path);
        if !tags.is_empty() {
            request = request.set_tags(Some(tags_of(OP, user, tags)?));
        }
        request
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        const OP: &str = "TagUser";
        tracing::debug!(operation = OP, user, tags = ?tags.keys().collect::<Vec<_>>(), "iam call");
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .tag_user()
            .user_name(user)
            .set_tags(Some(tags_of(OP, user, tags)?))
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn untag_user(&self, user: &str, keys: &[String]) -> Result<(), IamError> {
        const OP: &str = "UntagUser";
        tracing::debug!(operation = OP, user, tags = ?keys, "iam call");
        if keys.is_empty() {
            return Ok(());
        }
        self.client
            .untag_user()
            .user_name(user)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn put_user_policy(
        &self,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        const OP: &str = "PutUserPolicy";
        tracing::debug!(operation = OP, user, policy_name, "iam call");
        self.client
            .put_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .policy_document(document)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<(), IamError> {
        const OP: &str = "DeleteUserPolicy";
        tracing::debug!(operation = OP, user, policy_name, "iam call");
        self.client
            .delete_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError> {
        const OP: &str = "DetachUserPolicy";
        tracing::debug!(operation = OP, user, policy_arn, "iam call");
        self.client
            .detach_user_policy()
            .user_name(user)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn create_access_key(&self, user: &str) -> Result<NewKey, IamError> {
        const OP: &str = "CreateAccessKey";
        tracing::debug!(operation = OP, user, "iam call");
        // Not retried by the SDK: a retry after a lost answer makes a second key whose secret
        // nobody sees (or meets the two-key limit). The next run handles a failed create.
        let out = self
            .client
            .create_access_key()
            .user_name(user)
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_smithy_types::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        let mut key = out
            .access_key
            .ok_or_else(|| other(OP, Some(user), "answer without an access key"))?;
        // Move the secret out of the SDK's struct straight into the zeroizing wrapper.
        let secret = Secret::new(std::mem::take(&mut key.secret_access_key));
        let created = key
            .create_date
            .as_ref()
            .and_then(to_chrono)
            .unwrap_or_else(Utc::now);
        let access_key_id = std::mem::take(&mut key.access_key_id);
        tracing::debug!(operation = OP, user, access_key_id, "access key created");
        Ok(NewKey {
            access_key_id,
            secret,
            created,
        })
    }

    async fn update_access_key(
        &self,
        user: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        const OP: &str = "UpdateAccessKey";
        tracing::debug!(
            operation = OP,
            user,
            access_key_id,
            status = status.as_str(),
            "iam call"
        );
        let status = match status {
            KeyStatus::Active => StatusType::Active,
            KeyStatus::Inactive => StatusType::Inactive,
        };
        self.client
            .update_access_key()
            .user_name(user)
            .access_key_id(access_key_id)
            .status(status)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError> {
        const OP: &str = "DeleteAccessKey";
        tracing::debug!(operation = OP, user, access_key_id, "iam call");
        self.client
            .delete_access_key()
            .user_name(user)
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }

    async fn delete_user(&self, user: &str) -> Result<(), IamError> {
        const OP: &str = "DeleteUser";
        tracing::debug!(operation = OP, user, "iam call");
        self.client
            .delete_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| map_sdk_error(OP, Some(user), e))?;
        Ok(())
    }
}
