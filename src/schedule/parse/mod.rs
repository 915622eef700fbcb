//! Schedule text -> validated `Schedule`, collecting every problem with its location.
//!
//! The TOML is parsed with `toml_edit`, which keeps byte spans, and then walked by hand so that
//! every problem is found (not just the first), each located at the offending key or value.
//! Locations are gathered as byte offsets and turned into 1-based line and column (in
//! characters) in one pass at the end, so even a huge one-line file costs linear time.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use toml_edit::{Document, Item, TableLike, Value};

use super::fields::{self, did_you_mean_hint, quote, Problem};
use super::{capacity, pool_capacity};
use super::{Diagnostic, Schedule, ScheduleError, Settings, Workshop, MAX_GRACE};

mod settings;
#[cfg(test)]
mod tests;
mod workshops;

const TOP_KEYS: &[&str] = &["settings", "workshop"];

const SETTINGS_KEYS: &[&str] = &[
    "region",
    "user",
    "path",
    "policy",
    "models",
    "lead",
    "grace",
    "hold",
    "credentials_dir",
    "timezone",
    "allow_long_grace",
    "rotate_after",
    "rotation_overlap",
    "verify",
    "verify_model",
    "verify_all_models",
    "verify_timeout",
    "deliver",
    "notify",
    "deadline",
    "bedrock_api_key",
    "bedrock_api_key_refresh",
    "check_models",
    "verify_before_start",
    "store",
    "secrets_prefix",
    "state",
    "lock_lease",
    "pool",
    "pool_size",
];

const WORKSHOP_KEYS: &[&str] = &[
    "id",
    "title",
    "start",
    "end",
    "user",
    "lead",
    "grace",
    "models",
    "participants",
];

const POLICIES: &[&str] = &["all-models", "restricted"];

const EXAMPLE_START: &str = "2026-12-03T09:00:00+01:00";
const EXAMPLE_END: &str = "2026-12-03T17:00:00+01:00";
const EXAMPLE_MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

/// Parse and validate a schedule. `file` is only used for messages and to resolve
/// `credentials_dir`; nothing is read from disk.
/// More workshops than any real schedule holds: refused rather than planned over (IAM itself
/// allows 5,000 users per account, two keys each).
pub const MAX_WORKSHOPS: usize = 10_000;

pub fn parse(file: &Path, text: &str) -> Result<Schedule, ScheduleError> {
    let mut parser = Parser::new(text);
    let parsed = parser.run(file);
    let diagnostics = parser.finish();
    checked(file, parsed, diagnostics)
}

/// Like `parse`, but a user needing more keys at once than AWS allows is not an error: those
/// problems come back beside the schedule (for `timeline`, which draws the clash).
pub fn parse_allowing_collisions(
    file: &Path,
    text: &str,
) -> Result<(Schedule, Vec<Diagnostic>), ScheduleError> {
    let mut parser = Parser::new(text);
    parser.collisions_apart = true;
    let parsed = parser.run(file);
    let collisions = std::mem::take(&mut parser.collisions);
    let collisions = parser.locate(collisions);
    let diagnostics = parser.finish();
    checked(file, parsed, diagnostics).map(|s| (s, collisions))
}

fn checked(
    file: &Path,
    parsed: Option<Schedule>,
    diagnostics: Vec<Diagnostic>,
) -> Result<Schedule, ScheduleError> {
    match parsed {
        Some(schedule) if diagnostics.is_empty() && schedule.workshops.len() > MAX_WORKSHOPS => {
            let line = schedule.workshops.iter().map(|w| w.line).max().unwrap_or(1);
            Err(ScheduleError::Invalid {
                path: file.to_path_buf(),
                diagnostics: vec![Diagnostic::new(
                    line,
                    1,
                    format!(
                        "{} workshops; a schedule may hold at most {MAX_WORKSHOPS}",
                        schedule.workshops.len()
                    ),
                )
                .with_hint(
                    "remove workshops that have ended (their keys are gone), or split the schedule",
                )],
            })
        }
        Some(schedule) if diagnostics.is_empty() => Ok(schedule),
        _ => Err(ScheduleError::Invalid {
            path: file.to_path_buf(),
            diagnostics,
        }),
    }
}

/// `validate`'s check that each hook's program exists and can be run, located at the program
/// in the file. Only `validate` checks this: the other commands meet a missing program when
/// they run it, and revoking keys never waits on a hook. The file is parsed again only to
/// locate a problem: a large schedule with sound hooks costs no second parse.
pub fn check_hook_programs(schedule: &Schedule, text: &str) -> Result<(), ScheduleError> {
    let problems: Vec<(&str, Problem)> = [
        ("deliver", &schedule.settings.deliver),
        ("notify", &schedule.settings.notify),
    ]
    .into_iter()
    .filter_map(|(name, argv)| {
        let program = argv.as_ref()?.first()?;
        fields::check_program(name, program, &schedule.file)
            .err()
            .map(|p| (name, p))
    })
    .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let mut parser = Parser::new(text);
    let doc = Document::parse(text).ok();
    let settings = doc
        .as_ref()
        .and_then(|d| d.get("settings"))
        .and_then(Item::as_table_like);
    for (name, problem) in problems {
        let at = settings
            .and_then(|t| t.get(name))
            .and_then(Item::as_array)
            .and_then(|a| a.get(0))
            .and_then(Value::span)
            .map_or(0, |s| s.start);
        parser.report(at, problem);
    }
    Err(ScheduleError::Invalid {
        path: schedule.file.clone(),
        diagnostics: parser.finish(),
    })
}

/// A problem was found and reported; the value is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reported;

/// A problem at a byte offset, located at the end.
struct Pending {
    offset: usize,
    message: String,
    hint: Option<String>,
}

/// A table of the schedule (`[settings]`, a `[[workshop]]`, or an inline table) and where it is.
struct Fields<'t> {
    table: &'t dyn TableLike,
    /// Byte offset of the table's header (or of its key, for dotted and inline tables).
    at: usize,
}

/// One field present in a table: where its key and its value are.
struct Field<'t> {
    key_at: usize,
    value_at: usize,
    item: &'t Item,
}

impl<'t> Fields<'t> {
    fn get(&self, name: &str) -> Option<Field<'t>> {
        let (key, item) = self.table.get_key_value(name)?;
        if item.is_none() {
            return None;
        }
        let key_at = key.span().map_or(self.at, |s| s.start);
        let value_at = item.span().map_or(key_at, |s| s.start);
        Some(Field {
            key_at,
            value_at,
            item,
        })
    }
}

/// The settings as read, plus what the workshops need to know about how reading went.
struct SettingsOut {
    settings: Settings,
    /// `Err` when `timezone` was given but is invalid (local times are then not reported).
    timezone: Result<Option<Tz>, Reported>,
    /// `None` when it was mistyped: grace lengths are then not checked.
    allow_long_grace: Option<bool>,
    /// False when settings' lead or grace are unusable: capacity is then not checked.
    timing_ok: bool,
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    pending: Vec<Pending>,
    /// Capacity problems go to `collisions` instead of `pending`.
    collisions_apart: bool,
    collisions: Vec<Pending>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Parser {
            text,
            line_starts,
            pending: Vec::new(),
            collisions_apart: false,
            collisions: Vec::new(),
        }
    }

    fn error(&mut self, offset: usize, message: impl Into<String>, hint: Option<String>) {
        self.pending.push(Pending {
            offset,
            message: message.into(),
            hint,
        });
    }

    fn report(&mut self, offset: usize, problem: Problem) {
        self.error(offset, problem.message, problem.hint);
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&start| start <= offset)
            .max(1)
    }

    /// Diagnostics sorted by position, with line and column.
    fn finish(mut self) -> Vec<Diagnostic> {
        let pending = std::mem::take(&mut self.pending);
        self.locate(pending)
    }

    /// `pending` sorted by position, with line and column.
    fn locate(&self, mut pending: Vec<Pending>) -> Vec<Diagnostic> {
        let text = self.text.as_bytes();
        for p in &mut pending {
            p.offset = p.offset.min(text.len());
        }
        pending.sort_by_key(|p| p.offset);
        // Columns counted incrementally along each line: linear in the text overall.
        let mut cursor: Option<(usize, usize, usize)> = None; // (line, offset, column)
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            let line = self.line_of(p.offset);
            let line_start = self.line_starts[line - 1];
            let (from, col) = match cursor {
                Some((l, off, col)) if l == line => (off, col),
                _ => {
                    // A byte order mark is not a column.
                    let skip = if line_start == 0 && self.text.starts_with('\u{feff}') {
                        3
                    } else {
                        0
                    };
                    (line_start + skip.min(p.offset), 1)
                }
            };
            let chars = text[from..p.offset]
                .iter()
                .filter(|&&b| (b & 0xC0) != 0x80)
                .count();
            let column = col + chars;
            cursor = Some((line, p.offset, column));
            out.push(Diagnostic {
                line,
                column,
                message: p.message,
                hint: p.hint,
            });
        }
        out
    }

    fn run(&mut self, file: &Path) -> Option<Schedule> {
        let doc = match Document::parse(self.text) {
            Ok(doc) => doc,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let message = e.message().trim().replace('\n', " ");
                self.error(
                    offset,
                    format!("invalid TOML: {message}"),
                    Some("fix the TOML syntax first; nothing else was checked".into()),
                );
                return None;
            }
        };
        let root = Fields {
            table: doc.as_table(),
            at: 0,
        };
        for (key, item) in root.table.iter() {
            if TOP_KEYS.contains(&key) || item.is_none() {
                continue;
            }
            let at = root.get(key).map_or(0, |f| f.key_at);
            let hint = if SETTINGS_KEYS.contains(&key) {
                Some(format!("`{key}` belongs in the [settings] table"))
            } else if WORKSHOP_KEYS.contains(&key) {
                Some(format!("`{key}` belongs in a [[workshop]] table"))
            } else {
                did_you_mean_hint(key, TOP_KEYS.iter().copied()).or_else(|| {
                    Some("a schedule has a [settings] table and [[workshop]] tables".into())
                })
            };
            self.error(at, format!("unknown top-level key {}", show_key(key)), hint);
        }

        let settings = self.settings(&root, file);
        let mut workshops = self.workshops(&root, &settings);
        workshops.sort_by(|(a, _), (b, _)| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let (workshops, offsets): (Vec<Workshop>, Vec<usize>) = workshops.into_iter().unzip();
        if settings.timing_ok {
            for c in capacity::collisions(&workshops) {
                let at = offsets.get(c.at).copied().unwrap_or(0);
                self.capacity_problem(at, c.message(&workshops), c.hint());
            }
            let pool = &settings.settings;
            for f in pool_capacity::shortfalls(&workshops, pool.hold, pool.pool_size) {
                let at = offsets.get(f.at).copied().unwrap_or(0);
                self.capacity_problem(at, f.message(&workshops), f.hint());
            }
        }
        Some(Schedule {
            file: file.to_path_buf(),
            settings: settings.settings,
            workshops,
        })
    }

    /// More keys needed at once than AWS allows: an error, or with `collisions_apart` a
    /// problem kept beside the schedule (for `timeline`).
    fn capacity_problem(&mut self, offset: usize, message: String, hint: String) {
        if self.collisions_apart {
            self.collisions.push(Pending {
                offset,
                message,
                hint: Some(hint),
            });
        } else {
            self.error(offset, message, Some(hint));
        }
    }

    // ---- typed fields -------------------------------------------------------------------

    /// Report keys of `fields` that are not in `known`.
    fn unknown_keys(
        &mut self,
        fields: &Fields<'_>,
        where_: &str,
        known: &[&str],
        hint_for: impl Fn(&str) -> Option<String>,
    ) {
        for (key, item) in fields.table.iter() {
            if known.contains(&key) || item.is_none() {
                continue;
            }
            let at = fields.get(key).map_or(fields.at, |f| f.key_at);
            let hint = hint_for(key)
                .or_else(|| did_you_mean_hint(key, known.iter().copied()))
                .or_else(|| Some(format!("known keys are: {}", known.join(", "))));
            self.error(
                at,
                format!("unknown key {} in {where_}", show_key(key)),
                hint,
            );
        }
    }

    fn wrong_type(&mut self, field: &Field<'_>, message: String, hint: String) -> Reported {
        let found = field.item.type_name();
        self.error(
            field.value_at,
            message,
            Some(format!("{hint} (found {})", with_article(found))),
        );
        Reported
    }

    /// A string field: `Ok(None)` when absent.
    fn string<'t>(
        &mut self,
        fields: &Fields<'t>,
        name: &str,
        example: &str,
    ) -> Result<Option<(&'t str, usize)>, Reported> {
        let Some(field) = fields.get(name) else {
            return Ok(None);
        };
        match field.item.as_str() {
            Some(s) => Ok(Some((s, field.value_at))),
            None => Err(self.wrong_type(
                &field,
                format!("{name} must be a string"),
                format!("write {name} = \"{example}\""),
            )),
        }
    }

    /// A string field that must not be empty or contain whitespace.
    fn word<'t>(
        &mut self,
        fields: &Fields<'t>,
        name: &str,
        example: &str,
    ) -> Result<Option<(&'t str, usize)>, Reported> {
        match self.string(fields, name, example)? {
            Some((s, at))
                if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                self.error(
                    at,
                    format!("{name} {} must be non-empty and without spaces", quote(s)),
                    Some(format!("e.g. {name} = \"{example}\"")),
                );
                Err(Reported)
            }
            other => Ok(other),
        }
    }

    fn boolean(&mut self, fields: &Fields<'_>, name: &str) -> Result<Option<bool>, Reported> {
        let Some(field) = fields.get(name) else {
            return Ok(None);
        };
        match field.item.as_bool() {
            Some(b) => Ok(Some(b)),
            None => Err(self.wrong_type(
                &field,
                format!("{name} must be true or false"),
                format!("write {name} = true or {name} = false, without quotes"),
            )),
        }
    }

    /// A whole number within `range`: `Ok(None)` when absent.
    fn integer(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
        example: u32,
    ) -> Result<Option<(u32, usize)>, Reported> {
        let Some(field) = fields.get(name) else {
            return Ok(None);
        };
        let Some(n) = field.item.as_integer() else {
            let hint = match field.item.as_str().map(str::trim) {
                Some(t) if t.parse::<u32>().is_ok() => {
                    format!("write it without quotes: {name} = {t}")
                }
                _ => format!("write {name} = {example}, a whole number without quotes"),
            };
            return Err(self.wrong_type(&field, format!("{name} must be a whole number"), hint));
        };
        match u32::try_from(n).ok().filter(|n| range.contains(n)) {
            Some(n) => Ok(Some((n, field.value_at))),
            None => {
                self.error(
                    field.value_at,
                    format!(
                        "{name} = {n} is out of range: it must be from {} to {}",
                        range.start(),
                        range.end()
                    ),
                    Some(format!(
                        "write {name} = {example}, or another number in that range"
                    )),
                );
                Err(Reported)
            }
        }
    }

    fn duration(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        example: &str,
    ) -> Result<Option<(TimeDelta, usize)>, Reported> {
        let Some(field) = fields.get(name) else {
            return Ok(None);
        };
        let Some(text) = field.item.as_str() else {
            return Err(self.wrong_type(
                &field,
                format!("{name} must be a duration string like \"{example}\""),
                format!("write {name} = \"{example}\", with quotes and a unit"),
            ));
        };
        match fields::parse_duration(name, text) {
            Ok(d) => Ok(Some((d, field.value_at))),
            Err(p) => {
                self.report(field.value_at, p);
                Err(Reported)
            }
        }
    }

    /// A duration that must be longer than zero.
    fn positive_duration(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        example: &str,
    ) -> Result<Option<(TimeDelta, usize)>, Reported> {
        match self.duration(fields, name, example)? {
            Some((d, at)) if d <= TimeDelta::zero() => {
                self.error(
                    at,
                    format!("{name} must be longer than zero"),
                    Some(format!("e.g. {name} = \"{example}\"")),
                );
                Err(Reported)
            }
            other => Ok(other),
        }
    }

    /// A grace period: over `MAX_GRACE` only with `allow_long_grace = true`.
    fn grace(
        &mut self,
        fields: &Fields<'_>,
        allow_long_grace: Option<bool>,
    ) -> Result<Option<TimeDelta>, Reported> {
        let Some((grace, at)) = self.duration(fields, "grace", "1h")? else {
            return Ok(None);
        };
        if grace > MAX_GRACE && allow_long_grace == Some(false) {
            let written = fields
                .get("grace")
                .and_then(|g| g.item.as_str())
                .unwrap_or("");
            self.error(
                at,
                format!(
                    "grace = {} is longer than {}",
                    quote(written),
                    fields::format_duration(MAX_GRACE)
                ),
                Some(
                    "keys should be revoked within a day of a workshop's end; to allow a longer \
                     grace, set allow_long_grace = true in [settings]"
                        .into(),
                ),
            );
            return Err(Reported);
        }
        Ok(Some(grace))
    }

    fn datetime(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        example: &str,
        timezone: Result<Option<Tz>, Reported>,
    ) -> Result<Option<DateTime<Utc>>, Reported> {
        let Some(field) = fields.get(name) else {
            return Ok(None);
        };
        match field.item.as_value() {
            Some(Value::Datetime(dt)) => {
                let tz = timezone.map_err(|_| ());
                match fields::resolve_datetime(name, dt.value(), tz) {
                    Ok(Some(t)) => Ok(Some(t)),
                    Ok(None) => Err(Reported),
                    Err(p) => {
                        self.report(field.value_at, p);
                        Err(Reported)
                    }
                }
            }
            Some(Value::String(s)) => {
                let written = s.value().trim();
                let hint = if written.parse::<toml_edit::Datetime>().is_ok() {
                    format!("write it without quotes: {name} = {written}")
                } else {
                    format!("write an unquoted TOML date-time, e.g. {name} = {example}")
                };
                self.error(
                    field.value_at,
                    format!("{name} must be a TOML date-time, not a string"),
                    Some(hint),
                );
                Err(Reported)
            }
            _ => Err(self.wrong_type(
                &field,
                format!("{name} must be a date-time"),
                format!("write an unquoted TOML date-time, e.g. {name} = {example}"),
            )),
        }
    }
}

/// A key as written in messages: bare when simple, quoted (escaped, shortened) otherwise.
fn show_key(key: &str) -> String {
    let simple = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if simple {
        format!("`{key}`")
    } else {
        quote(key)
    }
}

fn with_article(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}
