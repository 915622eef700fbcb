//! `Iam` over the AWS SDK for Rust.
//!
//! Every SDK error becomes an [`IamError`] naming the IAM API call and the user it was about.
//! Throttling is left to the SDK's standard retry mode; what is still throttled after its
//! retries comes back as [`IamErrorKind::Throttling`]. Secrets from `CreateAccessKey` are wrapped
//! in [`Secret`] at once and never logged.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{StatusType, Tag};
use aws_smithy_http_client::tls;
use chrono::{DateTime, Utc};

use super::{Iam, IamError, IamErrorKind, KeyMeta, NewKey, UserSummary};
use crate::observed::{KeyStatus, LastUsed};
use crate::secrets::Secret;

/// The region IAM requests are signed for when none is configured: IAM is a global service whose
/// endpoint lives in us-east-1.
pub const IAM_SIGNING_REGION_FALLBACK: &str = "us-east-1";

/// The SDK configuration from the standard chains (environment, profile files, SSO, process
/// credentials, container and instance metadata), with an explicit profile and region when given.
/// `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_IAM`, ...) are honoured by `aws-config`.
///
/// The region stays unset when nothing configures one: [`AwsIam::new`] falls back to
/// [`IAM_SIGNING_REGION_FALLBACK`] for IAM, while regional services need a real one.
pub async fn load_sdk_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    loader.load().await
}

/// [`Iam`] over `aws_sdk_iam`.
#[derive(Debug, Clone)]
pub struct AwsIam {
    client: aws_sdk_iam::Client,
}

impl AwsIam {
    /// A client for `config`, signing for us-east-1 when `config` has no region.
    pub fn new(config: &SdkConfig) -> Self {
        let mut builder = aws_sdk_iam::config::Builder::from(config);
        if config.region().is_none() {
            builder = builder.region(Region::from_static(IAM_SIGNING_REGION_FALLBACK));
        }
        AwsIam {
            client: aws_sdk_iam::Client::from_conf(builder.build()),
        }
    }

    pub fn from_client(client: aws_sdk_iam::Client) -> Self {
        AwsIam { client }
    }

    pub fn client(&self) -> &aws_sdk_iam::Client {
        &self.client
    }
}

/// How an SDK error looked, reduced to what decides its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure<'a> {
    /// The service answered with an error (decoded or not): its code and HTTP status.
    Service {
        code: Option<&'a str>,
        status: Option<u16>,
    },
    /// An answer that could not be read.
    Response {
        status: Option<u16>,
    },
    /// The request never got an answer: connection refused or reset, DNS, TLS.
    Dispatch,
    /// Something local failed before sending: no credentials, no region, a bad endpoint.
    Local,
    Timeout,
}

const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
];
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];
const TRANSIENT_CODES: &[&str] = &[
    "ServiceFailure",
    "ServiceFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "RequestTimeout",
    "RequestTimeoutException",
];

fn classify(failure: Failure<'_>) -> IamErrorKind {
    let by_status = |status: Option<u16>| match status {
        Some(403) => IamErrorKind::AccessDenied,
        Some(429) => IamErrorKind::Throttling,
        Some(s) if s >= 500 => IamErrorKind::Transient,
        _ => IamErrorKind::Other,
    };
    match failure {
        Failure::Service { code, status } => match code {
            Some("NoSuchEntity") => IamErrorKind::NoSuchEntity,
            Some("EntityAlreadyExists") => IamErrorKind::EntityAlreadyExists,
            Some("LimitExceeded") => IamErrorKind::LimitExceeded,
            Some("DeleteConflict") => IamErrorKind::DeleteConflict,
            Some(c) if ACCESS_DENIED_CODES.contains(&c) => IamErrorKind::AccessDenied,
            Some(c) if THROTTLING_CODES.contains(&c) => IamErrorKind::Throttling,
            Some(c) if TRANSIENT_CODES.contains(&c) => IamErrorKind::Transient,
            _ => by_status(status),
        },
        Failure::Response { status } => match by_status(status) {
            IamErrorKind::Other => IamErrorKind::Transient,
            kind => kind,
        },
        Failure::Dispatch | Failure::Timeout => IamErrorKind::Transient,
        Failure::Local => IamErrorKind::Other,
    }
}

/// Whether a dispatch failure happened before anything was sent: credentials or region missing,
/// signing or endpoint resolution failed, an interceptor failed. The connector reports network
/// trouble as I/O or timeout errors.
fn is_local_dispatch_failure(err: &aws_sdk_iam::error::ConnectorError) -> bool {
    if err.is_io() || err.is_timeout() {
        return false;
    }
    if err.is_user() {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// Maps an SDK error to the tool's terms. Messages carry the service's message or the error
/// chain, never a request body.
pub(crate) fn map_sdk_error<E>(
    operation: &'static str,
    user: Option<&str>,
    err: SdkError<E, HttpResponse>,
) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let (failure, code, message) = match &err {
        SdkError::ServiceError(_) => {
            let code = err.code();
            let message = match (err.message(), code, status) {
                (Some(m), _, _) => m.to_string(),
                (None, None, Some(s)) => format!("HTTP {s} with an error the SDK could not decode"),
                (None, _, _) => String::new(),
            };
            let code_text = match (code, status) {
                (Some(c), _) => c.to_string(),
                (None, Some(s)) => format!("HTTP {s}"),
                (None, None) => "ServiceError".to_string(),
            };
            (Failure::Service { code, status }, code_text, message)
        }
        SdkError::ResponseError(_) => (
            Failure::Response { status },
            match status {
                Some(s) => format!("HTTP {s}"),
                None => "ResponseError".to_string(),
            },
            DisplayErrorContext(&err).to_string(),
        ),
        SdkError::DispatchFailure(d) => {
            let local = d
                .as_connector_error()
                .is_some_and(is_local_dispatch_failure);
            (
                if local {
                    Failure::Local
                } else {
                    Failure::Dispatch
                },
                "DispatchFailure".to_string(),
                DisplayErrorContext(&err).to_string(),
            )
        }
        SdkError::TimeoutError(_) => (
            Failure::Timeout,
            "Timeout".to_string(),
            DisplayErrorContext(&err).to_string(),
        ),
        SdkError::ConstructionFailure(_) => (
            Failure::Local,
            "ConstructionFailure".to_string(),
            DisplayErrorContext(&err).to_string(),
        ),
        _ => (
            Failure::Local,
            "SdkError".to_string(),
            DisplayErrorContext(&err).to_string(),
        ),
    };
    let kind = classify(failure);
    tracing::debug!(operation, user, ?kind, code = %code, status, "iam call failed");
    IamError::new(operation, user, kind, code, message)
}

fn other(operation: &'static str, user: Option<&str>, message: impl Into<String>) -> IamError {
    IamError::new(
        operation,
        user,
        IamErrorKind::Other,
        "UnexpectedResponse",
        message,
    )
}

pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn tags_of(
    operation: &'static str,
    user: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Tag>, IamError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| other(operation, Some(user), e.to_string()))
        })
        .collect()
}

/// `GetAccessKeyLastUsed` answers "N/A" for a key never used.
fn not_na(s: &str) -> Option<String> {
    match s {
        "" | "N/A" => None,
        s => Some(s.to_string()),
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
        let out = self
            .client
            .create_access_key()
            .user_name(user)
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
