//! IAM failures in the tool's own terms: which operation, on which user, what kind, what to do.

use std::fmt;

/// The kinds of IAM answers the tool reacts to differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamErrorKind {
    NoSuchEntity,
    EntityAlreadyExists,
    LimitExceeded,
    DeleteConflict,
    AccessDenied,
    /// Throttled after the SDK's own retries.
    Throttling,
    /// Timeouts, dropped connections, 5xx answers: retry on the next run.
    Transient,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamError {
    /// The IAM API name, e.g. `CreateAccessKey`.
    pub operation: &'static str,
    pub user: Option<String>,
    pub kind: IamErrorKind,
    /// The service's error code, e.g. `AccessDenied`, or a short description when there is none.
    pub code: String,
    pub message: String,
}

impl IamError {
    pub fn new(
        operation: &'static str,
        user: Option<&str>,
        kind: IamErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        IamError {
            operation,
            user: user.map(str::to_string),
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn is(&self, kind: IamErrorKind) -> bool {
        self.kind == kind
    }

    /// What an operator should do about it.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            IamErrorKind::AccessDenied => {
                "the credentials running workshop-keys need the permissions listed in README, section 'Permissions'"
            }
            IamErrorKind::Throttling | IamErrorKind::Transient => {
                "temporary; the next run retries it"
            }
            IamErrorKind::LimitExceeded => {
                "the user already has two access keys; run `workshop-keys status` to see them"
            }
            IamErrorKind::DeleteConflict => {
                "the user still has keys or policies; the next run removes them first"
            }
            IamErrorKind::NoSuchEntity => "it was removed outside workshop-keys; the next run re-reads IAM",
            IamErrorKind::EntityAlreadyExists => "it was created outside workshop-keys; the next run re-reads IAM",
            IamErrorKind::Other => "see the message; run again with RUST_LOG=debug for details",
        }
    }
}

impl fmt::Display for IamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on iam:{}", self.code, self.operation)?;
        if let Some(user) = &self.user {
            write!(f, " for user {user}")?;
        }
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        write!(f, ": {}", self.hint())
    }
}

impl std::error::Error for IamError {}
