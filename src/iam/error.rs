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

/// A problem with the caller's AWS setup rather than with IAM's state: what the user fixes in
/// their credentials or network. Read from the SDK's typed errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessProblem {
    /// The credential chain had nothing configured; `tried` names its sources, in words.
    NoCredentials { tried: Vec<String> },
    /// An SSO profile's cached token has expired (or was never created) and cannot be refreshed.
    SsoLogin { profile: Option<String> },
    /// A configured credentials source failed (profile, process, role, container...).
    CredentialsFailed { reason: String },
    /// AWS does not know the access key: deleted, deactivated or mistyped.
    InvalidKey,
    /// The secret does not match the access key (or the clock is far off).
    WrongSecret,
    /// Temporary credentials whose session token has expired.
    ExpiredToken,
    /// No answer from the endpoint: refused, timed out, name not resolved.
    Unreachable {
        reason: String,
        endpoint: Option<String>,
    },
}

impl AccessProblem {
    /// What happened and where: `call` is e.g. `iam:ListUsers`, `code` the service's code.
    fn headline(&self, call: &str, code: &str) -> String {
        match self {
            AccessProblem::NoCredentials { .. } => {
                format!("no AWS credentials found for {call}")
            }
            AccessProblem::SsoLogin { profile } => format!(
                "the AWS SSO login of profile {} has expired or was never made ({call} not sent)",
                profile.as_deref().unwrap_or("default")
            ),
            AccessProblem::CredentialsFailed { reason } => {
                format!("could not get AWS credentials for {call}: {reason}")
            }
            AccessProblem::InvalidKey => format!(
                "AWS does not know the access key in use ({code} on {call}): deleted, deactivated or mistyped"
            ),
            AccessProblem::WrongSecret => format!(
                "AWS rejected the request signature ({code} on {call}): the secret key does not match the access key"
            ),
            AccessProblem::ExpiredToken => format!(
                "AWS rejected the credentials ({code} on {call}): their session token has expired"
            ),
            AccessProblem::Unreachable { reason, endpoint } => format!(
                "cannot reach the AWS endpoint {}for {call} ({reason})",
                endpoint.as_deref().map(|e| format!("{e} ")).unwrap_or_default()
            ),
        }
    }

    fn hint(&self) -> String {
        match self {
            AccessProblem::NoCredentials { .. } => "set AWS_PROFILE (or pass --profile) to a profile in ~/.aws/config, \
                 run `aws sso login --profile NAME` for an SSO profile, or export AWS_ACCESS_KEY_ID \
                 and AWS_SECRET_ACCESS_KEY"
                .to_string(),
            AccessProblem::SsoLogin { profile } => format!(
                "run `aws sso login --profile {}`, then run workshop-keys again",
                profile.as_deref().unwrap_or("default")
            ),
            AccessProblem::CredentialsFailed { .. } => {
                "check the profile in ~/.aws/config (or AWS_PROFILE / --profile); \
                 RUST_LOG=debug shows the SDK's full error"
                    .to_string()
            }
            AccessProblem::InvalidKey => "check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id \
                 (`aws sts get-caller-identity` shows which key is used), or create a new key"
                .to_string(),
            AccessProblem::WrongSecret => {
                "check AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key, and the system clock"
                    .to_string()
            }
            AccessProblem::ExpiredToken => {
                "refresh the temporary credentials (`aws sso login`, or assume the role again)"
                    .to_string()
            }
            AccessProblem::Unreachable { .. } => "check the network, a proxy, and AWS_ENDPOINT_URL \
                 if set; nothing was changed, the next run retries"
                .to_string(),
        }
    }
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
    /// Set when the caller's AWS setup is at fault; then `message` is empty and the SDK's own
    /// rendering is only in the debug log.
    /// Boxed: IamError travels in every `Result` of the IAM seam.
    pub problem: Option<Box<AccessProblem>>,
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
            problem: None,
        }
    }

    pub fn with_problem(mut self, problem: Option<AccessProblem>) -> Self {
        if problem.is_some() {
            self.message.clear();
        }
        self.problem = problem.map(Box::new);
        self
    }

    /// Fill in what only the caller knows: the profile in use and the endpoint called.
    pub fn with_setup(mut self, profile: Option<&str>, endpoint: Option<&str>) -> Self {
        match self.problem.as_deref_mut() {
            Some(AccessProblem::SsoLogin { profile: p }) if p.is_none() => {
                *p = profile.map(str::to_string)
            }
            Some(AccessProblem::Unreachable { endpoint: e, .. }) if e.is_none() => {
                *e = endpoint.map(str::to_string)
            }
            _ => {}
        }
        self
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

impl IamError {
    /// The error as a command's final message: with an access problem, one line saying what
    /// happened and where, the sources tried when there were none, then `hint: ...` on a line
    /// of its own. Otherwise as `Display`.
    pub fn report(&self) -> String {
        let Some(problem) = self.problem.as_deref() else {
            return self.to_string();
        };
        let call = format!("iam:{}", self.operation);
        let mut text = problem.headline(&call, &self.code);
        if let AccessProblem::NoCredentials { tried } = problem {
            text.push_str(&format!("\n  tried: {}", tried.join(", ")));
        }
        text.push_str(&format!("\nhint: {}", problem.hint()));
        text
    }
}

impl fmt::Display for IamError {
    /// One line (for reports of single actions): what happened, where, and what to do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(problem) = self.problem.as_deref() {
            let call = format!("iam:{}", self.operation);
            return write!(
                f,
                "{}: {}",
                problem.headline(&call, &self.code),
                problem.hint()
            );
        }
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
