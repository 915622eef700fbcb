//! Checks on single values of a schedule: names, ids, paths, regions, durations, date-times.
//! Each check returns `Err(Problem)` with a message and an optional hint; the caller locates it.

use std::path::Path;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use toml_edit::{Datetime, Offset};

/// The longest duration any setting may have. Keeps every `start - lead` / `end + grace + hold`
/// far inside chrono's range, whatever the file says.
pub(crate) const MAX_DURATION: TimeDelta = TimeDelta::days(365);

/// What is wrong with a value: a message and, usually, what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The closest candidate to `word`, if one is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Nothing this long is a typo of a key or zone name; comparing it would only cost time.
    if word.len() > 100 {
        return None;
    }
    let word_lower = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(&word_lower, &candidate.to_lowercase());
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    best.filter(|(score, _)| *score >= 0.8).map(|(_, c)| c)
}

/// `"did you mean `x`?"`, or `None`.
pub(crate) fn did_you_mean_hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// IAM user names: 1-64 characters of `A-Za-z0-9+=,.@_-`.
pub(crate) fn check_user_name(name: &str) -> Result<(), Problem> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let len = name.chars().count();
    let max = crate::core::limits::USER_NAME_CHARS;
    if len == 0 || len > max || !name.chars().all(ok_char) {
        return Err(
            Problem::new(format!("invalid IAM user name {}", quote(name))).hint(format!(
                "IAM user names are 1-{max} characters of A-Z a-z 0-9 and + = , . @ _ -"
            )),
        );
    }
    Ok(())
}

/// Workshop ids: 1-64 characters of `A-Za-z0-9._-`, and not `.` or `..` (they name files).
pub(crate) fn check_workshop_id(id: &str) -> Result<(), Problem> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    let len = id.chars().count();
    if len == 0 || len > 64 || !id.chars().all(ok_char) || id == "." || id == ".." {
        return Err(
            Problem::new(format!("invalid workshop id {}", quote(id))).hint(
                "ids are 1-64 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\"); \
             they are used in file names and IAM tags",
            ),
        );
    }
    Ok(())
}

/// IAM paths: start and end with '/', 1-512 characters of printable ASCII (`!` to `~`).
pub(crate) fn check_iam_path(path: &str) -> Result<(), Problem> {
    let hint = "an IAM path starts and ends with '/' and has 1-512 printable ASCII characters \
                without spaces, e.g. \"/workshop/\"";
    let len = path.chars().count();
    if len == 0 || len > 512 || !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)) {
        return Err(Problem::new(format!("invalid IAM path {}", quote(path))).hint(hint));
    }
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err(Problem::new(format!(
            "IAM path {} must start and end with '/'",
            quote(path)
        ))
        .hint(hint));
    }
    Ok(())
}

/// AWS region names look like `us-east-1`, `eu-central-2`, `us-gov-west-1`.
pub(crate) fn check_region(region: &str) -> Result<(), Problem> {
    let parts: Vec<&str> = region.split('-').collect();
    let word = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let ok = parts.len() >= 3
        && region.len() <= 32
        && parts[..parts.len() - 1].iter().all(word)
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if !ok {
        return Err(Problem::new(format!(
            "region {} does not look like an AWS region",
            quote(region)
        ))
        .hint("write a region name such as \"us-east-1\" or \"eu-central-1\""));
    }
    Ok(())
}

/// An IANA time zone name, with a did-you-mean on failure.
pub(crate) fn parse_timezone(name: &str) -> Result<Tz, Problem> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    let exact_ignoring_case = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .find(|n| n.eq_ignore_ascii_case(name));
    let hint = match exact_ignoring_case.or_else(|| did_you_mean(name, names)) {
        Some(n) => format!("did you mean `{n}`?"),
        None => "use an IANA time zone name such as \"Europe/Berlin\" or \"America/New_York\""
            .to_string(),
    };
    Err(Problem::new(format!("unknown time zone {}", quote(name))).hint(hint))
}

/// The program of hook `name` (`deliver`, `notify`) exists and the user running this may run
/// it: a bare name somewhere in `PATH`, a path (relative to the schedule file's directory)
/// an executable file.
pub(crate) fn check_program(
    name: &str,
    program: &str,
    schedule_file: &Path,
) -> Result<(), Problem> {
    let path = super::hook_program(schedule_file, program);
    if !program.contains('/') {
        let search = std::env::var_os("PATH").unwrap_or_default();
        if std::env::split_paths(&search).any(|dir| is_executable_file(&dir.join(&path))) {
            return Ok(());
        }
        return Err(Problem::new(format!(
            "{name} program {} is not found in PATH",
            quote(program)
        ))
        .hint(
            "write the program's absolute path (cron and systemd run commands with a short \
             PATH), or a path relative to the schedule file",
        ));
    }
    let shown = if Path::new(program).is_absolute() {
        quote(program)
    } else {
        format!(
            "{} (relative to the schedule file: {})",
            quote(program),
            path.display()
        )
    };
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Problem::new(format!(
            "{name} program {shown} does not exist"
        ))
        .hint(
            "write the path of an executable file, absolute or relative to the directory of \
             the schedule file",
        )),
        Err(e) => Err(
            Problem::new(format!("{name} program {shown} cannot be read: {e}"))
                .hint("make it and its directories readable by the user running workshop-keys"),
        ),
        Ok(meta) if !meta.is_file() => Err(Problem::new(format!(
            "{name} program {shown} is not a file"
        ))
        .hint("name the executable file itself")),
        Ok(_) if !is_executable_file(&path) => Err(Problem::new(format!(
            "{name} program {shown} is not executable"
        ))
        .hint(format!(
            "run `chmod +x {}`",
            crate::text::shell_quote(&path)
        ))),
        Ok(_) => Ok(()),
    }
}

/// A regular file that this process may execute.
fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) reads the NUL-terminated path and nothing else.
    let executable = unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } == 0;
    executable && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// A human duration ("90m", "24h", "2d", "1h 30m") as a `TimeDelta`, at most `MAX_DURATION`.
pub(crate) fn parse_duration(name: &str, text: &str) -> Result<TimeDelta, Problem> {
    let hint = "write a number and a unit, e.g. \"90m\", \"24h\" or \"2d\"";
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(
            Problem::new(format!("{name} cannot be negative ({})", quote(text))).hint(hint),
        );
    }
    let std = humantime::parse_duration(trimmed).map_err(|e| {
        Problem::new(format!("invalid duration {} for {name}: {e}", quote(text))).hint(hint)
    })?;
    let too_long = || {
        Problem::new(format!(
            "{name} = {} is too long: at most {}",
            quote(text),
            format_duration(MAX_DURATION)
        ))
        .hint("a schedule plans keys days ahead, not years; shorten it")
    };
    let delta = TimeDelta::from_std(std).map_err(|_| too_long())?;
    if delta > MAX_DURATION {
        return Err(too_long());
    }
    Ok(delta)
}

/// A duration the way the schedule writes it: "2d", "24h", "1h 30m", "90s".
pub(crate) fn format_duration(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    if secs <= 0 {
        return "0s".to_string();
    }
    if secs % 86_400 == 0 && secs >= 2 * 86_400 {
        return format!("{}d", secs / 86_400);
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    parts.join(" ")
}

/// A TOML date-time as a UTC instant. An offset date-time is exact; a local date-time needs
/// `timezone` (and must exist exactly once there); date-only and time-only values are errors.
/// `timezone` is `Err(())` when `settings.timezone` was given but is invalid (already
/// reported), so local times are not reported again.
pub(crate) fn resolve_datetime(
    name: &str,
    dt: &Datetime,
    timezone: Result<Option<Tz>, ()>,
) -> Result<Option<DateTime<Utc>>, Problem> {
    let (date, time) = match (dt.date, dt.time) {
        (Some(d), Some(t)) => (d, t),
        (Some(_), None) => {
            return Err(
                Problem::new(format!("{name} = {dt} is a date without a time of day")).hint(
                    format!("write a date-time with an offset, e.g. {name} = {dt}T09:00:00+01:00"),
                ),
            )
        }
        (None, _) => {
            return Err(
                Problem::new(format!("{name} = {dt} is a time of day without a date")).hint(
                    format!(
                        "write a date-time with an offset, e.g. {name} = 2026-12-03T{dt}+01:00"
                    ),
                ),
            )
        }
    };
    let naive_date = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .ok_or_else(|| Problem::new(format!("{name} = {dt} is not a valid date")))?;
    let second = time.second.unwrap_or(0);
    if second >= 60 {
        return Err(Problem::new(format!(
            "{name} = {dt} has a leap second, which is not supported"
        ))
        .hint("use :59 instead"));
    }
    let naive_time = NaiveTime::from_hms_nano_opt(
        u32::from(time.hour),
        u32::from(time.minute),
        u32::from(second),
        time.nanosecond.unwrap_or(0).min(999_999_999),
    )
    .ok_or_else(|| Problem::new(format!("{name} = {dt} is not a valid time of day")))?;
    let naive = NaiveDateTime::new(naive_date, naive_time);
    match dt.offset {
        Some(offset) => {
            let minutes = match offset {
                Offset::Z => 0,
                Offset::Custom { minutes } => i32::from(minutes),
            };
            let fixed = FixedOffset::east_opt(minutes * 60)
                .ok_or_else(|| Problem::new(format!("{name} = {dt} has an invalid offset")))?;
            match fixed.from_local_datetime(&naive) {
                LocalResult::Single(t) => Ok(Some(t.with_timezone(&Utc))),
                _ => Err(Problem::new(format!("{name} = {dt} is out of range"))),
            }
        }
        None => match timezone {
            Err(()) => Ok(None),
            Ok(None) => Err(Problem::new(format!(
                "{name} = {dt} has no UTC offset, and settings.timezone is not set"
            ))
            .hint(format!(
                "add an offset ({name} = {dt}+01:00 or {dt}Z), or set timezone = \
                 \"Europe/Berlin\" (an IANA name) in [settings] to read local times there"
            ))),
            Ok(Some(tz)) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(t) => Ok(Some(t.with_timezone(&Utc))),
                LocalResult::None => Err(Problem::new(format!(
                    "{name} = {dt} does not exist in {} (the clocks skip it for daylight \
                     saving time)",
                    tz.name()
                ))
                .hint(format!(
                    "write the time with an explicit offset, e.g. {name} = {}",
                    gap_suggestion(tz, naive)
                ))),
                LocalResult::Ambiguous(a, b) => Err(Problem::new(format!(
                    "{name} = {dt} is ambiguous in {} (it happens twice when the clocks go back)",
                    tz.name()
                ))
                .hint(format!(
                    "write the time with an explicit offset: {} or {}",
                    rfc3339_local(a.fixed_offset()),
                    rfc3339_local(b.fixed_offset())
                ))),
            },
        },
    }
}

/// For a local time in a DST gap: the instant it names under the offset in force before the
/// gap, written with the offset in force after it (02:30 in Berlin's spring gap -> 03:30+02:00).
fn gap_suggestion(tz: Tz, naive: NaiveDateTime) -> String {
    use chrono::Offset as _;
    naive
        .checked_sub_signed(TimeDelta::hours(3))
        .and_then(|earlier| tz.from_local_datetime(&earlier).earliest())
        .and_then(|before| before.offset().fix().from_local_datetime(&naive).single())
        .map(|instant| rfc3339_local(instant.with_timezone(&tz).fixed_offset()))
        .unwrap_or_else(|| "2026-03-29T03:30:00+02:00".to_string())
}

fn rfc3339_local(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A string as TOML would show it, shortened when long so messages stay readable.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}...")
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::rfc3339_utc;

    fn dt(s: &str) -> Datetime {
        s.parse().unwrap()
    }

    #[test]
    fn did_you_mean_finds_close_words_only() {
        let keys = ["region", "user", "path", "timezone"];
        assert_eq!(did_you_mean("regoin", keys), Some("region"));
        assert_eq!(did_you_mean("Region", keys), Some("region"));
        assert_eq!(did_you_mean("time_zone", keys), Some("timezone"));
        assert_eq!(did_you_mean("xyzzy", keys), None);
        assert_eq!(did_you_mean("anything", []), None);
        assert_eq!(did_you_mean(&"region".repeat(1000), keys), None);
    }

    #[test]
    fn user_names() {
        assert!(check_user_name("workshop-bedrock-user").is_ok());
        assert!(check_user_name("a+b=c,d.e@f_g-h").is_ok());
        assert!(check_user_name(&"u".repeat(64)).is_ok());
        assert!(check_user_name(&"u".repeat(65)).is_err());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("has space").is_err());
        assert!(check_user_name("slash/y").is_err());
        assert!(check_user_name("ümlaut").is_err());
    }

    #[test]
    fn workshop_ids() {
        assert!(check_workshop_id("context-engine-berlin").is_ok());
        assert!(check_workshop_id("a.b_c-D9").is_ok());
        assert!(check_workshop_id(&"i".repeat(64)).is_ok());
        assert!(check_workshop_id(&"i".repeat(65)).is_err());
        for bad in ["", ".", "..", "../x", "a/b", "a b", "ä", "x\0"] {
            assert!(check_workshop_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn iam_paths() {
        assert!(check_iam_path("/").is_ok());
        assert!(check_iam_path("/workshop/").is_ok());
        assert!(check_iam_path("/a/b-c/").is_ok());
        assert!(check_iam_path(&format!("/{}/", "p".repeat(510))).is_ok());
        assert!(check_iam_path(&format!("/{}/", "p".repeat(511))).is_err());
        for bad in [
            "",
            "workshop/",
            "/workshop",
            "/work shop/",
            "/wörk/",
            "/tab\t/",
        ] {
            assert!(check_iam_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regions() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us-east-1a", "us--1"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(
            parse_timezone("Europe/Berlin").unwrap(),
            chrono_tz::Europe::Berlin
        );
        let p = parse_timezone("Europe/Berln").unwrap_err();
        assert_eq!(p.message, "unknown time zone \"Europe/Berln\"");
        assert_eq!(p.hint.as_deref(), Some("did you mean `Europe/Berlin`?"));
        let p = parse_timezone("europe/berlin").unwrap_err();
        assert_eq!(p.hint.as_deref(), Some("did you mean `Europe/Berlin`?"));
        let p = parse_timezone("").unwrap_err();
        assert!(p.hint.unwrap().contains("IANA"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("lead", "24h").unwrap(), TimeDelta::hours(24));
        assert_eq!(
            parse_duration("lead", "90m").unwrap(),
            TimeDelta::minutes(90)
        );
        assert_eq!(parse_duration("lead", "2d").unwrap(), TimeDelta::days(2));
        assert_eq!(
            parse_duration("lead", "1h 30m").unwrap(),
            TimeDelta::minutes(90)
        );
        assert_eq!(parse_duration("lead", "0").unwrap(), TimeDelta::zero());
        assert_eq!(parse_duration("lead", "365d").unwrap(), MAX_DURATION);
        let p = parse_duration("lead", "-1h").unwrap_err();
        assert_eq!(p.message, "lead cannot be negative (\"-1h\")");
        let p = parse_duration("grace", "soon").unwrap_err();
        assert!(
            p.message
                .starts_with("invalid duration \"soon\" for grace: "),
            "{p:?}"
        );
        assert!(parse_duration("lead", "").is_err());
        assert!(parse_duration("lead", "24").is_err());
        let p = parse_duration("hold", "366d").unwrap_err();
        assert!(p.message.contains("too long"), "{p:?}");
        assert!(parse_duration("hold", "99999999999999999999y").is_err());
        assert!(parse_duration("hold", "18446744073709551615s").is_err());
    }

    #[test]
    fn offset_datetimes_are_exact() {
        let t = resolve_datetime("start", &dt("2026-12-03T09:00:00+01:00"), Ok(None))
            .unwrap()
            .unwrap();
        assert_eq!(rfc3339_utc(t), "2026-12-03T08:00:00Z");
        let t = resolve_datetime("start", &dt("2026-12-03T09:00:00.5Z"), Ok(None))
            .unwrap()
            .unwrap();
        assert_eq!(rfc3339_utc(t), "2026-12-03T09:00:00.500Z");
    }

    #[test]
    fn local_datetimes_need_a_timezone() {
        let p = resolve_datetime("start", &dt("2026-12-03T09:00:00"), Ok(None)).unwrap_err();
        assert!(p.message.contains("no UTC offset"), "{p:?}");
        assert!(p.hint.unwrap().contains("timezone"));
        // An invalid timezone was reported already: no second message.
        assert_eq!(
            resolve_datetime("start", &dt("2026-12-03T09:00:00"), Err(())).unwrap(),
            None
        );
        let t = resolve_datetime(
            "start",
            &dt("2026-12-03T09:00:00"),
            Ok(Some(chrono_tz::Europe::Berlin)),
        )
        .unwrap()
        .unwrap();
        assert_eq!(rfc3339_utc(t), "2026-12-03T08:00:00Z");
    }

    #[test]
    fn dst_gap_and_overlap_are_errors() {
        let berlin = Ok(Some(chrono_tz::Europe::Berlin));
        let p = resolve_datetime("start", &dt("2026-03-29T02:30:00"), berlin).unwrap_err();
        assert_eq!(
            p.message,
            "start = 2026-03-29T02:30:00 does not exist in Europe/Berlin \
             (the clocks skip it for daylight saving time)"
        );
        assert_eq!(
            p.hint.as_deref(),
            Some("write the time with an explicit offset, e.g. start = 2026-03-29T03:30:00+02:00")
        );
        let p = resolve_datetime("end", &dt("2026-10-25T02:30:00"), berlin).unwrap_err();
        assert_eq!(
            p.message,
            "end = 2026-10-25T02:30:00 is ambiguous in Europe/Berlin \
             (it happens twice when the clocks go back)"
        );
        assert_eq!(
            p.hint.as_deref(),
            Some(
                "write the time with an explicit offset: 2026-10-25T02:30:00+02:00 \
                 or 2026-10-25T02:30:00+01:00"
            )
        );
    }

    #[test]
    fn dates_and_times_alone_are_errors() {
        let p = resolve_datetime("start", &dt("2026-12-03"), Ok(None)).unwrap_err();
        assert_eq!(
            p.message,
            "start = 2026-12-03 is a date without a time of day"
        );
        let p = resolve_datetime("end", &dt("17:00:00"), Ok(None)).unwrap_err();
        assert_eq!(p.message, "end = 17:00:00 is a time of day without a date");
    }

    #[test]
    fn durations_are_shown_as_written() {
        assert_eq!(format_duration(TimeDelta::hours(24)), "24h");
        assert_eq!(format_duration(TimeDelta::hours(48)), "2d");
        assert_eq!(format_duration(TimeDelta::minutes(90)), "1h 30m");
        assert_eq!(format_duration(TimeDelta::seconds(59)), "59s");
        assert_eq!(format_duration(TimeDelta::zero()), "0s");
        assert_eq!(format_duration(MAX_DURATION), "365d");
    }

    #[test]
    fn quote_shortens_long_strings() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let long = "x".repeat(200);
        assert!(quote(&long).ends_with("\"..."));
        assert!(quote(&long).len() < 100);
    }
}
