//! An in-memory [`ControlPlane`] for unit tests: availability per model, the use-case form,
//! and the calls made.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::control::{Availability, ControlPlane, ModelsError, Offer};

#[derive(Debug, Default)]
pub struct FakeBedrock {
    pub models: Mutex<BTreeMap<String, Availability>>,
    pub use_case: Mutex<bool>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeBedrock {
    pub fn ready() -> Availability {
        Availability {
            authorization: "AUTHORIZED".into(),
            entitlement: "AVAILABLE".into(),
            agreement: "AVAILABLE".into(),
            agreement_error: None,
            region_availability: "AVAILABLE".into(),
        }
    }

    pub fn with(self, model: &str, a: Availability) -> Self {
        self.models.lock().unwrap().insert(model.to_string(), a);
        self
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn missing(&self, operation: &'static str, model: &str) -> ModelsError {
        ModelsError {
            operation,
            model: Some(model.to_string()),
            region: "us-east-1".into(),
            detail: format!("ResourceNotFoundException: no model {model}"),
            access_denied: false,
        }
    }
}

impl ControlPlane for FakeBedrock {
    async fn availability(&self, model_id: &str) -> Result<Availability, ModelsError> {
        self.record(format!("GetFoundationModelAvailability {model_id}"));
        self.models
            .lock()
            .unwrap()
            .get(model_id)
            .cloned()
            .ok_or_else(|| self.missing("GetFoundationModelAvailability", model_id))
    }

    async fn use_case_on_file(&self) -> Result<bool, ModelsError> {
        self.record("GetUseCaseForModelAccess".into());
        Ok(*self.use_case.lock().unwrap())
    }

    async fn offers(&self, model_id: &str) -> Result<Vec<Offer>, ModelsError> {
        self.record(format!("ListFoundationModelAgreementOffers {model_id}"));
        Ok(vec![Offer {
            offer_id: Some(format!("offer-{model_id}")),
            offer_token: format!("token-{model_id}"),
            legal_terms: None,
            prices: vec![],
        }])
    }

    async fn create_agreement(&self, model_id: &str, offer_token: &str) -> Result<(), ModelsError> {
        self.record(format!(
            "CreateFoundationModelAgreement {model_id} {offer_token}"
        ));
        let mut models = self.models.lock().unwrap();
        let a = models
            .get_mut(model_id)
            .ok_or_else(|| self.missing("CreateFoundationModelAgreement", model_id))?;
        a.agreement = "AVAILABLE".into();
        a.entitlement = "AVAILABLE".into();
        Ok(())
    }

    async fn put_use_case(&self, _form_data: &[u8]) -> Result<(), ModelsError> {
        self.record("PutUseCaseForModelAccess".into());
        *self.use_case.lock().unwrap() = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_checks_profiles_through_their_foundation_model_once() {
        let haiku = "anthropic.claude-3-5-haiku-20241022-v1:0";
        let mut pending = FakeBedrock::ready();
        pending.agreement = "NOT_AVAILABLE".into();
        pending.entitlement = "NOT_AVAILABLE".into();
        let fake = FakeBedrock::default()
            .with(haiku, FakeBedrock::ready())
            .with("meta.llama3-8b-instruct-v1:0", pending);
        *fake.use_case.lock().unwrap() = true;
        let models = vec![
            format!("us.{haiku}"),
            format!("global.{haiku}"),
            "meta.llama3-8b-instruct-v1:0".to_string(),
            "mistral.unknown".to_string(),
        ];
        let (ready, unread) = crate::models::read(&fake, "us-east-1", &models).await;
        assert!(ready[&format!("us.{haiku}")].ready);
        assert!(ready[&format!("global.{haiku}")].ready);
        assert!(!ready["meta.llama3-8b-instruct-v1:0"].ready);
        assert!(unread["mistral.unknown"].contains("ResourceNotFoundException"));
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(
            calls.iter().filter(|c| c.contains(haiku)).count(),
            1,
            "one read per foundation model: {calls:?}"
        );
        assert_eq!(
            calls
                .iter()
                .filter(|c| *c == "GetUseCaseForModelAccess")
                .count(),
            1
        );

        // Activation through the trait turns the model ready.
        fake.create_agreement("meta.llama3-8b-instruct-v1:0", "token")
            .await
            .unwrap();
        let (ready, _) = crate::models::read(&fake, "us-east-1", &models).await;
        assert!(ready["meta.llama3-8b-instruct-v1:0"].ready);
    }
}
