//! Bedrock answers -> `Outcome`. Pure: codes, messages, HTTP status and raw bodies in, no I/O.
//!
//! The order of evidence: the error code (from the SDK, else read from the raw body: JSON `__type`
//! / `code`, or XML `<Code>` as moto sends), then the message, then the HTTP status. A missing
//! status means the request never got an answer (dispatch failure, timeout): `Network`.

use super::Outcome;

/// What one answer means, and whether waiting for the key to propagate could change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classified {
    pub outcome: Outcome,
    /// Only "unknown key" answers (the key is not, or not yet, known to the service) are retried;
    /// a signature mismatch (wrong secret, clock skew) is also `InvalidToken` but final.
    pub retry: bool,
    /// The code that decided, after normalisation (`UnrecognizedClientException`, ...).
    pub code: Option<String>,
    /// The message, from the caller or from the raw body.
    pub message: Option<String>,
}

/// Classify one InvokeModel answer. `code`/`message` are what the SDK parsed (if anything),
/// `status` the HTTP status (None: no answer at all), `raw_body` the response body as received.
pub fn classify(
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    raw_body: Option<&str>,
) -> Outcome {
    classify_full(code, message, status, raw_body).outcome
}

pub(crate) fn classify_full(
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    raw_body: Option<&str>,
) -> Classified {
    let from_body = raw_body.map(parse_error_body).unwrap_or_default();
    let code = code
        .map(normalize_code)
        .filter(|c| !c.is_empty())
        .or(from_body.code);
    let message = message
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .or(from_body.message);

    let (outcome, retry) = decide(code.as_deref(), message.as_deref(), status);
    Classified {
        outcome,
        retry,
        code,
        message,
    }
}

fn decide(code: Option<&str>, message: Option<&str>, status: Option<u16>) -> (Outcome, bool) {
    if let Some(found) = code.and_then(|c| by_code(c, message)) {
        return found;
    }
    if let Some(found) = message.and_then(by_message) {
        return found;
    }
    match status {
        None => (Outcome::Network, false),
        Some(200..=299) if code.is_none() => (Outcome::Verified, false),
        // Unauthenticated: the key is unknown (yet).
        Some(401) => (Outcome::InvalidToken, true),
        // AWS answers both an unknown key and a denied action with 403; without a code or message
        // to tell them apart, the policy is the more likely cause (the key signed the request).
        Some(403) => (Outcome::AccessDenied, false),
        Some(404) => (Outcome::ModelNotEnabled, false),
        Some(429) => (Outcome::Throttled, false),
        // 408 request timeout, 5xx, anything else unrecognised: could not check.
        Some(_) => (Outcome::Network, false),
    }
}

/// Codes that mean "the service does not know this key (yet)": retried while the key propagates.
const UNKNOWN_KEY_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "UnrecognizedClient",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "InvalidToken",
    "AuthFailure",
];

/// Codes that mean "the key is known but these credentials do not authenticate": not retried.
const BAD_CREDENTIAL_CODES: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
];

const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "AuthorizationError",
    "NotAuthorized",
    "Forbidden",
    "ForbiddenException",
];

const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "ResourceNotFound",
    "ModelNotFoundException",
    "NotFoundException",
];

const THROTTLED_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "ServiceQuotaExceededException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
];

/// The service or the model failed: says nothing about the key.
const UNAVAILABLE_CODES: &[&str] = &[
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalServerException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "ModelErrorException",
    "ModelStreamErrorException",
    "RequestTimeout",
    "RequestTimeoutException",
];

fn any_eq(list: &[&str], code: &str) -> bool {
    list.iter().any(|c| c.eq_ignore_ascii_case(code))
}

fn by_code(code: &str, message: Option<&str>) -> Option<(Outcome, bool)> {
    let lower_msg = message.map(str::to_ascii_lowercase).unwrap_or_default();
    if any_eq(UNKNOWN_KEY_CODES, code) {
        return Some((Outcome::InvalidToken, true));
    }
    if any_eq(BAD_CREDENTIAL_CODES, code) {
        return Some((Outcome::InvalidToken, false));
    }
    if any_eq(ACCESS_DENIED_CODES, code) {
        // Bedrock also answers AccessDeniedException when the *account* may not use the model
        // (including "Model access is denied due to ... AWS Marketplace actions": the model's
        // subscription is missing or failed and this principal may not subscribe, which a
        // workshop key should not).
        if mentions_marketplace(&lower_msg) || mentions_model_access(&lower_msg) {
            return Some((model_access_outcome(&lower_msg), false));
        }
        return Some((Outcome::AccessDenied, false));
    }
    if any_eq(NOT_FOUND_CODES, code) {
        return Some((model_access_outcome(&lower_msg), false));
    }
    if code.eq_ignore_ascii_case("ValidationException") {
        // The model rejected the probe body itself: the request got past authentication,
        // authorisation and model access, so the key works for this model.
        if lower_msg.contains("malformed input request")
            || lower_msg.contains("the model returned the following errors")
        {
            return Some((Outcome::Verified, false));
        }
        // Otherwise the model id is not usable here: unknown or legacy model, an inference
        // profile from another geography, on-demand not supported, "Operation not allowed"...
        return Some((model_access_outcome(&lower_msg), false));
    }
    if any_eq(THROTTLED_CODES, code) {
        return Some((Outcome::Throttled, false));
    }
    if any_eq(UNAVAILABLE_CODES, code) {
        return Some((Outcome::Network, false));
    }
    None
}

/// Messages Bedrock gives when the account (not the principal) lacks access to a model.
fn mentions_model_access(lower: &str) -> bool {
    const PHRASES: &[&str] = &[
        "don't have access to the model",
        "do not have access to the model",
        "does not have access to the model",
        "no access to the model",
        "not have access to this model",
        "could not find a model",
        "model access is denied",
        "does not have an agreement",
        "use case details",
        "not subscribed",
        "legacy",
        "end of its life",
    ];
    PHRASES.iter().any(|p| lower.contains(p))
}

/// Which account-level problem a model-access message names; `ModelNotEnabled` for the rest.
fn model_access_outcome(lower: &str) -> Outcome {
    if mentions_marketplace(lower) {
        Outcome::MarketplaceSubscription
    } else if lower.contains("use case details") || lower.contains("use case form") {
        Outcome::UseCaseRequired
    } else if mentions_region(lower) {
        Outcome::NotInRegion
    } else {
        Outcome::ModelNotEnabled
    }
}

/// The Marketplace subscription behind a third-party model: "... not authorized to perform the
/// required AWS Marketplace actions ...", "... not authorized to perform:
/// aws-marketplace:ViewSubscriptions ...", "Your AWS Marketplace subscription for this model
/// cannot be completed".
fn mentions_marketplace(lower: &str) -> bool {
    lower.contains("aws marketplace") || lower.contains("aws-marketplace:")
}

/// The model exists, but not in this region.
fn mentions_region(lower: &str) -> bool {
    const PHRASES: &[&str] = &[
        "not available in this region",
        "not supported in this region",
        "isn't available in this region",
        "isn't supported in this region",
        "not available in the region",
        "not supported in the region",
        "not available in your region",
    ];
    PHRASES.iter().any(|p| lower.contains(p))
}

/// IAM's own denial: "User: arn:... is not authorized to perform: bedrock:InvokeModel ...".
fn mentions_policy_denial(lower: &str) -> bool {
    lower.contains("is not authorized to perform")
        || lower.contains("no identity-based policy allows")
        || lower.contains("explicit deny")
}

fn by_message(message: &str) -> Option<(Outcome, bool)> {
    let lower = message.to_ascii_lowercase();
    if lower.contains("security token included in the request is invalid")
        || lower.contains("access key id you provided does not exist")
        || lower.contains("not a valid key")
    {
        return Some((Outcome::InvalidToken, true));
    }
    if lower.contains("signature we calculated does not match")
        || lower.contains("security token included in the request is expired")
    {
        return Some((Outcome::InvalidToken, false));
    }
    if mentions_marketplace(&lower) || mentions_model_access(&lower) || mentions_region(&lower) {
        return Some((model_access_outcome(&lower), false));
    }
    if mentions_policy_denial(&lower) {
        return Some((Outcome::AccessDenied, false));
    }
    if lower.contains("rate exceeded") || lower.contains("too many requests") {
        return Some((Outcome::Throttled, false));
    }
    None
}

/// `com.amazon.coral.service#UnrecognizedClientException` and
/// `UnrecognizedClientException:http://internal.amazon.com/coral/...` -> `UnrecognizedClientException`.
pub(crate) fn normalize_code(code: &str) -> String {
    let code = code.trim();
    let code = code.rsplit_once('#').map_or(code, |(_, c)| c);
    let code = code.split_once(':').map_or(code, |(c, _)| c);
    code.trim().to_string()
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct BodyError {
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Read an error code and message from a raw body: AWS JSON (`__type`, `code`, `message`...) or
/// AWS XML (`<Code>`, `<Message>`, as moto and the query protocols send). Anything else: nothing.
pub(crate) fn parse_error_body(body: &str) -> BodyError {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed) {
            return from_json(&map);
        }
        return BodyError::default();
    }
    if trimmed.starts_with('<') {
        return BodyError {
            code: xml_element(trimmed, "Code")
                .map(|c| normalize_code(&c))
                .filter(|c| !c.is_empty()),
            message: xml_element(trimmed, "Message").filter(|m| !m.is_empty()),
        };
    }
    BodyError::default()
}

fn from_json(map: &serde_json::Map<String, serde_json::Value>) -> BodyError {
    let text = |keys: &[&str]| {
        keys.iter()
            .filter_map(|k| map.get(*k).and_then(|v| v.as_str()))
            .map(str::trim)
            .find(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut code =
        text(&["__type", "code", "Code", "errorCode", "error"]).map(|c| normalize_code(&c));
    let mut message = text(&["message", "Message", "errorMessage"]);
    // {"Error": {"Code": ..., "Message": ...}}
    if let Some(serde_json::Value::Object(inner)) = map.get("Error").or_else(|| map.get("error")) {
        let nested = from_json(inner);
        code = code.or(nested.code);
        message = message.or(nested.message);
    }
    BodyError {
        code: code.filter(|c| !c.is_empty()),
        message,
    }
}

/// The text of the first `<name>...</name>` element, entities decoded. Enough for AWS error XML.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    let text = xml[start..start + len].trim();
    if let Some(cdata) = text
        .strip_prefix("<![CDATA[")
        .and_then(|t| t.strip_suffix("]]>"))
    {
        return Some(cdata.trim().to_string());
    }
    Some(unescape_xml(text))
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    const INVALID_TOKEN_MSG: &str = "The security token included in the request is invalid.";

    #[test]
    fn sdk_codes_decide() {
        let cases: &[(&str, Outcome)] = &[
            ("UnrecognizedClientException", InvalidToken),
            ("UnrecognizedClient", InvalidToken),
            ("InvalidClientTokenId", InvalidToken),
            ("InvalidAccessKeyId", InvalidToken),
            ("SignatureDoesNotMatch", InvalidToken),
            ("InvalidSignatureException", InvalidToken),
            ("AccessDeniedException", AccessDenied),
            ("AccessDenied", AccessDenied),
            ("ResourceNotFoundException", ModelNotEnabled),
            ("ThrottlingException", Throttled),
            ("ServiceQuotaExceededException", Throttled),
            ("TooManyRequestsException", Throttled),
            ("ServiceUnavailableException", Network),
            ("InternalServerException", Network),
            ("ModelNotReadyException", Network),
            ("ModelTimeoutException", Network),
            ("ModelErrorException", Network),
        ];
        for (code, want) in cases {
            assert_eq!(classify(Some(code), None, Some(400), None), *want, "{code}");
        }
    }

    #[test]
    fn code_beats_status() {
        // A 403 with an unknown-key code is not a policy problem.
        assert_eq!(
            classify(
                Some("UnrecognizedClientException"),
                Some(INVALID_TOKEN_MSG),
                Some(403),
                None
            ),
            InvalidToken
        );
        assert_eq!(
            classify(Some("ThrottlingException"), None, Some(400), None),
            Throttled
        );
    }

    #[test]
    fn namespaced_and_suffixed_codes_are_normalised() {
        assert_eq!(
            classify(
                Some("com.amazon.coral.service#UnrecognizedClientException"),
                None,
                Some(403),
                None
            ),
            InvalidToken
        );
        assert_eq!(
            classify(
                Some("AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"),
                None,
                Some(403),
                None
            ),
            AccessDenied
        );
        assert_eq!(normalize_code("  a.b#Code:x "), "Code");
    }

    #[test]
    fn account_without_model_access_is_model_not_enabled() {
        assert_eq!(
            classify(
                Some("AccessDeniedException"),
                Some("You don't have access to the model with the specified model ID."),
                Some(403),
                None
            ),
            ModelNotEnabled
        );
        assert_eq!(
            classify(
                Some("ResourceNotFoundException"),
                Some("Could not find a model with id amazon.titan-embed-text-v1"),
                Some(404),
                None
            ),
            ModelNotEnabled
        );
    }

    /// The marketplace message as AWS sends it (issue 16, public issue trackers 2025-26).
    const MARKETPLACE_DENIED: &str = "Model access is denied due to IAM user or service role is \
        not authorized to perform the required AWS Marketplace actions \
        (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this \
        model. Refer to the Amazon Bedrock documentation for further details. Your AWS \
        Marketplace subscription for this model cannot be completed at this time. If you \
        recently fixed this issue, try again after 2 minutes.";

    #[test]
    fn account_level_model_problems_table() {
        let cases: &[(Option<&str>, &str, u16, Outcome)] = &[
            (
                Some("AccessDeniedException"),
                MARKETPLACE_DENIED,
                403,
                MarketplaceSubscription,
            ),
            // The variants that say 5 or 15 minutes.
            (
                Some("AccessDeniedException"),
                "Model access is denied due to IAM user or service role is not authorized to \
                 perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, \
                 aws-marketplace:Subscribe) to enable access to this model. Your AWS Marketplace \
                 subscription for this model cannot be completed at this time. If you recently \
                 fixed this issue, try again after 15 minutes.",
                403,
                MarketplaceSubscription,
            ),
            // The variant that names the missing action: IAM's wording, yet not the key's policy.
            (
                Some("AccessDeniedException"),
                "User: arn:aws:iam::123456789012:user/workshop/ws is not authorized to perform: \
                 aws-marketplace:ViewSubscriptions on resource: * because no identity-based policy \
                 allows the aws-marketplace:ViewSubscriptions action",
                403,
                MarketplaceSubscription,
            ),
            // No code at all: the message decides.
            (None, MARKETPLACE_DENIED, 403, MarketplaceSubscription),
            (
                Some("ResourceNotFoundException"),
                "Model use case details have not been submitted for this account. Fill out the \
                 Anthropic use case details form before using the model. If you have already \
                 filled out the form, try again in 15 minutes.",
                404,
                UseCaseRequired,
            ),
            (
                Some("ValidationException"),
                "The model amazon.nova-premier-v1:0 is not supported in this region.",
                400,
                NotInRegion,
            ),
            (
                Some("ResourceNotFoundException"),
                "Model anthropic.claude-opus-4-20250514-v1:0 is not available in this region.",
                404,
                NotInRegion,
            ),
            // What is left stays model-not-enabled.
            (
                Some("ValidationException"),
                "Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand \
                 throughput isn't supported. Retry your request with the ID or ARN of an \
                 inference profile that contains this model.",
                400,
                ModelNotEnabled,
            ),
            (
                Some("ResourceNotFoundException"),
                "This model version has reached the end of its life. Please refer to the AWS \
                 documentation for more details.",
                404,
                ModelNotEnabled,
            ),
            // A plain IAM denial of bedrock:InvokeModel stays the policy's fault.
            (
                Some("AccessDeniedException"),
                "User: arn:aws:iam::123456789012:user/workshop/ws is not authorized to perform: \
                 bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/x \
                 because no identity-based policy allows the bedrock:InvokeModel action",
                403,
                AccessDenied,
            ),
        ];
        for (code, message, status, want) in cases {
            let got = classify_full(*code, Some(message), Some(*status), None);
            assert_eq!(got.outcome, *want, "{code:?}: {message}");
            assert!(!got.retry, "{message}");
            // The same answer as a raw JSON body, as the stand-in and AWS send it.
            let body = serde_json::json!({"message": message}).to_string();
            let header_code = code.unwrap_or("");
            assert_eq!(
                classify(Some(header_code), None, Some(*status), Some(&body)),
                *want,
                "body: {body}"
            );
        }
    }

    #[test]
    fn iam_denial_message_is_access_denied() {
        let msg = "User: arn:aws:iam::123456789012:user/workshop/ws is not authorized to perform: \
                   bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/\
                   amazon.titan-embed-text-v1 because no identity-based policy allows the \
                   bedrock:InvokeModel action";
        assert_eq!(
            classify(Some("AccessDeniedException"), Some(msg), Some(403), None),
            AccessDenied
        );
        // Message alone (no code) still tells.
        assert_eq!(classify(None, Some(msg), Some(403), None), AccessDenied);
    }

    #[test]
    fn validation_exceptions() {
        assert_eq!(
            classify(
                Some("ValidationException"),
                Some("Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again."),
                Some(400),
                None
            ),
            Verified
        );
        assert_eq!(
            classify(
                Some("ValidationException"),
                Some("The provided model identifier is invalid."),
                Some(400),
                None
            ),
            ModelNotEnabled
        );
        assert_eq!(
            classify(
                Some("ValidationException"),
                Some("Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."),
                Some(400),
                None
            ),
            ModelNotEnabled
        );
        assert_eq!(
            classify(
                Some("ValidationException"),
                Some("Operation not allowed"),
                Some(400),
                None
            ),
            ModelNotEnabled
        );
    }

    #[test]
    fn real_aws_json_bodies() {
        let body = r#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#;
        let c = classify_full(None, None, Some(403), Some(body));
        assert_eq!(c.outcome, InvalidToken);
        assert!(c.retry);
        assert_eq!(c.code.as_deref(), Some("UnrecognizedClientException"));
        assert_eq!(c.message.as_deref(), Some(INVALID_TOKEN_MSG));

        let body = r#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::1:user/u is not authorized to perform: bedrock:InvokeModel"}"#;
        assert_eq!(classify(None, None, Some(403), Some(body)), AccessDenied);

        let body = r#"{"code":"ResourceNotFoundException","message":"Could not find a model"}"#;
        assert_eq!(classify(None, None, Some(404), Some(body)), ModelNotEnabled);

        let body = r#"{"message":"Too many requests, please wait before trying again."}"#;
        assert_eq!(classify(None, None, Some(429), Some(body)), Throttled);

        let body = r#"{"Error":{"Code":"InvalidClientTokenId","Message":"nope"}}"#;
        assert_eq!(classify(None, None, Some(403), Some(body)), InvalidToken);
    }

    #[test]
    fn moto_xml_bodies() {
        let unknown_key = r#"<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse>
  <Errors>
    <Error>
      <Code>InvalidClientTokenId</Code>
      <Message><![CDATA[The security token included in the request is invalid.]]></Message>
    </Error>
  </Errors>
  <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
</ErrorResponse>"#;
        let c = classify_full(None, None, Some(403), Some(unknown_key));
        assert_eq!(c.outcome, InvalidToken);
        assert!(c.retry);
        assert_eq!(c.code.as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(c.message.as_deref(), Some(INVALID_TOKEN_MSG));

        let denied = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: \
                      arn:aws:iam::123456789012:user/nobody is not authorized to perform: \
                      bedrock:InvokeModel</Message></Error></ErrorResponse>";
        assert_eq!(classify(None, None, Some(403), Some(denied)), AccessDenied);

        let bad_sig =
            "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request \
                       signature we calculated does not match the signature you provided.</Message>\
                       </Error></ErrorResponse>";
        let c = classify_full(None, None, Some(403), Some(bad_sig));
        assert_eq!(c.outcome, InvalidToken);
        assert!(!c.retry, "a wrong secret does not heal by waiting");
    }

    #[test]
    fn sdk_code_wins_over_body_code() {
        let body = "<Error><Code>AccessDenied</Code></Error>";
        assert_eq!(
            classify(Some("ThrottlingException"), None, Some(403), Some(body)),
            Throttled
        );
        // Empty SDK code falls back to the body.
        assert_eq!(
            classify(Some(""), None, Some(403), Some(body)),
            AccessDenied
        );
    }

    #[test]
    fn status_fallbacks() {
        assert_eq!(classify(None, None, Some(200), None), Verified);
        assert_eq!(
            classify(None, None, Some(200), Some(r#"{"embedding":[0.1]}"#)),
            Verified
        );
        assert_eq!(classify(None, None, Some(401), None), InvalidToken);
        assert_eq!(classify(None, None, Some(403), None), AccessDenied);
        assert_eq!(classify(None, None, Some(403), Some("")), AccessDenied);
        assert_eq!(
            classify(None, None, Some(403), Some("not json, not xml")),
            AccessDenied
        );
        assert_eq!(classify(None, None, Some(404), None), ModelNotEnabled);
        assert_eq!(classify(None, None, Some(429), None), Throttled);
        assert_eq!(classify(None, None, Some(408), None), Network);
        assert_eq!(classify(None, None, Some(500), None), Network);
        assert_eq!(
            classify(None, None, Some(502), Some("<html>Bad Gateway</html>")),
            Network
        );
        assert_eq!(classify(None, None, Some(503), None), Network);
        assert_eq!(classify(None, None, Some(400), None), Network);
    }

    #[test]
    fn no_answer_is_network() {
        assert_eq!(classify(None, None, None, None), Network);
        // Whatever text a dispatch failure carries, without a status and code it stays network.
        assert_eq!(
            classify(
                None,
                Some("io error: Connection refused (os error 111)"),
                None,
                None
            ),
            Network
        );
    }

    #[test]
    fn unknown_code_falls_back_to_message_then_status() {
        assert_eq!(
            classify(Some("WeirdError"), Some(INVALID_TOKEN_MSG), Some(400), None),
            InvalidToken
        );
        assert_eq!(
            classify(Some("WeirdError"), None, Some(429), None),
            Throttled
        );
        assert_eq!(
            classify(Some("WeirdError"), None, Some(403), None),
            AccessDenied
        );
        // A code with a 2xx status is not success.
        assert_eq!(classify(Some("WeirdError"), None, Some(200), None), Network);
    }

    #[test]
    fn only_unknown_key_answers_retry() {
        for (code, retry) in [
            ("UnrecognizedClientException", true),
            ("InvalidClientTokenId", true),
            ("SignatureDoesNotMatch", false),
            ("AccessDeniedException", false),
            ("ThrottlingException", false),
            ("ResourceNotFoundException", false),
        ] {
            assert_eq!(
                classify_full(Some(code), None, Some(403), None).retry,
                retry,
                "{code}"
            );
        }
        assert!(classify_full(None, None, Some(401), None).retry);
        assert!(!classify_full(None, None, None, None).retry);
    }

    #[test]
    fn xml_entities_and_bad_json() {
        let body = "<Error><Code>AccessDenied</Code><Message>a &amp; b &lt;c&gt;</Message></Error>";
        let parsed = parse_error_body(body);
        assert_eq!(parsed.message.as_deref(), Some("a & b <c>"));
        assert_eq!(parse_error_body("{not json"), BodyError::default());
        assert_eq!(parse_error_body("[1,2]"), BodyError::default());
    }

    #[test]
    fn case_insensitive_codes() {
        assert_eq!(
            classify(Some("accessdeniedexception"), None, Some(403), None),
            AccessDenied
        );
    }
}
