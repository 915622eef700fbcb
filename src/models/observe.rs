//! Reading readiness for a plan: only with `settings.check_models`, only the models of
//! workshops whose key window is open at the planned moment, a few control-plane reads per run.

use chrono::{DateTime, Utc};

use super::aws::AwsBedrock;
use crate::cli::AwsArgs;
use crate::core::desired::Desired;
use crate::core::observed::Observed;
use crate::schedule::Schedule;

/// The models live at `at`, sorted, without duplicates.
pub fn live_models(desired: &Desired, at: DateTime<Utc>) -> Vec<String> {
    let mut models: Vec<String> = desired
        .users
        .values()
        .flatten()
        .filter(|w| w.is_live(at))
        .flat_map(|w| w.models.iter().cloned())
        .collect();
    models.sort();
    models.dedup();
    models
}

/// Fill `observed.models` (and `models_unread`) for the plan at `at`.
pub async fn readiness(
    s: &Schedule,
    desired: &Desired,
    aws: &AwsArgs,
    at: DateTime<Utc>,
    observed: &mut Observed,
) {
    if !s.settings.check_models {
        return;
    }
    let models = live_models(desired, at);
    if models.is_empty() {
        return;
    }
    let cp = AwsBedrock::load(aws.profile.as_deref(), &s.settings.region).await;
    let (ready, unread) = super::read(&cp, &s.settings.region, &models).await;
    observed.models = ready;
    observed.models_unread = unread;
}
