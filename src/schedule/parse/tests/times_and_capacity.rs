use super::*;

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
        format!(
            "3:10: models is empty, but policy = \"restricted\" needs at least one model | {hint}"
        )
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
    let w = "[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n";
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
    assert!(one(&format!("{W}user = \"a/b\"\n")).starts_with("5:8: invalid IAM user name \"a/b\""));
    assert!(one("[settings]\npath = \"workshop\"\n")
        .starts_with("2:8: IAM path \"workshop\" must start and end with '/'"));
    assert!(one("[settings]\npath = \"/a b/\"\n").starts_with("2:8: invalid IAM path \"/a b/\""));
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
