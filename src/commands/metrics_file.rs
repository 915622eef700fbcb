//! `reconcile --metrics-file`: the run's outcome and the keys' state for Prometheus.

use chrono::{DateTime, Utc};

use super::CommandError;

/// Write `reconcile --metrics-file`: this run (at the real clock's `now`), the last success
/// carried over from the file's previous text when this run failed, and the state gauges when
/// the run got that far.
pub(super) fn write_metrics(
    path: &std::path::Path,
    now: DateTime<Utc>,
    ok: bool,
    gauges: Option<&crate::view::metrics::Gauges>,
) -> Result<(), CommandError> {
    use crate::view::metrics::{render, RunInfo};
    let previous = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the previous metrics file; its last success time is lost");
            }
            None
        }
    };
    let run = RunInfo::new(now, ok, previous.as_deref());
    // 0644 for a new file: a collector running as another user must be able to read it.
    let mode = crate::atomic_file::FileMode::KeepOr(0o644);
    crate::atomic_file::write(path, render(&run, gauges).as_bytes(), mode).map_err(|e| {
        CommandError::ReplaceFile {
            path: e.path,
            action: e.action,
            source: e.source,
        }
    })
}
