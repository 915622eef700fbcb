use super::*;
use crate::time::format_time;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Berlin;
use std::fs;
use std::os::unix::fs::MetadataExt;
use toml_edit::Document;

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
    let example = include_str!("../../../workshops.toml");
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
    let example = include_str!("../../../workshops.toml");
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
    let t = "[[workshop]]\nid = \"a\"\nstart = 2026-12-02T09:00:00Z\nend = 2026-12-02T10:00:00Z\n";
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
    let example = include_str!("../../../workshops.toml");
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
