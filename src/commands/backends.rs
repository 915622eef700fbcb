//! The store of credentials bundles and the state, as `settings.store` and `settings.state`
//! choose them.

use std::path::Path;
use std::sync::Arc;

use crate::cli::AwsArgs;
use crate::schedule::Schedule;
use crate::state::{local::LocalState, StateStore};
use crate::store::{files::CredentialsDir, CredentialStore};

/// Where this schedule's secrets and state live.
pub(super) struct Backends {
    pub store: Arc<dyn CredentialStore>,
    pub state: Arc<dyn StateStore>,
}

/// Open the store and the state for `s` (read from `schedule`). Nothing is created or checked
/// here: a store unfit for new secrets must not stop revocation.
pub(super) async fn open(s: &Schedule, schedule: &Path, _aws: &AwsArgs) -> Backends {
    let dir = CredentialsDir::new(&s.settings.credentials_dir);
    Backends {
        store: Arc::new(dir.clone()),
        state: Arc::new(LocalState::new(dir, schedule)),
    }
}
