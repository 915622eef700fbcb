//! SDK errors reduced to [`IamError`]s: which kind (access, throttling, transient, ...), which
//! call and user, and a message that says what to do.

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::super::{AccessProblem, IamError, IamErrorKind};

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

pub(super) fn other(
    operation: &'static str,
    user: Option<&str>,
    message: impl Into<String>,
) -> IamError {
    IamError::new(
        operation,
        user,
        IamErrorKind::Other,
        "UnexpectedResponse",
        message,
    )
}

#[cfg(test)]
mod tests {
    //! Error mapping, tested against canned IAM answers.

    use aws_config::BehaviorVersion;
    use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
    use aws_credential_types::Credentials;
    use aws_sdk_iam::config::retry::RetryConfig;
    use aws_smithy_http_client::tls;

    use super::super::canned::*;
    use super::super::{AwsIam, IAM_SIGNING_REGION_FALLBACK};
    use super::*;
    use crate::iam::Iam;
    use crate::sdk::AwsSession;

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
        let iam = AwsIam::new(&AwsSession::from_config(config));
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
}
