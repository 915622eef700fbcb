use super::*;

const U: &str = "workshop-bedrock-user";
const UK: &str = "workshop-bedrock-user-uk";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A parsed schedule with one workshop: `Settings` and `Workshop` get new fields over
/// time, so tests build theirs from these (struct update) rather than spelling every field.
fn parsed() -> Schedule {
    let text = "[settings]\nuser = \"workshop-bedrock-user\"\nlead = \"24h\"\n\
                grace = \"1h\"\nhold = \"24h\"\n\n[[workshop]]\nid = \"template\"\n\
                start = 2026-12-01T09:00:00Z\nend = 2026-12-01T10:00:00Z\n";
    crate::schedule::parse(std::path::Path::new("workshops.toml"), text).unwrap()
}

fn ws(id: &str, user: &str, start: &str, end: &str, lead_h: i64, grace_m: i64) -> Workshop {
    Workshop {
        id: id.into(),
        title: None,
        start: at(start),
        end: at(end),
        user: user.into(),
        lead: TimeDelta::hours(lead_h),
        grace: TimeDelta::minutes(grace_m),
        ..parsed().workshops[0].clone()
    }
}

/// Four workshops in range on two users, with a collision on the first user (built here:
/// `validate` refuses it) and a workshop long gone that is not shown.
///
/// workshop-bedrock-user, keys needed (lead .. end + grace):
///   context-engine-berlin    12-02 08:00 .. 12-03 17:00 (deleted 12-04 17:00)
///   agents-lab-paris         12-03 07:00 .. 12-03 14:30 (lead 3h, grace 30m)
///   context-engine-berlin-2  12-03 08:00 .. 12-04 17:00: a third key 12-03 08:00 .. 14:30
fn known() -> Schedule {
    Schedule {
        workshops: vec![
            ws(
                "old-workshop",
                U,
                "2026-11-20T09:00:00Z",
                "2026-11-20T17:00:00Z",
                24,
                60,
            ),
            ws(
                "rag-basics-london",
                UK,
                "2026-12-02T09:00:00Z",
                "2026-12-02T16:00:00Z",
                24,
                60,
            ),
            ws(
                "context-engine-berlin",
                U,
                "2026-12-03T08:00:00Z",
                "2026-12-03T16:00:00Z",
                24,
                60,
            ),
            ws(
                "agents-lab-paris",
                U,
                "2026-12-03T10:00:00Z",
                "2026-12-03T14:00:00Z",
                3,
                30,
            ),
            ws(
                "context-engine-berlin-2",
                U,
                "2026-12-04T08:00:00Z",
                "2026-12-04T16:00:00Z",
                24,
                60,
            ),
        ],
        ..parsed()
    }
}

fn opts(width: usize, color: bool) -> TimelineOptions {
    TimelineOptions {
        from: at("2026-12-01T00:00:00Z"),
        days: 7,
        now: at("2026-12-03T12:00:00Z"),
        width,
        color,
    }
}

fn check_snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert!(
        actual == expected,
        "{} differs (UPDATE_SNAPSHOTS=1 rewrites it); got:\n{actual}",
        path.display()
    );
}

fn labels(t: &Timeline) -> Vec<String> {
    t.rows.iter().map(Row::label).collect()
}

#[test]
fn model_has_a_row_per_workshop_in_range_and_per_slot() {
    let t = model(&known(), &opts(100, false));
    assert_eq!(
        labels(&t),
        [
            "A rag-basics-london",
            "B context-engine-berlin",
            "C agents-lab-paris",
            "D context-engine-berlin-2",
            "workshop-bedrock-user / slot 1",
            "workshop-bedrock-user / slot 2",
            "workshop-bedrock-user / !",
            "workshop-bedrock-user-uk / slot 1",
            "workshop-bedrock-user-uk / slot 2",
        ]
    );
    assert_eq!(t.to, at("2026-12-08T00:00:00Z"));
    let paris = &t.rows[2].bars[0].spans;
    assert_eq!(
        paris
            .iter()
            .map(|s| (s.phase, s.from, s.to))
            .collect::<Vec<_>>(),
        [
            (
                Phase::Lead,
                at("2026-12-03T07:00:00Z"),
                at("2026-12-03T10:00:00Z")
            ),
            (
                Phase::Live,
                at("2026-12-03T10:00:00Z"),
                at("2026-12-03T14:00:00Z")
            ),
            (
                Phase::Grace,
                at("2026-12-03T14:00:00Z"),
                at("2026-12-03T14:30:00Z")
            ),
            (
                Phase::Hold,
                at("2026-12-03T14:30:00Z"),
                at("2026-12-04T14:30:00Z")
            ),
        ]
    );
}

#[test]
fn slots_are_assigned_greedily_and_the_third_key_waits() {
    let t = model(&known(), &opts(100, false));
    let slot = |i: usize| -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
        t.rows[i]
            .bars
            .iter()
            .map(|b| {
                let first = b.spans.first().unwrap().from;
                let last = b.spans.last().unwrap().to;
                (b.workshop.clone(), first, last)
            })
            .collect()
    };
    assert_eq!(
        slot(4),
        [(
            "context-engine-berlin".to_string(),
            at("2026-12-02T08:00:00Z"),
            at("2026-12-04T17:00:00Z")
        )]
    );
    // Paris takes slot 2 at 07:00; berlin-2 waits for it (from 08:00) and gets it when
    // Paris's key is deactivated at 14:30, which deletes that key at once.
    assert_eq!(
        slot(5),
        [
            (
                "agents-lab-paris".to_string(),
                at("2026-12-03T07:00:00Z"),
                at("2026-12-03T14:30:00Z")
            ),
            (
                "context-engine-berlin-2".to_string(),
                at("2026-12-03T14:30:00Z"),
                at("2026-12-05T17:00:00Z")
            ),
        ]
    );
    assert_eq!(
        t.collisions,
        [CollisionSpan {
            user: U.into(),
            from: at("2026-12-03T08:00:00Z"),
            to: at("2026-12-03T14:30:00Z"),
            keys: 3,
            workshops: vec![
                "context-engine-berlin".into(),
                "agents-lab-paris".into(),
                "context-engine-berlin-2".into()
            ],
        }]
    );
    assert_eq!(t.rows[6].bars[0].tag, '!');
    assert!(
        t.rows[8].bars.is_empty(),
        "the uk user's second slot is unused"
    );
}

#[test]
fn a_held_key_gives_way_and_the_one_due_soonest_is_deleted() {
    let mut s = known();
    s.workshops = vec![
        ws("a", U, "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z", 1, 0), // held to 12-03 10:00
        ws("b", U, "2026-12-02T11:00:00Z", "2026-12-02T12:00:00Z", 1, 0), // held to 12-03 12:00
        ws("c", U, "2026-12-02T20:00:00Z", "2026-12-02T21:00:00Z", 1, 0),
    ];
    let t = model(&s, &opts(100, false));
    let slot1 = &t.rows[3].bars;
    assert_eq!(slot1.len(), 2);
    assert_eq!(
        slot1[0].spans.last().unwrap().to,
        at("2026-12-02T19:00:00Z")
    );
    assert_eq!(slot1[1].workshop, "c");
    assert_eq!(t.rows[4].bars[0].workshop, "b");
    assert!(t.collisions.is_empty());
    assert_eq!(t.rows.len(), 5, "no ! row without a collision");
}

#[test]
fn only_workshops_overlapping_the_range_are_shown() {
    let mut o = opts(100, false);
    o.from = at("2026-11-20T00:00:00Z");
    o.days = 1;
    let t = model(&known(), &o);
    assert_eq!(
        labels(&t),
        [
            "A old-workshop",
            "workshop-bedrock-user / slot 1",
            "workshop-bedrock-user / slot 2"
        ]
    );
    o.from = at("2026-12-10T00:00:00Z");
    let t = model(&known(), &o);
    assert!(t.rows.is_empty());
    let text = render_text(&t, &o);
    assert!(
        text.contains("no workshops in 2026-12-10 – 2026-12-10 UTC (1 day)"),
        "{text}"
    );
}

#[test]
fn text_snapshot() {
    let o = opts(100, false);
    check_snapshot("timeline.txt", &render_text(&model(&known(), &o), &o));
}

#[test]
fn svg_snapshot() {
    let o = opts(100, false);
    check_snapshot("timeline.svg", &render_svg(&model(&known(), &o), &o));
}

#[test]
fn no_color_means_no_escape_codes_and_color_adds_only_escape_codes() {
    let plain = opts(100, false);
    let t = model(&known(), &plain);
    let text = render_text(&t, &plain);
    assert!(!text.contains('\x1b'));

    let colored = render_text(&t, &opts(100, true));
    for sgr in [
        "\x1b[36m░",
        "\x1b[32m█",
        "\x1b[33m▒",
        "\x1b[90m·",
        "\x1b[1;31m!",
        "\x1b[1;35m▼",
    ] {
        assert!(colored.contains(sgr), "{sgr:?} missing");
    }
    assert_eq!(strip_ansi(&colored), text);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn narrow_terminals_keep_every_row_within_the_width() {
    let s = known();
    let wide = opts(100, false);
    let t = model(&s, &wide);
    let wide_lines = render_text(&t, &wide).lines().count();
    for width in [20, 40] {
        let o = opts(width, false);
        let text = render_text(&t, &o);
        let lines: Vec<&str> = text.lines().collect();
        // Same rows; only the legend and the collision notes may wrap onto more lines.
        let body = 3 + t.rows.len() + 2; // header, rows, gaps before each user's slots
        assert!(
            lines.len() >= body && lines.len() >= wide_lines - 2,
            "{text}"
        );
        for (row, line) in t.rows.iter().zip(
            lines[3..]
                .iter()
                .filter(|l| !l.replace('│', " ").trim().is_empty()),
        ) {
            let label = fit_label(row, Grid::new(&t, width).label_w, &t);
            assert!(
                line.starts_with(&label),
                "{line:?} should start with {label:?}"
            );
        }
        for line in &lines {
            assert!(line.chars().count() <= width, "{line:?} wider than {width}");
        }
    }
}

#[test]
fn any_width_and_range_renders_without_panicking() {
    let s = known();
    for width in (0..=420).step_by(7).chain([20, 21, 39, 40, 400]) {
        for days in [0, 1, 3, 7, 14, 31, 90] {
            let mut o = opts(width, width % 2 == 0);
            o.days = days;
            let t = model(&s, &o);
            let text = render_text(&t, &o);
            assert!(text.ends_with('\n'));
            if (20..=400).contains(&width) && days <= 7 {
                assert!(text.lines().all(|l| strip_ansi(l).chars().count() <= width));
            }
            render_svg(&t, &o);
        }
    }
    // A range that does not start at midnight, now before and after it, a huge range.
    let mut o = opts(80, false);
    o.from = at("2026-12-02T06:30:00Z");
    o.now = at("2026-01-01T00:00:00Z");
    let text = render_text(&model(&s, &o), &o);
    assert!(text.starts_with("Timeline 2026-12-02 06:30 – 2026-12-09 06:30 UTC (7 days)"));
    assert!(text.lines().nth(1).unwrap().ends_with('◀'), "{text}");
    o.now = at("2027-01-01T00:00:00Z");
    let text = render_text(&model(&s, &o), &o);
    assert!(text.lines().nth(1).unwrap().ends_with('▶'), "{text}");
    o.days = u32::MAX;
    let t = model(&s, &o);
    assert_eq!(t.days, MAX_DAYS);
    render_svg(&t, &o);
}

#[test]
fn labels_shorten_on_narrow_terminals() {
    let row = Row {
        kind: RowKind::Slot {
            user: "workshop-bedrock-user-uk".into(),
            slot: 2,
        },
        bars: vec![],
    };
    // Beside workshop-bedrock-user: shortened in the middle, the ends kept apart.
    let t = model(&known(), &opts(100, false));
    assert_eq!(fit_label(&row, 40, &t), "workshop-bedrock-user-uk / slot 2");
    assert_eq!(fit_label(&row, 20, &t), "works…er-uk / slot 2");
    assert_eq!(fit_label(&row, 10, &t), "wor…-uk /2");
    assert_eq!(fit_label(&row, 6, &t), "wo…k/2");
    assert_eq!(fit_label(&row, 4, &t), "wor…");
    let other = Row {
        kind: RowKind::Slot {
            user: U.into(),
            slot: 2,
        },
        bars: vec![],
    };
    assert_eq!(fit_label(&other, 20, &t), "works…-user / slot 2");
    assert_eq!(fit_label(&other, 10, &t), "wor…ser /2");
    assert_eq!(clip_str("agents-lab-paris", 8), "agents-…");
}

#[test]
fn wrap_keeps_words_and_cuts_only_overlong_ones() {
    assert_eq!(wrap("aa bb cc", 5, 2), ["aa bb", "  cc"]);
    assert_eq!(wrap("abcdefghij", 4, 1), ["abcd", " efg", " hij"]);
    assert_eq!(wrap("", 4, 1), Vec::<String>::new());
    assert_eq!(wrap("a b", 0, 0), ["a", "b"]);
}

#[test]
fn svg_is_well_formed() {
    let o = opts(100, false);
    let svg = render_svg(&model(&known(), &o), &o);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.ends_with("</svg>\n"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_balanced(&svg);
    // Every `&` starts an entity; no `<` inside text.
    for (i, _) in svg.match_indices('&') {
        let rest = &svg[i..];
        assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| rest.starts_with(e)));
    }
    // One rect per visible phase, a now line, a collision highlight and the legend.
    assert!(svg.contains("agents-lab-paris live 2026-12-03 10:00 – 2026-12-03 14:00 UTC"));
    assert!(svg.contains("stroke=\"#7b3294\" stroke-width=\"2\""));
    assert!(svg.contains("fill-opacity=\"0.15\""));
    assert!(svg.contains(">third key needed</text>"));
    assert!(!svg.contains('\x1b'));
}

/// Every element is closed, in order (a stack over the tags; no attribute holds `<`/`>`).
fn assert_balanced(svg: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').expect("unclosed tag") + i;
        let tag = &rest[i + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap();
            stack.push(name);
        }
        rest = &rest[end + 1..];
        if stack.is_empty() {
            assert!(rest.trim().is_empty(), "content after the root element");
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

#[test]
fn svg_escapes_text() {
    let mut s = known();
    s.workshops[1].id = "a<b>&\"c\"".into();
    let o = opts(100, false);
    let svg = render_svg(&model(&s, &o), &o);
    assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&quot;"));
    assert!(!svg.contains("a<b>"));
}

#[test]
fn command_helpers() {
    assert_eq!(parse_from("2026-12-01"), Ok(at("2026-12-01T00:00:00Z")));
    assert_eq!(
        parse_from("2026-12-01T09:00:00+01:00"),
        Ok(at("2026-12-01T08:00:00Z"))
    );
    assert!(parse_from("tomorrow").unwrap_err().contains("`tomorrow`"));
    assert_eq!(
        start_of_day(at("2026-12-03T17:45:12Z")),
        at("2026-12-03T00:00:00Z")
    );
    assert_eq!(width_from(Some("80"), Some(120)), 80);
    assert_eq!(width_from(Some("x"), Some(120)), 120);
    assert_eq!(width_from(Some("0"), None), DEFAULT_WIDTH);
    assert_eq!(width_from(None, None), DEFAULT_WIDTH);
    let set = std::ffi::OsStr::new("1");
    let empty = std::ffi::OsStr::new("");
    assert!(use_color(true, None));
    assert!(use_color(true, Some(empty)));
    assert!(!use_color(true, Some(set)));
    assert!(!use_color(false, None));
}
