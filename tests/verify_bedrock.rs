//! `verify::verify_key` end to end: against a hand-written local HTTP server playing Bedrock
//! Runtime (backoff, classification of each kind of answer), and against a moto server with
//! authentication on (a permitted key, a key without Bedrock rights, a deleted key, a wrong secret).
//! Every request goes to 127.0.0.1; no test calls real AWS. No test prints a secret.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::run::Run;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use workshop_keys::store::files::Secret;
use workshop_keys::verify::{
    verify_key, verify_key_with, verify_token_with, Backoff, Outcome, Verification, VerifyRequest,
};

const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TITAN: &str = "amazon.titan-embed-text-v1";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

const INVALID_TOKEN: &str = r#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#;
const EMBEDDING: &str = r#"{"embedding":[0.1],"inputTextTokenCount":1}"#;

/// Waits short enough for tests.
const FAST: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max_delay: Duration::from_millis(400),
};

// ---------------------------------------------------------------------------------------------
// A tiny Bedrock Runtime stand-in: one canned answer per request, chosen by a closure.

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    error_type: Option<&'static str>,
    body: String,
}

impl Reply {
    fn ok(body: &str) -> Reply {
        Reply {
            status: 200,
            error_type: None,
            body: body.to_string(),
        }
    }

    /// An AWS JSON error: `x-amzn-errortype` header and `__type` in the body.
    fn error(status: u16, code: &'static str, message: &str) -> Reply {
        Reply {
            status,
            error_type: Some(code),
            body: serde_json::json!({"__type": code, "message": message}).to_string(),
        }
    }

    fn invalid_token() -> Reply {
        Reply {
            status: 403,
            error_type: Some("UnrecognizedClientException"),
            body: INVALID_TOKEN.to_string(),
        }
    }
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    authorization: String,
    body: String,
    raw: String,
}

struct FakeBedrock {
    endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBedrock {
    /// `answer(n, since_start)` decides the reply to the n-th request (0-based).
    async fn start<F>(answer: F) -> FakeBedrock
    where
        F: Fn(usize, Duration) -> Reply + Send + Sync + 'static,
    {
        FakeBedrock::start_judging(move |n, since, _| answer(n, since)).await
    }

    /// `answer(n, since_start, request)`: a reply that may depend on what was sent (e.g. its
    /// `Authorization` header).
    async fn start_judging<F>(answer: F) -> FakeBedrock
    where
        F: Fn(usize, Duration, &Seen) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let answer = Arc::new(answer);
        let started = Instant::now();
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let seen = seen.clone();
                    let answer = answer.clone();
                    tokio::spawn(async move {
                        serve(stream, seen, answer.as_ref(), started).await;
                    });
                }
            })
        };
        FakeBedrock {
            endpoint,
            seen,
            task,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves the requests of one connection (keep-alive), each with the next reply.
async fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: &(dyn Fn(usize, Duration, &Seen) -> Reply + Send + Sync),
    started: Instant,
) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
        let raw = String::from_utf8_lossy(&buf[..head_end + length]).into_owned();
        buf.drain(..head_end + length);

        let this = Seen {
            request_line: head.lines().next().unwrap_or_default().to_string(),
            authorization: header("authorization").unwrap_or_default(),
            body,
            raw,
        };
        let index = {
            let mut seen = seen.lock().unwrap();
            seen.push(this.clone());
            seen.len() - 1
        };
        let reply = answer(index, started.elapsed(), &this);
        let reason = match reply.status {
            200 => "OK",
            403 => "Forbidden",
            404 => "Not Found",
            429 => "Too Many Requests",
            _ => "Whatever",
        };
        let mut response = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n",
            reply.status,
            reply.body.len()
        );
        if let Some(code) = reply.error_type {
            response.push_str(&format!("x-amzn-errortype: {code}:\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&reply.body);
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn request<'a>(
    secret: &'a Secret,
    model: &'a str,
    timeout: Duration,
    endpoint: &'a str,
) -> VerifyRequest<'a> {
    VerifyRequest {
        access_key_id: ACCESS_KEY_ID,
        secret,
        region: "us-east-1",
        model,
        timeout,
        endpoint_url: Some(endpoint),
        policy_changed: false,
    }
}

/// Shows a result without any chance of showing the secret.
fn assert_no_secret(v: &Verification, secret: &str) {
    let shown = format!("{v:?} {}", serde_json::to_string(v).unwrap());
    assert!(
        !shown.contains(secret),
        "a verification result carries the secret"
    );
}

// ---------------------------------------------------------------------------------------------
// Against the local stand-in.

#[tokio::test]
async fn retries_while_the_key_propagates_then_verifies() {
    let server = FakeBedrock::start(|_, since| {
        if since < Duration::from_millis(2500) {
            Reply::invalid_token()
        } else {
            Reply::ok(EMBEDDING)
        }
    })
    .await;
    let secret = Secret::new(SECRET.into());
    let started = Instant::now();
    // The default backoff: 1 s, 2 s... so attempts at about 0 s, 1 s and 3 s.
    let v = verify_key(&request(
        &secret,
        TITAN,
        Duration::from_secs(20),
        &server.endpoint,
    ))
    .await;
    let took = started.elapsed();

    assert_eq!(v.outcome, Outcome::Verified, "{}", v.detail);
    assert_eq!(v.model, TITAN);
    assert!(v.attempts > 1, "attempts: {}", v.attempts);
    assert_eq!(
        v.attempts, 3,
        "1 s then 2 s of backoff reach past 2.5 s on the 3rd try"
    );
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_no_secret(&v, SECRET);

    let seen = server.seen();
    assert_eq!(seen.len() as u32, v.attempts, "one InvokeModel per attempt");
    for s in &seen {
        assert_eq!(
            s.request_line,
            format!("POST /model/{TITAN}/invoke HTTP/1.1")
        );
        assert_eq!(s.body, r#"{"inputText":"ping"}"#);
        // Signed with the new key (and only it); the secret itself never travels.
        assert!(
            s.authorization
                .starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/")),
            "{}",
            s.authorization
        );
        assert!(s.authorization.contains("/us-east-1/bedrock/aws4_request"));
        assert!(!s.raw.contains(SECRET), "the secret went over the wire");
    }
}

#[tokio::test]
async fn a_key_that_never_becomes_valid_is_invalid_token() {
    let server = FakeBedrock::start(|_, _| Reply::invalid_token()).await;
    let secret = Secret::new(SECRET.into());
    let timeout = Duration::from_millis(1500);
    let started = Instant::now();
    let v = verify_key_with(&request(&secret, TITAN, timeout, &server.endpoint), &FAST).await;
    let took = started.elapsed();

    assert_eq!(v.outcome, Outcome::InvalidToken, "{}", v.detail);
    assert!(v.attempts >= 4, "attempts: {}", v.attempts);
    assert_eq!(server.seen().len() as u32, v.attempts);
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(2),
        "{took:?}"
    );
    assert!(
        v.detail.contains("UnrecognizedClientException"),
        "{}",
        v.detail
    );
    assert!(v.detail.contains("HTTP 403"), "{}", v.detail);
    assert_no_secret(&v, SECRET);
}

#[tokio::test]
async fn default_backoff_stays_within_a_short_timeout() {
    let server = FakeBedrock::start(|_, _| Reply::invalid_token()).await;
    let secret = Secret::new(SECRET.into());
    let started = Instant::now();
    let v = verify_key(&request(
        &secret,
        TITAN,
        Duration::from_secs(2),
        &server.endpoint,
    ))
    .await;
    let took = started.elapsed();
    assert_eq!(v.outcome, Outcome::InvalidToken);
    // 0 s, 1 s, then the 2 s wait is cut to end at the 2 s deadline: a last try at 2 s.
    assert_eq!(v.attempts, 3, "{}", v.detail);
    assert!(took < Duration::from_millis(3500), "{took:?}");
}

/// Answers that waiting cannot fix: exactly one attempt.
#[tokio::test]
async fn final_answers_are_classified_after_one_attempt() {
    let cases: Vec<(&str, Reply, Outcome)> = vec![
        (
            "IAM denial",
            Reply::error(
                403,
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/workshop/ws is not authorized to perform: \
                 bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/\
                 amazon.titan-embed-text-v1 because no identity-based policy allows the \
                 bedrock:InvokeModel action",
            ),
            Outcome::AccessDenied,
        ),
        (
            "account without model access",
            Reply::error(
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            ),
            Outcome::ModelNotEnabled,
        ),
        (
            "model not found",
            Reply::error(404, "ResourceNotFoundException", "Could not find a model"),
            Outcome::ModelNotEnabled,
        ),
        (
            "throttled",
            Reply::error(
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            Outcome::Throttled,
        ),
        (
            "service unavailable",
            Reply::error(503, "ServiceUnavailableException", "Service unavailable"),
            Outcome::Network,
        ),
        (
            "wrong secret",
            Reply::error(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            ),
            Outcome::InvalidToken,
        ),
        (
            "moto-style XML, no header",
            Reply {
                status: 403,
                error_type: None,
                body: "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: \
                       arn:aws:iam::123456789012:user/nobody is not authorized to perform: \
                       bedrock:InvokeModel</Message></Error></ErrorResponse>"
                    .to_string(),
            },
            Outcome::AccessDenied,
        ),
    ];
    for (name, reply, want) in cases {
        let server = FakeBedrock::start(move |_, _| reply.clone()).await;
        let secret = Secret::new(SECRET.into());
        let v = verify_key_with(
            &request(&secret, TITAN, Duration::from_secs(10), &server.endpoint),
            &FAST,
        )
        .await;
        assert_eq!(v.outcome, want, "{name}: {}", v.detail);
        assert_eq!(v.attempts, 1, "{name}: no retry");
        assert_eq!(
            server.seen().len(),
            1,
            "{name}: the SDK does not retry either"
        );
        assert_no_secret(&v, SECRET);
    }
}

/// Right after the run rewrote the user's policy (e.g. its deadline moved forward), IAM takes
/// seconds to reach Bedrock: access-denied is "not yet", retried within the timeout.
#[tokio::test]
async fn access_denied_is_retried_while_a_policy_change_propagates() {
    let server = FakeBedrock::start(|n, _| {
        if n < 2 {
            Reply::error(
                403,
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/u is not authorized to perform: bedrock:InvokeModel with an explicit deny",
            )
        } else {
            Reply::ok(EMBEDDING)
        }
    })
    .await;
    let secret = Secret::new(SECRET.into());
    let mut req = request(&secret, TITAN, Duration::from_secs(30), &server.endpoint);
    req.policy_changed = true;
    let v = verify_key_with(&req, &FAST).await;
    assert_eq!(v.outcome, Outcome::Verified, "{}", v.detail);
    assert_eq!(v.attempts, 3);
    // It still ends as access-denied when the denial stays.
    let denied = FakeBedrock::start(|_, _| {
        Reply::error(403, "AccessDeniedException", "User: u is not authorized")
    })
    .await;
    let mut req = request(&secret, TITAN, Duration::from_millis(800), &denied.endpoint);
    req.policy_changed = true;
    let v = verify_key_with(&req, &FAST).await;
    assert_eq!(v.outcome, Outcome::AccessDenied);
    assert!(v.attempts > 1, "attempts: {}", v.attempts);
    assert!(
        v.detail.contains("still not accepted after"),
        "{}",
        v.detail
    );
}

#[tokio::test]
async fn access_denied_is_not_retried() {
    let server = FakeBedrock::start(|_, _| {
        Reply::error(
            403,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/u is not authorized to perform: bedrock:InvokeModel",
        )
    })
    .await;
    let secret = Secret::new(SECRET.into());
    let v = verify_key(&request(
        &secret,
        TITAN,
        Duration::from_secs(30),
        &server.endpoint,
    ))
    .await;
    assert_eq!(v.outcome, Outcome::AccessDenied);
    assert_eq!(v.attempts, 1, "no retry: waiting cannot fix a denied model");
    assert!(
        v.detail
            .starts_with("AccessDeniedException: User: arn:aws:iam::"),
        "{}",
        v.detail
    );
}

#[tokio::test]
async fn xml_unknown_key_is_retried_like_json() {
    // moto's answer for an unknown key: XML, 403, no x-amzn-errortype.
    let server = FakeBedrock::start(|n, _| {
        if n < 2 {
            Reply {
                status: 403,
                error_type: None,
                body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse><Errors><Error>\
                       <Code>InvalidClientTokenId</Code><Message>The security token included in \
                       the request is invalid.</Message></Error></Errors></ErrorResponse>"
                    .to_string(),
            }
        } else {
            Reply::ok("{}")
        }
    })
    .await;
    let secret = Secret::new(SECRET.into());
    let v = verify_key_with(
        &request(&secret, TITAN, Duration::from_secs(10), &server.endpoint),
        &FAST,
    )
    .await;
    assert_eq!(v.outcome, Outcome::Verified, "{}", v.detail);
    assert_eq!(v.attempts, 3);
}

#[tokio::test]
async fn model_bodies_and_ids_on_the_wire() {
    let server = FakeBedrock::start(|_, _| Reply::ok(r#"{"content":[]}"#)).await;
    let secret = Secret::new(SECRET.into());
    for model in [HAIKU, "us.anthropic.claude-3-7-sonnet-20250219-v1:0"] {
        let v = verify_key_with(
            &request(&secret, model, Duration::from_secs(5), &server.endpoint),
            &FAST,
        )
        .await;
        assert_eq!(v.outcome, Outcome::Verified, "{model}: {}", v.detail);
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    // The model id is a path label: ':' is percent-encoded.
    assert_eq!(
        seen[0].request_line,
        "POST /model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke HTTP/1.1"
    );
    for s in &seen {
        let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(body["max_tokens"], 1);
        assert_eq!(body["messages"][0]["role"], "user");
    }
}

#[tokio::test]
async fn connection_refused_is_network() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let secret = Secret::new(SECRET.into());
    let started = Instant::now();
    let v = verify_key_with(
        &request(&secret, TITAN, Duration::from_secs(10), &endpoint),
        &FAST,
    )
    .await;
    assert_eq!(v.outcome, Outcome::Network, "{}", v.detail);
    assert_eq!(v.attempts, 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(v.detail.to_lowercase().contains("connect"), "{}", v.detail);
    assert_no_secret(&v, SECRET);
}

// ---------------------------------------------------------------------------------------------
// Against moto with authentication on.

const ALL_MODELS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"*"}]}"#;

struct Key {
    id: String,
    secret: Secret,
}

/// Creates `name` with an access key (and the all-models Bedrock policy if `bedrock`), auth off.
async fn user_with_key(iam: &aws_sdk_iam::Client, name: &str, bedrock: bool) -> Key {
    iam.create_user()
        .user_name(name)
        .send()
        .await
        .expect("CreateUser");
    if bedrock {
        iam.put_user_policy()
            .user_name(name)
            .policy_name("BedrockInvokeOnly")
            .policy_document(ALL_MODELS_POLICY)
            .send()
            .await
            .expect("PutUserPolicy");
    }
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("CreateAccessKey")
        .access_key
        .expect("CreateAccessKey answer without a key");
    Key {
        id: key.access_key_id,
        secret: Secret::new(key.secret_access_key),
    }
}

fn moto_request<'a>(
    key: &'a Key,
    model: &'a str,
    timeout: Duration,
    endpoint: &'a str,
) -> VerifyRequest<'a> {
    VerifyRequest {
        access_key_id: &key.id,
        secret: &key.secret,
        region: common::REGION,
        model,
        timeout,
        endpoint_url: Some(endpoint),
        policy_changed: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_moto_with_authentication() {
    // A server of our own: the authentication mode is server-wide.
    let moto = common::MotoServer::start();
    let endpoint = moto.endpoint().to_string();
    let admin = moto.create_admin(None, "admin").await;
    let setup = moto.iam_client(None, common::test_credentials());
    let workshop = user_with_key(&setup, "workshop-bedrock-user", true).await;
    let nobody = user_with_key(&setup, "no-bedrock-user", false).await;
    let doomed = user_with_key(&setup, "doomed-user", true).await;
    moto.set_auth(true);

    let timeout = Duration::from_secs(2);
    let secrets = [&workshop.secret, &nobody.secret, &doomed.secret];
    let check = |v: &Verification| {
        for s in secrets {
            assert_no_secret(v, s.expose());
        }
        // Safe to show: codes, messages and key ids only.
        eprintln!(
            "moto {}: {} after {} attempt(s): {}",
            v.model, v.outcome, v.attempts, v.detail
        );
    };

    // The permitted key: moto's stub answers `{}`.
    let v = verify_key_with(&moto_request(&workshop, TITAN, timeout, &endpoint), &FAST).await;
    check(&v);
    assert_eq!(v.outcome, Outcome::Verified, "{}", v.detail);
    assert_eq!(v.attempts, 1);
    // A model id with ':' (moto 5.2.1 got its signature wrong; 5.2.5 does not).
    let v = verify_key_with(&moto_request(&workshop, HAIKU, timeout, &endpoint), &FAST).await;
    check(&v);
    assert_eq!(v.outcome, Outcome::Verified, "{}", v.detail);

    // A key whose user has no Bedrock permission: XML AccessDenied, HTTP 403, no retry.
    let v = verify_key_with(&moto_request(&nobody, TITAN, timeout, &endpoint), &FAST).await;
    check(&v);
    assert_eq!(v.outcome, Outcome::AccessDenied, "{}", v.detail);
    assert_eq!(v.attempts, 1);
    assert!(v.detail.contains("HTTP 403"), "{}", v.detail);

    // The right key id with a wrong secret: SignatureDoesNotMatch, final at once.
    let forged = Key {
        id: workshop.id.clone(),
        secret: Secret::new(format!("{}x", &workshop.secret.expose()[1..])),
    };
    let v = verify_key_with(&moto_request(&forged, TITAN, timeout, &endpoint), &FAST).await;
    assert_no_secret(&v, forged.secret.expose());
    check(&v);
    assert_eq!(v.outcome, Outcome::InvalidToken, "{}", v.detail);
    assert_eq!(v.attempts, 1, "a wrong secret is not waited for");

    // A deleted key: the admin deletes it, then it reads invalid-token after retrying.
    let v = verify_key_with(&moto_request(&doomed, TITAN, timeout, &endpoint), &FAST).await;
    assert_eq!(
        v.outcome,
        Outcome::Verified,
        "before deletion: {}",
        v.detail
    );
    moto.iam_client(None, admin)
        .delete_access_key()
        .user_name("doomed-user")
        .access_key_id(&doomed.id)
        .send()
        .await
        .expect("DeleteAccessKey with the admin key");
    let started = Instant::now();
    let v = verify_key_with(&moto_request(&doomed, TITAN, timeout, &endpoint), &FAST).await;
    check(&v);
    assert_eq!(v.outcome, Outcome::InvalidToken, "{}", v.detail);
    assert!(v.attempts > 1, "retried while it might propagate");
    assert!(started.elapsed() < timeout + Duration::from_secs(3));
    assert!(v.detail.contains("InvalidClientTokenId"), "{}", v.detail);
}

// ---------------------------------------------------------------------------------------------
// Bedrock API keys (bearer tokens). moto 5.2.5 answers HTTP 500 to every bearer-auth Bedrock
// request (measured), so these checks run against the local stand-in, which accepts exactly the
// token the credentials file holds (and the file's key for SigV4) and answers 403 otherwise.

/// A 403 for a token or key the stand-in does not know, as Bedrock answers an unknown identity.
fn refused() -> Reply {
    Reply::error(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
}

/// The token is sent as `Authorization: Bearer`, alone (no SigV4), and classified like the key.
#[tokio::test]
async fn a_bearer_token_is_verified_with_bearer_auth_only() {
    const TOKEN: &str =
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbg==";
    let server = FakeBedrock::start_judging(|_, _, seen| {
        if seen.authorization == format!("Bearer {TOKEN}") {
            Reply::ok(EMBEDDING)
        } else {
            refused()
        }
    })
    .await;
    let secret = Secret::new(SECRET.into());
    let req = request(&secret, TITAN, Duration::from_secs(5), &server.endpoint);
    let v = verify_token_with(&req, &Secret::new(TOKEN.into()), &FAST).await;
    assert_eq!(v.outcome, Outcome::Verified, "{}", v.detail);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].raw.contains("AWS4-HMAC-SHA256"), "SigV4 sent too");
    assert!(
        !seen[0].raw.to_lowercase().contains("x-amz-date"),
        "SigV4 sent too"
    );
    assert_no_secret(&v, TOKEN);
    // Another token: refused, retried while it might be propagating, then invalid-token; the
    // token is not in the result.
    let other = Secret::new(format!("{TOKEN}x"));
    let req = request(&secret, TITAN, Duration::from_millis(500), &server.endpoint);
    let v = verify_token_with(&req, &other, &FAST).await;
    assert_eq!(v.outcome, Outcome::InvalidToken, "{}", v.detail);
    assert_no_secret(&v, other.expose());
}

/// Through the binary, with IAM on moto and Bedrock Runtime on the stand-in: `reconcile` and
/// `verify` check the new key with SigV4 and the file's token with bearer auth. The operator's
/// shell has `AWS_BEARER_TOKEN_BEDROCK` set to something else: a client built from the shared
/// configuration would send that instead of the new key; neither check may.
#[tokio::test(flavor = "multi_thread")]
async fn reconcile_and_verify_check_the_files_key_and_token_not_the_environments() {
    const GARBAGE: &str = "bedrock-api-key-garbage-from-the-operators-shell";
    let server = common::shared();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials/w.env");
    // Once set, the only token accepted (the file may be changed behind the tool's back).
    let pinned: Arc<Mutex<Option<String>>> = Arc::default();
    let fake = {
        let creds = creds.clone();
        let pinned = pinned.clone();
        FakeBedrock::start_judging(move |_, _, seen| {
            let Ok(text) = std::fs::read_to_string(&creds) else {
                return refused();
            };
            let value = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                    .unwrap_or("?")
                    .to_string()
            };
            let auth = &seen.authorization;
            let key_ok = auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential={}/",
                value("AWS_ACCESS_KEY_ID")
            ));
            let accepted = pinned
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| value("AWS_BEARER_TOKEN_BEDROCK"));
            let token_ok = *auth == format!("Bearer {accepted}");
            if key_ok || token_ok {
                Reply::ok(EMBEDDING)
            } else {
                refused()
            }
        })
        .await
    };
    let sfx = common::unique_suffix();
    let start = Utc::now() + chrono::TimeDelta::hours(2);
    let schedule = dir.path().join("workshops.toml");
    std::fs::write(
        &schedule,
        format!(
            "[settings]\npath = \"{}\"\nuser = \"wk-bt-{sfx}\"\nbedrock_api_key = true\nverify_timeout = \"3s\"\n\n[[workshop]]\nid = \"w\"\nstart = {}\nend = {}\n",
            common::unique_path("bt"),
            workshop_keys::time::format_time(start),
            workshop_keys::time::format_time(start + chrono::TimeDelta::hours(6)),
        ),
    )
    .unwrap();
    let run = |args: &'static [&'static str]| {
        let mut cmd = server.command();
        cmd.args(args)
            .arg("--schedule")
            .arg(&schedule)
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &fake.endpoint)
            .env("AWS_BEARER_TOKEN_BEDROCK", GARBAGE)
            .env_remove("RUST_LOG");
        let what = format!("workshop-keys {}", args.join(" "));
        async move {
            tokio::task::spawn_blocking(move || Run::of(cmd, what))
                .await
                .unwrap()
        }
    };
    let first = run(&["reconcile", "--output", "json"]).await;
    first.code(0);
    let check = &first.json()["verifications"][0];
    assert_eq!(check["outcome"], "verified", "{first}");
    assert_eq!(check["models"][0]["outcome"], "verified", "{first}");
    assert_eq!(check["bearer_token"]["outcome"], "verified", "{first}");
    let text = std::fs::read_to_string(&creds).unwrap();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("AWS_ACCESS_KEY_ID="))
        .unwrap()
        .to_string();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("AWS_BEARER_TOKEN_BEDROCK="))
        .unwrap()
        .to_string();
    let seen = fake.seen();
    assert!(
        seen.iter()
            .any(|s| s.authorization.contains(&format!("Credential={id}/"))),
        "the new key was not checked"
    );
    assert!(
        seen.iter()
            .any(|s| s.authorization == format!("Bearer {token}")),
        "the file's token was not checked"
    );
    assert!(
        !seen.iter().any(|s| s.raw.contains(GARBAGE)),
        "the environment's token was sent"
    );
    for out in [&first.stdout, &first.stderr] {
        assert!(!out.contains(&token), "the token in the output");
    }
    // `verify` again, then with a token the stand-in does not know: invalid-token, exit 1.
    let verify = run(&["verify"]).await;
    verify
        .code(0)
        .stdout_line_with(&["workshop w", &id, "verified"]);
    *pinned.lock().unwrap() = Some(token.clone());
    std::fs::write(&creds, text.replace(&token, &format!("{token}AA"))).unwrap();
    let bad = run(&["verify"]).await;
    bad.code(1)
        .stdout_line_with(&["bearer token (AWS_BEARER_TOKEN_BEDROCK)", "invalid-token"]);
    assert!(!bad.stdout.contains(&token), "{bad}");
    assert!(!fake.seen().iter().any(|s| s.raw.contains(GARBAGE)));
}
