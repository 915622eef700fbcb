//! The `[settings]` table: defaults, each setting read and checked, and the policy size check.

use std::path::Path;

use chrono::TimeDelta;

use crate::core::{limits, participants, policy};
use crate::schedule::fields::{self, did_you_mean_hint, quote};
use crate::schedule::{
    PolicyChoice, Settings, DEFAULT_BEDROCK_API_KEY_REFRESH, DEFAULT_CREDENTIALS_DIR, DEFAULT_PATH,
    DEFAULT_REGION, DEFAULT_USER, DEFAULT_VERIFY_MODEL,
};

use super::*;

impl Parser<'_> {
    pub(super) fn settings(&mut self, root: &Fields<'_>, file: &Path) -> SettingsOut {
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
        self.identity(&f, &mut out.settings);
        self.pool(&f, &mut out.settings);
        // Before the policy: its size check measures the document with the bearer statement.
        self.bedrock_api_key(&f, &mut out.settings);
        self.policy(&f, &mut out.settings);
        self.timing(&f, &mut out);
        self.places(&f, file, &mut out);
        self.verification(&f, &mut out.settings);
        if let Ok(Some(argv)) = self.command(&f, "deliver") {
            out.settings.deliver = Some(argv);
        }
        if let Ok(Some(argv)) = self.command(&f, "notify") {
            out.settings.notify = Some(argv);
        }
        self.backends(&f, &mut out.settings.backends);
        out
    }

    /// Who holds the shared keys and where: `region`, `user`, `path`, `deadline`.
    fn identity(&mut self, f: &Fields<'_>, s: &mut Settings) {
        if let Ok(Some((region, at))) = self.word(f, "region", DEFAULT_REGION) {
            match fields::check_region(region) {
                Ok(()) => s.region = region.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((user, at))) = self.string(f, "user", DEFAULT_USER) {
            match fields::check_user_name(user) {
                Ok(()) => s.user = user.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some((path, at))) = self.string(f, "path", DEFAULT_PATH) {
            match fields::check_iam_path(path) {
                Ok(()) => s.path = path.to_string(),
                Err(p) => self.report(at, p),
            }
        }
        if let Ok(Some(b)) = self.boolean(f, "deadline") {
            s.deadline = b;
        }
    }

    /// `pool_size`, then `pool`: every pool user's name, up to the widest number, must be a
    /// valid IAM user name, and the shared user must not be one of them.
    fn pool(&mut self, f: &Fields<'_>, s: &mut Settings) {
        let max = participants::MAX_POOL_SIZE;
        let example = participants::DEFAULT_POOL_SIZE;
        if let Ok(Some((n, _))) = self.integer(f, "pool_size", 1..=max, example) {
            s.pool_size = n;
        }
        if let Ok(Some((pool, at))) = self.string(f, "pool", participants::DEFAULT_POOL) {
            let widest = participants::pool_user(pool, s.pool_size);
            match fields::check_user_name(pool).and(fields::check_user_name(&widest)) {
                Ok(()) => s.pool = pool.to_string(),
                Err(_) => self.error(
                    at,
                    format!(
                        "invalid pool {}: its users are named {} to {}, and each must be a \
                         valid IAM user name",
                        quote(pool),
                        quote(&participants::pool_user(pool, 1)),
                        quote(&widest)
                    ),
                    Some(format!(
                        "IAM user names are 1-{} characters of A-Z a-z 0-9 and + = , . @ _ -; \
                         write e.g. pool = \"{}\"",
                        limits::USER_NAME_CHARS,
                        participants::DEFAULT_POOL
                    )),
                ),
            }
        }
        if participants::pool_index(&s.pool, s.pool_size, &s.user).is_some() {
            let at = f
                .get("user")
                .or_else(|| f.get("pool"))
                .map_or(f.at, |u| u.value_at);
            self.error(
                at,
                format!("user {} is one of the pool's users", quote(&s.user)),
                Some("the pool's users hold participants' keys; give the shared user another name, or change pool".into()),
            );
        }
    }

    /// `lead`, `hold`, `allow_long_grace` and `grace`; an unusable lead or grace turns the
    /// capacity check off.
    fn timing(&mut self, f: &Fields<'_>, out: &mut SettingsOut) {
        let s = &mut out.settings;
        match self.duration(f, "lead", "24h") {
            Ok(Some((d, _))) => s.lead = d,
            Ok(None) => {}
            Err(Reported) => out.timing_ok = false,
        }
        if let Ok(Some((d, _))) = self.duration(f, "hold", "24h") {
            s.hold = d;
        }
        match self.boolean(f, "allow_long_grace") {
            Ok(b) => {
                s.allow_long_grace = b.unwrap_or(false);
                out.allow_long_grace = Some(s.allow_long_grace);
            }
            Err(Reported) => out.allow_long_grace = None,
        }
        match self.grace(f, out.allow_long_grace) {
            Ok(Some(d)) => s.grace = d,
            Ok(None) => {}
            Err(Reported) => out.timing_ok = false,
        }
    }

    /// `credentials_dir` and `timezone`.
    fn places(&mut self, f: &Fields<'_>, file: &Path, out: &mut SettingsOut) {
        let s = &mut out.settings;
        if let Ok(Some((dir, at))) = self.string(f, "credentials_dir", DEFAULT_CREDENTIALS_DIR) {
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
        match self.string(f, "timezone", "Europe/Berlin") {
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
    }

    /// Rotation, verification and model checks.
    fn verification(&mut self, f: &Fields<'_>, s: &mut Settings) {
        if let Ok(Some((d, _))) = self.positive_duration(f, "rotate_after", "30d") {
            s.rotate_after = Some(d);
        }
        if let Ok(Some((d, _))) = self.duration(f, "rotation_overlap", "1h") {
            s.rotation_overlap = d;
        }
        if let Ok(Some(b)) = self.boolean(f, "verify") {
            s.verify = b;
        }
        if let Ok(Some((model, _))) = self.word(f, "verify_model", DEFAULT_VERIFY_MODEL) {
            s.verify_model = model.to_string();
        }
        if let Ok(Some(b)) = self.boolean(f, "verify_all_models") {
            s.verify_all_models = b;
        }
        if let Ok(Some((d, _))) = self.positive_duration(f, "verify_timeout", "60s") {
            s.verify_timeout = d;
        }
        if let Ok(Some(b)) = self.boolean(f, "check_models") {
            s.check_models = b;
        }
        if let Ok(Some((d, _))) = self.duration(f, "verify_before_start", "1h") {
            s.verify_before_start = d;
        }
    }

    /// `store`, `secrets_prefix`, `state`, `lock_lease` (checked in `schedule::backends`).
    fn backends(&mut self, f: &Fields<'_>, b: &mut crate::schedule::backends::Backends) {
        use crate::schedule::backends as checks;
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
    pub(super) fn bedrock_api_key(&mut self, f: &Fields<'_>, s: &mut Settings) {
        if let Ok(Some(b)) = self.boolean(f, "bedrock_api_key") {
            s.bedrock_api_key = b;
        }
        let max = crate::core::limits::BEDROCK_API_KEY_MAX_LIFE;
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
    pub(super) fn policy(&mut self, f: &Fields<'_>, s: &mut Settings) {
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
    pub(super) fn command(
        &mut self,
        f: &Fields<'_>,
        name: &str,
    ) -> Result<Option<Vec<String>>, Reported> {
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
    pub(super) fn models(
        &mut self,
        f: &Fields<'_>,
    ) -> Result<Option<(Vec<String>, usize)>, Reported> {
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
}

/// `limits::INLINE_POLICY_CHARS` (the emulator does not): measure the document the tool will
/// write, deadline statement included (its time has a fixed width), and the bearer-token
/// statement with `bedrock_api_key`.
pub(super) fn policy_size_problem(
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

pub(super) fn default_settings(file: &Path) -> Settings {
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
        pool: crate::core::participants::DEFAULT_POOL.to_string(),
        pool_size: crate::core::participants::DEFAULT_POOL_SIZE,
        backends: Default::default(),
    }
}

/// `dir` relative to the schedule file's directory; absolute paths stay as they are.
pub(super) fn resolve_dir(file: &Path, dir: &str) -> std::path::PathBuf {
    let parent = file.parent().unwrap_or_else(|| Path::new(""));
    parent.join(dir)
}
