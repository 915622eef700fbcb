//! Read IAM (and the credentials directory) into an `Observed` snapshot.

/// How much to read.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Users read at once.
    pub concurrency: usize,
    /// Also call `GetAccessKeyLastUsed` for every key (for `status`).
    pub last_used: bool,
}

pub async fn observe() {}
