//! The IAM client from the AWS flags, and the observed snapshot commands start from.

use crate::cli::AwsArgs;
use crate::core::observed::Observed;
use crate::iam::aws::AwsIam;
use crate::observe::{self as observe_iam, ObserveOptions};
use crate::schedule::Schedule;
use crate::sdk::AwsSession;

use super::CommandError;

async fn iam_client(aws: &AwsArgs) -> AwsIam {
    let session = AwsSession::load(aws.profile.as_deref(), aws.region.as_deref()).await;
    AwsIam::new(&session)
}

/// Read IAM and this schedule's credentials files into a snapshot; also returns the client.
pub(super) async fn observe(
    s: &Schedule,
    aws: &AwsArgs,
    last_used: bool,
) -> Result<(Observed, AwsIam), CommandError> {
    let stored = super::backends::open(s, &s.file, aws).await;
    let iam = iam_client(aws).await;
    let opts = ObserveOptions {
        concurrency: aws.concurrency.into(),
        last_used,
        mode: aws.observe_mode,
    };
    let observed = observe_iam::observe(
        &iam,
        &s.settings.path,
        &s.users(),
        Some((stored.store.as_ref(), stored.state.as_ref())),
        &opts,
    )
    .await
    .map_err(|e| match e {
        crate::observe::ObserveError::Iam(e) => {
            let profile = aws
                .profile
                .clone()
                .or_else(|| std::env::var("AWS_PROFILE").ok());
            crate::observe::ObserveError::Iam(
                e.with_setup(profile.as_deref(), Some(iam.endpoint())),
            )
        }
        other => other,
    })?;
    Ok((observed, iam))
}
