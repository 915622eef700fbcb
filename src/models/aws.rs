//! [`ControlPlane`] over `aws_sdk_bedrock`. The client comes from the SDK's standard
//! configuration (profile, credential chain, `AWS_ENDPOINT_URL_BEDROCK` / `AWS_ENDPOINT_URL`),
//! in the schedule's region.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_bedrock::config::Region;
use aws_sdk_bedrock::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrock::types::OfferType;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_smithy_types::Blob;

use super::control::{Availability, ControlPlane, ModelsError, Offer};

#[derive(Debug, Clone)]
pub struct AwsBedrock {
    client: aws_sdk_bedrock::Client,
    region: String,
}

impl AwsBedrock {
    /// A control-plane client for `config` in `region` (Bedrock is regional: model access is
    /// read where the keys will call).
    pub fn new(config: &SdkConfig, region: &str) -> Self {
        let conf = aws_sdk_bedrock::config::Builder::from(config)
            .region(Region::new(region.to_string()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build();
        AwsBedrock {
            client: aws_sdk_bedrock::Client::from_conf(conf),
            region: region.to_string(),
        }
    }

    /// A session with the command's profile, for `region`.
    pub async fn load(profile: Option<&str>, region: &str) -> Self {
        let session = crate::sdk::AwsSession::load(profile, Some(region)).await;
        AwsBedrock::new(session.config(), region)
    }

    fn error<E>(
        &self,
        operation: &'static str,
        model: Option<&str>,
        err: SdkError<E>,
    ) -> ModelsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (detail, access_denied) = match err.code() {
            Some(code) => (
                format!(
                    "{code}: {}",
                    err.message().unwrap_or("no message in the answer")
                ),
                code == "AccessDeniedException",
            ),
            // No Bedrock error in the answer (another service or a proxy answered), or no answer.
            None => match err.raw_response() {
                Some(raw) => (
                    format!(
                        "HTTP {} without a Bedrock error code; is the endpoint Bedrock's?",
                        raw.status().as_u16()
                    ),
                    false,
                ),
                None => (causes(&err), false),
            },
        };
        ModelsError {
            operation,
            model: model.map(str::to_string),
            region: self.region.clone(),
            detail,
            access_denied,
        }
    }
}

/// An error and its causes, one line: `dispatch failure: io error: ... Connection refused`.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

impl ControlPlane for AwsBedrock {
    async fn availability(&self, model_id: &str) -> Result<Availability, ModelsError> {
        let out = self
            .client
            .get_foundation_model_availability()
            .model_id(model_id)
            .send()
            .await
            .map_err(|e| self.error("GetFoundationModelAvailability", Some(model_id), e))?;
        let (agreement, agreement_error) = match out.agreement_availability() {
            Some(a) => (
                a.status().as_str().to_string(),
                a.error_message().map(str::to_string),
            ),
            None => ("NOT_AVAILABLE".to_string(), None),
        };
        Ok(Availability {
            authorization: out.authorization_status().as_str().to_string(),
            entitlement: out.entitlement_availability().as_str().to_string(),
            agreement,
            agreement_error,
            region_availability: out.region_availability().as_str().to_string(),
        })
    }

    async fn use_case_on_file(&self) -> Result<bool, ModelsError> {
        match self.client.get_use_case_for_model_access().send().await {
            Ok(out) => Ok(!out.form_data().as_ref().is_empty()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(false),
            Err(e) => Err(self.error("GetUseCaseForModelAccess", None, e)),
        }
    }

    async fn offers(&self, model_id: &str) -> Result<Vec<Offer>, ModelsError> {
        let out = self
            .client
            .list_foundation_model_agreement_offers()
            .model_id(model_id)
            .offer_type(OfferType::Public)
            .send()
            .await
            .map_err(|e| self.error("ListFoundationModelAgreementOffers", Some(model_id), e))?;
        Ok(out
            .offers()
            .iter()
            .map(|o| {
                let terms = o.term_details();
                Offer {
                    offer_id: o.offer_id().map(str::to_string),
                    offer_token: o.offer_token().to_string(),
                    legal_terms: terms
                        .and_then(|t| t.legal_term())
                        .and_then(|l| l.url())
                        .map(str::to_string),
                    prices: terms
                        .and_then(|t| t.usage_based_pricing_term())
                        .map(|p| {
                            p.rate_card()
                                .iter()
                                .map(|r| {
                                    format!(
                                        "{}: {} {}",
                                        r.description().or(r.dimension()).unwrap_or("usage"),
                                        r.price().unwrap_or("?"),
                                        r.unit().unwrap_or("")
                                    )
                                    .trim_end()
                                    .to_string()
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn create_agreement(&self, model_id: &str, offer_token: &str) -> Result<(), ModelsError> {
        self.client
            .create_foundation_model_agreement()
            .model_id(model_id)
            .offer_token(offer_token)
            .send()
            .await
            .map_err(|e| self.error("CreateFoundationModelAgreement", Some(model_id), e))?;
        Ok(())
    }

    async fn put_use_case(&self, form_data: &[u8]) -> Result<(), ModelsError> {
        self.client
            .put_use_case_for_model_access()
            .form_data(Blob::new(form_data.to_vec()))
            .send()
            .await
            .map_err(|e| self.error("PutUseCaseForModelAccess", None, e))?;
        Ok(())
    }
}
