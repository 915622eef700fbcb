use super::settings::{default_settings, policy_size_problem};
use super::*;
use crate::schedule::PolicyChoice;
use std::path::PathBuf;

mod participants;
mod times_and_capacity;

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
    assert!(
        one("[[workshop]]\nid = 'a'\nid = 'b'\n").starts_with("3:1: invalid TOML: duplicate key")
    );
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
    assert!(
        one(&W.replace("id = \"a\"", &format!("id = \"{long}\""))).contains("invalid workshop id")
    );
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
        e.starts_with("4:7: workshop \"a\" ends (2026-12-02T16:00:00Z) before or when it starts"),
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
