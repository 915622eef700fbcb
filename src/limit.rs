//! One bound on the AWS calls a run has in flight at once (`--concurrency`), shared by every
//! read and write of the run rather than counted per user.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Cheap to clone; clones share the bound.
#[derive(Debug, Clone)]
pub struct CallLimit {
    permits: Arc<Semaphore>,
}

impl CallLimit {
    /// At most `n` calls at once (at least one).
    pub fn new(n: usize) -> Self {
        CallLimit {
            permits: Arc::new(Semaphore::new(n.max(1))),
        }
    }

    /// Run `call` once a slot is free; the slot is held until it ends.
    pub async fn run<F: Future>(&self, call: F) -> F::Output {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        call.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn never_more_than_n_in_flight() {
        let limit = CallLimit::new(3);
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let calls = (0..20).map(|_| {
            limit.run(async {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            })
        });
        futures::future::join_all(calls).await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
