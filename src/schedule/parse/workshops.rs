//! The `[[workshop]]` tables: each read, checked against the settings, and resolved.

use std::collections::HashMap;

use toml_edit::{Item, Value};

use crate::core::participants;
use crate::schedule::fields::{self, quote};
use crate::schedule::{PolicyChoice, Workshop, DEFAULT_USER};

use super::*;

impl Parser<'_> {
    /// Every workshop that validated, with the offset of its header.
    pub(super) fn workshops(
        &mut self,
        root: &Fields<'_>,
        s: &SettingsOut,
    ) -> Vec<(Workshop, usize)> {
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

    pub(super) fn workshop<'t>(
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
        let id = self.workshop_id(f, seen, &mut ok);
        let what = match id {
            Some(id) => format!("workshop {}", quote(id)),
            None => "workshop".to_string(),
        };
        let title = self.workshop_title(f, &mut ok);
        let times = self.workshop_times(f, s, &what, &mut ok);
        let participants = self.participants(f, &what, &mut ok);
        let user = self.workshop_user(f, s, &mut ok);
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
        let models = self.workshop_models(f, s, &what, &mut ok);

        match (ok, id, times) {
            (true, Some(id), [Some(start), Some(end)]) => Some(Workshop {
                id: id.to_string(),
                title,
                start,
                end,
                user,
                lead,
                grace,
                participants,
                models,
                line: self.line_of(f.at),
            }),
            _ => None,
        }
    }

    /// `id`: present, valid, and unique (`seen` holds the ids so far and where they are).
    fn workshop_id<'t>(
        &mut self,
        f: &Fields<'t>,
        seen: &mut HashMap<&'t str, usize>,
        ok: &mut bool,
    ) -> Option<&'t str> {
        match self.string(f, "id", "context-engine-berlin") {
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
                        *ok = false;
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
        }
    }

    fn workshop_title(&mut self, f: &Fields<'_>, ok: &mut bool) -> Option<String> {
        match self.string(f, "title", "Real-time context engine, Berlin") {
            Ok(Some((t, at))) if t.chars().any(char::is_control) => {
                self.error(
                    at,
                    "title must not contain control characters (newlines, tabs, escapes)",
                    Some("write the title on one line, as plain text".into()),
                );
                *ok = false;
                None
            }
            Ok(t) => t.map(|(t, _)| t.to_string()),
            Err(Reported) => {
                *ok = false;
                None
            }
        }
    }

    /// `start` and `end`: both present, end after start.
    fn workshop_times(
        &mut self,
        f: &Fields<'_>,
        s: &SettingsOut,
        what: &str,
        ok: &mut bool,
    ) -> [Option<DateTime<Utc>>; 2] {
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
                    *ok = false;
                }
                Err(Reported) => *ok = false,
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
                *ok = false;
            }
        }
        times
    }

    /// `participants = N`: one key per participant on the pool, so not with a `user` of the
    /// workshop's own.
    fn participants(&mut self, f: &Fields<'_>, what: &str, ok: &mut bool) -> Option<u32> {
        let n = match self.integer(f, "participants", 1..=participants::MAX_PARTICIPANTS, 12) {
            Ok(n) => n.map(|(n, _)| n),
            Err(Reported) => {
                *ok = false;
                return None;
            }
        };
        if let (Some(_), Some(user)) = (n, f.get("user")) {
            self.error(
                user.key_at,
                format!("{what} has both participants and its own user"),
                Some(
                    "participants' keys live on the pool's users (settings.pool); remove `user` \
                     or `participants`"
                        .into(),
                ),
            );
            *ok = false;
        }
        n
    }

    /// The workshop's own `user`, else `settings.user`; never one of the pool's users.
    fn workshop_user(&mut self, f: &Fields<'_>, s: &SettingsOut, ok: &mut bool) -> String {
        match self.string(f, "user", DEFAULT_USER) {
            Ok(Some((user, at))) => match fields::check_user_name(user) {
                Ok(()) => {
                    let pool = &s.settings;
                    if participants::pool_index(&pool.pool, pool.pool_size, user).is_some() {
                        self.error(
                            at,
                            format!("user {} is one of the pool's users", quote(user)),
                            Some(
                                "the pool's users hold participants' keys; give this workshop \
                                 another user, or use participants = N"
                                    .into(),
                            ),
                        );
                        *ok = false;
                    }
                    user.to_string()
                }
                Err(p) => {
                    self.report(at, p);
                    *ok = false;
                    String::new()
                }
            },
            Ok(None) => s.settings.user.clone(),
            Err(Reported) => {
                *ok = false;
                String::new()
            }
        }
    }

    /// The workshop's own `models`, else the settings'; within a restricted policy.
    fn workshop_models(
        &mut self,
        f: &Fields<'_>,
        s: &SettingsOut,
        what: &str,
        ok: &mut bool,
    ) -> Vec<String> {
        match self.models(f) {
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
                        *ok = false;
                    }
                }
                models
            }
            Ok(None) => s.settings.models.clone(),
            Err(Reported) => {
                *ok = false;
                Vec::new()
            }
        }
    }
}
