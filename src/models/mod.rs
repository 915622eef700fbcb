//! Which models the workshops use, and whether the account can serve them: Bedrock's control
//! plane (`GetFoundationModelAvailability`, `GetUseCaseForModelAccess`, and for the operator's
//! explicit activation `ListFoundationModelAgreementOffers`, `CreateFoundationModelAgreement`,
//! `PutUseCaseForModelAccess`) behind the [`ControlPlane`] trait (over the SDK in `aws`, in
//! memory in `fake`); `readiness` judges what it says (pure); `plan` adds readiness and
//! re-verification to a plan (pure); `read` does the reads for a list of models.

pub mod aws;
pub mod control;
pub mod fake;
pub mod observe;
pub mod plan;
mod readiness;

use std::collections::{BTreeMap, BTreeSet};

pub use control::{Availability, ControlPlane, ModelsError, Offer};
pub use readiness::{is_anthropic, judge, Readiness};

/// Read the readiness of `models` (as the schedule names them) in `region`: one availability
/// read per foundation model they route to, and Anthropic's use-case form once if any is an
/// Anthropic model. Models whose reads failed come back with the error, to be reported.
pub async fn read(
    cp: &impl ControlPlane,
    region: &str,
    models: &[String],
) -> (BTreeMap<String, Readiness>, BTreeMap<String, String>) {
    let mut ready = BTreeMap::new();
    let mut unread = BTreeMap::new();
    let bases: BTreeSet<String> = models
        .iter()
        .map(|m| crate::core::policy::foundation_model(m))
        .collect();
    let use_case = if bases.iter().any(|b| is_anthropic(b)) {
        Some(cp.use_case_on_file().await)
    } else {
        None
    };
    let mut by_base: BTreeMap<String, Result<Availability, ModelsError>> = BTreeMap::new();
    for base in bases {
        let a = cp.availability(&base).await;
        by_base.insert(base, a);
    }
    for model in models {
        let base = crate::core::policy::foundation_model(model);
        let use_case = match (&use_case, is_anthropic(&base)) {
            (Some(Ok(on_file)), true) => Some(*on_file),
            (Some(Err(e)), true) => {
                unread.insert(model.clone(), e.to_string());
                continue;
            }
            _ => None,
        };
        match &by_base[&base] {
            Ok(a) => {
                ready.insert(model.clone(), judge(model, region, a, use_case));
            }
            Err(e) => {
                unread.insert(model.clone(), e.to_string());
            }
        }
    }
    (ready, unread)
}
