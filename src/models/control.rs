//! The narrow seam to Bedrock's control plane: the operations readiness and activation use, and
//! nothing more. Every method names one API call.

use serde::Serialize;

/// What `GetFoundationModelAvailability` answers, as the service's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub authorization: String,
    pub entitlement: String,
    pub agreement: String,
    /// `agreementAvailability.errorMessage`, when the agreement failed.
    pub agreement_error: Option<String>,
    pub region_availability: String,
}

/// One offer from `ListFoundationModelAgreementOffers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub offer_id: Option<String>,
    /// What `CreateFoundationModelAgreement` takes to accept the offer.
    #[serde(skip)]
    pub offer_token: String,
    /// The legal terms' address, when the offer has one.
    pub legal_terms: Option<String>,
    /// The usage-based prices, as the offer states them (e.g. "input tokens: 0.0008 USD per 1K").
    pub prices: Vec<String>,
}

/// A control-plane call that failed: which call, for which model, and the service's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Bedrock {operation}{} in {region} failed: {detail}{}",
    model.as_deref().map(|m| format!(" for {m}")).unwrap_or_default(),
    if *access_denied { format!(" (the operator needs bedrock:{operation}; see README \"Permissions\")") } else { String::new() }
)]
pub struct ModelsError {
    pub operation: &'static str,
    pub model: Option<String>,
    pub region: String,
    /// Code and message, or the transport error.
    pub detail: String,
    /// The service said AccessDenied: the operator lacks the permission.
    pub access_denied: bool,
}

/// Bedrock's control-plane operations on foundation-model access.
#[allow(async_fn_in_trait)]
pub trait ControlPlane {
    /// `GetFoundationModelAvailability` for a foundation model id.
    async fn availability(&self, model_id: &str) -> Result<Availability, ModelsError>;
    /// `GetUseCaseForModelAccess`: whether Anthropic's first-use form is on file (a
    /// `ResourceNotFoundException` reads as not on file).
    async fn use_case_on_file(&self) -> Result<bool, ModelsError>;
    /// `ListFoundationModelAgreementOffers` (public offers).
    async fn offers(&self, model_id: &str) -> Result<Vec<Offer>, ModelsError>;
    /// `CreateFoundationModelAgreement`: accept an offer.
    async fn create_agreement(&self, model_id: &str, offer_token: &str) -> Result<(), ModelsError>;
    /// `PutUseCaseForModelAccess` with the form's JSON (the SDK encodes it as base64).
    async fn put_use_case(&self, form_data: &[u8]) -> Result<(), ModelsError>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_denied_call_names_the_missing_permission() {
        let mut e = super::ModelsError {
            operation: "GetFoundationModelAvailability",
            model: Some("m".into()),
            region: "us-east-1".into(),
            detail: "AccessDeniedException: no".into(),
            access_denied: true,
        };
        assert_eq!(
            e.to_string(),
            "Bedrock GetFoundationModelAvailability for m in us-east-1 failed: AccessDeniedException: no (the operator needs bedrock:GetFoundationModelAvailability; see README \"Permissions\")"
        );
        e.access_denied = false;
        e.model = None;
        assert_eq!(
            e.to_string(),
            "Bedrock GetFoundationModelAvailability in us-east-1 failed: AccessDeniedException: no"
        );
    }
}
