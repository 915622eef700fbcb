//! The store of credentials bundles and the state, as `settings.store` and `settings.state`
//! choose them.

use std::path::Path;
use std::sync::Arc;

use crate::cli::AwsArgs;
use crate::schedule::backends::StoreKind;
use crate::schedule::Schedule;
use crate::sdk::AwsSession;
use crate::state::{local::LocalState, s3::S3State, StateStore};
use crate::store::secretsmanager::SecretsManagerStore;
use crate::store::{files::CredentialsDir, CredentialStore};

/// Where this schedule's secrets and state live.
pub(super) struct Backends {
    pub store: Arc<dyn CredentialStore>,
    pub state: Arc<dyn StateStore>,
}

/// Open the store and the state for `s` (read from `schedule`). Nothing is created or checked
/// here: a store unfit for new secrets must not stop revocation.
pub(super) async fn open(s: &Schedule, schedule: &Path, aws: &AwsArgs) -> Backends {
    let b = &s.settings.backends;
    let dir = CredentialsDir::new(&s.settings.credentials_dir);
    let remote = b.store == StoreKind::SecretsManager || b.state.is_some();
    let config = match remote {
        true => Some(AwsSession::load(aws.profile.as_deref(), aws.region.as_deref()).await),
        false => None,
    };
    // Secrets and state in the schedule's region unless the AWS setup names one.
    let region = || aws_config::Region::new(s.settings.region.clone());
    let config = config.as_ref().map(AwsSession::config);
    let store: Arc<dyn CredentialStore> = match (&config, b.store) {
        (Some(c), StoreKind::SecretsManager) => {
            let mut builder = aws_sdk_secretsmanager::config::Builder::from(*c);
            if c.region().is_none() {
                builder = builder.region(region());
            }
            let client = aws_sdk_secretsmanager::Client::from_conf(builder.build());
            Arc::new(SecretsManagerStore::new(client, b.secrets_prefix.clone()))
        }
        _ => Arc::new(dir.clone()),
    };
    let state: Arc<dyn StateStore> = match (&config, &b.state) {
        (Some(c), Some(at)) => {
            let mut builder = aws_sdk_s3::config::Builder::from(*c);
            if c.region().is_none() {
                builder = builder.region(region());
            }
            // An emulator or an S3-compatible store at AWS_ENDPOINT_URL: path-style addressing.
            if c.endpoint_url().is_some() {
                builder = builder.force_path_style(true);
            }
            let client = aws_sdk_s3::Client::from_conf(builder.build());
            Arc::new(S3State::new(client, at.clone(), b.lock_lease))
        }
        _ => Arc::new(LocalState::new(dir, schedule)),
    };
    Backends { store, state }
}
