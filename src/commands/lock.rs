//! One reconcile at a time: the state's lock (a lock file next to the schedule, or a lease
//! object in S3), so overlapping cron ticks, or runs on two hosts, never both act.

use std::time::Duration;

use super::CommandError;
use crate::state::{HeldLock, LockError, StateStore};

/// Take the lock, waiting up to `timeout`; held until released.
pub(super) async fn lock(
    state: &dyn StateStore,
    timeout: Duration,
) -> Result<Box<dyn HeldLock>, CommandError> {
    state.lock(timeout).await.map_err(|e| match e {
        LockError::Taken { location } => CommandError::Locked { path: location },
        // The lock object in S3: the hint is about the bucket, not a directory.
        LockError::Unusable { location, source } if location.starts_with("s3:") => {
            CommandError::Usage {
                message: format!(
                    "cannot take the lock {}: {source}; check that the bucket exists (workshop-keys never creates it) and that this identity may get, put and delete objects under its prefix",
                    location.display()
                ),
            }
        }
        LockError::Unusable { location, source } => CommandError::LockFile {
            path: location,
            source,
        },
    })
}
