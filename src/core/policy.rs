//! The inline policy `BedrockInvokeOnly` that every managed user carries, built from the
//! schedule's policy choice and the user's deadline; and AWS's quarantine policies, which the
//! tool recognises and never detaches.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Which inline policy the managed users carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChoice {
    /// `bedrock:InvokeModel*` on every model.
    AllModels,
    /// The same actions on the listed models only (ids or ARNs).
    Restricted { models: Vec<String> },
}

pub const POLICY_NAME: &str = "BedrockInvokeOnly";
/// The statement that makes AWS itself refuse Bedrock after the user's last key window ends,
/// even if no run of the tool ever comes again.
pub const DEADLINE_SID: &str = "WorkshopKeysDeadline";
/// The deadline of a user none of whose key windows has begun: long past, so Bedrock is denied.
pub const NO_WINDOW_YET: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// AWS attaches `AWSCompromisedKeyQuarantine`, `...V2` or `...V3` to a user whose key it found
/// exposed. Undoing that would revive the leaked key.
pub const QUARANTINE_ARN_PREFIX: &str = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine";

/// In any partition (`aws`, `aws-cn`, `aws-us-gov`).
pub fn is_quarantine(policy_arn: &str) -> bool {
    let rest = QUARANTINE_ARN_PREFIX.trim_start_matches("arn:aws:");
    policy_arn
        .strip_prefix("arn:")
        .and_then(|a| a.split_once(':'))
        .is_some_and(|(partition, tail)| partition.starts_with("aws") && tail.starts_with(rest))
}
pub const ACTIONS: [&str; 2] = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
];

/// Regions that a cross-region inference profile of each geography routes to. Listing a region
/// that a given profile does not use is harmless; missing one denies the call there.
const GEOGRAPHIES: &[(&str, &str, &[&str])] = &[
    // (prefix, partition, regions)
    (
        "us",
        "aws",
        &["us-east-1", "us-east-2", "us-west-1", "us-west-2"],
    ),
    ("us-gov", "aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
    ("ca", "aws", &["ca-central-1", "ca-west-1"]),
    (
        "eu",
        "aws",
        &[
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
        ],
    ),
    (
        "apac",
        "aws",
        &[
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-7",
        ],
    ),
    ("jp", "aws", &["ap-northeast-1", "ap-northeast-3"]),
    ("au", "aws", &["ap-southeast-2", "ap-southeast-4"]),
];

/// What a short-term Bedrock API key (bearer token) needs besides the invoke actions. It names
/// no model, so its statement is on `*`; the deadline's `bedrock:*` denial covers it too.
pub const BEARER_ACTION: &str = "bedrock:CallWithBearerToken";
/// The statement that allows [`BEARER_ACTION`] (`settings.bedrock_api_key`).
pub const BEARER_SID: &str = "BedrockApiKeys";

/// The policy document for a policy choice, with the deadline statement when `deadline` is set.
pub fn document(choice: &PolicyChoice, deadline: Option<DateTime<Utc>>) -> Value {
    document_for(choice, deadline, false)
}

/// [`document`], with `bearer_tokens` (`settings.bedrock_api_key`) also allowing
/// `bedrock:CallWithBearerToken`.
pub fn document_for(
    choice: &PolicyChoice,
    deadline: Option<DateTime<Utc>>,
    bearer_tokens: bool,
) -> Value {
    let mut doc = allow_document(choice);
    if let (true, Some(statements)) = (bearer_tokens, doc["Statement"].as_array_mut()) {
        statements.push(json!({
            "Sid": BEARER_SID,
            "Effect": "Allow",
            "Action": BEARER_ACTION,
            "Resource": "*",
        }));
    }
    if let (Some(at), Some(statements)) = (deadline, doc["Statement"].as_array_mut()) {
        statements.push(json!({
            "Sid": DEADLINE_SID,
            "Effect": "Deny",
            "Action": "bedrock:*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": deadline_text(at)}},
        }));
    }
    doc
}

/// RFC 3339, UTC, to the second: the form `aws:CurrentTime` is compared with.
pub fn deadline_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The deadline a document carries, if any.
pub fn deadline_of(document: &Value) -> Option<DateTime<Utc>> {
    document["Statement"]
        .as_array()?
        .iter()
        .find(|s| s["Sid"] == DEADLINE_SID)
        .and_then(|s| s["Condition"]["DateGreaterThan"]["aws:CurrentTime"].as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
}

/// The size IAM counts against `limits::INLINE_POLICY_CHARS` for the document the tool writes.
pub fn size(document: &Value) -> usize {
    crate::core::limits::policy_chars(&document.to_string())
}

fn allow_document(choice: &PolicyChoice) -> Value {
    let resource = match choice {
        PolicyChoice::AllModels => json!("*"),
        PolicyChoice::Restricted { models } => {
            let mut arns: Vec<String> = models.iter().flat_map(|m| resources_for(m)).collect();
            arns.sort();
            arns.dedup();
            json!(arns)
        }
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BedrockInvokeOnly",
            "Effect": "Allow",
            "Action": ACTIONS,
            "Resource": resource,
        }]
    })
}

/// The ARNs one listed model needs.
///
/// - An ARN is used as it is.
/// - A cross-region inference profile id (`us.anthropic.claude-...`) needs the profile's ARN and
///   the foundation model's ARN in every region the profile routes to: Bedrock authorises both.
/// - A plain model id becomes a foundation-model ARN in any region.
pub fn resources_for(model: &str) -> Vec<String> {
    if model.starts_with("arn:") {
        return vec![model.to_string()];
    }
    if let Some(base) = model.strip_prefix("global.") {
        return vec![
            format!("arn:aws:bedrock:*:*:inference-profile/{model}"),
            format!("arn:aws:bedrock:*::foundation-model/{base}"),
        ];
    }
    // Longest prefix first so that `us-gov.` is not read as `us`.
    let mut geos: Vec<_> = GEOGRAPHIES.iter().collect();
    geos.sort_by_key(|(prefix, _, _)| std::cmp::Reverse(prefix.len()));
    for (prefix, partition, regions) in geos {
        if let Some(base) = model.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
            let mut arns = vec![format!(
                "arn:{partition}:bedrock:*:*:inference-profile/{model}"
            )];
            arns.extend(
                regions
                    .iter()
                    .map(|r| format!("arn:{partition}:bedrock:{r}::foundation-model/{base}")),
            );
            return arns;
        }
    }
    vec![format!("arn:aws:bedrock:*::foundation-model/{model}")]
}

/// The foundation model a listed model routes to, as `GetFoundationModelAvailability` takes
/// it: an inference profile id (`us.`, `eu.`, `apac.`, `global.`, ...) loses its prefix, an ARN
/// gives its resource id (a profile ARN its profile's model). Plain ids are returned as they are.
pub fn foundation_model(model: &str) -> String {
    let id = match model.strip_prefix("arn:") {
        Some(_) => model.rsplit('/').next().unwrap_or(model),
        None => model,
    };
    if let Some(base) = id.strip_prefix("global.") {
        return base.to_string();
    }
    // Longest prefix first so that `us-gov.` is not read as `us`.
    let mut geos: Vec<_> = GEOGRAPHIES.iter().collect();
    geos.sort_by_key(|(prefix, _, _)| std::cmp::Reverse(prefix.len()));
    geos.iter()
        .find_map(|(prefix, _, _)| id.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')))
        .unwrap_or(id)
        .to_string()
}

/// Whether two policy documents say the same thing: compared as JSON, with a single-string
/// `Action` or `Resource` equal to a one-element list and list order ignored there.
pub fn same_document(a: &Value, b: &Value) -> bool {
    normalise(a) == normalise(b)
}

fn normalise(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Action" | "Resource" | "NotAction" | "NotResource", Value::String(s)) => {
                            json!([s])
                        }
                        (
                            "Action" | "Resource" | "NotAction" | "NotResource",
                            Value::Array(items),
                        ) => {
                            let mut items = items.clone();
                            items.sort_by_key(|i| i.to_string());
                            Value::Array(items)
                        }
                        ("Statement", Value::Object(_)) => json!([normalise(v)]),
                        _ => normalise(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_profiles_route_to_their_foundation_model() {
        let base = "anthropic.claude-3-7-sonnet-20250219-v1:0";
        for m in [
            base.to_string(),
            format!("us.{base}"),
            format!("eu.{base}"),
            format!("apac.{base}"),
            format!("global.{base}"),
            format!("us-gov.{base}"),
            format!("arn:aws:bedrock:*::foundation-model/{base}"),
            format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{base}"),
        ] {
            assert_eq!(foundation_model(&m), base, "{m}");
        }
        assert_eq!(
            foundation_model("amazon.titan-embed-text-v1"),
            "amazon.titan-embed-text-v1"
        );
    }

    #[test]
    fn all_models_is_the_runbooks_wildcard_policy() {
        let doc = document(&PolicyChoice::AllModels, None);
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(doc["Statement"][0]["Resource"], json!("*"));
        assert_eq!(doc["Statement"][0]["Action"], json!(ACTIONS));
        assert_eq!(doc["Statement"][0]["Effect"], json!("Allow"));
    }

    #[test]
    fn inference_profile_needs_profile_and_regional_model_arns() {
        let arns = resources_for("us.anthropic.claude-3-7-sonnet-20250219-v1:0");
        assert!(arns.contains(
            &"arn:aws:bedrock:*:*:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
                .to_string()
        ));
        for region in ["us-east-1", "us-east-2", "us-west-2"] {
            assert!(arns.contains(&format!(
                "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"
            )));
        }
        assert!(!arns.iter().any(|a| a.contains("foundation-model/us.")));
    }

    #[test]
    fn us_gov_profile_is_not_read_as_us() {
        let arns = resources_for("us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0");
        assert!(arns[0].starts_with("arn:aws-us-gov:bedrock:*:*:inference-profile/us-gov."));
        assert!(arns.iter().all(|a| !a.contains("foundation-model/gov")));
    }

    #[test]
    fn plain_ids_and_arns() {
        assert_eq!(
            resources_for("amazon.titan-embed-text-v1"),
            vec!["arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v1"]
        );
        let arn = "arn:aws:bedrock:eu-west-1::foundation-model/x.y";
        assert_eq!(resources_for(arn), vec![arn]);
    }

    #[test]
    fn restricted_document_is_sorted_and_deduplicated() {
        let doc = document(
            &PolicyChoice::Restricted {
                models: vec![
                    "amazon.titan-embed-text-v1".into(),
                    "amazon.titan-embed-text-v1".into(),
                ],
            },
            None,
        );
        assert_eq!(
            doc["Statement"][0]["Resource"],
            json!(["arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v1"])
        );
    }

    #[test]
    fn documents_compare_as_json_not_text() {
        let a = document(&PolicyChoice::AllModels, None);
        let text = serde_json::to_string_pretty(&a).unwrap();
        let b: Value = serde_json::from_str(&text).unwrap();
        assert!(same_document(&a, &b));
        let mut c = a.clone();
        c["Statement"][0]["Action"] = json!([ACTIONS[1], ACTIONS[0]]);
        assert!(same_document(&a, &c));
        c["Statement"][0]["Resource"] = json!(["arn:aws:bedrock:*::foundation-model/x"]);
        assert!(!same_document(&a, &c));
    }

    #[test]
    fn deadline_statement_denies_all_of_bedrock_after_the_deadline() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T18:00:00+01:00")
            .unwrap()
            .to_utc();
        let doc = document(&PolicyChoice::AllModels, Some(at));
        assert_eq!(
            doc["Statement"][1],
            json!({
                "Sid": "WorkshopKeysDeadline",
                "Effect": "Deny",
                "Action": "bedrock:*",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-12-05T17:00:00Z"}},
            })
        );
        assert_eq!(deadline_of(&doc), Some(at));
        assert_eq!(deadline_of(&document(&PolicyChoice::AllModels, None)), None);
        assert_eq!(deadline_text(NO_WINDOW_YET), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn bearer_tokens_add_call_with_bearer_token_and_the_deadline_still_denies_all() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T17:00:00Z")
            .unwrap()
            .to_utc();
        let doc = document_for(&PolicyChoice::AllModels, Some(at), true);
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(
            statements[1],
            json!({"Sid": "BedrockApiKeys", "Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*"})
        );
        assert_eq!(statements[2]["Action"], json!("bedrock:*"));
        assert_eq!(statements[2]["Effect"], json!("Deny"));
        assert_eq!(deadline_of(&doc), Some(at));
        assert!(same_document(
            &document(&PolicyChoice::AllModels, Some(at)),
            &document_for(&PolicyChoice::AllModels, Some(at), false)
        ));
    }

    #[test]
    fn quarantine_policies_are_recognised_by_their_arn() {
        for v in ["", "V2", "V3"] {
            assert!(is_quarantine(&format!(
                "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine{v}"
            )));
        }
        assert!(is_quarantine(
            "arn:aws-us-gov:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
        ));
        assert!(!is_quarantine("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(!is_quarantine(
            "arn:aws:iam::123456789012:policy/AWSCompromisedKeyQuarantine"
        ));
    }

    #[test]
    fn size_counts_no_white_space() {
        let doc = document(&PolicyChoice::AllModels, Some(NO_WINDOW_YET));
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        assert_eq!(size(&doc), crate::core::limits::policy_chars(&pretty));
        assert!(size(&doc) < pretty.len());
    }
}
