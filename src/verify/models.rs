//! Which models to probe, and the cheapest InvokeModel body each one accepts.

use crate::schedule::Settings;

/// The models `reconcile` probes with a new key, as InvokeModel model ids (or ARNs), when the
/// workshop names none of its own: [`models_for`] over `settings.models` (the restricted
/// policy's list, or the models listed with `policy = "all-models"`).
pub fn models_to_verify(settings: &Settings) -> Vec<String> {
    models_for(settings, &settings.models)
}

/// The models to probe for a workshop that uses `listed` (its own `models`, else
/// `settings.models`): every listed model (or only the first if `verify_all_models = false`),
/// each turned into something InvokeModel accepts (see [`invocable_model`]): a concrete ARN as
/// is, an ARN with wildcards reduced to its model id, entries whose id has wildcards dropped;
/// cross-region inference profiles of another geography than `settings.region` (`eu.…` seen
/// from `us-east-1`) are dropped too, as InvokeModel there could only fail. Duplicates are
/// removed. If nothing invocable remains (or nothing is listed), `[settings.verify_model]`:
/// Titan is the default only when no models are named.
pub fn models_for(settings: &Settings, listed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in listed {
        let Some(model) = invocable_model(entry) else {
            continue;
        };
        if !geography_matches(&model, &settings.region) || out.contains(&model) {
            continue;
        }
        out.push(model);
        if !settings.verify_all_models {
            break;
        }
    }
    if out.is_empty() {
        out.push(settings.verify_model.clone());
    }
    out
}

/// What to pass to InvokeModel for a policy's model entry (a model id or an ARN), or None when
/// the entry names no single model (wildcards).
///
/// `arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1` and other concrete
/// ARNs are passed as they are (InvokeModel accepts ARNs); an ARN with a wildcard region or
/// account (`arn:aws:bedrock:*::foundation-model/X`, as policies write them) gives its model id `X`.
pub fn invocable_model(entry: &str) -> Option<String> {
    let entry = entry.trim();
    if entry.is_empty() {
        return None;
    }
    let model = match entry.strip_prefix("arn:") {
        None => entry,
        Some(_) => {
            // arn:partition:service:region:account:resource-type/resource-id
            let parts: Vec<&str> = entry.splitn(6, ':').collect();
            if parts.len() < 6 {
                return None;
            }
            let resource = parts[5];
            let (_kind, id) = resource.split_once('/')?;
            if !has_wildcard(entry) {
                return Some(entry.to_string());
            }
            id
        }
    };
    if has_wildcard(model) || model.is_empty() {
        return None;
    }
    Some(model.to_string())
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// The model id behind an id or ARN: the part after the last '/'.
fn model_id(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

/// Cross-region inference profile prefixes and the region prefixes that can call them.
const GEOGRAPHIES: &[(&str, &[&str])] = &[
    ("us-gov", &["us-gov-"]),
    ("us", &["us-"]),
    ("eu", &["eu-"]),
    ("apac", &["ap-"]),
    ("jp", &["ap-"]),
    ("au", &["ap-"]),
];

/// False only for a cross-region inference profile of a known geography that `region` is
/// clearly not in (`eu.anthropic…` from `us-east-1`). `global.` profiles, plain model ids and
/// regions outside the US, EU and Asia-Pacific are never filtered.
fn geography_matches(model: &str, region: &str) -> bool {
    let id = model_id(model);
    let Some((prefix, _)) = id.split_once('.') else {
        return true;
    };
    let Some((_, region_prefixes)) = GEOGRAPHIES.iter().find(|(geo, _)| *geo == prefix) else {
        return true;
    };
    let known_region = ["us-", "eu-", "ap-"].iter().any(|p| region.starts_with(p));
    if !known_region {
        return true;
    }
    // "us-gov-west-1" starts with "us-" too: a us. profile is not callable from GovCloud.
    if prefix == "us" && region.starts_with("us-gov-") {
        return false;
    }
    region_prefixes.iter().any(|p| region.starts_with(p))
}

/// Prefixes of system-defined cross-region inference profile ids.
const PROFILE_PREFIXES: &[&str] = &["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"];

/// The cheapest InvokeModel body the model accepts (JSON).
pub fn request_body(model: &str) -> String {
    let id = model_id(model);
    // Strip a cross-region inference profile prefix (us., eu., apac., global., ...).
    let family = match id.split_once('.') {
        Some((prefix, rest)) if PROFILE_PREFIXES.contains(&prefix) => rest,
        _ => id,
    };
    let body = if family.starts_with("amazon.titan-embed") {
        r#"{"inputText":"ping"}"#
    } else if family.starts_with("amazon.titan-") {
        r#"{"inputText":"ping","textGenerationConfig":{"maxTokenCount":1}}"#
    } else if family.starts_with("anthropic.") {
        r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}"#
    } else if family.starts_with("amazon.nova-") {
        r#"{"messages":[{"role":"user","content":[{"text":"ping"}]}],"inferenceConfig":{"maxTokens":1}}"#
    } else if family.starts_with("meta.") {
        r#"{"prompt":"ping","max_gen_len":1}"#
    } else if family.starts_with("cohere.embed") {
        r#"{"texts":["ping"],"input_type":"search_query"}"#
    } else if family.starts_with("cohere.command-r") {
        r#"{"message":"ping","max_tokens":1}"#
    } else if family.starts_with("mistral.")
        || family.starts_with("cohere.")
        || family.starts_with("deepseek.")
    {
        r#"{"prompt":"ping","max_tokens":1}"#
    } else {
        // ai21.jamba, openai.*, qwen.* and most newer models take chat messages.
        r#"{"messages":[{"role":"user","content":"ping"}],"max_tokens":1}"#
    };
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::PolicyChoice;
    use chrono::TimeDelta;
    use std::path::PathBuf;

    fn settings(policy: PolicyChoice, all: bool) -> Settings {
        let models = match &policy {
            PolicyChoice::Restricted { models } => models.clone(),
            PolicyChoice::AllModels => Vec::new(),
        };
        Settings {
            region: "us-east-1".into(),
            user: "workshop-bedrock-user".into(),
            path: "/workshop/".into(),
            policy,
            lead: TimeDelta::hours(12),
            grace: TimeDelta::hours(2),
            hold: TimeDelta::days(7),
            credentials_dir: PathBuf::from("credentials"),
            timezone: None,
            allow_long_grace: false,
            rotate_after: None,
            rotation_overlap: TimeDelta::hours(1),
            verify: true,
            verify_model: "amazon.titan-embed-text-v1".into(),
            verify_all_models: all,
            verify_timeout: TimeDelta::seconds(60),
            models,
            check_models: true,
            verify_before_start: TimeDelta::hours(1),
            deadline: true,
            deliver: None,
            notify: None,
            bedrock_api_key: false,
            bedrock_api_key_refresh: chrono::TimeDelta::hours(4),
            pool: "workshop-participant".into(),
            pool_size: 100,
            backends: Default::default(),
        }
    }

    fn restricted(models: &[&str]) -> PolicyChoice {
        PolicyChoice::Restricted {
            models: models.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn all_models_policy_probes_verify_model() {
        let mut s = settings(PolicyChoice::AllModels, true);
        assert_eq!(models_to_verify(&s), ["amazon.titan-embed-text-v1"]);
        s.verify_model = "anthropic.claude-3-haiku-20240307-v1:0".into();
        assert_eq!(
            models_to_verify(&s),
            ["anthropic.claude-3-haiku-20240307-v1:0"]
        );
    }

    #[test]
    fn restricted_policy_probes_each_model_or_the_first() {
        let policy = restricted(&[
            "anthropic.claude-3-haiku-20240307-v1:0",
            "amazon.titan-embed-text-v1",
        ]);
        let s = settings(policy.clone(), true);
        assert_eq!(
            models_to_verify(&s),
            [
                "anthropic.claude-3-haiku-20240307-v1:0",
                "amazon.titan-embed-text-v1"
            ]
        );
        let s = settings(policy, false);
        assert_eq!(
            models_to_verify(&s),
            ["anthropic.claude-3-haiku-20240307-v1:0"]
        );
    }

    #[test]
    fn runbook_restricted_policy_from_us_east_1() {
        // The runbook's option 2, seen from us-east-1: the eu./apac. profiles cannot be invoked
        // there, the wildcard-region ARNs reduce to their ids.
        let policy = restricted(&[
            "arn:aws:bedrock:*::foundation-model/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "arn:aws:bedrock:*::foundation-model/eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "arn:aws:bedrock:*::foundation-model/apac.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v1",
        ]);
        let s = settings(policy.clone(), true);
        assert_eq!(
            models_to_verify(&s),
            [
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "amazon.titan-embed-text-v1"
            ]
        );
        let mut s = settings(policy.clone(), true);
        s.region = "eu-central-1".into();
        assert_eq!(
            models_to_verify(&s),
            [
                "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "amazon.titan-embed-text-v1"
            ]
        );
        let mut s = settings(policy, false);
        s.region = "ap-northeast-1".into();
        assert_eq!(
            models_to_verify(&s),
            ["apac.anthropic.claude-3-7-sonnet-20250219-v1:0"]
        );
    }

    #[test]
    fn concrete_arns_pass_as_is_wildcards_drop() {
        let arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1";
        assert_eq!(invocable_model(arn).as_deref(), Some(arn));
        let profile =
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0";
        assert_eq!(invocable_model(profile).as_deref(), Some(profile));
        assert_eq!(
            invocable_model("arn:aws:bedrock:*:*:inference-profile/us.amazon.nova-lite-v1:0")
                .as_deref(),
            Some("us.amazon.nova-lite-v1:0")
        );
        assert_eq!(
            invocable_model("arn:aws:bedrock:*::foundation-model/anthropic.*"),
            None
        );
        assert_eq!(invocable_model("anthropic.claude-*"), None);
        assert_eq!(invocable_model("arn:aws:bedrock"), None);
        assert_eq!(invocable_model("  "), None);
        assert_eq!(
            invocable_model(" amazon.titan-embed-text-v1 ").as_deref(),
            Some("amazon.titan-embed-text-v1")
        );
    }

    #[test]
    fn a_workshops_models_are_probed_titan_only_when_none_are_named() {
        let mut s = settings(PolicyChoice::AllModels, true);
        s.models = vec!["us.anthropic.claude-3-7-sonnet-20250219-v1:0".into()];
        assert_eq!(
            models_to_verify(&s),
            ["us.anthropic.claude-3-7-sonnet-20250219-v1:0"]
        );
        let own = vec![
            "meta.llama3-8b-instruct-v1:0".to_string(),
            "eu.anthropic.claude-3-7-sonnet-20250219-v1:0".to_string(),
        ];
        assert_eq!(models_for(&s, &own), ["meta.llama3-8b-instruct-v1:0"]);
        assert_eq!(models_for(&s, &[]), ["amazon.titan-embed-text-v1"]);
    }

    #[test]
    fn nothing_invocable_falls_back_to_verify_model_and_duplicates_go() {
        let s = settings(restricted(&["arn:aws:bedrock:*::foundation-model/*"]), true);
        assert_eq!(models_to_verify(&s), ["amazon.titan-embed-text-v1"]);
        let s = settings(
            restricted(&[
                "amazon.titan-embed-text-v1",
                "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v1",
            ]),
            true,
        );
        assert_eq!(models_to_verify(&s), ["amazon.titan-embed-text-v1"]);
    }

    #[test]
    fn geographies() {
        assert!(geography_matches("us.anthropic.x-v1:0", "us-west-2"));
        assert!(!geography_matches("us.anthropic.x-v1:0", "eu-west-1"));
        assert!(!geography_matches("us.anthropic.x-v1:0", "us-gov-west-1"));
        assert!(geography_matches(
            "us-gov.anthropic.x-v1:0",
            "us-gov-west-1"
        ));
        assert!(geography_matches("global.anthropic.x-v1:0", "eu-west-1"));
        assert!(geography_matches("jp.anthropic.x-v1:0", "ap-northeast-1"));
        assert!(
            geography_matches("apac.anthropic.x-v1:0", "sa-east-1"),
            "unknown regions keep all"
        );
        assert!(geography_matches(
            "anthropic.claude-3-haiku-20240307-v1:0",
            "eu-west-1"
        ));
        assert!(geography_matches(
            "amazon.titan-embed-text-v1",
            "ap-south-1"
        ));
    }

    #[test]
    fn bodies_suit_the_model() {
        let json = |m: &str| serde_json::from_str::<serde_json::Value>(&request_body(m)).unwrap();
        assert_eq!(
            json("amazon.titan-embed-text-v1"),
            serde_json::json!({"inputText": "ping"})
        );
        assert_eq!(
            json("amazon.titan-embed-text-v2:0"),
            serde_json::json!({"inputText": "ping"})
        );
        assert_eq!(
            json("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1"),
            serde_json::json!({"inputText": "ping"})
        );
        assert_eq!(
            json("amazon.titan-text-express-v1"),
            serde_json::json!({"inputText": "ping", "textGenerationConfig": {"maxTokenCount": 1}})
        );
        let anthropic = serde_json::json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "ping"}]
        });
        assert_eq!(json("anthropic.claude-3-haiku-20240307-v1:0"), anthropic);
        assert_eq!(
            json("us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
            anthropic
        );
        assert_eq!(
            json("apac.anthropic.claude-3-7-sonnet-20250219-v1:0"),
            anthropic
        );
        assert_eq!(
            json("us-gov.anthropic.claude-3-haiku-20240307-v1:0"),
            anthropic
        );
        assert_eq!(
            json("global.anthropic.claude-sonnet-4-20250514-v1:0"),
            anthropic
        );
        assert_eq!(
            json("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
            anthropic
        );
        assert_eq!(
            json("us.amazon.nova-lite-v1:0")["inferenceConfig"]["maxTokens"],
            1
        );
        assert_eq!(json("meta.llama3-8b-instruct-v1:0")["max_gen_len"], 1);
        assert_eq!(json("cohere.embed-english-v3")["texts"][0], "ping");
        assert_eq!(json("mistral.mistral-7b-instruct-v0:2")["max_tokens"], 1);
        assert_eq!(json("some.new-model-v1:0")["max_tokens"], 1);
    }
}
