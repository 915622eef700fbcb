//! Editing the schedule from the command line (`add`, `remove`, `move`) and listing it (`list`).
//!
//! The edits work on the file's text. `toml_edit` parses it, keeping byte spans; an edit finds
//! the bytes to change through those spans and copies every other byte as it is, so comments,
//! blank lines, key order, spacing, quoting and line endings outside the edited workshop stay
//! exactly as they were. New values are encoded by `toml_edit` (strings escaped as TOML needs).
//!
//! What belongs to a `[[workshop]]` table (what `remove` deletes, what `add` goes after):
//! - its header line and its keys, with the comments between them;
//! - the comment lines directly above its header (no blank line in between): its own comments;
//! - comment lines directly below its last key (e.g. commented-out keys), when a blank line or
//!   the end of the file follows them. Comment lines directly above the next header belong to
//!   that header instead.
//!
//! A comment block separated from the header by a blank line (like the key documentation in
//! the example `workshops.toml`) is not the workshop's own and stays. One separating blank line
//! goes with a removed table, so the spacing around it stays as it was.
//!
//! Times on the command line are RFC 3339 (written as given, offset included) or local
//! date-times, which are read in `settings.timezone` and written as offset date-times of that
//! zone (`2026-12-03T09:00` in Europe/Berlin becomes `2026-12-03T09:00:00+01:00`). A local time
//! that the zone skips or repeats (DST) is refused, as `validate` would.
//!
//! The functions here are pure: the caller validates the new text and writes it with
//! [`write_validated`], which refuses an invalid result or a file changed meanwhile and
//! otherwise replaces the file atomically.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use toml_edit::{Item, Value};

use crate::atomic_file::{self, FileMode};
use crate::schedule::{self, fields, Schedule, ScheduleError};

#[cfg(test)]
mod tests;
mod text;

pub use crate::view::list::{list, list_text, list_text_fitted, ListedState, ListedWorkshop};
use text::*;

/// A workshop to add, as given on the command line: times and durations are the flags' text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewWorkshop {
    pub id: String,
    pub start: String,
    pub end: String,
    pub title: Option<String>,
    pub user: Option<String>,
    pub lead: Option<String>,
    pub grace: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "the schedule is not valid TOML (line {line}: {message}), so it cannot be edited safely; \
         nothing was changed\n  hint: run `workshop-keys validate` to see every problem, and fix \
         the file first"
    )]
    Toml { line: usize, message: String },
    #[error("{message}\n  hint: {hint}")]
    Time { message: String, hint: String },
    #[error(
        "workshop {id:?} is already in the schedule (line {line}); nothing was changed\n  hint: \
         pick another id, or change its times with `workshop-keys move {id} --start TIME --end TIME`"
    )]
    DuplicateId { id: String, line: usize },
    #[error(
        "no workshop {id:?} in the schedule{}; nothing was changed\n  hint: `workshop-keys list` \
         shows the workshops and their ids",
        suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default()
    )]
    UnknownId {
        id: String,
        suggestion: Option<String>,
    },
    #[error(
        "workshop {id:?} appears more than once (lines {}), so it is unclear which one to edit; \
         nothing was changed\n  hint: rename or remove the duplicates in the file by hand",
        lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
    )]
    AmbiguousId { id: String, lines: Vec<usize> },
    #[error("{reason}; nothing was changed\n  hint: {hint}")]
    Unsupported { reason: String, hint: String },
    #[error(
        "edit refused: the schedule would not be valid after it; {} is unchanged (the places \
         below are in the edited text, not in the file)\n{error}",
        path.display()
    )]
    Invalid { path: PathBuf, error: ScheduleError },
    /// A command-line argument that no schedule may hold, named as it was given.
    #[error("{command}: {argument}: {message}; nothing was changed\n  hint: {hint}")]
    Argument {
        command: &'static str,
        argument: String,
        message: String,
        hint: String,
    },
    #[error("{0}")]
    Read(ScheduleError),
    #[error(
        "edit refused: {} changed since it was read (another edit, or an editor saving it); it \
         was left as it is now\n  hint: run the command again",
        path.display()
    )]
    Changed { path: PathBuf },
    #[error(
        "cannot write {}: {action} failed: {source}; the file is unchanged\n  hint: check that \
         the file's directory is writable and the disk is not full",
        path.display()
    )]
    Write {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
}

// ---- add, remove, move --------------------------------------------------------------------

/// The text with `w` appended as a `[[workshop]]` table after the last workshop (at the end of
/// the file when there is none), after a blank line, one `key = value` line per field.
pub fn add(text: &str, w: &NewWorkshop, timezone: Option<Tz>) -> Result<String, EditError> {
    let doc = parse_doc(text)?;
    let entries = workshop_entries(&doc, text, "add")?;
    if let Some(existing) = entries
        .iter()
        .find(|e| e.id.as_deref() == Some(w.id.as_str()))
    {
        return Err(EditError::DuplicateId {
            id: w.id.clone(),
            line: line_of(text, existing.at),
        });
    }
    check_arguments(w)?;
    let start = time_value("start", &w.start, timezone)?;
    let end = time_value("end", &w.end, timezone)?;

    let pos = match entries.last() {
        Some(last) => {
            let bounds = boundaries(&doc, text);
            extend_below(text, next_boundary(&bounds, last.at))
        }
        None => text.len(),
    };
    let nl = newline_of(text);
    let (before, after) = text.split_at(pos);
    let mut table = String::new();
    if !before.trim_start_matches('\u{feff}').is_empty() {
        if !before.ends_with('\n') {
            table.push_str(nl);
            table.push_str(nl);
        } else if !ends_with_blank_line(before) {
            table.push_str(nl);
        }
    }
    let mut lines = vec![("id", string_value(&w.id))];
    if let Some(title) = &w.title {
        lines.push(("title", string_value(title)));
    }
    lines.push(("start", start));
    lines.push(("end", end));
    for (key, value) in [("user", &w.user), ("lead", &w.lead), ("grace", &w.grace)] {
        if let Some(v) = value {
            lines.push((key, string_value(v)));
        }
    }
    table.push_str("[[workshop]]");
    table.push_str(nl);
    for (key, value) in lines {
        let _ = write!(table, "{key} = {value}{nl}");
    }
    if !after.is_empty() && !starts_with_blank_line(after) {
        table.push_str(nl);
    }
    Ok([before, &table, after].concat())
}

/// `add`'s values that `validate` would refuse in any schedule, refused as the arguments they
/// are (a place in the would-be file does not exist in the real one).
fn check_arguments(w: &NewWorkshop) -> Result<(), EditError> {
    let refuse = |argument: String, message: String, hint: Option<String>| EditError::Argument {
        command: "add",
        argument,
        message,
        hint: hint.unwrap_or_default(),
    };
    if let Err(p) = fields::check_workshop_id(&w.id) {
        let message = "not a valid workshop id".to_string();
        return Err(refuse(
            format!("id {}", fields::quote(&w.id)),
            message,
            p.hint,
        ));
    }
    if let Some(title) = w
        .title
        .as_deref()
        .filter(|t| t.chars().any(char::is_control))
    {
        return Err(refuse(
            format!("--title {}", fields::quote(title)),
            "a title must not contain control characters (newlines, tabs, escapes)".into(),
            Some("write the title on one line, as plain text".into()),
        ));
    }
    if let Some(user) = &w.user {
        if let Err(p) = fields::check_user_name(user) {
            let message = "not a valid IAM user name".to_string();
            return Err(refuse(
                format!("--user {}", fields::quote(user)),
                message,
                p.hint,
            ));
        }
    }
    for (name, value) in [("lead", &w.lead), ("grace", &w.grace)] {
        if let Some(Err(p)) = value.as_deref().map(|v| fields::parse_duration(name, v)) {
            let argument = format!("--{name} {}", fields::quote(value.as_deref().unwrap_or("")));
            return Err(refuse(argument, p.message, p.hint));
        }
    }
    Ok(())
}

/// The text without workshop `id`'s table: its header, keys and own comments (see the module
/// documentation); every other comment stays.
pub fn remove(text: &str, id: &str) -> Result<String, EditError> {
    let doc = parse_doc(text)?;
    let entries = workshop_entries(&doc, text, "remove")?;
    let entry = find_one(&entries, text, id)?;
    let bounds = boundaries(&doc, text);
    let header = entry.at;
    let floor = entry.region_start;
    let end = extend_below(text, next_boundary(&bounds, header));

    // Its own comments: the comment lines directly above the header.
    let mut own = line_start(text, header).max(floor);
    while let Some(prev) = prev_line(text, own, floor) {
        if !is_comment(&text[prev..own]) {
            break;
        }
        own = prev;
    }
    // The blank lines separating it from what comes before.
    let mut separated = own;
    while let Some(prev) = prev_line(text, separated, floor) {
        if !is_blank(&text[prev..separated]) {
            break;
        }
        separated = prev;
    }
    let rest = &text[end..];
    let before_is_empty = text[..separated].trim_start_matches('\u{feff}').is_empty();
    let (cut, rest) = if before_is_empty {
        // At the top of the file: no blank lines left above what follows.
        (separated, skip_blank_lines(rest))
    } else if rest.trim().is_empty() || starts_with_blank_line(rest) {
        // What follows is separated by its own blank line: drop the one above.
        (separated, rest)
    } else {
        (own, rest)
    };
    Ok([&text[..cut], rest].concat())
}

/// The text with workshop `id`'s `start` and `end` values replaced in place; the keys, their
/// spacing and any comments on those lines stay.
pub fn move_workshop(
    text: &str,
    id: &str,
    start: &str,
    end: &str,
    timezone: Option<Tz>,
) -> Result<String, EditError> {
    let doc = parse_doc(text)?;
    let entries = workshop_entries(&doc, text, "move")?;
    let entry = find_one(&entries, text, id)?;
    let start = time_value("start", start, timezone)?;
    let end = time_value("end", end, timezone)?;
    let mut edits: Vec<(Range<usize>, String)> = Vec::with_capacity(2);
    for (name, value) in [("start", start), ("end", end)] {
        let span = entry
            .table
            .get(name)
            .and_then(Item::as_value)
            .and_then(Value::span)
            .ok_or_else(|| EditError::Unsupported {
                reason: format!(
                    "workshop {id:?} (line {}) has no {name} value to replace",
                    line_of(text, entry.at)
                ),
                hint: format!(
                    "add `{name} = {value}` to it by hand, then check with `workshop-keys validate`"
                ),
            })?;
        edits.push((span, value));
    }
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_string();
    for (span, value) in edits {
        out.replace_range(span, &value);
    }
    Ok(out)
}

// ---- validating and writing ---------------------------------------------------------------

/// Validate `new_text` as the schedule at `path` (messages locate problems in the new text, as
/// `PATH:LINE:COLUMN`), check that the file still holds `original`, and replace it atomically:
/// a temporary file in the same directory with the file's permissions, fsync, rename, fsync of
/// the directory. A symlink is followed: its target is replaced. On any error the file stays
/// byte for byte as it was. Returns the new schedule.
pub fn write_validated(path: &Path, original: &str, new_text: &str) -> Result<Schedule, EditError> {
    let schedule = schedule::parse(path, new_text).map_err(|error| EditError::Invalid {
        path: path.to_path_buf(),
        error,
    })?;
    let current = schedule::read(path).map_err(EditError::Read)?;
    if current != original {
        return Err(EditError::Changed {
            path: path.to_path_buf(),
        });
    }
    if new_text != original {
        write_atomically(path, new_text)?;
    }
    Ok(schedule)
}

/// Replace `path` with `text` atomically (see [`write_validated`]). A file that does not exist yet is created with mode 0644, readable by a collector
/// running as another user.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), EditError> {
    atomic_file::write(path, text.as_bytes(), FileMode::KeepOr(0o644)).map_err(|e| {
        EditError::Write {
            path: e.path,
            action: e.action,
            source: e.source,
        }
    })
}
