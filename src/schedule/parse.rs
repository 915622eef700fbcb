//! Schedule text -> validated `Schedule`, collecting every problem with its location.
//!
//! The TOML is parsed with `toml_edit`, which keeps byte spans, and then walked by hand so that
//! every problem is found (not just the first), each located at the offending key or value.
//! Locations are gathered as byte offsets and turned into 1-based line and column (in
//! characters) in one pass at the end, so even a huge one-line file costs linear time.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use toml_edit::{Document, Item, TableLike, Value};

use super::capacity;
use super::fields::{self, did_you_mean_hint, quote, Problem};
use super::{
    Diagnostic, PolicyChoice, Schedule, ScheduleError, Settings, Workshop,
    DEFAULT_BEDROCK_API_KEY_REFRESH, DEFAULT_CREDENTIALS_DIR, DEFAULT_PATH, DEFAULT_REGION,
    DEFAULT_USER, DEFAULT_VERIFY_MODEL, MAX_GRACE,
};
use crate::core::{limits, policy};

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
];

const WORKSHOP_KEYS: &[&str] = &[
    "id", "title", "start", "end", "user", "lead", "grace", "models",
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
/// they run it, and revoking keys never waits on a hook.
pub fn check_hook_programs(schedule: &Schedule, text: &str) -> Result<(), ScheduleError> {
    let mut parser = Parser::new(text);
    let doc = Document::parse(text).ok();
    let settings = doc
        .as_ref()
        .and_then(|d| d.get("settings"))
        .and_then(Item::as_table_like);
    for (name, argv) in [
        ("deliver", &schedule.settings.deliver),
        ("notify", &schedule.settings.notify),
    ] {
        let Some(program) = argv.as_ref().and_then(|a| a.first()) else {
            continue;
        };
        let at = settings
            .and_then(|t| t.get(name))
            .and_then(Item::as_array)
            .and_then(|a| a.get(0))
            .and_then(Value::span)
            .map_or(0, |s| s.start);
        if let Err(p) = fields::check_program(name, program, &schedule.file) {
            parser.report(at, p);
        }
    }
    let diagnostics = parser.finish();
    if diagnostics.is_empty() {
        return Ok(());
    }
    Err(ScheduleError::Invalid {
        path: schedule.file.clone(),
        diagnostics,
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
            for collision in capacity::collisions(&workshops) {
                let at = offsets.get(collision.at).copied().unwrap_or(0);
                if self.collisions_apart {
                    self.collisions.push(Pending {
                        offset: at,
                        message: collision.message(&workshops),
                        hint: Some(collision.hint()),
                    });
                } else {
                    self.error(at, collision.message(&workshops), Some(collision.hint()));
                }
            }
        }
        Some(Schedule {
            file: file.to_path_buf(),
            settings: settings.settings,
            workshops,
        })
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

    // ---- [settings] ---------------------------------------------------------------------

    fn settings(&mut self, root: &Fields<'_>, file: &Path) -> SettingsOut {
        let mut out = SettingsOut {
            settings: default_settings(file),
            timezone: Ok(None),
            allow_long_grace: Some(false),
            timing_ok: true,
        };
        let Some(field) = root.get("settings") else {
            return out;
        };
        let Some(table) = field.item.as_table_like() else {
            let found = field.item.type_name();
            self.error(
                field.key_at,
                "settings must be a table".to_string(),
                Some(format!(
                    "write a single [settings] table (found {})",
                    with_article(found)
                )),
            );
            out.timezone = Err(Reported);
            out.allow_long_grace = None;
            out.timing_ok = false;
            return out;
        };
        let f = Fields {
            table,
            at: field.item.span().map_or(field.key_at, |s| s.start),
        };
        self.unknown_keys(&f, "[settings]", SETTINGS_KEYS, |key| {
            WORKSHOP_KEYS
                .contains(&key)
                .then(|| format!("`{key}` belongs in a [[workshop]] table"))
        });
        let s = &mut out.settings;

        if let Ok(Some((region, at))) = self.word(&f, "region", DEFAULT_REGION) {
            match fields::check_region(region) {
                Ok(()) => s.region = region.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((user, at))) = self.string(&f, "user", DEFAULT_USER) {
            match fields::check_user_name(user) {
                Ok(()) => s.user = user.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((path, at))) = self.string(&f, "path", DEFAULT_PATH) {
            match fields::check_iam_path(path) {
                Ok(()) => s.path = path.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some(b)) = self.boolean(&f, "deadline") {
            s.deadline = b;
        }
        // Before the policy: its size check measures the document with the bearer statement.
        self.bedrock_api_key(&f, s);
        self.policy(&f, s);

        match self.duration(&f, "lead", "24h") {
            Ok(Some((d, _))) => s.lead = d,
            Ok(None) => {}
            Err(Reported) => out.timing_ok = false,
        }
        if let Ok(Some((d, _))) = self.duration(&f, "hold", "24h") {
            s.hold = d;
        }
        match self.boolean(&f, "allow_long_grace") {
            Ok(b) => {
                s.allow_long_grace = b.unwrap_or(false);
                out.allow_long_grace = Some(s.allow_long_grace);
            }
            Err(Reported) => out.allow_long_grace = None,
        }
        match self.grace(&f, out.allow_long_grace) {
            Ok(Some(d)) => s.grace = d,
            Ok(None) => {}
            Err(Reported) => out.timing_ok = false,
        }

        if let Ok(Some((dir, at))) = self.string(&f, "credentials_dir", DEFAULT_CREDENTIALS_DIR) {
            if dir.trim().is_empty() {
                self.error(
                    at,
                    "credentials_dir must not be empty",
                    Some(format!(
                        "write credentials_dir = \"{DEFAULT_CREDENTIALS_DIR}\" (relative to the \
                         schedule file) or an absolute path"
                    )),
                );
            } else {
                s.credentials_dir = resolve_dir(file, dir);
            }
        }
        match self.string(&f, "timezone", "Europe/Berlin") {
            Ok(Some((name, at))) => match fields::parse_timezone(name) {
                Ok(tz) => {
                    s.timezone = Some(tz);
                    out.timezone = Ok(Some(tz));
                }
                Err(p) => {
                    self.report(at, p);
                    out.timezone = Err(Reported);
                }
            },
            Ok(None) => {}
            Err(Reported) => out.timezone = Err(Reported),
        }

        if let Ok(Some((d, _))) = self.positive_duration(&f, "rotate_after", "30d") {
            s.rotate_after = Some(d);
        }
        if let Ok(Some((d, _))) = self.duration(&f, "rotation_overlap", "1h") {
            s.rotation_overlap = d;
        }
        if let Ok(Some(b)) = self.boolean(&f, "verify") {
            s.verify = b;
        }
        if let Ok(Some((model, _))) = self.word(&f, "verify_model", DEFAULT_VERIFY_MODEL) {
            s.verify_model = model.to_string();
        }
        if let Ok(Some(b)) = self.boolean(&f, "verify_all_models") {
            s.verify_all_models = b;
        }
        if let Ok(Some((d, _))) = self.positive_duration(&f, "verify_timeout", "60s") {
            s.verify_timeout = d;
        }
        if let Ok(Some(b)) = self.boolean(&f, "check_models") {
            s.check_models = b;
        }
        if let Ok(Some((d, _))) = self.duration(&f, "verify_before_start", "1h") {
            s.verify_before_start = d;
        }
        if let Ok(Some(argv)) = self.command(&f, "deliver") {
            s.deliver = Some(argv);
        }
        if let Ok(Some(argv)) = self.command(&f, "notify") {
            s.notify = Some(argv);
        }
        self.backends(&f, &mut s.backends);
        out
    }

    /// `store`, `secrets_prefix`, `state`, `lock_lease` (checked in `super::backends`).
    fn backends(&mut self, f: &Fields<'_>, b: &mut super::backends::Backends) {
        use super::backends as checks;
        if let Ok(Some((v, at))) = self.string(f, "store", "secretsmanager") {
            match checks::check_store(v) {
                Ok(kind) => b.store = kind,
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((v, at))) = self.string(f, "secrets_prefix", checks::DEFAULT_SECRETS_PREFIX)
        {
            match checks::check_secrets_prefix(v) {
                Ok(()) => b.secrets_prefix = v.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((v, at))) = self.string(f, "state", "s3://my-bucket/workshop-keys") {
            match checks::check_state(v) {
                Ok(loc) => b.state = Some(loc),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((d, at))) = self.duration(f, "lock_lease", "10m") {
            match checks::check_lock_lease(d) {
                Ok(()) => b.lock_lease = d,
                Err(p) => self.report(at, p),
            }
        }
    }

    /// `bedrock_api_key` and `bedrock_api_key_refresh`.
    fn bedrock_api_key(&mut self, f: &Fields<'_>, s: &mut Settings) {
        if let Ok(Some(b)) = self.boolean(f, "bedrock_api_key") {
            s.bedrock_api_key = b;
        }
        let max = crate::bedrock_api_key::MAX_LIFE;
        match self.positive_duration(f, "bedrock_api_key_refresh", "4h") {
            Ok(Some((d, at))) if d >= max => self.error(
                at,
                format!(
                    "bedrock_api_key_refresh must be shorter than {} (the longest life of a token): every run would renew every token",
                    crate::time::human(max)
                ),
                Some("e.g. bedrock_api_key_refresh = \"4h\"".into()),
            ),
            Ok(Some((_, at))) if !s.bedrock_api_key => self.error(
                at,
                "bedrock_api_key_refresh is only used with bedrock_api_key = true",
                Some("set bedrock_api_key = true to hand out Bedrock API keys, or remove bedrock_api_key_refresh".into()),
            ),
            Ok(Some((d, _))) => s.bedrock_api_key_refresh = d,
            _ => {}
        }
    }

    /// `policy` and `models`.
    fn policy(&mut self, f: &Fields<'_>, s: &mut Settings) {
        let policy = match self.string(f, "policy", "all-models") {
            Ok(None) => Some(("all-models", None)),
            Ok(Some((p, at))) if POLICIES.contains(&p) => Some((p, Some(at))),
            Ok(Some((p, at))) => {
                let hint = did_you_mean_hint(p, POLICIES.iter().copied()).unwrap_or_else(|| {
                    "use policy = \"all-models\" or policy = \"restricted\"".into()
                });
                self.error(at, format!("unknown policy {}", quote(p)), Some(hint));
                None
            }
            Err(Reported) => None,
        };
        let models = self.models(f);
        let models_hint = format!(
            "list the model ids or ARNs keys may invoke, e.g. models = [\"{EXAMPLE_MODEL}\"]"
        );
        match policy {
            None => {}
            Some(("restricted", policy_at)) => match models {
                Ok(Some((models, at))) if !models.is_empty() => {
                    let choice = PolicyChoice::Restricted { models };
                    match policy_size_problem(&choice, s.deadline, s.bedrock_api_key) {
                        None => s.policy = choice,
                        Some((message, hint)) => self.error(at, message, Some(hint)),
                    }
                }
                Ok(Some((_, at))) => self.error(
                    at,
                    "models is empty, but policy = \"restricted\" needs at least one model",
                    Some(models_hint),
                ),
                Ok(None) => self.error(
                    policy_at.unwrap_or(f.at),
                    "policy = \"restricted\" needs a non-empty models list",
                    Some(models_hint),
                ),
                Err(Reported) => {}
            },
            Some(_) => {
                // With the wildcard policy, `models` names what the workshops use: for
                // readiness checks and verification; the policy stays `*`.
                if let Ok(Some((models, _))) = models {
                    s.models = models;
                }
            }
        }
        if let PolicyChoice::Restricted { models } = &s.policy {
            s.models = models.clone();
        }
    }

    /// A command as `["program", "arg", ...]`: a non-empty array of strings, the program
    /// non-empty. Run without a shell, so nothing in it is interpreted.
    fn command(&mut self, f: &Fields<'_>, name: &str) -> Result<Option<Vec<String>>, Reported> {
        let Some(field) = f.get(name) else {
            return Ok(None);
        };
        let hint = format!(
            "write {name} = [\"program\", \"argument\", ...], e.g. {name} = [\"/usr/local/bin/hand-over\", \"--vault\", \"workshops\"]"
        );
        let argv: Option<Vec<String>> = field.item.as_array().and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
        });
        match argv {
            Some(argv) if argv.first().is_some_and(|p| !p.trim().is_empty()) => Ok(Some(argv)),
            Some(_) => {
                self.error(
                    field.value_at,
                    format!("{name} needs at least the program to run"),
                    Some(hint),
                );
                Err(Reported)
            }
            None => Err(self.wrong_type(
                &field,
                format!("{name} must be an array of strings (the program and its arguments)"),
                hint,
            )),
        }
    }

    /// `models = [...]`: every element a non-empty string without spaces.
    fn models(&mut self, f: &Fields<'_>) -> Result<Option<(Vec<String>, usize)>, Reported> {
        let Some(field) = f.get("models") else {
            return Ok(None);
        };
        let Some(array) = field.item.as_array() else {
            return Err(self.wrong_type(
                &field,
                "models must be an array of model ids".to_string(),
                format!("write models = [\"{EXAMPLE_MODEL}\"]"),
            ));
        };
        let mut models = Vec::with_capacity(array.len());
        let mut ok = true;
        for value in array.iter() {
            let at = value.span().map_or(field.value_at, |s| s.start);
            match value.as_str() {
                Some(m)
                    if !m.is_empty() && !m.chars().any(|c| c.is_whitespace() || c.is_control()) =>
                {
                    models.push(m.to_string());
                }
                Some(m) => {
                    self.error(
                        at,
                        format!("invalid model id {}", quote(m)),
                        Some(format!(
                            "a model id or ARN is non-empty and has no spaces, e.g. \"{EXAMPLE_MODEL}\""
                        )),
                    );
                    ok = false;
                }
                None => {
                    self.error(
                        at,
                        "models must be an array of strings",
                        Some(format!(
                            "quote each model id, e.g. \"{EXAMPLE_MODEL}\" (found {})",
                            with_article(value.type_name())
                        )),
                    );
                    ok = false;
                }
            }
        }
        if ok {
            Ok(Some((models, field.value_at)))
        } else {
            Err(Reported)
        }
    }

    // ---- [[workshop]] -------------------------------------------------------------------

    /// Every workshop that validated, with the offset of its header.
    fn workshops(&mut self, root: &Fields<'_>, s: &SettingsOut) -> Vec<(Workshop, usize)> {
        let Some(field) = root.get("workshop") else {
            return Vec::new();
        };
        let mut tables: Vec<Fields<'_>> = Vec::new();
        match field.item {
            Item::ArrayOfTables(aot) => {
                for t in aot.iter() {
                    let at = t.span().map_or(field.key_at, |s| s.start);
                    tables.push(Fields { table: t, at });
                }
            }
            Item::Value(Value::Array(array)) => {
                for value in array.iter() {
                    let at = value.span().map_or(field.value_at, |s| s.start);
                    match value.as_inline_table() {
                        Some(t) => tables.push(Fields { table: t, at }),
                        None => self.error(
                            at,
                            "each workshop must be a table",
                            Some(format!(
                                "start each workshop with a [[workshop]] header (found {})",
                                with_article(value.type_name())
                            )),
                        ),
                    }
                }
            }
            other => {
                let at = other.span().map_or(field.key_at, |s| s.start);
                self.error(
                    at,
                    "workshop must be an array of tables",
                    Some(format!(
                        "start each workshop with [[workshop]] (double brackets) (found {})",
                        with_article(other.type_name())
                    )),
                );
            }
        }

        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(tables.len());
        let mut out = Vec::with_capacity(tables.len());
        for f in &tables {
            if let Some(w) = self.workshop(f, s, &mut seen) {
                out.push((w, f.at));
            }
        }
        out
    }

    fn workshop<'t>(
        &mut self,
        f: &Fields<'t>,
        s: &SettingsOut,
        seen: &mut HashMap<&'t str, usize>,
    ) -> Option<Workshop> {
        self.unknown_keys(f, "[[workshop]]", WORKSHOP_KEYS, |key| {
            SETTINGS_KEYS
                .contains(&key)
                .then(|| format!("`{key}` can only be set in [settings]"))
        });
        let mut ok = true;

        let id = match self.string(f, "id", "context-engine-berlin") {
            Ok(Some((id, at))) => match fields::check_workshop_id(id) {
                Ok(()) => {
                    if let Some(&first) = seen.get(id) {
                        let line = self.line_of(first);
                        self.error(
                            at,
                            format!(
                                "duplicate workshop id {} (first used on line {line})",
                                quote(id)
                            ),
                            Some("workshop ids must be unique; rename one of them".into()),
                        );
                        ok = false;
                    } else {
                        seen.insert(id, at);
                    }
                    Some(id)
                }
                Err(p) => {
                    self.report(at, p);
                    None
                }
            },
            Ok(None) => {
                self.error(
                    f.at,
                    "workshop has no id",
                    Some(
                        "add id = \"...\": unique, 1-64 characters of A-Z a-z 0-9 . _ -, used in \
                         file names and IAM tags"
                            .into(),
                    ),
                );
                None
            }
            Err(Reported) => None,
        };
        let what = match id {
            Some(id) => format!("workshop {}", quote(id)),
            None => "workshop".to_string(),
        };

        let title = match self.string(f, "title", "Real-time context engine, Berlin") {
            Ok(Some((t, at))) if t.chars().any(char::is_control) => {
                self.error(
                    at,
                    "title must not contain control characters (newlines, tabs, escapes)",
                    Some("write the title on one line, as plain text".into()),
                );
                ok = false;
                None
            }
            Ok(t) => t.map(|(t, _)| t.to_string()),
            Err(Reported) => {
                ok = false;
                None
            }
        };

        let mut times = [None, None];
        for (slot, (name, example)) in times
            .iter_mut()
            .zip([("start", EXAMPLE_START), ("end", EXAMPLE_END)])
        {
            match self.datetime(f, name, example, s.timezone) {
                Ok(Some(t)) => *slot = Some(t),
                Ok(None) => {
                    self.error(
                        f.at,
                        format!("{what} has no {name}"),
                        Some(format!("add {name} = {example}")),
                    );
                    ok = false;
                }
                Err(Reported) => ok = false,
            }
        }
        if let [Some(start), Some(end)] = times {
            if end <= start {
                let at = f.get("end").map_or(f.at, |field| field.value_at);
                self.error(
                    at,
                    format!(
                        "{what} ends ({}) before or when it starts ({})",
                        crate::time::rfc3339_utc(end),
                        crate::time::rfc3339_utc(start)
                    ),
                    Some("end must be after start".into()),
                );
                ok = false;
            }
        }

        let user = match self.string(f, "user", DEFAULT_USER) {
            Ok(Some((user, at))) => match fields::check_user_name(user) {
                Ok(()) => user.to_string(),
                Err(p) => {
                    self.report(at, p);
                    ok = false;
                    String::new()
                }
            },
            Ok(None) => s.settings.user.clone(),
            Err(Reported) => {
                ok = false;
                String::new()
            }
        };
        let lead = match self.duration(f, "lead", "24h") {
            Ok(d) => d.map_or(s.settings.lead, |(d, _)| d),
            Err(Reported) => {
                ok = false;
                s.settings.lead
            }
        };
        let grace = match self.grace(f, s.allow_long_grace) {
            Ok(d) => d.unwrap_or(s.settings.grace),
            Err(Reported) => {
                ok = false;
                s.settings.grace
            }
        };

        let models = match self.models(f) {
            Ok(Some((models, at))) => {
                // A restricted policy is the user's, shared by its workshops: a model outside
                // it would only fail verification.
                if let PolicyChoice::Restricted { models: allowed } = &s.settings.policy {
                    if let Some(m) = models.iter().find(|m| !allowed.contains(m)) {
                        self.error(
                            at,
                            format!(
                                "{what} uses model {}, which policy = \"restricted\" does not allow",
                                quote(m)
                            ),
                            Some(
                                "add the model to models in [settings], or remove it here".into(),
                            ),
                        );
                        ok = false;
                    }
                }
                models
            }
            Ok(None) => s.settings.models.clone(),
            Err(Reported) => {
                ok = false;
                Vec::new()
            }
        };

        match (ok, id, times) {
            (true, Some(id), [Some(start), Some(end)]) => Some(Workshop {
                id: id.to_string(),
                title,
                start,
                end,
                user,
                lead,
                grace,
                models,
                line: self.line_of(f.at),
            }),
            _ => None,
        }
    }
}

/// IAM refuses `PutUserPolicy` when a user's inline policies exceed
/// `limits::INLINE_POLICY_CHARS` (the emulator does not): measure the document the tool will
/// write, deadline statement included (its time has a fixed width), and the bearer-token
/// statement with `bedrock_api_key`.
fn policy_size_problem(
    choice: &PolicyChoice,
    deadline: bool,
    bearer_tokens: bool,
) -> Option<(String, String)> {
    let doc = policy::document_for(
        choice,
        deadline.then_some(policy::NO_WINDOW_YET),
        bearer_tokens,
    );
    let size = policy::size(&doc);
    let limit = limits::INLINE_POLICY_CHARS;
    let PolicyChoice::Restricted { models } = choice else {
        return None;
    };
    (size > limit).then(|| {
        (
            format!(
                "the policy {} for these {} would be {size} characters (white space not counted); AWS allows {limit} for all of a user's inline policies together and refuses PutUserPolicy beyond that",
                policy::POLICY_NAME,
                match models.len() {
                    1 => "1 model".to_string(),
                    n => format!("{n} models"),
                }
            ),
            "list fewer models (an inference profile id such as \"us.…\" adds one ARN per region it routes to), or use policy = \"all-models\"".to_string(),
        )
    })
}

fn default_settings(file: &Path) -> Settings {
    Settings {
        region: DEFAULT_REGION.to_string(),
        user: DEFAULT_USER.to_string(),
        path: DEFAULT_PATH.to_string(),
        policy: PolicyChoice::AllModels,
        lead: TimeDelta::hours(24),
        grace: TimeDelta::hours(1),
        hold: TimeDelta::hours(24),
        credentials_dir: resolve_dir(file, DEFAULT_CREDENTIALS_DIR),
        timezone: None,
        allow_long_grace: false,
        rotate_after: None,
        rotation_overlap: TimeDelta::hours(1),
        verify: true,
        verify_model: DEFAULT_VERIFY_MODEL.to_string(),
        verify_all_models: true,
        verify_timeout: TimeDelta::seconds(60),
        models: Vec::new(),
        check_models: true,
        verify_before_start: TimeDelta::hours(1),
        deadline: true,
        deliver: None,
        notify: None,
        bedrock_api_key: false,
        bedrock_api_key_refresh: DEFAULT_BEDROCK_API_KEY_REFRESH,
        backends: Default::default(),
    }
}

/// `dir` relative to the schedule file's directory; absolute paths stay as they are.
fn resolve_dir(file: &Path, dir: &str) -> std::path::PathBuf {
    let parent = file.parent().unwrap_or_else(|| Path::new(""));
    parent.join(dir)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn ok(text: &str) -> Schedule {
        match parse(Path::new("dir/w.toml"), text) {
            Ok(s) => s,
            Err(e) => panic!("expected a valid schedule, got:\n{e}"),
        }
    }

    /// Every diagnostic as `LINE:COL: message | hint`.
    fn errs(text: &str) -> Vec<String> {
        match parse(Path::new("w.toml"), text) {
            Ok(_) => vec![],
            Err(ScheduleError::Invalid { diagnostics, .. }) => diagnostics
                .iter()
                .map(|d| match &d.hint {
                    Some(h) => format!("{}:{}: {} | {}", d.line, d.column, d.message, h),
                    None => format!("{}:{}: {}", d.line, d.column, d.message),
                })
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    /// The single diagnostic of `text`, which must have exactly one.
    fn one(text: &str) -> String {
        let e = errs(text);
        assert_eq!(e.len(), 1, "expected one diagnostic, got {e:#?}");
        e.into_iter().next().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const W: &str = "[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00+01:00\nend = 2026-12-03T17:00:00+01:00\n";

    #[test]
    fn empty_file_is_a_valid_schedule_with_defaults() {
        let s = ok("");
        assert!(s.workshops.is_empty());
        assert_eq!(s.file, PathBuf::from("dir/w.toml"));
        assert_eq!(s.settings, default_settings(Path::new("dir/w.toml")));
        assert_eq!(s.settings.credentials_dir, PathBuf::from("dir/credentials"));
        assert_eq!(s.settings.region, "us-east-1");
        assert_eq!(s.settings.user, "workshop-bedrock-user");
        assert_eq!(s.settings.path, "/workshop/");
        assert_eq!(s.settings.policy, PolicyChoice::AllModels);
        assert_eq!(s.settings.lead, TimeDelta::hours(24));
        assert_eq!(s.settings.grace, TimeDelta::hours(1));
        assert_eq!(s.settings.hold, TimeDelta::hours(24));
        assert_eq!(s.settings.rotation_overlap, TimeDelta::hours(1));
        assert_eq!(s.settings.verify_timeout, TimeDelta::seconds(60));
        assert!(s.settings.verify && s.settings.verify_all_models && !s.settings.allow_long_grace);
        assert_eq!(s.settings.verify_model, "amazon.titan-embed-text-v1");
        assert_eq!((s.settings.timezone, s.settings.rotate_after), (None, None));
        assert!(ok("# only a comment\n\n[settings]\n").workshops.is_empty());
    }

    #[test]
    fn every_setting_is_read() {
        let s = ok(r#"
[settings]
region = "eu-central-1"
user = "trainer"
path = "/ws/berlin/"
policy = "restricted"
models = ["anthropic.claude-3-5-haiku-20241022-v1:0", "arn:aws:bedrock:eu-central-1::foundation-model/x"]
lead = "2d"
grace = "90m"
hold = "12h"
credentials_dir = "/var/lib/keys"
timezone = "Europe/Berlin"
allow_long_grace = true
rotate_after = "7d"
rotation_overlap = "30m"
verify = false
verify_model = "amazon.titan-embed-text-v2:0"
verify_all_models = false
verify_timeout = "2m"
"#);
        let st = &s.settings;
        assert_eq!(st.region, "eu-central-1");
        assert_eq!(st.user, "trainer");
        assert_eq!(st.path, "/ws/berlin/");
        assert_eq!(
            st.policy,
            PolicyChoice::Restricted {
                models: vec![
                    "anthropic.claude-3-5-haiku-20241022-v1:0".into(),
                    "arn:aws:bedrock:eu-central-1::foundation-model/x".into()
                ]
            }
        );
        assert_eq!(st.lead, TimeDelta::days(2));
        assert_eq!(st.grace, TimeDelta::minutes(90));
        assert_eq!(st.hold, TimeDelta::hours(12));
        assert_eq!(st.credentials_dir, PathBuf::from("/var/lib/keys"));
        assert_eq!(st.timezone, Some(chrono_tz::Europe::Berlin));
        assert!(st.allow_long_grace);
        assert_eq!(st.rotate_after, Some(TimeDelta::days(7)));
        assert_eq!(st.rotation_overlap, TimeDelta::minutes(30));
        assert!(!st.verify && !st.verify_all_models);
        assert_eq!(st.verify_model, "amazon.titan-embed-text-v2:0");
        assert_eq!(st.verify_timeout, TimeDelta::minutes(2));
    }

    #[test]
    fn credentials_dir_is_relative_to_the_schedule() {
        let text = "[settings]\ncredentials_dir = \"keys/out\"\n";
        let s = parse(Path::new("/srv/ws/workshops.toml"), text).unwrap();
        assert_eq!(
            s.settings.credentials_dir,
            PathBuf::from("/srv/ws/keys/out")
        );
        let s = parse(Path::new("workshops.toml"), text).unwrap();
        assert_eq!(s.settings.credentials_dir, PathBuf::from("keys/out"));
    }

    #[test]
    fn workshops_are_resolved_and_sorted() {
        let s = ok(r#"
[settings]
lead = "12h"

[[workshop]]
id = "late"
title = "Late one"
start = 2026-12-04T09:00:00Z
end = 2026-12-04T10:00:00Z
user = "other-user"
grace = "30m"

[[workshop]]
id = "b"
start = 2026-12-03T09:00:00+01:00
end = 2026-12-03T17:00:00+01:00

[[workshop]]
id = "a"
start = 2026-12-03T08:00:00Z
end = 2026-12-03T09:00:00Z
lead = "1h"
"#);
        let ids: Vec<&str> = s.workshops.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "late"]);
        let [a, b, late] = &s.workshops[..] else {
            panic!()
        };
        assert_eq!((a.line, b.line, late.line), (18, 13, 5));
        assert_eq!(b.start, at("2026-12-03T08:00:00Z"));
        assert_eq!(b.end, at("2026-12-03T16:00:00Z"));
        assert_eq!(
            (b.user.as_str(), b.lead, b.grace),
            (
                "workshop-bedrock-user",
                TimeDelta::hours(12),
                TimeDelta::hours(1)
            )
        );
        assert_eq!((a.lead, a.title.as_deref()), (TimeDelta::hours(1), None));
        assert_eq!(late.user, "other-user");
        assert_eq!(late.grace, TimeDelta::minutes(30));
        assert_eq!(late.title.as_deref(), Some("Late one"));
        assert_eq!(s.users(), ["other-user", "workshop-bedrock-user"]);
    }

    #[test]
    fn inline_workshops_and_dotted_settings_are_tables_too() {
        let s = ok("settings.user = \"u1\"\nworkshop = [\n  { id = \"x\", start = 2026-12-03T09:00:00Z, end = 2026-12-03T10:00:00Z },\n]\n");
        assert_eq!(s.settings.user, "u1");
        assert_eq!(s.workshops[0].user, "u1");
        assert_eq!(s.workshops[0].line, 3);
    }

    #[test]
    fn syntax_error_is_the_only_diagnostic() {
        assert_eq!(
            one("[settings]\nregion = \"us-east-1\nlead = 3\n[[workshop]]\nid = 7\n"),
            "2:20: invalid TOML: invalid basic string, expected `\"` | fix the TOML syntax first; nothing else was checked"
        );
        assert!(one("x = 1\nx = 2\n").starts_with("2:1: invalid TOML: duplicate key"));
        assert!(one("[[workshop]]\nid = 'a'\nid = 'b'\n")
            .starts_with("3:1: invalid TOML: duplicate key"));
    }

    #[test]
    fn unknown_keys_everywhere_with_did_you_mean() {
        let e = errs("regoin = 1\n[[workshops]]\n[settings]\nregoin = \"x\"\nstart = 1\nnonsense = 1\n[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T10:00:00Z\ntitel = \"t\"\nregion = \"x\"\n");
        assert_eq!(
            e,
            [
                "1:1: unknown top-level key `regoin` | a schedule has a [settings] table and [[workshop]] tables".to_string(),
                "2:3: unknown top-level key `workshops` | did you mean `workshop`?".into(),
                "4:1: unknown key `regoin` in [settings] | did you mean `region`?".into(),
                "5:1: unknown key `start` in [settings] | `start` belongs in a [[workshop]] table".into(),
                format!("6:1: unknown key `nonsense` in [settings] | known keys are: {}", SETTINGS_KEYS.join(", ")),
                "11:1: unknown key `titel` in [[workshop]] | did you mean `title`?".into(),
                "12:1: unknown key `region` in [[workshop]] | `region` can only be set in [settings]".into(),
            ]
        );
        assert_eq!(
            one("lead = \"24h\"\n"),
            "1:1: unknown top-level key `lead` | `lead` belongs in the [settings] table"
        );
        assert_eq!(
            one("\"we ird\" = 1\n"),
            "1:1: unknown top-level key \"we ird\" | a schedule has a [settings] table and [[workshop]] tables"
        );
    }

    #[test]
    fn settings_and_workshop_must_have_the_right_shape() {
        assert_eq!(
            one("settings = 3\n"),
            "1:1: settings must be a table | write a single [settings] table (found an integer)"
        );
        assert_eq!(
            one("[[settings]]\nregion = \"us-east-1\"\n"),
            "1:3: settings must be a table | write a single [settings] table (found an array of tables)"
        );
        assert_eq!(
            one("[workshop]\nid = \"a\"\n"),
            "1:1: workshop must be an array of tables | start each workshop with [[workshop]] (double brackets) (found a table)"
        );
        assert_eq!(
            one("workshop = [1]\n"),
            "1:13: each workshop must be a table | start each workshop with a [[workshop]] header (found an integer)"
        );
    }

    #[test]
    fn missing_required_fields_point_at_the_header() {
        assert_eq!(
            errs("\n  [[workshop]]\ntitle = \"x\"\n"),
            [
                "2:3: workshop has no id | add id = \"...\": unique, 1-64 characters of A-Z a-z 0-9 . _ -, used in file names and IAM tags",
                "2:3: workshop has no start | add start = 2026-12-03T09:00:00+01:00",
                "2:3: workshop has no end | add end = 2026-12-03T17:00:00+01:00",
            ]
        );
        assert_eq!(
            one("[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00Z\n"),
            "1:1: workshop \"a\" has no end | add end = 2026-12-03T17:00:00+01:00"
        );
    }

    #[test]
    fn mistyped_fields() {
        assert_eq!(
            one("[settings]\nlead = 24\n"),
            "2:8: lead must be a duration string like \"24h\" | write lead = \"24h\", with quotes and a unit (found an integer)"
        );
        assert_eq!(
            one("[settings]\nverify = \"yes\"\n"),
            "2:10: verify must be true or false | write verify = true or verify = false, without quotes (found a string)"
        );
        assert_eq!(
            one("[settings]\nregion = [\"us-east-1\"]\n"),
            "2:10: region must be a string | write region = \"us-east-1\" (found an array)"
        );
        assert_eq!(
            one("[settings]\npolicy = \"restricted\"\nmodels = \"m\"\n"),
            "3:10: models must be an array of model ids | write models = [\"anthropic.claude-3-5-haiku-20241022-v1:0\"] (found a string)"
        );
    }

    #[test]
    fn start_as_a_string_hints_at_an_unquoted_date_time() {
        let e = one(&W.replace(
            "start = 2026-12-03T09:00:00+01:00",
            "start = \"2026-12-03T09:00:00+01:00\"",
        ));
        assert_eq!(
            e,
            "3:9: start must be a TOML date-time, not a string | write it without quotes: start = 2026-12-03T09:00:00+01:00"
        );
        let e = one(&W.replace("end = 2026-12-03T17:00:00+01:00", "end = \"tomorrow\""));
        assert_eq!(
            e,
            "4:7: end must be a TOML date-time, not a string | write an unquoted TOML date-time, e.g. end = 2026-12-03T17:00:00+01:00"
        );
        let e = one(&W.replace("end = 2026-12-03T17:00:00+01:00", "end = 1700"));
        assert_eq!(
            e,
            "4:7: end must be a date-time | write an unquoted TOML date-time, e.g. end = 2026-12-03T17:00:00+01:00 (found an integer)"
        );
    }

    #[test]
    fn duplicate_ids_point_at_the_second_and_name_the_first_line() {
        let text = format!("{W}\n{}", W.replace("09:00", "10:00"));
        assert_eq!(
            one(&text),
            "7:6: duplicate workshop id \"a\" (first used on line 2) | workshop ids must be unique; rename one of them"
        );
    }

    #[test]
    fn bad_ids() {
        for (id, col) in [
            ("../x", 6),
            (".", 6),
            ("..", 6),
            ("", 6),
            ("a b", 6),
            ("ü", 6),
        ] {
            let text = W.replace("id = \"a\"", &format!("id = \"{id}\""));
            let e = one(&text);
            assert!(
                e.starts_with(&format!("2:{col}: invalid workshop id ")),
                "{e}"
            );
            assert!(e.contains("1-64 characters"), "{e}");
        }
        let long = "x".repeat(65);
        assert!(one(&W.replace("id = \"a\"", &format!("id = \"{long}\"")))
            .contains("invalid workshop id"));
        assert!(
            ok(&W.replace("id = \"a\"", &format!("id = \"{}\"", "x".repeat(64))))
                .workshops
                .len()
                == 1
        );
        assert_eq!(
            one(&W.replace("id = \"a\"", "id = 12")),
            "2:6: id must be a string | write id = \"context-engine-berlin\" (found an integer)"
        );
    }

    #[test]
    fn end_must_be_after_start() {
        let e = one(&W.replace(
            "end = 2026-12-03T17:00:00+01:00",
            "end = 2026-12-03T08:00:00Z",
        ));
        assert_eq!(
            e,
            "4:7: workshop \"a\" ends (2026-12-03T08:00:00Z) before or when it starts (2026-12-03T08:00:00Z) | end must be after start"
        );
        let e = one(&W.replace(
            "end = 2026-12-03T17:00:00+01:00",
            "end = 2026-12-02T17:00:00+01:00",
        ));
        assert!(
            e.starts_with(
                "4:7: workshop \"a\" ends (2026-12-02T16:00:00Z) before or when it starts"
            ),
            "{e}"
        );
    }

    #[test]
    fn bedrock_api_key_settings() {
        let s = ok("");
        assert!(!s.settings.bedrock_api_key);
        assert_eq!(s.settings.bedrock_api_key_refresh, TimeDelta::hours(4));
        let s = ok("[settings]\nbedrock_api_key = true\nbedrock_api_key_refresh = \"90m\"\n");
        assert!(s.settings.bedrock_api_key);
        assert_eq!(s.settings.bedrock_api_key_refresh, TimeDelta::minutes(90));
        assert_eq!(
            one("[settings]\nbedrock_api_key = true\nbedrock_api_key_refresh = \"12h\"\n"),
            "3:27: bedrock_api_key_refresh must be shorter than 12h (the longest life of a token): every run would renew every token | e.g. bedrock_api_key_refresh = \"4h\""
        );
        assert_eq!(
            one("[settings]\nbedrock_api_key_refresh = \"2h\"\n"),
            "2:27: bedrock_api_key_refresh is only used with bedrock_api_key = true | set bedrock_api_key = true to hand out Bedrock API keys, or remove bedrock_api_key_refresh"
        );
        assert_eq!(
            one("[settings]\nbedrock_api_key = \"yes\"\n"),
            "2:19: bedrock_api_key must be true or false | write bedrock_api_key = true or bedrock_api_key = false, without quotes (found a string)"
        );
    }

    #[test]
    fn the_size_check_measures_the_policy_with_the_bearer_statement() {
        let models = |n: usize| PolicyChoice::Restricted {
            models: (0..n).map(|i| format!("vendor.model-{i:04}")).collect(),
        };
        let n = (1..200)
            .find(|&n| policy_size_problem(&models(n), true, true).is_some())
            .expect("some count is too big");
        assert!(policy_size_problem(&models(n), true, false).is_none());
        let list = |n: usize| {
            (0..n)
                .map(|i| format!("\"vendor.model-{i:04}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = |bearer: bool| {
            format!(
                "[settings]\nbedrock_api_key = {bearer}\npolicy = \"restricted\"\nmodels = [{}]\n",
                list(n)
            )
        };
        assert!(ok(&text(false)).settings.policy == models(n));
        assert!(
            one(&text(true)).contains("AWS allows 2048"),
            "{}",
            one(&text(true))
        );
    }

    #[test]
    fn durations_must_parse() {
        assert_eq!(
            one("[settings]\nhold = \"-1h\"\n"),
            "2:8: hold cannot be negative (\"-1h\") | write a number and a unit, e.g. \"90m\", \"24h\" or \"2d\""
        );
        let e = one("[settings]\nlead = \"24 hours!\"\n");
        assert!(
            e.starts_with("2:8: invalid duration \"24 hours!\" for lead: "),
            "{e}"
        );
        let e = one("[settings]\nlead = \"400d\"\n");
        assert_eq!(e, "2:8: lead = \"400d\" is too long: at most 365d | a schedule plans keys days ahead, not years; shorten it");
        let e = one("[settings]\nverify_timeout = \"0s\"\n");
        assert_eq!(
            e,
            "2:18: verify_timeout must be longer than zero | e.g. verify_timeout = \"60s\""
        );
        let e = one("[settings]\nrotate_after = \"0s\"\n");
        assert!(
            e.starts_with("2:16: rotate_after must be longer than zero"),
            "{e}"
        );
        let e = one(&format!("{W}lead = \"soon\"\n"));
        assert!(
            e.starts_with("5:8: invalid duration \"soon\" for lead"),
            "{e}"
        );
        // Durations in several forms.
        let s = ok("[settings]\nlead = \"1day 2h\"\ngrace = \"0s\"\nhold = \"90min\"\n");
        assert_eq!(s.settings.lead, TimeDelta::hours(26));
        assert_eq!(s.settings.grace, TimeDelta::zero());
        assert_eq!(s.settings.hold, TimeDelta::minutes(90));
    }

    #[test]
    fn long_grace_needs_allow_long_grace() {
        let hint = "keys should be revoked within a day of a workshop's end; to allow a longer grace, set allow_long_grace = true in [settings]";
        assert_eq!(
            one("[settings]\ngrace = \"25h\"\n"),
            format!("2:9: grace = \"25h\" is longer than 24h | {hint}")
        );
        assert_eq!(
            one(&format!("{W}grace = \"2d\"\n")),
            format!("5:9: grace = \"2d\" is longer than 24h | {hint}")
        );
        assert!(ok("[settings]\ngrace = \"24h\"\n").settings.grace == MAX_GRACE);
        let s = ok(&format!(
            "[settings]\ngrace = \"25h\"\nallow_long_grace = true\n{W}grace = \"2d\"\n"
        ));
        assert_eq!(s.settings.grace, TimeDelta::hours(25));
        assert_eq!(s.workshops[0].grace, TimeDelta::days(2));
        // A mistyped allow_long_grace is reported once, not once per grace.
        assert_eq!(
            errs("[settings]\ngrace = \"25h\"\nallow_long_grace = \"yes\"\n").len(),
            1
        );
    }

    #[test]
    fn local_times_need_a_timezone() {
        let text = W.replace("09:00:00+01:00", "09:00:00");
        assert_eq!(
            one(&text),
            "3:9: start = 2026-12-03T09:00:00 has no UTC offset, and settings.timezone is not set | add an offset (start = 2026-12-03T09:00:00+01:00 or 2026-12-03T09:00:00Z), or set timezone = \"Europe/Berlin\" (an IANA name) in [settings] to read local times there"
        );
        let s = ok(&format!("[settings]\ntimezone = \"Europe/Berlin\"\n{text}"));
        assert_eq!(s.workshops[0].start, at("2026-12-03T08:00:00Z"));
        assert_eq!(s.workshops[0].end, at("2026-12-03T16:00:00Z"));
        // A bad zone is reported once; the local times that needed it are not reported again.
        assert_eq!(
            one(&format!("[settings]\ntimezone = \"Europe/Berln\"\n{text}")),
            "2:12: unknown time zone \"Europe/Berln\" | did you mean `Europe/Berlin`?"
        );
        assert_eq!(
            one("[settings]\ntimezone = \"Mars/Olympus\"\n"),
            "2:12: unknown time zone \"Mars/Olympus\" | use an IANA time zone name such as \"Europe/Berlin\" or \"America/New_York\""
        );
    }

    #[test]
    fn dst_gaps_and_overlaps_are_errors() {
        let text = "[settings]\ntimezone = \"Europe/Berlin\"\n[[workshop]]\nid = \"a\"\nstart = 2026-03-29T02:30:00\nend = 2026-10-25T02:30:00\n";
        assert_eq!(
            errs(text),
            [
                "5:9: start = 2026-03-29T02:30:00 does not exist in Europe/Berlin (the clocks skip it for daylight saving time) | write the time with an explicit offset, e.g. start = 2026-03-29T03:30:00+02:00",
                "6:7: end = 2026-10-25T02:30:00 is ambiguous in Europe/Berlin (it happens twice when the clocks go back) | write the time with an explicit offset: 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00",
            ]
        );
    }

    #[test]
    fn dates_or_times_alone_are_errors() {
        let text = W
            .replace("start = 2026-12-03T09:00:00+01:00", "start = 2026-12-03")
            .replace("end = 2026-12-03T17:00:00+01:00", "end = 17:00:00");
        assert_eq!(
            errs(&text),
            [
                "3:9: start = 2026-12-03 is a date without a time of day | write a date-time with an offset, e.g. start = 2026-12-03T09:00:00+01:00",
                "4:7: end = 17:00:00 is a time of day without a date | write a date-time with an offset, e.g. end = 2026-12-03T17:00:00+01:00",
            ]
        );
    }

    #[test]
    fn policies() {
        let hint = "list the model ids or ARNs keys may invoke, e.g. models = [\"anthropic.claude-3-5-haiku-20241022-v1:0\"]";
        assert_eq!(
            one("[settings]\npolicy = \"restricted\"\n"),
            format!("2:10: policy = \"restricted\" needs a non-empty models list | {hint}")
        );
        assert_eq!(
            one("[settings]\npolicy = \"restricted\"\nmodels = []\n"),
            format!("3:10: models is empty, but policy = \"restricted\" needs at least one model | {hint}")
        );
        assert_eq!(
            one("[settings]\npolicy = \"restrcted\"\n"),
            "2:10: unknown policy \"restrcted\" | did you mean `restricted`?"
        );
        assert_eq!(
            one("[settings]\npolicy = \"none\"\n"),
            "2:10: unknown policy \"none\" | use policy = \"all-models\" or policy = \"restricted\""
        );
        // With the wildcard policy, models lists what the workshops use; the policy stays `*`.
        for text in [
            "[settings]\nmodels = [\"m\"]\n",
            "[settings]\nmodels = [\"m\"]\npolicy = \"all-models\"\n",
        ] {
            let s = ok(text);
            assert_eq!(s.settings.policy, PolicyChoice::AllModels);
            assert_eq!(s.settings.models, ["m"]);
        }
        assert_eq!(
            errs("[settings]\npolicy = \"restricted\"\nmodels = [\"ok\", 3, \"has space\", \"\"]\n"),
            [
                "3:17: models must be an array of strings | quote each model id, e.g. \"anthropic.claude-3-5-haiku-20241022-v1:0\" (found an integer)",
                "3:20: invalid model id \"has space\" | a model id or ARN is non-empty and has no spaces, e.g. \"anthropic.claude-3-5-haiku-20241022-v1:0\"",
                "3:33: invalid model id \"\" | a model id or ARN is non-empty and has no spaces, e.g. \"anthropic.claude-3-5-haiku-20241022-v1:0\"",
            ]
        );
    }

    #[test]
    fn workshop_models_override_settings_models() {
        let w =
            "[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n";
        let s = ok(&format!(
            "[settings]\nmodels = [\"m1\", \"m2\"]\n{w}{}models = [\"us.m3\"]\n",
            w.replace("\"a\"", "\"b\"")
        ));
        assert_eq!(s.workshop("a").unwrap().models, ["m1", "m2"]);
        assert_eq!(s.workshop("b").unwrap().models, ["us.m3"]);
        assert!(ok(w).workshops[0].models.is_empty());
        let s = ok(&format!(
            "[settings]\ncheck_models = false\nverify_before_start = \"30m\"\n{w}"
        ));
        assert!(!s.settings.check_models);
        assert_eq!(s.settings.verify_before_start, TimeDelta::minutes(30));
        // A restricted policy is shared by the user's workshops: a workshop cannot go beyond it.
        assert_eq!(
            one(&format!(
                "[settings]\npolicy = \"restricted\"\nmodels = [\"m1\"]\n{w}models = [\"m1\", \"m9\"]\n"
            )),
            "8:10: workshop \"a\" uses model \"m9\", which policy = \"restricted\" does not allow | add the model to models in [settings], or remove it here"
        );
        assert_eq!(
            one(&format!("{w}models = \"m\"\n")),
            "5:10: models must be an array of model ids | write models = [\"anthropic.claude-3-5-haiku-20241022-v1:0\"] (found a string)"
        );
    }

    #[test]
    fn names_paths_and_regions() {
        assert_eq!(
            one("[settings]\nuser = \"bad user\"\n"),
            "2:8: invalid IAM user name \"bad user\" | IAM user names are 1-64 characters of A-Z a-z 0-9 and + = , . @ _ -"
        );
        assert!(
            one(&format!("{W}user = \"a/b\"\n")).starts_with("5:8: invalid IAM user name \"a/b\"")
        );
        assert!(one("[settings]\npath = \"workshop\"\n")
            .starts_with("2:8: IAM path \"workshop\" must start and end with '/'"));
        assert!(
            one("[settings]\npath = \"/a b/\"\n").starts_with("2:8: invalid IAM path \"/a b/\"")
        );
        assert!(one("[settings]\nregion = \"mars-1\"\n")
            .starts_with("2:10: region \"mars-1\" does not look like an AWS region"));
        assert!(one("[settings]\nregion = \"\"\n")
            .starts_with("2:10: region \"\" must be non-empty and without spaces"));
        assert!(one("[settings]\ncredentials_dir = \" \"\n")
            .starts_with("2:19: credentials_dir must not be empty"));
        assert!(one("[settings]\nverify_model = \"a b\"\n")
            .starts_with("2:16: verify_model \"a b\" must be non-empty and without spaces"));
        assert!(one(&format!("{W}title = 3\n")).starts_with("5:9: title must be a string"));
        assert!(one(&format!("{W}title = \"a\\u001b[31mred\"\n"))
            .starts_with("5:9: title must not contain control characters"));
        assert!(one(&format!("{W}title = \"\"\"\ntwo\nlines\"\"\"\n"))
            .starts_with("5:9: title must not contain control characters"));
    }

    fn on(id: &str, start: &str, end: &str, extra: &str) -> String {
        format!("[[workshop]]\nid = \"{id}\"\nstart = {start}\nend = {end}\n{extra}\n")
    }

    #[test]
    fn capacity_is_reported_at_the_third_workshop() {
        let text = [
            on(
                "a",
                "2026-12-03T09:00:00+01:00",
                "2026-12-03T17:00:00+01:00",
                "",
            ),
            on(
                "b",
                "2026-12-03T09:00:00+01:00",
                "2026-12-03T17:00:00+01:00",
                "",
            ),
            on(
                "c",
                "2026-12-03T09:00:00+01:00",
                "2026-12-03T17:00:00+01:00",
                "",
            ),
        ]
        .concat();
        assert_eq!(
            one(&text),
            "11:1: user workshop-bedrock-user would need 3 keys at once from 2026-12-02T08:00:00Z to 2026-12-03T17:00:00Z (workshops a, b, c); AWS allows two per user | move one workshop to another `user = ...`, or shorten lead/grace"
        );
        // Moving one to another user, or shortening lead, fixes it.
        assert!(parse(
            Path::new("w"),
            &text.replacen("id = \"c\"", "id = \"c\"\nuser = \"u2\"", 1)
        )
        .is_ok());
        // Back to back: a's key ends at 17:00Z; c's key starts at 17:00Z.
        let text = [
            on(
                "a",
                "2026-12-03T09:00:00Z",
                "2026-12-03T16:00:00Z",
                "lead = \"1h\"",
            ),
            on(
                "b",
                "2026-12-03T09:00:00Z",
                "2026-12-03T19:00:00Z",
                "lead = \"1h\"",
            ),
            on(
                "c",
                "2026-12-03T18:00:00Z",
                "2026-12-03T19:00:00Z",
                "lead = \"1h\"",
            ),
        ]
        .concat();
        assert_eq!(ok(&text).workshops.len(), 3);
        // Touching by one second too much collides.
        let text = text.replace("16:00:00Z", "16:00:01Z");
        let e = one(&text);
        assert!(e.starts_with("11:1: user workshop-bedrock-user would need 3 keys at once from 2026-12-03T17:00:00Z to 2026-12-03T17:00:01Z (workshops a, b, c)"), "{e}");
    }

    #[test]
    fn capacity_is_not_checked_with_unusable_settings_timing() {
        let text = [
            "[settings]\nlead = 24\n".to_string(),
            on("a", "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z", ""),
            on("b", "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z", ""),
            on("c", "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z", ""),
        ]
        .concat();
        assert_eq!(errs(&text).len(), 1);
    }

    #[test]
    fn several_problems_at_once_sorted_by_position() {
        let text = "[[workshop]]\nid = \"x\"\nstart = 2026-12-03T09:00:00+01:00\nend = 2026-12-03T08:00:00+01:00\n\n[settings]\nlead = 24\ngrace = \"2d\"\nregoin = \"eu-west-1\"\n\n[[workshop]]\nid = \"x\"\nstart = \"2026-12-04T09:00:00Z\"\n";
        let e = errs(text);
        let positions: Vec<&str> = e.iter().map(|s| s.split(": ").next().unwrap()).collect();
        assert_eq!(
            positions,
            ["4:7", "7:8", "8:9", "9:1", "11:1", "12:6", "13:9"],
            "{e:#?}"
        );
    }

    #[test]
    fn columns_count_characters() {
        let e = one("[settings]\nuser = \"Bärbel\"\n");
        assert!(e.starts_with("2:8: "), "{e}");
        let e = errs("workshop = [{ title = \"äöü\", id = \"../x\", start = 2026-12-03T09:00:00Z, end = 2026-12-03T10:00:00Z }]\n");
        assert!(e[0].starts_with("1:35: invalid workshop id"), "{e:?}");
        // CRLF line ends and a byte order mark.
        let e = one("\u{feff}[settings]\r\nlead = 1\r\n");
        assert!(e.starts_with("2:8: "), "{e}");
        let e = one("\u{feff}nope = 1\r\n");
        assert!(e.starts_with("1:1: "), "{e}");
    }

    #[test]
    fn a_hundred_thousand_workshops_are_refused_with_a_located_error() {
        // Speed is measured by `cargo bench --bench pipeline`, not asserted here.
        use std::fmt::Write as _;
        let mut text = String::from("[settings]\nlead = \"1h\"\ngrace = \"0s\"\n");
        for i in 0..100_000 {
            let user = i % 50_000;
            let _ = write!(
                text,
                "[[workshop]]\nid = \"w{i}\"\nuser = \"u{user}\"\nstart = 2026-01-01T00:00:00Z\nend = 2026-01-01T00:30:00Z\n"
            );
        }
        let e = errs(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("100000 workshops; a schedule may hold at most 10000"),
            "{e:?}"
        );
        // And 100k problems (every workshop a duplicate id on one user) are all located.
        let bad = text.replace("id = \"w", "id = \"x\"\ntitle = \"w");
        let e = errs(&bad);
        assert_eq!(e.len(), 100_000 - 1);
    }

    #[test]
    fn fixtures_valid_and_invalid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schedules");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            match parse(&path, &text) {
                Ok(_) => assert!(name.starts_with("valid_"), "{name} should be invalid"),
                Err(e) => assert!(!name.starts_with("valid_"), "{name} should be valid:\n{e}"),
            }
            seen += 1;
        }
        assert!(seen >= 20);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("workshops.toml");
        let s = parse(&example, &std::fs::read_to_string(&example).unwrap()).unwrap();
        assert_eq!((s.workshops.len(), s.users().len()), (4, 2));
    }

    /// Lines a schedule is made of, good and bad, for the structured property test.
    const FRAGMENTS: &[&str] = &[
        "[settings]",
        "[[workshop]]",
        "[workshop]",
        "[[settings]]",
        "[settings.sub]",
        "workshop = [{ id = \"i\", start = 2026-12-03T09:00:00Z, end = 2026-12-03T10:00:00Z }]",
        "settings = 1",
        "id = \"a\"",
        "id = \"b\"",
        "id = \"..\"",
        "id = 3",
        "title = \"t\"",
        "start = 2026-12-03T09:00:00+01:00",
        "start = 2026-12-03T09:00:00",
        "start = 2026-03-29T02:30:00",
        "start = 0000-01-01T00:00:00Z",
        "end = 9999-12-31T23:59:59.999999999-23:59",
        "end = 2026-12-03T17:00:00+01:00",
        "end = 2026-10-25T02:30:00",
        "end = 2026-12-03",
        "end = 17:00:00",
        "end = \"2026-12-03T17:00:00Z\"",
        "user = \"u2\"",
        "user = \"bad user\"",
        "lead = \"365d\"",
        "lead = \"0s\"",
        "lead = 24",
        "grace = \"2d\"",
        "grace = \"1h\"",
        "hold = \"-1h\"",
        "timezone = \"Europe/Berlin\"",
        "timezone = \"Pacific/Apia\"",
        "timezone = \"Nowhere\"",
        "allow_long_grace = true",
        "allow_long_grace = \"no\"",
        "policy = \"restricted\"",
        "policy = \"x\"",
        "models = [\"m\", 1, []]",
        "models = []",
        "region = \"eu-west-1\"",
        "path = \"x\"",
        "credentials_dir = \"/abs\"",
        "rotate_after = \"0s\"",
        "verify = 1",
        "unknown = { a = 1 }",
        "a.b.c = 1",
        "# comment",
        "",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = parse(Path::new("w.toml"), &text);
        }

        #[test]
        fn never_panics_on_schedule_shaped_text(
            picks in proptest::collection::vec(0usize..FRAGMENTS.len(), 0..40),
        ) {
            let text: String = picks.iter().map(|&i| format!("{}\n", FRAGMENTS[i])).collect();
            if let Err(ScheduleError::Invalid { diagnostics, .. }) = parse(Path::new("w.toml"), &text) {
                proptest::prop_assert!(!diagnostics.is_empty());
                let lines = text.lines().count().max(1);
                for d in &diagnostics {
                    proptest::prop_assert!(d.line >= 1 && d.line <= lines && d.column >= 1);
                }
            }
        }

        #[test]
        fn never_panics_on_mangled_schedules(
            cut in 0usize..400,
            insert in "[\\[\\]={}\",.0-9a-zT:+\\-\n ]{0,12}",
        ) {
            let base = format!(
                "[settings]\ntimezone = \"Europe/Berlin\"\nlead = \"24h\"\npolicy = \"restricted\"\nmodels = [\"m\"]\n{W}{}",
                W.replace("+01:00", "")
            );
            let mut text = base.clone();
            let at = (cut % base.len()).min(text.len());
            if text.is_char_boundary(at) {
                text.insert_str(at, &insert);
            }
            if let Err(ScheduleError::Invalid { diagnostics, .. }) = parse(Path::new("w.toml"), &text) {
                proptest::prop_assert!(!diagnostics.is_empty());
                for d in &diagnostics {
                    proptest::prop_assert!(d.line >= 1 && d.column >= 1);
                    proptest::prop_assert!(d.line <= text.lines().count().max(1) + 1);
                }
                let sorted = diagnostics.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column));
                proptest::prop_assert!(sorted);
            }
        }
    }
}
