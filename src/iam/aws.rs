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

use super::{AccessProblem, Iam, IamError, IamErrorKind, KeyMeta, NewKey, UserSummary};
use crate::core::observed::{KeyStatus, LastUsed};
use crate::store::files::Secret;

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
    /// A client for `config`, signing for us-east-1 when `config` has no region.
    pub fn new(config: &SdkConfig) -> Self {
        let mut builder = aws_sdk_iam::config::Builder::from(config);
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

/// The sources of the default credential chain, in words, by the names aws-config gives them.
fn credential_source_in_words(name: &str) -> String {
    match name {
        "Environment" => "environment variables (AWS_ACCESS_KEY_ID)".to_string(),
        "Profile" => "the profile in ~/.aws/config and ~/.aws/credentials".to_string(),
        "WebIdentityToken" => "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_string(),
        "EcsContainer" => "container credentials (ECS, EKS)".to_string(),
        "Ec2InstanceMetadata" => "EC2 instance metadata".to_string(),
        other => other.to_string(),
    }
}

type ErrorRef<'a> = &'a (dyn std::error::Error + 'static);

/// `err` and its sources, outermost first.
fn error_chain<'a>(err: ErrorRef<'a>) -> impl Iterator<Item = ErrorRef<'a>> {
    std::iter::successors(Some(err), |e| e.source())
}

/// The sources' messages joined on one line: what the SDK says, without its Debug rendering.
pub(crate) fn chain_text(err: ErrorRef<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in error_chain(err) {
        let text = e.to_string().replace('\n', " ");
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// Credentials that could not be had, from aws-config's typed errors in the chain.
fn credentials_problem(err: ErrorRef<'_>) -> Option<AccessProblem> {
    use aws_credential_types::provider::error::{CredentialsError, TokenError};
    let (position, outer) = error_chain(err)
        .enumerate()
        .find_map(|(i, e)| e.downcast_ref::<CredentialsError>().map(|c| (i, c)))?;
    let below = || error_chain(err).skip(position + 1);
    if let Some(chain) = below()
        .find_map(|e| e.downcast_ref::<aws_config::meta::ProviderChainError<CredentialsError>>())
    {
        let tried = chain
            .attempts()
            .iter()
            .map(|a| credential_source_in_words(a.name()))
            .collect();
        return Some(AccessProblem::NoCredentials { tried });
    }
    // Only SSO logins resolve a token on the way to credentials.
    if below().any(|e| e.downcast_ref::<TokenError>().is_some()) {
        return Some(AccessProblem::SsoLogin { profile: None });
    }
    let reason = match std::error::Error::source(outer) {
        Some(source) => chain_text(source),
        None => outer.to_string(),
    };
    Some(AccessProblem::CredentialsFailed { reason })
}

/// A request that got no answer: why, in a few words (the I/O error's kind when there is one).
fn unreachable_reason(err: ErrorRef<'_>, timed_out: bool) -> String {
    if timed_out {
        return "timed out".to_string();
    }
    match error_chain(err).find_map(|e| e.downcast_ref::<std::io::Error>()) {
        Some(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
            std::io::ErrorKind::TimedOut => "timed out".to_string(),
            _ => io.to_string(),
        },
        None => "no connection".to_string(),
    }
}

/// The caller's AWS setup at fault, if that is what `err` shows: typed SDK errors for
/// credentials and connections, the service's code for rejected keys.
pub(crate) fn access_problem<E, R>(
    err: &SdkError<E, R>,
    code: Option<&str>,
) -> Option<AccessProblem>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err {
        SdkError::ServiceError(_) => match code? {
            "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
                Some(AccessProblem::InvalidKey)
            }
            "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidSignatureException" => {
                Some(AccessProblem::WrongSecret)
            }
            "ExpiredToken" | "ExpiredTokenException" => Some(AccessProblem::ExpiredToken),
            _ => None,
        },
        SdkError::DispatchFailure(d) => {
            let connector = d.as_connector_error()?;
            if connector.is_io() || connector.is_timeout() {
                Some(AccessProblem::Unreachable {
                    reason: unreachable_reason(connector, connector.is_timeout()),
                    endpoint: None,
                })
            } else {
                credentials_problem(connector)
            }
        }
        SdkError::TimeoutError(_) => Some(AccessProblem::Unreachable {
            reason: "timed out".to_string(),
            endpoint: None,
        }),
        _ => credentials_problem(err),
    }
}

/// Maps an SDK error to the tool's terms. Messages carry the service's message or the error
/// chain, never a request body; the SDK's full rendering goes to the debug log only.
pub(crate) fn map_sdk_error<E>(
    operation: &'static str,
    user: Option<&str>,
    err: SdkError<E, HttpResponse>,
) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    // An error body the SDK could not decode (moto answers some in another XML shape): its code.
    let body_code = match (&err, err.code()) {
        (SdkError::ServiceError(_), None) => err
            .raw_response()
            .and_then(|r| r.body().bytes())
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|b| crate::verify::classify::parse_error_body(b).code),
        _ => None,
    };
    let (failure, code, message) = match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().or(body_code.as_deref());
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
            chain_text(&err),
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
                chain_text(&err),
            )
        }
        SdkError::TimeoutError(_) => (Failure::Timeout, "Timeout".to_string(), chain_text(&err)),
        SdkError::ConstructionFailure(_) => (
            Failure::Local,
            "ConstructionFailure".to_string(),
            chain_text(&err),
        ),
        _ => (Failure::Local, "SdkError".to_string(), chain_text(&err)),
    };
    let kind = classify(failure);
    let problem = access_problem(&err, err.code().or(body_code.as_deref()));
    // The SDK's full rendering, for the debug log only; never of a response (whose body might
    // hold a new key's secret).
    let detail = match &err {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => chain_text(&err),
        _ => DisplayErrorContext(&err).to_string(),
    };
    tracing::debug!(operation, user, ?kind, code = %code, status, error = %detail, "iam call failed");
    IamError::new(operation, user, kind, code, message).with_problem(problem)
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

#[cfg(test)]
mod tests {
    //! moto answers everything in one page, so pagination, decoding and error mapping are tested
    //! here against canned IAM answers.

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
    use aws_credential_types::Credentials;
    use aws_sdk_iam::config::retry::RetryConfig;
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use chrono::TimeZone;

    use super::*;

    /// Answers requests in order with canned (status, body) pairs; records the request bodies.
    #[derive(Debug, Clone, Default)]
    struct Canned {
        answers: Arc<Mutex<VecDeque<(u16, String)>>>,
        requests: Arc<Mutex<Vec<String>>>,
    }

    impl Canned {
        fn new(answers: impl IntoIterator<Item = (u16, String)>) -> Self {
            Canned {
                answers: Arc::new(Mutex::new(answers.into_iter().collect())),
                requests: Arc::default(),
            }
        }

        fn requests(&self) -> Vec<String> {
            self.requests.lock().unwrap().clone()
        }

        fn iam(&self) -> AwsIam {
            iam_with(
                self.clone(),
                Credentials::new("AKIDTEST", "not-a-secret", None, None, "test"),
            )
        }
    }

    impl HttpConnector for Canned {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body = request
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            self.requests.lock().unwrap().push(body);
            let (status, body) = self
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("more requests than canned answers");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(body),
            )))
        }
    }

    fn iam_with(connector: Canned, credentials: impl ProvideCredentials + 'static) -> AwsIam {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .credentials_provider(credentials)
            .retry_config(RetryConfig::disabled())
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(connector.clone())
            }))
            .build();
        AwsIam::from_client(aws_sdk_iam::Client::from_conf(config))
    }

    fn ok(op: &str, result: &str) -> (u16, String) {
        (
            200,
            format!(
                "<{op}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                 <{op}Result>{result}</{op}Result>\
                 <ResponseMetadata><RequestId>req</RequestId></ResponseMetadata></{op}Response>"
            ),
        )
    }

    fn error(status: u16, code: &str, message: &str) -> (u16, String) {
        (
            status,
            format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                 <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>req</RequestId></ErrorResponse>"
            ),
        )
    }

    fn more(marker: &str) -> String {
        format!("<IsTruncated>true</IsTruncated><Marker>{marker}</Marker>")
    }

    const DONE: &str = "<IsTruncated>false</IsTruncated>";

    fn user(name: &str, path: &str) -> String {
        format!(
            "<member><Path>{path}</Path><UserName>{name}</UserName><UserId>AID{name}</UserId>\
             <Arn>arn:aws:iam::123456789012:user{path}{name}</Arn>\
             <CreateDate>2025-01-02T03:04:05Z</CreateDate></member>"
        )
    }

    #[tokio::test]
    async fn list_users_follows_markers() {
        let canned = Canned::new([
            ok(
                "ListUsers",
                &format!("<Users>{}</Users>{}", user("a", "/ws/"), more("m1")),
            ),
            ok(
                "ListUsers",
                &format!(
                    "<Users>{}{}</Users>{}",
                    user("b", "/ws/"),
                    user("c", "/ws/x/"),
                    more("m2")
                ),
            ),
            ok("ListUsers", &format!("<Users></Users>{DONE}")),
        ]);
        let users = canned.iam().list_users("/ws/").await.unwrap();
        assert_eq!(
            users,
            [
                UserSummary {
                    name: "a".into(),
                    path: "/ws/".into()
                },
                UserSummary {
                    name: "b".into(),
                    path: "/ws/".into()
                },
                UserSummary {
                    name: "c".into(),
                    path: "/ws/x/".into()
                },
            ]
        );
        let requests = canned.requests();
        assert_eq!(requests.len(), 3);
        assert!(requests.iter().all(|r| r.contains("PathPrefix=%2Fws%2F")));
        assert!(!requests[0].contains("Marker="));
        assert!(requests[1].contains("Marker=m1"), "{}", requests[1]);
        assert!(requests[2].contains("Marker=m2"), "{}", requests[2]);
    }

    #[tokio::test]
    async fn list_user_tags_follows_markers() {
        let tag = |k: &str, v: &str| format!("<member><Key>{k}</Key><Value>{v}</Value></member>");
        let canned = Canned::new([
            ok(
                "ListUserTags",
                &format!("<Tags>{}</Tags>{}", tag("a", "1"), more("t1")),
            ),
            ok(
                "ListUserTags",
                &format!("<Tags>{}</Tags>{DONE}", tag("AKIAEXAMPLE000000001", "ws")),
            ),
        ]);
        let tags = canned.iam().list_user_tags("u").await.unwrap();
        assert_eq!(
            tags,
            BTreeMap::from([
                ("a".to_string(), "1".to_string()),
                ("AKIAEXAMPLE000000001".to_string(), "ws".to_string()),
            ])
        );
        assert!(canned.requests()[1].contains("Marker=t1"));
    }

    #[tokio::test]
    async fn list_access_keys_follows_markers_and_converts() {
        let key = |id: &str, status: &str, date: &str| {
            format!(
                "<member><UserName>u</UserName><AccessKeyId>{id}</AccessKeyId>\
                 <Status>{status}</Status><CreateDate>{date}</CreateDate></member>"
            )
        };
        let canned = Canned::new([
            ok(
                "ListAccessKeys",
                &format!(
                    "<AccessKeyMetadata>{}</AccessKeyMetadata>{}",
                    key("AKIAEXAMPLE000000001", "Active", "2025-01-02T03:04:05Z"),
                    more("k1")
                ),
            ),
            ok(
                "ListAccessKeys",
                &format!(
                    "<AccessKeyMetadata>{}</AccessKeyMetadata>{DONE}",
                    key("AKIAEXAMPLE000000002", "Inactive", "2025-01-03T00:00:00.5Z")
                ),
            ),
        ]);
        let keys = canned.iam().list_access_keys("u").await.unwrap();
        assert_eq!(
            keys,
            [
                KeyMeta {
                    access_key_id: "AKIAEXAMPLE000000001".into(),
                    status: KeyStatus::Active,
                    created: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
                },
                KeyMeta {
                    access_key_id: "AKIAEXAMPLE000000002".into(),
                    status: KeyStatus::Inactive,
                    created: Utc.with_ymd_and_hms(2025, 1, 3, 0, 0, 0).unwrap()
                        + chrono::Duration::milliseconds(500),
                },
            ]
        );
        assert!(canned.requests()[1].contains("Marker=k1"));
    }

    #[tokio::test]
    async fn list_policies_follow_markers() {
        let canned = Canned::new([
            ok(
                "ListUserPolicies",
                &format!(
                    "<PolicyNames><member>p1</member></PolicyNames>{}",
                    more("p")
                ),
            ),
            ok(
                "ListUserPolicies",
                &format!("<PolicyNames><member>p2</member></PolicyNames>{DONE}"),
            ),
            ok(
                "ListAttachedUserPolicies",
                &format!(
                    "<AttachedPolicies><member><PolicyName>x</PolicyName>\
                     <PolicyArn>arn:aws:iam::aws:policy/X</PolicyArn></member></AttachedPolicies>{}",
                    more("q")
                ),
            ),
            ok(
                "ListAttachedUserPolicies",
                &format!(
                    "<AttachedPolicies><member><PolicyName>y</PolicyName>\
                     <PolicyArn>arn:aws:iam::123456789012:policy/Y</PolicyArn></member>\
                     </AttachedPolicies>{DONE}"
                ),
            ),
        ]);
        let iam = canned.iam();
        assert_eq!(iam.list_user_policies("u").await.unwrap(), ["p1", "p2"]);
        assert_eq!(
            iam.list_attached_user_policies("u").await.unwrap(),
            [
                "arn:aws:iam::aws:policy/X",
                "arn:aws:iam::123456789012:policy/Y"
            ]
        );
        let requests = canned.requests();
        assert!(requests[1].contains("Marker=p"));
        assert!(requests[3].contains("Marker=q"));
    }

    #[tokio::test]
    async fn get_user_policy_url_decodes() {
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/a.b-v1:0"}]}"#;
        let canned = Canned::new([ok(
            "GetUserPolicy",
            &format!(
                "<UserName>u</UserName><PolicyName>p</PolicyName>\
                 <PolicyDocument>{}</PolicyDocument>",
                urlencoding::encode(document)
            ),
        )]);
        assert_eq!(
            canned.iam().get_user_policy("u", "p").await.unwrap(),
            document
        );
    }

    #[tokio::test]
    async fn last_used_not_applicable_is_none() {
        let canned = Canned::new([
            ok(
                "GetAccessKeyLastUsed",
                "<UserName>u</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName>\
                 <Region>N/A</Region></AccessKeyLastUsed>",
            ),
            ok(
                "GetAccessKeyLastUsed",
                "<UserName>u</UserName><AccessKeyLastUsed>\
                 <LastUsedDate>2025-01-02T03:04:05Z</LastUsedDate>\
                 <ServiceName>bedrock</ServiceName><Region>eu-central-1</Region>\
                 </AccessKeyLastUsed>",
            ),
        ]);
        let iam = canned.iam();
        assert_eq!(
            iam.get_access_key_last_used("AKIAEXAMPLE000000001")
                .await
                .unwrap(),
            LastUsed::default()
        );
        assert_eq!(
            iam.get_access_key_last_used("AKIAEXAMPLE000000001")
                .await
                .unwrap(),
            LastUsed {
                at: Some(Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()),
                service: Some("bedrock".into()),
                region: Some("eu-central-1".into()),
            }
        );
    }

    #[tokio::test]
    async fn create_access_key_wraps_the_secret() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let canned = Canned::new([ok(
            "CreateAccessKey",
            &format!(
                "<AccessKey><UserName>u</UserName><AccessKeyId>AKIAEXAMPLE000000001</AccessKeyId>\
                 <Status>Active</Status><SecretAccessKey>{secret}</SecretAccessKey>\
                 <CreateDate>2025-01-02T03:04:05Z</CreateDate></AccessKey>"
            ),
        )]);
        let key = canned.iam().create_access_key("u").await.unwrap();
        assert_eq!(key.access_key_id, "AKIAEXAMPLE000000001");
        assert!(key.secret.expose() == secret, "secret not passed through");
        assert!(
            !format!("{key:?}").contains(secret),
            "Debug shows the secret"
        );
        assert_eq!(
            key.created,
            Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
        );
    }

    #[tokio::test]
    async fn service_errors_map_to_kinds() {
        let cases = [
            (
                error(404, "NoSuchEntity", "no user"),
                IamErrorKind::NoSuchEntity,
            ),
            (
                error(409, "EntityAlreadyExists", "exists"),
                IamErrorKind::EntityAlreadyExists,
            ),
            (
                error(
                    409,
                    "LimitExceeded",
                    "Cannot exceed quota for AccessKeysPerUser: 2",
                ),
                IamErrorKind::LimitExceeded,
            ),
            (
                error(409, "DeleteConflict", "policies"),
                IamErrorKind::DeleteConflict,
            ),
            (
                error(403, "AccessDenied", "not allowed"),
                IamErrorKind::AccessDenied,
            ),
            (
                error(403, "InvalidClientTokenId", "bad key"),
                IamErrorKind::AccessDenied,
            ),
            (
                error(400, "Throttling", "Rate exceeded"),
                IamErrorKind::Throttling,
            ),
            (
                error(503, "ServiceFailure", "oops"),
                IamErrorKind::Transient,
            ),
            (error(400, "ValidationError", "bad"), IamErrorKind::Other),
            // moto's auth failures: XML the SDK does not decode, so no code, only the status.
            (
                (403, "<Response><Errors><Error/></Errors></Response>".into()),
                IamErrorKind::AccessDenied,
            ),
            ((403, String::new()), IamErrorKind::AccessDenied),
            ((429, String::new()), IamErrorKind::Throttling),
            ((500, String::new()), IamErrorKind::Transient),
            (
                (502, "<html>bad gateway</html>".into()),
                IamErrorKind::Transient,
            ),
            ((400, String::new()), IamErrorKind::Other),
        ];
        for (answer, kind) in cases {
            let shown = answer.clone();
            let canned = Canned::new([answer]);
            let err = canned
                .iam()
                .put_user_policy("u", "p", r#"{"Sid":"SECRET-DOCUMENT"}"#)
                .await
                .unwrap_err();
            assert_eq!(err.kind, kind, "{shown:?}: {err}");
            assert_eq!(err.operation, "PutUserPolicy");
            assert_eq!(err.user.as_deref(), Some("u"));
            assert!(!err.message.contains("SECRET-DOCUMENT"), "{err}");
            assert!(!err.code.is_empty(), "{shown:?}: {err}");
        }
    }

    #[tokio::test]
    async fn missing_user_is_none_but_other_errors_stay_errors() {
        let canned = Canned::new([
            error(404, "NoSuchEntity", "no user"),
            error(403, "AccessDenied", "not allowed"),
        ]);
        let iam = canned.iam();
        assert_eq!(iam.get_user("u").await.unwrap(), None);
        let err = iam.get_user("u").await.unwrap_err();
        assert_eq!(err.kind, IamErrorKind::AccessDenied);
        assert_eq!(err.code, "AccessDenied");
        assert_eq!(err.message, "not allowed");
        assert_eq!(err.operation, "GetUser");
    }

    #[derive(Debug)]
    struct NoCredentials;

    impl ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
                "no credentials in this test",
            )))
        }
    }

    #[tokio::test]
    async fn missing_credentials_are_not_transient() {
        let canned = Canned::new([]);
        let err = iam_with(canned.clone(), NoCredentials)
            .list_users("/")
            .await
            .unwrap_err();
        assert_eq!(err.kind, IamErrorKind::Other, "{err}");
        assert_eq!(
            err.problem.as_deref(),
            Some(&AccessProblem::CredentialsFailed {
                reason: "no credentials in this test".to_string()
            })
        );
        assert!(canned.requests().is_empty());
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config =
            aws_config::SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .endpoint_url(format!("http://127.0.0.1:{port}"))
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(
                        Credentials::new("AKIDTEST", "not-a-secret", None, None, "test"),
                    ),
                )
                .retry_config(RetryConfig::disabled())
                .http_client(
                    aws_smithy_http_client::Builder::new()
                        .tls_provider(tls::Provider::Rustls(
                            tls::rustls_provider::CryptoMode::Ring,
                        ))
                        .build_https(),
                )
                .build();
        // No region in the config: AwsIam::new signs for us-east-1.
        let iam = AwsIam::new(&config);
        assert_eq!(
            iam.client().config().region().map(|r| r.as_ref()),
            Some(IAM_SIGNING_REGION_FALLBACK)
        );
        let err = iam.delete_user("u").await.unwrap_err();
        assert_eq!(err.kind, IamErrorKind::Transient, "{err}");
        assert_eq!(err.code, "DispatchFailure");
        assert_eq!(
            err.problem.as_deref(),
            Some(&AccessProblem::Unreachable {
                reason: "connection refused".to_string(),
                endpoint: None
            })
        );
        assert!(err.message.is_empty(), "the SDK's rendering: {err:?}");
        let err = err.with_setup(Some("p"), Some(&format!("http://127.0.0.1:{port}")));
        assert_eq!(
            err.report(),
            format!(
                "cannot reach the AWS endpoint http://127.0.0.1:{port} for iam:DeleteUser \
                 (connection refused)\nhint: check the network, a proxy, and AWS_ENDPOINT_URL if \
                 set; nothing was changed, the next run retries"
            )
        );
    }

    #[tokio::test]
    async fn rejected_keys_are_access_problems() {
        let cases = [
            (
                error(403, "InvalidClientTokenId", "bad key"),
                AccessProblem::InvalidKey,
            ),
            (
                error(403, "SignatureDoesNotMatch", "bad signature"),
                AccessProblem::WrongSecret,
            ),
            (
                error(403, "ExpiredToken", "expired"),
                AccessProblem::ExpiredToken,
            ),
            // An XML shape the SDK does not decode (as moto sends): the code read from the body.
            (
                (
                    403,
                    "<Response><Errors><Error><Code>InvalidClientTokenId</Code>\
                     <Message>unknown</Message></Error></Errors></Response>"
                        .into(),
                ),
                AccessProblem::InvalidKey,
            ),
        ];
        for (answer, problem) in cases {
            let shown = answer.clone();
            let err = Canned::new([answer])
                .iam()
                .list_users("/")
                .await
                .unwrap_err();
            assert_eq!(err.problem.as_deref(), Some(&problem), "{shown:?}: {err}");
            assert_eq!(err.kind, IamErrorKind::AccessDenied, "{shown:?}");
        }
        // A denial of the action is about permissions, not the key.
        let err = Canned::new([error(403, "AccessDenied", "not allowed")])
            .iam()
            .list_users("/")
            .await
            .unwrap_err();
        assert_eq!(err.problem, None, "{err}");
    }

    #[test]
    fn classification_table() {
        let service = |code, status| classify(Failure::Service { code, status });
        assert_eq!(
            service(Some("ThrottlingException"), Some(400)),
            IamErrorKind::Throttling
        );
        assert_eq!(
            service(Some("RequestLimitExceeded"), Some(503)),
            IamErrorKind::Throttling
        );
        assert_eq!(service(None, Some(403)), IamErrorKind::AccessDenied);
        assert_eq!(service(None, Some(429)), IamErrorKind::Throttling);
        assert_eq!(service(None, Some(504)), IamErrorKind::Transient);
        assert_eq!(service(Some("Weird"), Some(404)), IamErrorKind::Other);
        assert_eq!(
            classify(Failure::Response { status: Some(200) }),
            IamErrorKind::Transient
        );
        assert_eq!(
            classify(Failure::Response { status: Some(403) }),
            IamErrorKind::AccessDenied
        );
        assert_eq!(classify(Failure::Dispatch), IamErrorKind::Transient);
        assert_eq!(classify(Failure::Timeout), IamErrorKind::Transient);
        assert_eq!(classify(Failure::Local), IamErrorKind::Other);
    }

    #[test]
    fn dates_convert_with_subseconds() {
        let t = aws_smithy_types::DateTime::from_secs_and_nanos(1_735_787_045, 250_000_000);
        assert_eq!(
            to_chrono(&t),
            Some(
                Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
                    + chrono::Duration::milliseconds(250)
            )
        );
    }
}
