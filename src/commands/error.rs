//! Why a command stopped: each error says what happened, where, and what to do.

use std::path::PathBuf;

use crate::saved_plan::SavedPlanError;
use crate::schedule::ScheduleError;
use crate::store::files::SecretsError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Schedule(#[from] ScheduleError),
    #[error("{0}")]
    Observe(#[from] crate::observe::ObserveError),
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error("{0}")]
    SavedPlan(#[from] SavedPlanError),
    #[error("{0}")]
    Edit(#[from] crate::schedule::edit::EditError),
    #[error("{message}")]
    Usage { message: String },
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An atomic replacement (the metrics file) failed; the old file is still there.
    #[error(
        "cannot write {}: {action} failed: {source}; the file is unchanged\n  hint: check that \
         the file's directory is writable and the disk is not full",
        path.display()
    )]
    ReplaceFile {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to standard output: {source}")]
    Output {
        #[source]
        source: std::io::Error,
    },
    #[error("--at {value:?} is not an RFC 3339 time ({reason}); write it like 2026-12-02T09:00:00Z or 2026-12-02T10:00:00+01:00")]
    BadTime { value: String, reason: String },
    #[error("{} changed while the plan was computed; nothing was applied. Run reconcile again", path.display())]
    ScheduleChanged { path: PathBuf },
    #[error("workshop {id:?} is not in the schedule; see the ids in the schedule file")]
    UnknownWorkshop { id: String },
    #[error("another reconcile of this schedule is running (lock file {}); it holds the lock until it ends. Wait with --lock-timeout 5m, or check for a stuck process", path.display())]
    Locked { path: PathBuf },
    #[error("cannot use lock file {}: {source}; check that the schedule's directory is writable", path.display())]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
