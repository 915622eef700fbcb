//! What a command did, in words; `main` alone turns it into the documented exit code.

/// How a command ended when it ran to its end (errors are `CommandError`s instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done, or there was nothing to do.
    Done,
    /// `plan --detailed-exitcode`: changes or blocked workshops are due.
    ChangesPending,
    /// `reconcile` applied what it could, but an action, a blocked workshop, a quarantined user,
    /// a model not ready, a verification, a delivery or the credentials folder failed the run.
    ReconcileFailed,
    /// `release`: an exposed key was not deleted, or the quarantine policy not detached.
    ReleaseIncomplete,
    /// `revoke`: the workshop (or participant) has no live key; nothing changed.
    NothingToRevoke,
    /// `revoke`: a key could not be deactivated.
    RevokeIncomplete,
    /// `status --check` found a problem.
    ProblemsFound,
    /// `verify`: a key failed its check, or the workshop asked about has no live key.
    VerificationFailed,
    /// `models check`: a model is not ready.
    ModelsNotReady,
    /// `models activate`: a model could not be activated.
    ActivationFailed,
}

impl Outcome {
    /// `Done` when `ok`, else `failed`: most commands end one of these two ways.
    pub fn done_unless(ok: bool, failed: Outcome) -> Outcome {
        if ok {
            Outcome::Done
        } else {
            failed
        }
    }

    /// Whether the run counts as a success (e.g. for `workshop_keys_run_ok`).
    pub fn is_done(self) -> bool {
        self == Outcome::Done
    }
}
