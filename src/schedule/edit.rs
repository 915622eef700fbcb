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

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use toml_edit::{Document, Item, Table, TableLike, Value};

use crate::atomic_file::{self, FileMode};
use crate::schedule::{self, fields, Schedule, ScheduleError};
use crate::time::format_time;

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

/// Replace `path` with `text` atomically (see [`write_validated`]); also used for the metrics
/// file. A file that does not exist yet is created with mode 0644, readable by a collector
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

// ---- list ---------------------------------------------------------------------------------

/// Where a workshop is in time: `upcoming` before its start, `live` from its start until its
/// end, `past` from its end on. (Keys live longer: from `start - lead` until `end + grace`;
/// `status` shows those states.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListedState {
    Upcoming,
    Live,
    Past,
}

impl ListedState {
    pub fn as_str(self) -> &'static str {
        match self {
            ListedState::Upcoming => "upcoming",
            ListedState::Live => "live",
            ListedState::Past => "past",
        }
    }
}

/// One workshop of `list`. `title` is `null` in JSON when the workshop has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedWorkshop {
    pub id: String,
    pub title: Option<String>,
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub state: ListedState,
}

/// Every workshop with its state at `now`, sorted by start, then id.
pub fn list(schedule: &Schedule, now: DateTime<Utc>) -> Vec<ListedWorkshop> {
    let mut out: Vec<ListedWorkshop> = schedule
        .workshops
        .iter()
        .map(|w| ListedWorkshop {
            id: w.id.clone(),
            title: w.title.clone(),
            user: w.user.clone(),
            start: w.start,
            end: w.end,
            state: if now < w.start {
                ListedState::Upcoming
            } else if now < w.end {
                ListedState::Live
            } else {
                ListedState::Past
            },
        })
        .collect();
    out.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    out
}

/// `list_text` fitted to `width` (unchanged without one): when the full table is wider, each
/// workshop's user and title go on a line of their own under it, wrapped, and times are
/// shortened to `2026-12-02 09:00` (UTC). Ids are never cut.
pub fn list_text_fitted(workshops: &[ListedWorkshop], width: Option<usize>) -> String {
    let full = list_text(workshops);
    let Some(width) = width else {
        return full;
    };
    if workshops.is_empty() || full.lines().all(|l| l.chars().count() <= width) {
        return full;
    }
    let short = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let mut rows: Vec<Vec<String>> = vec![["WORKSHOP", "STATE", "START", "END"]
        .map(String::from)
        .to_vec()];
    for w in workshops {
        rows.push(vec![
            w.id.clone(),
            w.state.as_str().to_string(),
            short(w.start),
            short(w.end),
        ]);
        let mut about = format!("  user {}", w.user);
        if let Some(title) = &w.title {
            about.push_str(&format!(" · {title}"));
        }
        rows.push(vec![about]);
    }
    crate::view::render::fit_lines(&crate::view::render::table(&rows, ""), Some(width))
}

/// A table with a header (times in UTC), or `No workshops.`.
pub fn list_text(workshops: &[ListedWorkshop]) -> String {
    if workshops.is_empty() {
        return "No workshops.\n".to_string();
    }
    let header = ["WORKSHOP", "STATE", "START", "END", "USER", "TITLE"];
    let mut rows: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
    for w in workshops {
        rows.push(vec![
            w.id.clone(),
            w.state.as_str().to_string(),
            format_time(w.start),
            format_time(w.end),
            w.user.clone(),
            w.title.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    crate::view::render::table(&rows, "")
}

// ---- the parts of the text ----------------------------------------------------------------

fn parse_doc(text: &str) -> Result<Document<&str>, EditError> {
    Document::parse(text).map_err(|e| EditError::Toml {
        line: line_of(text, e.span().map_or(0, |s| s.start)),
        message: e.message().trim().replace('\n', " "),
    })
}

/// One workshop in the text.
struct Entry<'d> {
    table: &'d dyn TableLike,
    id: Option<String>,
    /// Offset of its `[[workshop]]` header.
    at: usize,
    /// Where its decor starts: the comments and blank lines above the header.
    region_start: usize,
}

/// The workshops, in file order. Only `[[workshop]]` tables can be added and removed; the times
/// of workshops written as an inline array (`workshop = [{ ... }]`) can still be moved.
fn workshop_entries<'d>(
    doc: &'d Document<&str>,
    text: &str,
    what: &str,
) -> Result<Vec<Entry<'d>>, EditError> {
    let id_of = |t: &dyn TableLike| t.get("id").and_then(Item::as_str).map(str::to_string);
    match doc.as_table().get("workshop") {
        None | Some(Item::None) => Ok(Vec::new()),
        Some(Item::ArrayOfTables(aot)) => Ok(aot
            .iter()
            .filter_map(|t| {
                let at = t.span()?.start;
                Some(Entry {
                    table: t,
                    id: id_of(t),
                    at,
                    region_start: region_start(t).unwrap_or(at),
                })
            })
            .collect()),
        Some(Item::Value(Value::Array(array))) if what == "move" => Ok(array
            .iter()
            .filter_map(|v| {
                let t = v.as_inline_table()?;
                let at = v.span()?.start;
                Some(Entry {
                    table: t,
                    id: id_of(t),
                    at,
                    region_start: at,
                })
            })
            .collect()),
        Some(item) => Err(EditError::Unsupported {
            reason: format!(
                "cannot {what} a workshop: the schedule writes `workshop` as {} (line {}), not as \
                 [[workshop]] tables",
                item.type_name(),
                line_of(text, item.span().map_or(0, |s| s.start))
            ),
            hint: "write each workshop as a [[workshop]] table (see the example workshops.toml), \
                   or edit the file by hand"
                .into(),
        }),
    }
}

fn find_one<'e, 'd>(
    entries: &'e [Entry<'d>],
    text: &str,
    id: &str,
) -> Result<&'e Entry<'d>, EditError> {
    let found: Vec<&Entry<'d>> = entries
        .iter()
        .filter(|e| e.id.as_deref() == Some(id))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(EditError::UnknownId {
            id: id.to_string(),
            suggestion: fields::did_you_mean(id, entries.iter().filter_map(|e| e.id.as_deref()))
                .map(str::to_string),
        }),
        many => Err(EditError::AmbiguousId {
            id: id.to_string(),
            lines: many.iter().map(|e| line_of(text, e.at)).collect(),
        }),
    }
}

/// Where a table's region starts: its decor (comments and blank lines above the header), or
/// the header itself.
fn region_start(t: &Table) -> Option<usize> {
    let header = t.span()?.start;
    Some(
        t.decor()
            .prefix()
            .and_then(|p| p.span())
            .map_or(header, |s| s.start.min(header)),
    )
}

/// Sorted offsets where a table's region, or the comments after the last table, begin; plus
/// the end of the text. A table ends at the first of them after its header.
fn boundaries(doc: &Document<&str>, text: &str) -> Vec<usize> {
    fn collect(t: &Table, out: &mut Vec<usize>) {
        for (_, item) in t.iter() {
            match item {
                Item::Table(sub) => {
                    if !sub.is_implicit() && !sub.is_dotted() {
                        out.extend(region_start(sub));
                    }
                    collect(sub, out);
                }
                Item::ArrayOfTables(aot) => {
                    for sub in aot.iter() {
                        out.extend(region_start(sub));
                        collect(sub, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = vec![
        text.len(),
        doc.trailing().span().map_or(text.len(), |s| s.start),
    ];
    collect(doc.as_table(), &mut out);
    out.sort_unstable();
    out
}

fn next_boundary(bounds: &[usize], header: usize) -> usize {
    bounds
        .iter()
        .copied()
        .find(|&b| b > header)
        .unwrap_or(usize::MAX)
}

/// `end` moved past the comment lines directly below it when a blank line or the end of the
/// text follows them (they belong to the table above, e.g. commented-out keys).
fn extend_below(text: &str, end: usize) -> usize {
    let end = end.min(text.len());
    let mut q = end;
    while q < text.len() {
        let next = next_line(text, q);
        if !is_comment(&text[q..next]) {
            break;
        }
        q = next;
    }
    if q > end && (q == text.len() || is_blank(&text[q..next_line(text, q)])) {
        q
    } else {
        end
    }
}

/// Start of the line holding `pos`.
fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Start of the line after the one starting at `pos` (or the end of the text).
fn next_line(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Start of the line before the one starting at `pos`, if it is not before `floor`.
fn prev_line(text: &str, pos: usize, floor: usize) -> Option<usize> {
    if pos == 0 || pos <= floor {
        return None;
    }
    let start = line_start(text, pos - 1);
    (start >= floor).then_some(start)
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn ends_with_blank_line(before: &str) -> bool {
    let Some(body) = before.strip_suffix('\n') else {
        return false;
    };
    is_blank(&body[line_start(body, body.len())..])
}

fn starts_with_blank_line(after: &str) -> bool {
    after.contains('\n') && is_blank(&after[..next_line(after, 0)])
}

fn skip_blank_lines(mut text: &str) -> &str {
    while text.contains('\n') && is_blank(&text[..next_line(text, 0)]) {
        text = &text[next_line(text, 0)..];
    }
    text
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The file's line ending: CRLF when its first line ends so.
fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

fn string_value(s: &str) -> String {
    Value::from(s).to_string()
}

/// A command-line time as the TOML value to write: an offset date-time as given, or a local
/// date-time resolved in `timezone` and written with that zone's offset at that moment.
fn time_value(name: &str, input: &str, timezone: Option<Tz>) -> Result<String, EditError> {
    let flag = format!("--{name}");
    let written = input.trim();
    let example = "2026-12-03T09:00:00+01:00";
    let dt: toml_edit::Datetime = written.parse().map_err(|_| EditError::Time {
        message: format!("{flag} {written:?} is not a date-time"),
        hint: format!(
            "write RFC 3339 with an offset, e.g. {flag} {example}, or a local date-time such as \
             {flag} 2026-12-03T09:00:00 (read in settings.timezone)"
        ),
    })?;
    // `validate`'s checks and words, with the flag in place of `start = `.
    let for_flag = |s: &str| s.replace(&format!("{name} = "), &format!("{flag} "));
    let instant = match fields::resolve_datetime(name, &dt, Ok(timezone)) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(EditError::Time {
                message: format!("{flag} {written} cannot be read"),
                hint: format!("write it with an offset, e.g. {flag} {example}"),
            })
        }
        Err(p) => {
            return Err(EditError::Time {
                message: for_flag(&p.message),
                hint: p
                    .hint
                    .map(|h| for_flag(&h))
                    .unwrap_or_else(|| format!("write it like {flag} {example}")),
            })
        }
    };
    match (dt.offset, timezone) {
        (Some(_), _) => Ok(dt.to_string()),
        (None, Some(tz)) => Ok(instant
            .with_timezone(&tz)
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::AutoSi, false)),
        // resolve_datetime refuses local times without a zone.
        (None, None) => Ok(dt.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    /// A schedule in the style of workshops.toml: comments everywhere, odd spacing and quoting.
    const FILE: &str = r#"# Winter workshops.
#   A comment that mentions [[workshop]] and id = "london".

[settings]   # the settings
region   =   "eu-central-1"   # odd spacing
lead = "24h"
# grace = "2h"


# One [[workshop]] table per workshop. Keys:
#   id, title, start, end, user, lead, grace

# London: confirmed.
[[workshop]]
id = "london"     # trailing comment
title = 'Literal title'
  start = 2026-12-02T09:00:00Z
end   = 2026-12-02T16:00:00Z   # ends at four
user = "uk-user"

[[workshop]]  # header comment
# a comment inside, before id
id = "berlin"
start = 2026-12-03T09:00:00+01:00
	end = 2026-12-03T17:00:00+01:00
# commented = "out, belongs to berlin"

# Paris, attached comment
# (second line)
[[workshop]]
id="paris"
start=2026-12-05T10:00:00+01:00
end=2026-12-05T13:30:00+01:00
lead = "3h"

# footer: more workshops soon
"#;

    const PARIS: &str = "lead = \"3h\"\n";

    fn new(id: &str, start: &str, end: &str) -> NewWorkshop {
        NewWorkshop {
            id: id.into(),
            start: start.into(),
            end: end.into(),
            ..NewWorkshop::default()
        }
    }

    fn valid(text: &str) -> Schedule {
        match schedule::parse(Path::new("w.toml"), text) {
            Ok(s) => s,
            Err(e) => panic!("not valid:\n{e}\n---\n{text}"),
        }
    }

    fn message(e: EditError) -> String {
        e.to_string()
    }

    #[test]
    fn the_fixture_is_a_valid_schedule() {
        assert_eq!(valid(FILE).workshops.len(), 3);
    }

    #[test]
    fn add_appends_after_the_last_workshop_and_changes_nothing_else() {
        let w = NewWorkshop {
            title: Some("Rome \"day\" one".into()),
            user: Some("it-user".into()),
            lead: Some("2h".into()),
            grace: Some("30m".into()),
            ..new("rome", "2026-12-07T09:00:00+01:00", "2026-12-07T17:00:00Z")
        };
        let out = add(FILE, &w, None).unwrap();
        let expected = FILE.replace(
            PARIS,
            "lead = \"3h\"\n\n[[workshop]]\nid = \"rome\"\ntitle = 'Rome \"day\" one'\n\
             start = 2026-12-07T09:00:00+01:00\nend = 2026-12-07T17:00:00Z\nuser = \"it-user\"\n\
             lead = \"2h\"\ngrace = \"30m\"\n",
        );
        assert_eq!(out, expected);
        let s = valid(&out);
        let rome = s.workshop("rome").unwrap();
        assert_eq!(rome.title.as_deref(), Some("Rome \"day\" one"));
        assert_eq!(format_time(rome.start), "2026-12-07T08:00:00Z");
        assert_eq!(rome.user, "it-user");
        assert_eq!(rome.lead, chrono::TimeDelta::hours(2));
    }

    #[test]
    fn add_with_only_the_required_fields() {
        let out = add(
            FILE,
            &new("rome", "2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            FILE.replace(
                PARIS,
                "lead = \"3h\"\n\n[[workshop]]\nid = \"rome\"\nstart = 2026-12-07T09:00:00Z\n\
                 end = 2026-12-07T10:00:00Z\n"
            )
        );
    }

    #[test]
    fn add_goes_after_comments_that_belong_to_the_last_workshop() {
        let text = "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n# user = \"later\"\n";
        let out = add(
            text,
            &new("b", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            format!("{text}\n[[workshop]]\nid = \"b\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T10:00:00Z\n")
        );
    }

    #[test]
    fn add_before_a_table_that_follows_the_workshops() {
        let text = "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n# about the settings\n[settings]\nlead = \"1h\"\n";
        let out = add(
            text,
            &new("b", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n\n[[workshop]]\nid = \"b\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T10:00:00Z\n\n# about the settings\n[settings]\nlead = \"1h\"\n"
        );
        assert_eq!(valid(&out).workshops.len(), 2);
    }

    #[test]
    fn add_to_files_without_workshops() {
        let w = new("a", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z");
        let table =
            "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n";
        assert_eq!(add("", &w, None).unwrap(), table);
        assert_eq!(
            add("[settings]\nlead = \"1h\"\n", &w, None).unwrap(),
            format!("[settings]\nlead = \"1h\"\n\n{table}")
        );
        // No final newline; a blank line already there.
        assert_eq!(
            add("[settings]\nlead = \"1h\"", &w, None).unwrap(),
            format!("[settings]\nlead = \"1h\"\n\n{table}")
        );
        assert_eq!(
            add("# only comments\n\n", &w, None).unwrap(),
            format!("# only comments\n\n{table}")
        );
        // The example's trailing documentation stays above the first workshop.
        let example = include_str!("../../workshops.toml");
        let i = example.find("\n[[workshop]]\n").unwrap();
        let head = &example[..i + 1];
        let out = add(head, &w, None).unwrap();
        assert_eq!(out, format!("{head}{table}"));
    }

    #[test]
    fn add_keeps_crlf_line_endings() {
        let text = "[settings]\r\nlead = \"1h\"\r\n\r\n[[workshop]]\r\nid = \"a\"\r\nstart = 2026-12-02T09:00:00Z\r\nend = 2026-12-02T10:00:00Z\r\n";
        let out = add(
            text,
            &new("b", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            format!("{text}\r\n[[workshop]]\r\nid = \"b\"\r\nstart = 2026-12-03T09:00:00Z\r\nend = 2026-12-03T10:00:00Z\r\n")
        );
        assert_eq!(valid(&out).workshops.len(), 2);
    }

    #[test]
    fn add_refuses_a_duplicate_id() {
        let e = add(
            FILE,
            &new("berlin", "2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, EditError::DuplicateId { line: 21, .. }),
            "{e:?}"
        );
        assert_eq!(
            message(e),
            "workshop \"berlin\" is already in the schedule (line 21); nothing was changed\n  \
             hint: pick another id, or change its times with `workshop-keys move berlin --start \
             TIME --end TIME`"
        );
    }

    #[test]
    fn local_times_are_written_with_the_zone_offset() {
        let w = new("x", "2026-12-07T09:00:00", "2026-07-07T09:30");
        let out = add("", &w, Some(Berlin)).unwrap();
        assert_eq!(
            out,
            "[[workshop]]\nid = \"x\"\nstart = 2026-12-07T09:00:00+01:00\nend = 2026-07-07T09:30:00+02:00\n"
        );
        // RFC 3339 input keeps its own offset, whatever the zone.
        let w = new("x", "2026-12-07T09:00:00-05:00", "2026-12-07 18:00:00Z");
        let out = add("", &w, Some(Berlin)).unwrap();
        assert!(
            out.contains("start = 2026-12-07T09:00:00-05:00\nend = 2026-12-07T18:00:00Z\n"),
            "{out}"
        );
        // Other zones: east of UTC, half hours, UTC itself.
        let kolkata = "Asia/Kolkata".parse::<Tz>().unwrap();
        assert_eq!(
            time_value("start", "2026-12-07T09:00:00", Some(kolkata)).unwrap(),
            "2026-12-07T09:00:00+05:30"
        );
        assert_eq!(
            time_value("start", "2026-12-07T09:00:00", Some(chrono_tz::UTC)).unwrap(),
            "2026-12-07T09:00:00+00:00"
        );
        // Written times mean the same instant when read back with the zone.
        let s = valid(&format!(
            "[settings]\ntimezone = \"Europe/Berlin\"\n{}",
            add(
                "",
                &new("x", "2026-03-29T01:59:59", "2026-03-29T03:00:00"),
                Some(Berlin)
            )
            .unwrap()
        ));
        assert_eq!(format_time(s.workshops[0].start), "2026-03-29T00:59:59Z");
        assert_eq!(format_time(s.workshops[0].end), "2026-03-29T01:00:00Z");
    }

    #[test]
    fn local_times_need_a_timezone_and_must_exist_once() {
        let e = add(
            "",
            &new("x", "2026-12-07T09:00:00", "2026-12-07T10:00:00Z"),
            None,
        )
        .unwrap_err();
        assert_eq!(
            message(e),
            "--start 2026-12-07T09:00:00 has no UTC offset, and settings.timezone is not set\n  \
             hint: add an offset (--start 2026-12-07T09:00:00+01:00 or 2026-12-07T09:00:00Z), or \
             set timezone = \"Europe/Berlin\" (an IANA name) in [settings] to read local times there"
        );
        let e = add(
            "",
            &new("x", "2026-03-29T02:30:00", "2026-03-29T10:00:00"),
            Some(Berlin),
        )
        .unwrap_err();
        assert_eq!(
            message(e),
            "--start 2026-03-29T02:30:00 does not exist in Europe/Berlin (the clocks skip it for \
             daylight saving time)\n  hint: write the time with an explicit offset, e.g. --start \
             2026-03-29T03:30:00+02:00"
        );
        let e = move_workshop(
            FILE,
            "paris",
            "2026-10-25T01:00:00Z",
            "2026-10-25T02:30:00",
            Some(Berlin),
        )
        .unwrap_err();
        assert_eq!(
            message(e),
            "--end 2026-10-25T02:30:00 is ambiguous in Europe/Berlin (it happens twice when the \
             clocks go back)\n  hint: write the time with an explicit offset: \
             2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00"
        );
        for bad in [
            "tomorrow",
            "",
            "2026-12-07",
            "09:00:00",
            "2026-13-01T00:00:00Z",
        ] {
            let e = add("", &new("x", bad, "2026-12-07T10:00:00Z"), Some(Berlin)).unwrap_err();
            assert!(matches!(e, EditError::Time { .. }), "{bad}: {e:?}");
            assert!(message(e).starts_with("--start "), "{bad}");
        }
    }

    #[test]
    fn remove_takes_the_table_and_its_own_comments_only() {
        // The middle one: its header comment and inner comments and the comment below it go,
        // with the blank line above it.
        let out = remove(FILE, "berlin").unwrap();
        let berlin = "[[workshop]]  # header comment\n# a comment inside, before id\nid = \"berlin\"\nstart = 2026-12-03T09:00:00+01:00\n\tend = 2026-12-03T17:00:00+01:00\n# commented = \"out, belongs to berlin\"\n\n";
        assert!(FILE.contains(berlin));
        assert_eq!(out, FILE.replace(berlin, ""));

        // The first one: its attached comment goes; the documentation block above stays.
        let out = remove(FILE, "london").unwrap();
        let london = "# London: confirmed.\n[[workshop]]\nid = \"london\"     # trailing comment\ntitle = 'Literal title'\n  start = 2026-12-02T09:00:00Z\nend   = 2026-12-02T16:00:00Z   # ends at four\nuser = \"uk-user\"\n\n";
        assert!(FILE.contains(london));
        assert_eq!(out, FILE.replace(london, ""));

        // The last one: its two attached comment lines go; the footer stays.
        let out = remove(FILE, "paris").unwrap();
        let paris = "\n# Paris, attached comment\n# (second line)\n[[workshop]]\nid=\"paris\"\nstart=2026-12-05T10:00:00+01:00\nend=2026-12-05T13:30:00+01:00\nlead = \"3h\"\n";
        assert!(FILE.contains(paris));
        assert_eq!(out, FILE.replace(paris, ""));

        for id in ["london", "berlin", "paris"] {
            let s = valid(&remove(FILE, id).unwrap());
            assert_eq!(s.workshops.len(), 2);
            assert!(s.workshop(id).is_none());
        }
    }

    #[test]
    fn remove_keeps_the_spacing_around() {
        let t = |id: &str| {
            format!("[[workshop]]\nid = \"{id}\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n")
        };
        // No blank line after it: the one above stays.
        let text = format!("{}\n{}{}", t("a"), t("b"), t("c"));
        assert_eq!(
            remove(&text, "b").unwrap(),
            format!("{}\n{}", t("a"), t("c"))
        );
        // At the top of the file: no blank line is left at the top.
        let text = format!("{}\n{}", t("a"), t("b"));
        assert_eq!(remove(&text, "a").unwrap(), t("b"));
        assert_eq!(remove(&text, "b").unwrap(), t("a"));
        // The only one.
        assert_eq!(remove(&t("a"), "a").unwrap(), "");
        assert_eq!(
            remove(&format!("[settings]\n\n{}", t("a")), "a").unwrap(),
            "[settings]\n"
        );
        // Without a final newline.
        let text = format!("{}\n{}", t("a"), t("b").trim_end());
        assert_eq!(remove(&text, "b").unwrap(), t("a"));
        // CRLF.
        let text = format!("{}\n{}", t("a"), t("b")).replace('\n', "\r\n");
        assert_eq!(remove(&text, "b").unwrap(), t("a").replace('\n', "\r\n"));
        // The real example: removing the first workshop keeps the key documentation above it.
        let example = include_str!("../../workshops.toml");
        let out = remove(example, "rag-basics-london").unwrap();
        let start = example
            .find("[[workshop]]\nid = \"rag-basics-london\"")
            .unwrap();
        let end = example
            .find("[[workshop]]\nid = \"context-engine-berlin\"")
            .unwrap();
        assert_eq!(
            out,
            format!("{}{}", &example[..start - 1], &example[end - 1..])
        );
        assert_eq!(valid(&out).workshops.len(), 3);
    }

    #[test]
    fn a_byte_order_mark_stays() {
        let t =
            "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n";
        let text = format!("\u{feff}{t}\n{}", t.replace("\"a\"", "\"b\""));
        assert_eq!(
            remove(&text, "a").unwrap(),
            format!("\u{feff}{}", t.replace("\"a\"", "\"b\""))
        );
        assert_eq!(remove(&text, "b").unwrap(), format!("\u{feff}{t}"));
        let w = new("a", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z");
        assert_eq!(add("\u{feff}", &w, None).unwrap(), format!("\u{feff}{t}"));
    }

    #[test]
    fn remove_refuses_unknown_and_duplicate_ids() {
        let e = remove(FILE, "berlni").unwrap_err();
        assert_eq!(
            message(e),
            "no workshop \"berlni\" in the schedule (did you mean \"berlin\"?); nothing was \
             changed\n  hint: `workshop-keys list` shows the workshops and their ids"
        );
        let e = remove(FILE, "nowhere").unwrap_err();
        assert!(matches!(
            e,
            EditError::UnknownId {
                suggestion: None,
                ..
            }
        ));
        let e = remove("", "a").unwrap_err();
        assert!(matches!(e, EditError::UnknownId { .. }));
        let twice = "[[workshop]]\nid = \"a\"\n\n[[workshop]]\nid = \"a\"\n";
        let e = remove(twice, "a").unwrap_err();
        assert!(
            matches!(&e, EditError::AmbiguousId { lines, .. } if lines == &[1, 4]),
            "{e:?}"
        );
    }

    #[test]
    fn move_replaces_the_values_in_place() {
        let out = move_workshop(
            FILE,
            "london",
            "2026-12-09T10:00:00Z",
            "2026-12-09T12:00:00+00:00",
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            FILE.replace(
                "  start = 2026-12-02T09:00:00Z\nend   = 2026-12-02T16:00:00Z   # ends at four",
                "  start = 2026-12-09T10:00:00Z\nend   = 2026-12-09T12:00:00+00:00   # ends at four"
            )
        );
        let out = move_workshop(
            FILE,
            "berlin",
            "2026-12-10T09:00",
            "2026-12-10T17:00",
            Some(Berlin),
        )
        .unwrap();
        assert_eq!(
            out,
            FILE.replace(
                "start = 2026-12-03T09:00:00+01:00\n\tend = 2026-12-03T17:00:00+01:00",
                "start = 2026-12-10T09:00:00+01:00\n\tend = 2026-12-10T17:00:00+01:00"
            )
        );
        let s = valid(&out);
        assert_eq!(
            format_time(s.workshop("berlin").unwrap().start),
            "2026-12-10T08:00:00Z"
        );
        let e = move_workshop(
            FILE,
            "rome",
            "2026-12-10T09:00:00Z",
            "2026-12-10T10:00:00Z",
            None,
        )
        .unwrap_err();
        assert!(matches!(e, EditError::UnknownId { .. }));
    }

    #[test]
    fn inline_workshops_can_be_moved_not_added_or_removed() {
        let text = "workshop = [\n  { id = \"a\", start = 2026-12-02T09:00:00Z, end = 2026-12-02T10:00:00Z }, # a\n]\n";
        let out = move_workshop(
            text,
            "a",
            "2026-12-04T09:00:00Z",
            "2026-12-04T10:00:00Z",
            None,
        )
        .unwrap();
        assert_eq!(out, text.replace("12-02", "12-04"));
        let e = add(
            text,
            &new("b", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"),
            None,
        )
        .unwrap_err();
        assert!(
            message(e).starts_with("cannot add a workshop: the schedule writes `workshop` as array (line 1), not as [[workshop]] tables"),
        );
        assert!(matches!(
            remove(text, "a"),
            Err(EditError::Unsupported { .. })
        ));
    }

    #[test]
    fn invalid_toml_is_not_edited() {
        let e = remove("[settings\nx = 1\n", "a").unwrap_err();
        assert!(matches!(e, EditError::Toml { line: 1, .. }), "{e:?}");
    }

    #[test]
    fn edits_that_make_the_schedule_invalid_are_refused() {
        // A third workshop on one user at once (the fixture's default user has berlin).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        fs::write(&path, FILE).unwrap();
        let w = |id: &str| new(id, "2026-12-03T10:00:00+01:00", "2026-12-03T12:00:00+01:00");
        let once = add(FILE, &w("x"), None).unwrap();
        write_validated(&path, FILE, &once).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), once);
        let twice = add(&once, &w("y"), None).unwrap();
        let e = write_validated(&path, &once, &twice).unwrap_err();
        let m = message(e);
        let path_str = path.display().to_string();
        assert!(
            m.starts_with(&format!(
                "edit refused: the schedule would not be valid after it; {path_str} is unchanged (the places below are in the edited text, not in the file)\n{path_str}:"
            )),
            "{m}"
        );
        assert!(m.contains("would need 3 keys at once"), "{m}");
        assert!(m.contains("(workshops berlin, x, y)"), "{m}");
        assert_eq!(fs::read_to_string(&path).unwrap(), once);

        // End before start: located in the new text.
        let bad = move_workshop(
            &once,
            "x",
            "2026-12-03T12:00:00Z",
            "2026-12-03T11:00:00Z",
            None,
        )
        .unwrap();
        let m = message(write_validated(&path, &once, &bad).unwrap_err());
        let line = bad
            .lines()
            .position(|l| l.starts_with("end = 2026-12-03T11"))
            .unwrap()
            + 1;
        assert!(
            m.contains(&format!("{path_str}:{line}:7: error: workshop \"x\" ends (2026-12-03T11:00:00Z) before or when it starts (2026-12-03T12:00:00Z)")),
            "{m}"
        );
        // Bad values are refused as the arguments they are: an invalid id, user, duration.
        for w in [
            new("bad id", "2026-12-09T10:00:00Z", "2026-12-09T11:00:00Z"),
            NewWorkshop {
                user: Some("bad user".into()),
                ..new("z", "2026-12-09T10:00:00Z", "2026-12-09T11:00:00Z")
            },
            NewWorkshop {
                lead: Some("soon".into()),
                ..new("z", "2026-12-09T10:00:00Z", "2026-12-09T11:00:00Z")
            },
            NewWorkshop {
                title: Some("two\nlines".into()),
                ..new("z", "2026-12-09T10:00:00Z", "2026-12-09T11:00:00Z")
            },
        ] {
            let e = add(&once, &w, None).unwrap_err();
            assert!(matches!(e, EditError::Argument { .. }), "{e:?}");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), once);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        fs::write(&path, FILE).unwrap();
        let new_text = remove(FILE, "paris").unwrap();
        let changed = format!("{FILE}# edited meanwhile\n");
        fs::write(&path, &changed).unwrap();
        let e = write_validated(&path, FILE, &new_text).unwrap_err();
        assert!(matches!(e, EditError::Changed { .. }));
        assert!(message(e).contains("changed since it was read"));
        assert_eq!(fs::read_to_string(&path).unwrap(), changed);
        // A missing file is a read error.
        let missing = dir.path().join("gone.toml");
        let e = write_validated(&missing, FILE, &new_text).unwrap_err();
        assert!(matches!(e, EditError::Read(_)), "{e:?}");
    }

    #[test]
    fn the_write_keeps_permissions_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        fs::write(&real, FILE).unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let new_text = remove(FILE, "paris").unwrap();
        let s = write_validated(&link, FILE, &new_text).unwrap();
        assert_eq!(s.workshops.len(), 2);
        assert_eq!(s.file, link);
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), new_text);
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        // An unchanged text is not rewritten.
        let before = fs::metadata(&real).unwrap().ino();
        write_validated(&link, &new_text, &new_text).unwrap();
        assert_eq!(fs::metadata(&real).unwrap().ino(), before);
    }

    #[test]
    fn a_failed_write_leaves_the_file_unchanged() {
        use std::os::unix::fs::PermissionsExt;
        if nix_is_root() {
            return; // root writes into read-only directories
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        fs::write(&path, FILE).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let new_text = remove(FILE, "paris").unwrap();
        let e = write_validated(&path, FILE, &new_text).unwrap_err();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        assert!(matches!(e, EditError::Write { .. }), "{e:?}");
        assert!(message(e).contains("the file is unchanged"));
        assert_eq!(fs::read_to_string(&path).unwrap(), FILE);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn nix_is_root() -> bool {
        fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }

    #[test]
    fn every_edit_keeps_the_rest_of_the_example_byte_for_byte() {
        let example = include_str!("../../workshops.toml");
        let out = add(
            example,
            &new("lisbon", "2026-12-08T09:00:00Z", "2026-12-08T12:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            format!("{example}\n[[workshop]]\nid = \"lisbon\"\nstart = 2026-12-08T09:00:00Z\nend = 2026-12-08T12:00:00Z\n")
        );
        assert_eq!(valid(&out).workshops.len(), 5);
        let out = move_workshop(
            example,
            "agents-lab-paris",
            "2026-12-06T10:00:00+01:00",
            "2026-12-06T13:30:00+01:00",
            None,
        )
        .unwrap();
        assert_eq!(out, example.replace("2026-12-05T1", "2026-12-06T1"));
        let out = remove(example, "agents-lab-paris").unwrap();
        let i = example
            .find("\n[[workshop]]\nid = \"agents-lab-paris\"")
            .unwrap();
        assert_eq!(out, &example[..i]);
    }

    #[test]
    fn list_states_order_and_text() {
        let s = valid(FILE);
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let l = list(&s, at("2026-12-03T08:00:00Z"));
        let got: Vec<(&str, &str)> = l
            .iter()
            .map(|w| (w.id.as_str(), w.state.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("london", "past"),
                ("berlin", "live"),
                ("paris", "upcoming")
            ]
        );
        // Boundaries: live from start (inclusive) until end (exclusive).
        let l = list(&s, at("2026-12-03T16:00:00Z"));
        assert_eq!(l[1].state, ListedState::Past);
        let l = list(&s, at("2026-12-02T09:00:00Z"));
        assert_eq!(l[0].state, ListedState::Live);
        let l = list(&s, at("2026-12-02T08:59:59Z"));
        assert_eq!(l[0].state, ListedState::Upcoming);

        let l = list(&s, at("2026-12-03T08:00:00Z"));
        assert_eq!(
            list_text(&l),
            "WORKSHOP  STATE     START                 END                   USER                   TITLE\n\
             london    past      2026-12-02T09:00:00Z  2026-12-02T16:00:00Z  uk-user                Literal title\n\
             berlin    live      2026-12-03T08:00:00Z  2026-12-03T16:00:00Z  workshop-bedrock-user  -\n\
             paris     upcoming  2026-12-05T09:00:00Z  2026-12-05T12:30:00Z  workshop-bedrock-user  -\n"
        );
        assert_eq!(list_text(&[]), "No workshops.\n");
        let json = serde_json::to_value(&l[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "london",
                "title": "Literal title",
                "user": "uk-user",
                "start": "2026-12-02T09:00:00Z",
                "end": "2026-12-02T16:00:00Z",
                "state": "past",
            })
        );
        assert_eq!(
            serde_json::to_value(&l[1]).unwrap()["title"],
            serde_json::Value::Null
        );
        // Same start: by id.
        let two = valid(&format!(
            "{}{}",
            add(
                "",
                &new("b", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z"),
                None
            )
            .unwrap(),
            add(
                "",
                &new("a", "2026-12-02T09:00:00Z", "2026-12-02T11:00:00Z"),
                None
            )
            .unwrap()
        ));
        let ids: Vec<String> = list(&two, at("2026-01-01T00:00:00Z"))
            .into_iter()
            .map(|w| w.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Adding then removing a workshop gives the file back, whatever it looked like.
        #[test]
        fn add_then_remove_is_the_identity(
            picks in proptest::collection::vec(0usize..FRAGMENTS.len(), 0..20),
        ) {
            let text: String = picks.iter().map(|&i| FRAGMENTS[i]).collect();
            proptest::prop_assume!(Document::parse(text.as_str()).is_ok());
            let w = new("zz-new", "2026-12-09T10:00:00Z", "2026-12-09T11:00:00Z");
            if let Ok(added) = add(&text, &w, None) {
                let back = remove(&added, "zz-new").unwrap();
                // Only whitespace at the seams may differ.
                proptest::prop_assert_eq!(squeeze(&back), squeeze(&text));
                proptest::prop_assert!(added.contains(
                    "[[workshop]]\nid = \"zz-new\"\nstart = 2026-12-09T10:00:00Z\nend = 2026-12-09T11:00:00Z\n"
                ));
                // A valid schedule stays valid, with one workshop more; removing any workshop
                // leaves the others.
                if let Ok(s) = schedule::parse(Path::new("w.toml"), &text) {
                    let more = schedule::parse(Path::new("w.toml"), &added);
                    proptest::prop_assert!(more.is_ok(), "{}", added);
                    proptest::prop_assert_eq!(more.unwrap().workshops.len(), s.workshops.len() + 1);
                    for w in &s.workshops {
                        let fewer = schedule::parse(Path::new("w.toml"), &remove(&text, &w.id).unwrap());
                        proptest::prop_assert!(fewer.is_ok());
                        proptest::prop_assert_eq!(fewer.unwrap().workshops.len(), s.workshops.len() - 1);
                    }
                }
            }
        }
    }

    /// Pieces of schedules, for the property test.
    const FRAGMENTS: &[&str] = &[
        "[settings]\n",
        "lead = \"1h\"\n",
        "# a comment\n",
        "\n",
        "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n",
        "[[workshop]]  # c\nid = \"b\" # c\n# inside\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T10:00:00Z\n",
        "  # indented comment\n",
        "title = \"\"\"\n# not a comment\"\"\"\n",
    ];

    fn squeeze(s: &str) -> String {
        s.lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}
