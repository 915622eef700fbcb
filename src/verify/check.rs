//! Checking a live key end to end: read its secret from the credentials file, call Bedrock with
//! it for each model the schedule wants verified, and record the result in IAM as the user tag
//! `workshop-keys:verified:<key id>` so that `status` on any machine shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    models_for, verify_key, verify_timeout, verify_token, Outcome, Verification, VerifyRequest,
};
use crate::apply::{self, ActionResult, Bookkeeping};
use crate::core::tags;
use crate::iam::Iam;
use crate::schedule::Settings;
use crate::store::CredentialStore;

/// One key's check: the result per model and the one that counts.
#[derive(Debug, Clone, Serialize)]
pub struct KeyCheck {
    pub workshop: String,
    pub user: String,
    pub access_key_id: String,
    /// The worst outcome over the models.
    pub outcome: Outcome,
    pub models: Vec<Verification>,
    /// `settings.bedrock_api_key`: the bearer token in the file, checked with one model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Verification>,
    /// What is wrong and what to do, when the outcome is not `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Recording the outcome in IAM failed (the check itself stands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_error: Option<String>,
    /// The IAM write that recorded the outcome, for the run's results.
    #[serde(skip)]
    pub recorded: Vec<ActionResult>,
}

impl KeyCheck {
    /// One line for people: `workshop W: key K verified` or what is wrong and what to do.
    pub fn line(&self) -> String {
        let mut s = format!(
            "workshop {}: key {} {}",
            self.workshop,
            self.access_key_id,
            self.outcome.as_str()
        );
        let failed = |label: &str, v: &Verification| {
            format!(
                "\n    {label}{}: {} after {} ({})",
                v.model,
                v.outcome.as_str(),
                crate::text::count(v.attempts as usize, "attempt", "attempts"),
                v.detail
            )
        };
        for m in self
            .models
            .iter()
            .filter(|m| m.outcome != Outcome::Verified)
        {
            s.push_str(&failed("", m));
        }
        if let Some(b) = self
            .bearer_token
            .as_ref()
            .filter(|b| b.outcome != Outcome::Verified)
        {
            s.push_str(&failed("bearer token (AWS_BEARER_TOKEN_BEDROCK), ", b));
        }
        if let Some(a) = &self.advice {
            s.push_str(&format!("\n    what to do: {a}"));
        }
        if let Some(e) = &self.record_error {
            s.push_str(&format!("\n    recording the result in IAM failed: {e}"));
        }
        s
    }
}

/// How bad an outcome is, for picking the one that counts: key faults first.
fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::NoSecret => 6,
        Outcome::InvalidToken => 5,
        Outcome::AccessDenied => 4,
        Outcome::ModelNotEnabled
        | Outcome::MarketplaceSubscription
        | Outcome::UseCaseRequired
        | Outcome::NotInRegion => 3,
        Outcome::Throttled => 2,
        Outcome::Network => 1,
        Outcome::Verified => 0,
    }
}

/// Check the key that `workshop`'s credentials file holds, as `user`'s key `access_key_id`.
/// A file that is missing, holds another key or cannot be read is reported as `no-secret`
/// (nothing is sent to Bedrock): the secret on this machine cannot prove that key. With
/// `record`, the outcome is written to the user's tags (not for a key IAM no longer lists: the
/// tag would outlive it). With `policy_changed` (this run rewrote the user's policy),
/// `access-denied` is retried while the change reaches Bedrock. `models` are the workshop's
/// models (see `verify::models_for`).
#[allow(clippy::too_many_arguments)]
pub async fn check_key(
    iam: &impl Iam,
    settings: &Settings,
    credentials: &dyn CredentialStore,
    workshop: &str,
    user: &str,
    access_key_id: &str,
    now: DateTime<Utc>,
    record: bool,
    policy_changed: bool,
    models: &[String],
) -> KeyCheck {
    let mut check = KeyCheck {
        workshop: workshop.to_string(),
        user: user.to_string(),
        access_key_id: access_key_id.to_string(),
        outcome: Outcome::Verified,
        models: Vec::new(),
        bearer_token: None,
        advice: None,
        record_error: None,
        recorded: Vec::new(),
    };
    let secret = match credentials.read_secret(workshop).await {
        Ok(Some((id, secret))) if id == access_key_id => secret,
        Ok(other) => {
            check.outcome = Outcome::NoSecret;
            check.advice = Some(format!(
                "{} {}: {}",
                credentials.describe(workshop),
                if other.is_some() {
                    "holds another key"
                } else {
                    "is missing"
                },
                Outcome::NoSecret.advice()
            ));
            return check;
        }
        Err(e) => {
            check.outcome = Outcome::NoSecret;
            check.advice = Some(format!(
                "{e}; until then the key cannot be checked from here"
            ));
            return check;
        }
    };
    let models = models_for(settings, models);
    for model in &models {
        let req = VerifyRequest {
            access_key_id,
            secret: &secret,
            region: &settings.region,
            model,
            timeout: verify_timeout(settings),
            endpoint_url: None,
            policy_changed,
        };
        let v = verify_key(&req).await;
        tracing::info!(%workshop, %user, key = %access_key_id, model = %v.model, outcome = v.outcome.as_str(), attempts = v.attempts, "verified key");
        check.models.push(v);
    }
    if let (true, Some(model)) = (settings.bedrock_api_key, models.first()) {
        let req = VerifyRequest {
            access_key_id,
            secret: &secret,
            region: &settings.region,
            model,
            timeout: verify_timeout(settings),
            endpoint_url: None,
            policy_changed,
        };
        let v = check_token(credentials, workshop, &req).await;
        tracing::info!(%workshop, %user, key = %access_key_id, model = %v.model, outcome = v.outcome.as_str(), attempts = v.attempts, "verified bearer token");
        check.bearer_token = Some(v);
    }
    drop(secret);
    check.outcome = check
        .models
        .iter()
        .chain(&check.bearer_token)
        .map(|m| m.outcome)
        .max_by_key(|o| severity(*o))
        .unwrap_or(Outcome::Verified);
    if check.outcome != Outcome::Verified {
        // Name the model in fixes that take one (`workshop-keys models activate MODEL`).
        let model = check
            .models
            .iter()
            .find(|m| m.outcome == check.outcome)
            .map_or("MODEL", |m| m.model.as_str());
        check.advice = Some(check.outcome.advice().replace("MODEL", model));
    }
    if record {
        let value = format!(
            "{} {}",
            crate::time::format_time(now),
            check.outcome.as_str()
        );
        let entry = Bookkeeping {
            user: user.to_string(),
            workshop: workshop.to_string(),
            access_key_id: access_key_id.to_string(),
            tags: [(tags::verified_tag(access_key_id), value)].into(),
            untag: Vec::new(),
            reason: "record the verification of the key".into(),
        };
        check.recorded = apply::record(iam, vec![entry]).await;
        check.record_error = check.recorded.iter().find_map(|r| r.detail.clone());
    }
    check
}

/// The bearer token in `workshop`'s file, checked with one InvokeModel (`req` names the key that
/// signed it). A file without a token, or with an expired one, is `invalid-token` without a call.
async fn check_token(
    credentials: &dyn CredentialStore,
    workshop: &str,
    req: &VerifyRequest<'_>,
) -> Verification {
    let missing = |detail: String| Verification {
        model: req.model.to_string(),
        outcome: Outcome::InvalidToken,
        attempts: 0,
        detail,
    };
    let bundle = credentials.describe(workshop);
    match credentials.read_token(workshop).await {
        Ok(Some(t)) if t.expires <= Utc::now() => missing(format!(
            "the bearer token in {} expired at {}; the next reconcile renews it",
            bundle.trim_start_matches("the credentials file "),
            crate::time::format_time(t.expires)
        )),
        Ok(Some(t)) => verify_token(req, &t.token).await,
        Ok(None) => missing(format!(
            "{} holds no AWS_BEARER_TOKEN_BEDROCK; the next reconcile writes one",
            bundle.trim_start_matches("the credentials file ")
        )),
        Err(e) => missing(e.to_string()),
    }
}
