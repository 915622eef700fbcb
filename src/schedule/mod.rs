//! The validated schedule: what `workshops.toml` asks for, with every time in UTC and every
//! default filled in. `parse` turns text into a `Schedule` or into located diagnostics.

pub mod backends;
mod capacity;
mod diagnostics;
pub mod edit;
pub(crate) mod fields;
mod parse;
mod pool_capacity;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

pub use diagnostics::{render_warnings, Diagnostic, ScheduleError};
pub use parse::{check_hook_programs, parse, parse_allowing_collisions};

/// Defaults, as documented in README and `workshops.toml`.
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_USER: &str = "workshop-bedrock-user";
pub const DEFAULT_PATH: &str = "/workshop/";
pub const DEFAULT_CREDENTIALS_DIR: &str = "credentials";
pub const DEFAULT_VERIFY_MODEL: &str = "amazon.titan-embed-text-v1";
/// The runbook requires revocation within a day of a workshop's end.
pub const MAX_GRACE: TimeDelta = TimeDelta::hours(24);
/// Default of `bedrock_api_key_refresh`.
pub const DEFAULT_BEDROCK_API_KEY_REFRESH: TimeDelta = TimeDelta::hours(4);

pub use crate::core::policy::PolicyChoice;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub region: String,
    pub user: String,
    /// IAM path, always starting and ending with '/'.
    pub path: String,
    pub policy: PolicyChoice,
    pub lead: TimeDelta,
    pub grace: TimeDelta,
    pub hold: TimeDelta,
    /// Resolved against the schedule file's directory.
    pub credentials_dir: PathBuf,
    pub timezone: Option<Tz>,
    pub allow_long_grace: bool,
    pub rotate_after: Option<TimeDelta>,
    pub rotation_overlap: TimeDelta,
    pub verify: bool,
    pub verify_model: String,
    pub verify_all_models: bool,
    pub verify_timeout: TimeDelta,
    /// The models workshops use (`models = [...]`): with `policy = "restricted"` also the
    /// policy's list; with `"all-models"` only for readiness checks and verification.
    pub models: Vec<String>,
    /// `plan` and `reconcile` read each live workshop's models' readiness (Bedrock control plane).
    pub check_models: bool,
    /// Live keys are verified again once inside this time before their workshop starts.
    pub verify_before_start: TimeDelta,
    /// The policy denies Bedrock after the user's deadline (`WorkshopKeysDeadline`).
    pub deadline: bool,
    /// Command run for each new key, with the credentials as JSON on standard input.
    pub deliver: Option<Vec<String>>,
    /// Command run after each reconcile that changed something, with a JSON summary (no secrets).
    pub notify: Option<Vec<String>>,
    /// Credentials files also hold a short-term Amazon Bedrock API key (bearer token), and the
    /// policy allows `bedrock:CallWithBearerToken`.
    pub bedrock_api_key: bool,
    /// A live key's token is renewed when it expires within this (and before end + grace).
    pub bedrock_api_key_refresh: TimeDelta,
    /// The user-name prefix of the participants' pool: users `<pool>-001`...
    pub pool: String,
    /// How many users the pool may have (`<pool>-001` to `<pool>-NNN`).
    pub pool_size: u32,
    /// Where secrets and the records of recent writes live (`store`, `state`, ...).
    pub backends: backends::Backends,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workshop {
    pub id: String,
    pub title: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The IAM user holding this workshop's key (its own `user` or `settings.user`).
    pub user: String,
    pub lead: TimeDelta,
    pub grace: TimeDelta,
    /// `participants = N`: one key per participant, on pool users; `None`: one shared key on
    /// `user`.
    pub participants: Option<u32>,
    /// The models this workshop uses: its own `models`, else `settings.models` (may be empty).
    pub models: Vec<String>,
    /// 1-based line of the `[[workshop]]` header, for messages.
    pub line: usize,
}

impl Workshop {
    /// When the key is created.
    pub fn key_from(&self) -> DateTime<Utc> {
        self.start - self.lead
    }
    /// When the key is deactivated.
    pub fn revoke_at(&self) -> DateTime<Utc> {
        self.end + self.grace
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The file it was read from, as given on the command line.
    pub file: PathBuf,
    pub settings: Settings,
    /// Sorted by start, then id.
    pub workshops: Vec<Workshop>,
}

impl Schedule {
    /// Every IAM user the schedule names: `settings.user` and each shared-key workshop's user,
    /// sorted. Not the pool's users: which of them exist depends on the participants live now.
    pub fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = std::iter::once(self.settings.user.clone())
            .chain(
                self.workshops
                    .iter()
                    .filter(|w| w.participants.is_none())
                    .map(|w| w.user.clone()),
            )
            .collect();
        users.sort();
        users.dedup();
        users
    }

    pub fn workshop(&self, id: &str) -> Option<&Workshop> {
        self.workshops.iter().find(|w| w.id == id)
    }

    /// A workshop's key deletion time: `end + grace + hold`.
    pub fn delete_at(&self, w: &Workshop) -> DateTime<Utc> {
        w.revoke_at() + self.settings.hold
    }
}

/// The program of a `deliver` or `notify` command as it is run: a bare name (no `/`) is looked
/// up in `PATH`, as a shell would; a relative path is relative to the schedule file's
/// directory, like `credentials_dir`, whatever the current directory.
pub fn hook_program(schedule_file: &Path, program: &str) -> PathBuf {
    if !program.contains('/') {
        return PathBuf::from(program);
    }
    match schedule_file.parent() {
        // `./deliver.sh` next to `workshops.toml` in the current directory stays as written:
        // without its `./` it would be looked up in PATH.
        None => PathBuf::from(program),
        Some(dir) if dir.as_os_str().is_empty() => PathBuf::from(program),
        Some(dir) => dir.join(program.trim_start_matches("./")),
    }
}

/// What a valid schedule asks for but cannot get: `rotate_after` with a rotation due while
/// another workshop's key holds the user's second slot. Located at the workshop.
pub fn warnings(schedule: &Schedule) -> Vec<Diagnostic> {
    let s = &schedule.settings;
    let Some(rotate_after) = s.rotate_after else {
        return Vec::new();
    };
    let w = &schedule.workshops;
    capacity::rotation_conflicts(w, rotate_after, s.rotation_overlap)
        .into_iter()
        .map(|c| Diagnostic::new(w[c.at].line, 1, c.message(w)).with_hint(c.hint(w)))
        .collect()
}

/// Read and validate a schedule file. Every problem is reported, located in the file.
pub fn load(file: &Path) -> Result<Schedule, ScheduleError> {
    parse(file, &read(file)?)
}

/// `load`, but a user needing a third key is a warning (`PATH:LINE:COLUMN: warning: ...` plus
/// its hint, one string each) rather than an error.
pub fn load_allowing_collisions(file: &Path) -> Result<(Schedule, Vec<String>), ScheduleError> {
    let (schedule, collisions) = parse::parse_allowing_collisions(file, &read(file)?)?;
    let warnings = collisions
        .iter()
        .map(|d| {
            let mut w = format!(
                "{}:{}:{}: warning: {}",
                file.display(),
                d.line,
                d.column,
                d.message
            );
            if let Some(hint) = &d.hint {
                w.push_str(&format!("\n  hint: {hint}"));
            }
            w
        })
        .collect();
    Ok((schedule, warnings))
}

/// The schedule file's text, refusing what cannot be a schedule (directory, device, huge or
/// binary file). `reconcile` reads it again before applying, to refuse a file changed meanwhile.
pub fn read(file: &Path) -> Result<String, ScheduleError> {
    diagnostics::read_schedule_file(file)
}
