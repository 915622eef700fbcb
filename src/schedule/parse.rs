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
    Diagnostic, PolicyChoice, Schedule, ScheduleError, Settings, Workshop, DEFAULT_CREDENTIALS_DIR,
    DEFAULT_PATH, DEFAULT_REGION, DEFAULT_USER, DEFAULT_VERIFY_MODEL, MAX_GRACE,
};

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
];

const WORKSHOP_KEYS: &[&str] = &["id", "title", "start", "end", "user", "lead", "grace"];

const POLICIES: &[&str] = &["all-models", "restricted"];

const EXAMPLE_START: &str = "2026-12-03T09:00:00+01:00";
const EXAMPLE_END: &str = "2026-12-03T17:00:00+01:00";
const EXAMPLE_MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

/// Parse and validate a schedule. `file` is only used for messages and to resolve
/// `credentials_dir`; nothing is read from disk.
pub fn parse(file: &Path, text: &str) -> Result<Schedule, ScheduleError> {
    let mut parser = Parser::new(text);
    let parsed = parser.run(file);
    let diagnostics = parser.finish();
    match parsed {
        Some(schedule) if diagnostics.is_empty() => Ok(schedule),
        _ => Err(ScheduleError::Invalid {
            path: file.to_path_buf(),
            diagnostics,
        }),
    }
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
        self.line_starts.partition_point(|&start| start <= offset).max(1)
    }

    /// Diagnostics sorted by position, with line and column.
    fn finish(mut self) -> Vec<Diagnostic> {
        let text = self.text.as_bytes();
        let mut pending = std::mem::take(&mut self.pending);
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
                self.error(
                    at,
                    collision.message(&workshops),
                    Some(collision.hint()),
                );
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
            Some((s, at)) if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) => {
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
            let written = fields.get("grace").and_then(|g| g.item.as_str()).unwrap_or("");
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
        out
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
                Ok(Some((models, _))) if !models.is_empty() => {
                    s.policy = PolicyChoice::Restricted { models };
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
                if let Some(field) = f.get("models") {
                    self.error(
                        field.key_at,
                        "models is only used with policy = \"restricted\"",
                        Some(
                            "set policy = \"restricted\" to limit keys to these models, or \
                             remove models"
                                .into(),
                        ),
                    );
                }
            }
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
                Some(m) if !m.is_empty() && !m.chars().any(|c| c.is_whitespace() || c.is_control()) => {
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
                            format!("duplicate workshop id {} (first used on line {line})", quote(id)),
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
                        fields::rfc3339_utc(end),
                        fields::rfc3339_utc(start)
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

        match (ok, id, times) {
            (true, Some(id), [Some(start), Some(end)]) => Some(Workshop {
                id: id.to_string(),
                title,
                start,
                end,
                user,
                lead,
                grace,
                line: self.line_of(f.at),
            }),
            _ => None,
        }
    }
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

    #[test]
    fn scratch() {
        let deep_dotted = format!("a{} = 1", ".a".repeat(200_000));
        let deep_header = format!("[a{}]", ".a".repeat(200_000));
        let deep_array = format!("a = {}{}", "[".repeat(200_000), "]".repeat(200_000));
        let deep_inline = format!("a = {}{}", "{b=".repeat(200_000), "}".repeat(200_000));
        let deep_ws = format!("workshop = [{}{}]", "{id='a', x=".repeat(50_000), "}".repeat(50_000));
        for t in [deep_dotted, deep_header, deep_array, deep_inline, deep_ws] {
            let e = errs(&t);
            eprintln!("{}", e.iter().map(|s| &s[..s.len().min(200)]).collect::<Vec<_>>().join("\n"));
        }
    }
}
