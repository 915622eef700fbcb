//! Located problems in a schedule file, printed as `PATH:LINE:COLUMN: error: ...` plus a hint.

use std::fmt;
use std::path::{Path, PathBuf};

/// A schedule larger than this is refused before parsing: real schedules are kilobytes.
pub const MAX_SCHEDULE_BYTES: u64 = 16 * 1024 * 1024;

/// One problem at a place in the file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{}: cannot read the schedule: {reason}\nhint: {hint}", path.display())]
    Read {
        path: PathBuf,
        reason: String,
        hint: String,
    },
    #[error("{}", render(path, diagnostics))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

fn render(path: &Path, diagnostics: &[Diagnostic]) -> String {
    render_as(path, diagnostics, "error")
}

/// Warnings about a valid schedule, as `PATH:LINE:COLUMN: warning: ...` plus their hints.
pub fn render_warnings(path: &Path, warnings: &[Diagnostic]) -> String {
    render_as(path, warnings, "warning")
}

fn render_as(path: &Path, diagnostics: &[Diagnostic], severity: &str) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}:{}:{}: {severity}: {}",
            path.display(),
            d.line,
            d.column,
            d.message
        ));
        if let Some(hint) = &d.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
    }
    out
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: error: {}", self.line, self.column, self.message)
    }
}

/// Read the file as UTF-8 text, refusing what cannot be a schedule (a directory, a device,
/// a huge or binary file) with a message that says what to do.
pub(crate) fn read_schedule_file(path: &Path) -> Result<String, ScheduleError> {
    let fail = |reason: String, hint: &str| ScheduleError::Read {
        path: path.to_path_buf(),
        reason,
        hint: hint.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail(
            "no such file".into(),
            "create it (see the commented workshops.toml in the project) or pass --schedule PATH",
        ),
        std::io::ErrorKind::PermissionDenied => fail(
            "permission denied".into(),
            "make the file readable by the user running workshop-keys",
        ),
        _ => fail(e.to_string(), "check the path given with --schedule"),
    })?;
    if !meta.is_file() {
        return Err(fail(
            "not a regular file".into(),
            "--schedule must name a TOML file, not a directory or device",
        ));
    }
    if meta.len() > MAX_SCHEDULE_BYTES {
        return Err(fail(
            format!(
                "the file is {} bytes, more than the {} bytes a schedule may have",
                meta.len(),
                MAX_SCHEDULE_BYTES
            ),
            "split the schedule or remove past workshops",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            e.to_string(),
            "make the file readable by the user running workshop-keys",
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        fail(
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            "a schedule is a TOML text file; check that the right file was named",
        )
    })
}
