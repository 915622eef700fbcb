//! What `GetFoundationModelAvailability` (and, for Anthropic, `GetUseCaseForModelAccess`) says
//! about one model -> ready or not, with the exact fix. Pure.

use serde::{Deserialize, Serialize};

use super::Availability;

/// One model's readiness in one region: the `models check` JSON, and what `plan` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// As the schedule names it (an inference profile is checked through its foundation model).
    pub model: String,
    pub region: String,
    pub ready: bool,
    /// `AUTHORIZED` or `NOT_AUTHORIZED`.
    pub authorization: String,
    /// `AVAILABLE` or `NOT_AVAILABLE`.
    pub entitlement: String,
    /// `AVAILABLE`, `PENDING`, `NOT_AVAILABLE` or `ERROR`.
    pub agreement: String,
    /// `AVAILABLE` or `NOT_AVAILABLE`.
    pub region_availability: String,
    /// What to do, when not ready.
    pub fix: Option<String>,
}

/// Anthropic's models need the first-time-use form on file (once per account or organisation).
pub fn is_anthropic(foundation_model: &str) -> bool {
    foundation_model.starts_with("anthropic.")
}

/// The verdict for `model` from its availability and, for Anthropic, whether the use-case form
/// is on file (`None`: not asked).
pub fn judge(model: &str, region: &str, a: &Availability, use_case: Option<bool>) -> Readiness {
    let activate = format!("workshop-keys models activate {model} --yes");
    let mut fixes: Vec<String> = Vec::new();
    if a.region_availability != "AVAILABLE" {
        fixes.push(format!(
            "{model} is not offered in {region}: use an inference profile that routes to it \
             (us.…, eu.…, global.…), another model, or another settings.region"
        ));
    } else {
        if a.authorization != "AUTHORIZED" {
            fixes.push(format!(
                "the operator may not subscribe to this model: grant it aws-marketplace:Subscribe \
                 and aws-marketplace:ViewSubscriptions (check service control policies too), \
                 then run `{activate}`"
            ));
        }
        if use_case == Some(false) {
            fixes.push(format!(
                "Anthropic's first-time-use form is not on file: run `{activate} \
                 --use-case-file FORM.json`"
            ));
        }
        match a.agreement.as_str() {
            "AVAILABLE" => {}
            "PENDING" => fixes.push(
                "the Marketplace agreement is being finalised (AWS may take up to 15 minutes): \
                 run `workshop-keys models check` again"
                    .to_string(),
            ),
            "ERROR" => fixes.push(format!(
                "the Marketplace agreement failed{}: check the account's payment method, then \
                 run `{activate}`",
                a.agreement_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )),
            _ => fixes.push(format!("accept the model's offer: run `{activate}`")),
        }
        if a.entitlement != "AVAILABLE" && a.agreement == "AVAILABLE" {
            fixes.push(format!(
                "the account is not entitled to this model (Marketplace subscription or payment \
                 method): run `{activate}`"
            ));
        }
    }
    let ready = fixes.is_empty() && a.entitlement == "AVAILABLE";
    Readiness {
        model: model.to_string(),
        region: region.to_string(),
        ready,
        authorization: a.authorization.clone(),
        entitlement: a.entitlement.clone(),
        agreement: a.agreement.clone(),
        region_availability: a.region_availability.clone(),
        fix: (!ready).then(|| {
            if fixes.is_empty() {
                format!("run `{activate}`")
            } else {
                fixes.join("; ")
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avail(auth: &str, ent: &str, agr: &str, region: &str) -> Availability {
        Availability {
            authorization: auth.into(),
            entitlement: ent.into(),
            agreement: agr.into(),
            agreement_error: None,
            region_availability: region.into(),
        }
    }

    const HAIKU: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

    #[test]
    fn verdicts() {
        let ok = avail("AUTHORIZED", "AVAILABLE", "AVAILABLE", "AVAILABLE");
        let r = judge(HAIKU, "us-east-1", &ok, Some(true));
        assert!(r.ready && r.fix.is_none(), "{r:?}");
        assert!(judge("amazon.titan-embed-text-v1", "us-east-1", &ok, None).ready);

        let no_form = judge(HAIKU, "us-east-1", &ok, Some(false));
        assert!(!no_form.ready);
        assert!(no_form.fix.unwrap().contains(&format!(
            "workshop-keys models activate {HAIKU} --yes --use-case-file"
        )));

        let offer = avail("AUTHORIZED", "NOT_AVAILABLE", "NOT_AVAILABLE", "AVAILABLE");
        let r = judge(HAIKU, "us-east-1", &offer, Some(true));
        assert!(!r.ready);
        assert_eq!(
            r.fix.as_deref(),
            Some(
                format!(
                    "accept the model's offer: run `workshop-keys models activate {HAIKU} --yes`"
                )
                .as_str()
            )
        );

        let pending = avail("AUTHORIZED", "NOT_AVAILABLE", "PENDING", "AVAILABLE");
        let r = judge(HAIKU, "us-east-1", &pending, Some(true));
        assert!(!r.ready && r.fix.unwrap().contains("15 minutes"));

        let region = avail(
            "AUTHORIZED",
            "NOT_AVAILABLE",
            "NOT_AVAILABLE",
            "NOT_AVAILABLE",
        );
        let r = judge(HAIKU, "eu-west-1", &region, Some(true));
        assert!(!r.ready);
        let fix = r.fix.unwrap();
        assert!(fix.contains("not offered in eu-west-1"), "{fix}");
        assert!(!fix.contains("activate"), "activation cannot help: {fix}");

        let denied = avail("NOT_AUTHORIZED", "AVAILABLE", "AVAILABLE", "AVAILABLE");
        let r = judge(HAIKU, "us-east-1", &denied, Some(true));
        assert!(!r.ready && r.fix.unwrap().contains("aws-marketplace:Subscribe"));

        let mut failed = avail("AUTHORIZED", "NOT_AVAILABLE", "ERROR", "AVAILABLE");
        failed.agreement_error = Some("INVALID_PAYMENT_INSTRUMENT".into());
        let r = judge(HAIKU, "us-east-1", &failed, Some(true));
        assert!(r.fix.unwrap().contains("(INVALID_PAYMENT_INSTRUMENT)"));

        let not_entitled = avail("AUTHORIZED", "NOT_AVAILABLE", "AVAILABLE", "AVAILABLE");
        let r = judge(HAIKU, "us-east-1", &not_entitled, Some(true));
        assert!(!r.ready && r.fix.unwrap().contains("not entitled"));
    }

    #[test]
    fn json_has_the_issues_fields() {
        let ok = avail("AUTHORIZED", "AVAILABLE", "AVAILABLE", "AVAILABLE");
        let v = serde_json::to_value(judge(HAIKU, "us-east-1", &ok, Some(true))).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "agreement",
                "authorization",
                "entitlement",
                "fix",
                "model",
                "ready",
                "region",
                "region_availability"
            ]
        );
    }
}
