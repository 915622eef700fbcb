//! Prove a freshly created key works: call Bedrock Runtime `InvokeModel` with the key itself
//! (and nothing else: no ambient credential chain), retrying while the key propagates, and say
//! what the answer means for the workshop.
//!
//! `classify` maps answers to an [`Outcome`] (pure), `models` picks the models and the cheapest
//! body per model, and [`verify_key`] does the I/O. The secret goes only into the SDK's
//! credentials provider; details, logs and Debug output never carry it.

pub mod check;
pub(crate) mod classify;
mod models;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Region, Token};
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::auth::http::HTTP_BEARER_AUTH_SCHEME_ID;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_smithy_types::Blob;
use serde::{Deserialize, Serialize};

pub use classify::classify;
pub use models::{invocable_model, models_for, models_to_verify, request_body};

use crate::store::files::Secret;

/// What a verification found.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The model answered the key.
    Verified,
    /// The key's policy does not allow the model.
    AccessDenied,
    /// The account may not use the model, for another reason than the three below (unknown or
    /// legacy model here, model id not usable on demand).
    ModelNotEnabled,
    /// The model's AWS Marketplace subscription is missing or failed: the first call of a
    /// third-party model subscribes, which the (invoke-only) key may not do.
    MarketplaceSubscription,
    /// Anthropic's first-time-use form is not on file for the account.
    UseCaseRequired,
    /// The model is not offered in this region.
    NotInRegion,
    /// The key was not accepted within the timeout (deleted, or not yet replicated).
    InvalidToken,
    /// Bedrock throttled the check: could not check.
    Throttled,
    /// No usable answer (connection, timeout, service error): could not check.
    Network,
    /// The key's secret is not on this machine (its credentials file is missing, holds another
    /// key or cannot be read): nothing was sent to Bedrock.
    NoSecret,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::Verified,
        Outcome::AccessDenied,
        Outcome::ModelNotEnabled,
        Outcome::MarketplaceSubscription,
        Outcome::UseCaseRequired,
        Outcome::NotInRegion,
        Outcome::InvalidToken,
        Outcome::Throttled,
        Outcome::Network,
        Outcome::NoSecret,
    ];

    /// The kebab-case word, as in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Verified => "verified",
            Outcome::AccessDenied => "access-denied",
            Outcome::ModelNotEnabled => "model-not-enabled",
            Outcome::MarketplaceSubscription => "marketplace-subscription",
            Outcome::UseCaseRequired => "use-case-required",
            Outcome::NotInRegion => "not-in-region",
            Outcome::InvalidToken => "invalid-token",
            Outcome::Throttled => "throttled",
            Outcome::Network => "network",
            Outcome::NoSecret => "no-secret",
        }
    }

    /// The key works for the model.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Verified)
    }

    /// The workshop is at risk: the key, its policy or the account's model access is wrong.
    /// (`throttled` and `network` mean "could not check", not a fault of the key.)
    pub fn is_key_fault(&self) -> bool {
        matches!(
            self,
            Outcome::AccessDenied
                | Outcome::ModelNotEnabled
                | Outcome::MarketplaceSubscription
                | Outcome::UseCaseRequired
                | Outcome::NotInRegion
                | Outcome::InvalidToken
                | Outcome::NoSecret
        )
    }

    /// What to do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            Outcome::Verified => "the key works for this model; nothing to do",
            Outcome::AccessDenied => {
                "the key's policy does not allow this model: check the policy choice \
                 (all models or restricted) and the models listed in the schedule, then reconcile again"
            }
            Outcome::ModelNotEnabled => {
                "the AWS account cannot use this model id here (unknown or legacy model, or one \
                 that needs an inference profile such as us.… or global.…): check the id with \
                 `workshop-keys models check`, or choose a model the account can use"
            }
            Outcome::MarketplaceSubscription => {
                "the model's AWS Marketplace subscription is missing or failed (the room's key may \
                 not subscribe, rightly): an operator runs `workshop-keys models activate MODEL \
                 --yes`, then verifies again (AWS may take a few minutes)"
            }
            Outcome::UseCaseRequired => {
                "Anthropic's first-time-use form is not on file for this account: an operator runs \
                 `workshop-keys models activate MODEL --yes --use-case-file FORM.json`"
            }
            Outcome::NotInRegion => {
                "the model is not offered in this region: use an inference profile that routes to \
                 it (us.…, eu.…, global.…), another model, or another settings.region; \
                 `workshop-keys models check` shows each model's availability"
            }
            Outcome::InvalidToken => {
                "the key was not accepted within the timeout: it was deleted or deactivated, or is \
                 not yet replicated; check it in IAM, verify again in a minute or raise verify_timeout"
            }
            Outcome::Throttled => {
                "Bedrock throttled the check; could not check, not the key's fault: verify again later"
            }
            Outcome::Network => {
                "could not reach Bedrock (network, timeout or service error); could not check, not \
                 the key's fault: check connectivity, region and endpoint, then verify again"
            }
            Outcome::NoSecret => {
                "the key's secret is not on this machine, so the workshop cannot use this key; the \
                 next reconcile replaces it (a new key and credentials file; the old key is \
                 deactivated after rotation_overlap), unless the credentials file is restored first"
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown verification outcome `{0}` (expected verified, access-denied, model-not-enabled, \
     invalid-token, throttled, network or no-secret)"
)]
pub struct ParseOutcomeError(pub String);

impl FromStr for Outcome {
    type Err = ParseOutcomeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s.trim())
            .ok_or_else(|| ParseOutcomeError(s.to_string()))
    }
}

/// One key, one model.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a Secret,
    pub region: &'a str,
    /// A model id, inference profile id or ARN, as InvokeModel takes it.
    pub model: &'a str,
    /// How long to keep retrying while the key is not (yet) recognised.
    pub timeout: Duration,
    /// None: `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` or `AWS_ENDPOINT_URL` from the environment (as
    /// aws-config does, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the AWS endpoint.
    pub endpoint_url: Option<&'a str>,
    /// The user's policy was changed moments ago: IAM takes seconds to reach Bedrock, so
    /// `access-denied` is retried like an unknown key, within `timeout`.
    pub policy_changed: bool,
}

/// The wait between attempts while the key is not recognised: `initial`, doubled each time, at
/// most `max_delay`, and never past the request's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max_delay: Duration,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s, 8 s, 16 s, 16 s...
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max_delay: Duration::from_secs(16),
        }
    }
}

/// The result for one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub model: String,
    pub outcome: Outcome,
    /// InvokeModel calls made (the SDK's own retries are off: one call per attempt).
    pub attempts: u32,
    /// The service's code and message (or the transport error) of the last answer; never the secret.
    pub detail: String,
}

/// `settings.verify_timeout` as a `Duration` (negative: zero).
pub fn verify_timeout(settings: &crate::schedule::Settings) -> Duration {
    settings.verify_timeout.to_std().unwrap_or(Duration::ZERO)
}

/// Verify with the default backoff (1 s, 2 s, 4 s... within `req.timeout`).
pub async fn verify_key(req: &VerifyRequest<'_>) -> Verification {
    verify_key_with(req, &Backoff::default()).await
}

/// One InvokeModel per attempt; retried only while the answer says the key is unknown
/// (`UnrecognizedClientException`, `InvalidClientTokenId`, bare 401), or access is denied
/// right after a policy change, until `req.timeout`.
pub async fn verify_key_with(req: &VerifyRequest<'_>, backoff: &Backoff) -> Verification {
    attempts(&client(req), req, None, backoff).await
}

/// Verify a short-term Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`) made from `req`'s key:
/// InvokeModel with `Authorization: Bearer`, retried and classified like [`verify_key`]. The
/// client is built from scratch with exactly this token: a client from the shared
/// `SdkConfig` would take `AWS_BEARER_TOKEN_BEDROCK` from the operator's environment instead.
pub async fn verify_token(req: &VerifyRequest<'_>, token: &Secret) -> Verification {
    verify_token_with(req, token, &Backoff::default()).await
}

/// [`verify_token`] with a given backoff.
pub async fn verify_token_with(
    req: &VerifyRequest<'_>,
    token: &Secret,
    backoff: &Backoff,
) -> Verification {
    attempts(&bearer_client(req, token), req, Some(token), backoff).await
}

/// The attempt loop of both checks; `token` (when the client uses it) is cut out of details
/// like the secret.
async fn attempts(
    client: &aws_sdk_bedrockruntime::Client,
    req: &VerifyRequest<'_>,
    token: Option<&Secret>,
    backoff: &Backoff,
) -> Verification {
    let body = request_body(req.model);
    let start = tokio::time::Instant::now();
    let mut delay = backoff.initial.max(Duration::from_millis(1));
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let mut answer = attempt(client, req, token, &body).await;
        if req.policy_changed && answer.outcome == Outcome::AccessDenied {
            answer.retry = true;
        }
        tracing::debug!(
            model = req.model,
            access_key_id = req.access_key_id,
            attempt = attempts,
            outcome = answer.outcome.as_str(),
            retry = answer.retry,
            detail = %answer.detail,
            "bedrock verification attempt"
        );
        let elapsed = start.elapsed();
        if !answer.retry || elapsed >= req.timeout {
            let detail = if answer.retry {
                format!(
                    "{} (still not accepted after {attempts} attempt{} in {:.1} s)",
                    answer.detail,
                    if attempts == 1 { "" } else { "s" },
                    elapsed.as_secs_f64()
                )
            } else {
                answer.detail
            };
            return Verification {
                model: req.model.to_string(),
                outcome: answer.outcome,
                attempts,
                detail,
            };
        }
        tokio::time::sleep(delay.min(req.timeout - elapsed)).await;
        delay = delay
            .saturating_mul(2)
            .min(backoff.max_delay.max(backoff.initial));
    }
}

struct Answer {
    outcome: Outcome,
    retry: bool,
    detail: String,
}

fn client(req: &VerifyRequest<'_>) -> aws_sdk_bedrockruntime::Client {
    let credentials = Credentials::new(
        req.access_key_id,
        req.secret.expose(),
        None,
        None,
        "workshop-keys",
    );
    let config = base_config(req).credentials_provider(SharedCredentialsProvider::new(credentials));
    aws_sdk_bedrockruntime::Client::from_conf(config.build())
}

/// A client that authenticates with `token` only: no credentials provider, bearer auth
/// preferred, nothing read from the environment but the endpoint.
fn bearer_client(req: &VerifyRequest<'_>, token: &Secret) -> aws_sdk_bedrockruntime::Client {
    let config = base_config(req)
        .bearer_token(Token::new(token.expose(), None))
        .auth_scheme_preference([HTTP_BEARER_AUTH_SCHEME_ID]);
    aws_sdk_bedrockruntime::Client::from_conf(config.build())
}

/// Region, HTTP client, retries, timeouts and endpoint; no identity.
fn base_config(req: &VerifyRequest<'_>) -> aws_sdk_bedrockruntime::config::Builder {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(req.region.to_string()))
        .http_client(http_client)
        // Our loop decides what to retry; the SDK would retry throttling and 5xx on its own.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(url) = req
        .endpoint_url
        .map(str::to_string)
        .or_else(endpoint_from_env)
    {
        config = config.endpoint_url(url);
    }
    config
}

/// The endpoint aws-config would take from the environment for Bedrock Runtime.
fn endpoint_from_env() -> Option<String> {
    endpoint_from(|name| std::env::var(name).ok())
}

fn endpoint_from(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let ignore = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"]
        .iter()
        .filter_map(|name| var(name))
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

async fn attempt(
    client: &aws_sdk_bedrockruntime::Client,
    req: &VerifyRequest<'_>,
    token: Option<&Secret>,
    body: &str,
) -> Answer {
    let redact = |s: &str| match token {
        Some(t) => redact(&redact(s, t), req.secret),
        None => redact(s, req.secret),
    };
    let result = client
        .invoke_model()
        .model_id(req.model)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.as_bytes().to_vec()))
        .send()
        .await;
    let err = match result {
        Ok(output) => {
            return Answer {
                outcome: Outcome::Verified,
                retry: false,
                detail: format!("model answered ({} bytes)", output.body().as_ref().len()),
            }
        }
        Err(err) => err,
    };
    let Some(raw) = err.raw_response() else {
        // Dispatch failure, timeout, request construction: no answer from the service.
        tracing::debug!(
            model = req.model,
            error = %redact(&DisplayErrorContext(&err).to_string()),
            "bedrock call got no answer"
        );
        // The sources' messages only: the SDK's Debug rendering stays in the debug log.
        let detail = redact(&crate::iam::aws::chain_text(&err));
        let c = classify::classify_full(None, None, None, None);
        return Answer {
            outcome: c.outcome,
            retry: c.retry,
            detail,
        };
    };
    let status = raw.status().as_u16();
    let raw_body = raw
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let code = err
        .code()
        .map(str::to_string)
        .or_else(|| raw.headers().get("x-amzn-errortype").map(str::to_string));
    let c = classify::classify_full(
        code.as_deref(),
        err.message(),
        Some(status),
        raw_body.as_deref(),
    );
    let mut detail = match (&c.code, &c.message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        (None, Some(message)) => message.clone(),
        (None, None) => match raw_body.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            Some(b) => format!("unrecognised answer: {b}"),
            None => "no error code in the answer".to_string(),
        },
    };
    detail = format!("{} (HTTP {status})", shorten(&detail, 400));
    Answer {
        outcome: c.outcome,
        retry: c.retry,
        detail: redact(&detail),
    }
}

/// Whitespace collapsed, at most `max` characters.
fn shorten(s: &str, max: usize) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut out: String = collapsed.chars().take(max).collect();
    out.push('…');
    out
}

/// Belt and braces: no answer should ever echo the secret, but if one did, it stops here.
fn redact(s: &str, secret: &Secret) -> String {
    let secret = secret.expose();
    if secret.len() >= 8 && s.contains(secret) {
        s.replace(secret, "<redacted>")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_words_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
            assert_eq!(o.to_string(), o.as_str());
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
            assert!(!o.advice().is_empty());
        }
        assert_eq!("model-not-enabled".parse(), Ok(Outcome::ModelNotEnabled));
        let err = "denied".parse::<Outcome>().unwrap_err();
        assert_eq!(err, ParseOutcomeError("denied".into()));
        assert!(err.to_string().contains("access-denied"));
    }

    #[test]
    fn ok_and_fault_partition() {
        use Outcome::*;
        assert!(Verified.is_ok());
        for o in [
            AccessDenied,
            ModelNotEnabled,
            MarketplaceSubscription,
            UseCaseRequired,
            NotInRegion,
            InvalidToken,
            NoSecret,
        ] {
            assert!(o.is_key_fault() && !o.is_ok(), "{o}");
        }
        for o in [Verified, Throttled, Network] {
            assert!(!o.is_key_fault(), "{o}");
        }
        assert!(!Throttled.is_ok() && !Network.is_ok());
    }

    #[test]
    fn advice_says_what_to_do() {
        // The console's "Model access" page is retired (late 2025).
        for o in Outcome::ALL {
            assert!(!o.advice().contains("console"), "{o}");
        }
        for o in [Outcome::MarketplaceSubscription, Outcome::UseCaseRequired] {
            assert!(o.advice().contains("workshop-keys models activate"), "{o}");
        }
        assert!(Outcome::AccessDenied.advice().contains("policy"));
        assert!(Outcome::Network.advice().contains("not the key's fault"));
        assert!(Outcome::Throttled.advice().contains("not the key's fault"));
    }

    #[test]
    fn request_debug_hides_the_secret() {
        let secret = Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into());
        let req = VerifyRequest {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret: &secret,
            region: "us-east-1",
            model: "amazon.titan-embed-text-v1",
            timeout: Duration::from_secs(1),
            endpoint_url: Some("http://127.0.0.1:1"),
            policy_changed: false,
        };
        let debug = format!("{req:?}");
        assert!(!debug.contains(secret.expose()), "{debug}");
        assert!(debug.contains("AKIAIOSFODNN7EXAMPLE"));
    }

    #[test]
    fn endpoint_from_the_environment_like_aws_config() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(endpoint_from(env(&[])), None);
        assert_eq!(
            endpoint_from(env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")])).as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            endpoint_from(env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:6000"),
            ]))
            .as_deref(),
            Some("http://127.0.0.1:6000")
        );
        assert_eq!(
            endpoint_from(env(&[
                ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", " "),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ]))
            .as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            endpoint_from(env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ])),
            None
        );
    }

    #[test]
    fn redact_and_shorten() {
        let secret = Secret::new("abcdefghij0123456789".into());
        assert_eq!(
            redact("x abcdefghij0123456789 y", &secret),
            "x <redacted> y"
        );
        assert_eq!(shorten("a \n  b", 10), "a b");
        assert_eq!(shorten("abcdef", 3), "abc…");
    }

    #[test]
    fn verify_timeout_from_settings() {
        let mut s = crate::schedule::Settings {
            region: "us-east-1".into(),
            user: "u".into(),
            path: "/workshop/".into(),
            policy: crate::schedule::PolicyChoice::AllModels,
            lead: chrono::TimeDelta::hours(1),
            grace: chrono::TimeDelta::hours(1),
            hold: chrono::TimeDelta::hours(1),
            credentials_dir: "credentials".into(),
            timezone: None,
            allow_long_grace: false,
            rotate_after: None,
            rotation_overlap: chrono::TimeDelta::hours(1),
            verify: true,
            verify_model: "amazon.titan-embed-text-v1".into(),
            verify_all_models: true,
            verify_timeout: chrono::TimeDelta::seconds(60),
            models: Vec::new(),
            check_models: true,
            verify_before_start: chrono::TimeDelta::hours(1),
            deadline: true,
            deliver: None,
            notify: None,
            bedrock_api_key: false,
            bedrock_api_key_refresh: chrono::TimeDelta::hours(4),
            pool: "workshop-participant".into(),
            pool_size: 100,
            backends: Default::default(),
        };
        assert_eq!(verify_timeout(&s), Duration::from_secs(60));
        s.verify_timeout = chrono::TimeDelta::seconds(-1);
        assert_eq!(verify_timeout(&s), Duration::ZERO);
    }
}
