//! `add`, `remove`, `move` and `list` through the built binary, pointed at moto for the plan
//! each edit prints.
//!
//! Every test writes a heavily commented schedule (its own IAM path and user, so tests do not
//! see each other in moto's default account) into a tempdir of its own, runs one or more edits
//! and checks the file byte for byte: an edit changes the edited workshop only, and an edit that
//! would make the schedule invalid exits 1 with `validate`'s messages and leaves the file as it
//! was.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use serde_json::Value;

use common::run::Run;

/// One run of the binary.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn rfc3339_plus_one(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A test's schedule: a tempdir, an IAM path and a user of its own, and workshops around now.
struct Fx {
    dir: tempfile::TempDir,
    path: String,
    user: String,
    now: DateTime<Utc>,
}

impl Fx {
    fn new(label: &str) -> Fx {
        Fx {
            dir: tempfile::tempdir().expect("tempdir"),
            path: common::unique_path(label),
            user: format!("edit-{}", common::unique_suffix()),
            now: Utc::now(),
        }
    }

    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn at(&self, hours: i64) -> String {
        rfc3339(self.now + Duration::hours(hours))
    }

    /// Comments before, between and inside the tables, odd spacing, both quote styles. In file
    /// order: `old-one` (ended 10 days ago), `far-one` (in 30 days), `live-now` (running now),
    /// `far-two` (in 31 days; the last table).
    fn base_text(&self) -> String {
        let h = |hours: i64| self.at(hours);
        let far_one_start = rfc3339_plus_one(self.now + Duration::days(30));
        let far_one_end = rfc3339_plus_one(self.now + Duration::days(30) + Duration::hours(8));
        format!(
            r#"# Test schedule for the edit commands: comments everywhere, odd spacing, and a
# comment that mentions [[workshop]] and id = "far-one".

[settings]   # the settings
path = "{path}"
user   =   "{user}"    # the default user
verify = false
# timezone = "Europe/Berlin"
lead = "24h"
grace = "1h"


# The workshops. Keys: id, title, start, end, user, lead, grace

# The first one (an attached comment).
[[workshop]]
id = "old-one"     # ended ten days ago
title = 'Literal title'
  start = {old_start}
end   = {old_end}   # ends

[[workshop]]  # a header comment
# a comment inside
id = "far-one"
start = {far_one_start}
	end = {far_one_end}
# user = "commented-out"

# Running right now.
[[workshop]]
id = "live-now"
title = "Live now"
start = {live_start}
end = {live_end}

[[workshop]]
id="far-two"
start={far_two_start}
end={far_two_end}
lead = "3h"

# footer: more workshops soon
"#,
            path = self.path,
            user = self.user,
            old_start = h(-240),
            old_end = h(-232),
            live_start = h(-1),
            live_end = h(5),
            far_two_start = h(31 * 24),
            far_two_end = h(31 * 24 + 8),
        )
    }

    fn write(&self, text: &str) {
        fs::write(self.schedule(), text).expect("write the schedule");
    }

    fn bytes(&self) -> Vec<u8> {
        fs::read(self.schedule()).expect("read the schedule")
    }

    fn text(&self) -> String {
        String::from_utf8(self.bytes()).expect("UTF-8")
    }

    /// `workshop-keys <command> <args> --schedule <ours>`, against moto.
    fn run(&self, command: &str, args: &[&str]) -> Run {
        let mut cmd = common::shared().command();
        cmd.arg(command)
            .args(args)
            .arg("--schedule")
            .arg(self.schedule())
            .env("RUST_LOG", "warn");
        run(cmd, format!("workshop-keys {command} {}", args.join(" ")))
    }

    /// Runs an edit that must be refused: exit 1, and the file byte for byte as it was, with no
    /// temporary file left next to it.
    fn refused(&self, command: &str, args: &[&str]) -> Run {
        let before = self.bytes();
        let r = self.run(command, args);
        r.code(1);
        assert_eq!(
            self.bytes(),
            before,
            "the file changed although the edit was refused:\n{r}"
        );
        assert_eq!(self.entries(), 1, "files left next to the schedule:\n{r}");
        r
    }

    /// Files in the schedule's directory other than the credentials directory and a lock file:
    /// the schedule, and any temporary file an edit left behind.
    fn entries(&self) -> usize {
        fs::read_dir(self.dir.path())
            .expect("read the tempdir")
            .filter(|e| {
                e.as_ref()
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name != "credentials" && !name.ends_with(".lock")
                    })
                    .unwrap_or(true)
            })
            .count()
    }

    fn path_str(&self) -> String {
        self.schedule().display().to_string()
    }
}

fn run(cmd: Command, what: String) -> Run {
    Run::of(cmd, what)
}

/// The text of the last table, `far-two`, as written by `base_text`.
const LAST_TABLE_END: &str = "lead = \"3h\"\n";

#[test]
fn add_appends_the_workshop_and_prints_the_plan_for_it() {
    let fx = Fx::new("edit-add");
    let base = fx.base_text();
    fx.write(&base);
    let (start, end) = (fx.at(2), fx.at(4));
    fx.run(
        "add",
        &[
            "soon",
            "--start",
            &start,
            "--end",
            &end,
            "--title",
            "Starts \"soon\"",
            "--lead",
            "3h",
            "--grace",
            "30m",
        ],
    )
    .code(0)
    // Its key is due now: the plan creates it.
    .stdout_line_with(&["create_key", "soon"]);
    let expected = base.replacen(
        LAST_TABLE_END,
        &format!(
            "{LAST_TABLE_END}\n[[workshop]]\nid = \"soon\"\ntitle = 'Starts \"soon\"'\n\
             start = {start}\nend = {end}\nlead = \"3h\"\ngrace = \"30m\"\n"
        ),
        1,
    );
    assert_eq!(fx.text(), expected);
    assert_eq!(fx.entries(), 1);

    // With a user of its own; the file validates.
    let user2 = format!("{}-b", fx.user);
    fx.run(
        "add",
        &[
            "later",
            "--start",
            &fx.at(48),
            "--end",
            &fx.at(50),
            "--user",
            &user2,
        ],
    )
    .code(0);
    assert_eq!(
        fx.text(),
        format!(
            "{}[[workshop]]\nid = \"later\"\nstart = {}\nend = {}\nuser = \"{user2}\"\n\n# footer: more workshops soon\n",
            expected.strip_suffix("# footer: more workshops soon\n").unwrap(),
            fx.at(48),
            fx.at(50)
        )
    );
    fx.run("validate", &[]).code(0);
}

#[test]
fn remove_deletes_only_that_workshop_and_prints_what_happens_to_its_key() {
    let fx = Fx::new("edit-remove");
    let base = fx.base_text();
    fx.write(&base);
    // Give live-now a key first, so that removing it has an effect.
    fx.run("reconcile", &[]).code(0);
    let base_bytes = fx.bytes();

    let r = fx.run("remove", &["live-now"]);
    r.code(0);
    // The key of a workshop no longer scheduled is deactivated.
    assert!(
        r.stdout.lines().any(|l| l.contains("live-now")
            && (l.contains("deactivate_key") || l.contains("delete_key"))),
        "the plan for live-now's key is not shown:\n{r}"
    );
    let live = format!(
        "\n# Running right now.\n[[workshop]]\nid = \"live-now\"\ntitle = \"Live now\"\nstart = {}\nend = {}\n",
        fx.at(-1),
        fx.at(5)
    );
    assert!(base.contains(&live));
    assert_eq!(fx.text(), base.replacen(&live, "", 1));
    assert_ne!(fx.bytes(), base_bytes);

    // The first table: its attached comment goes, the comment block above it stays.
    fx.run("remove", &["old-one"]).code(0);
    let old = format!(
        "# The first one (an attached comment).\n[[workshop]]\nid = \"old-one\"     # ended ten days ago\ntitle = 'Literal title'\n  start = {}\nend   = {}   # ends\n\n",
        fx.at(-240),
        fx.at(-232)
    );
    assert!(base.contains(&old));
    assert_eq!(fx.text(), base.replacen(&live, "", 1).replacen(&old, "", 1));
    fx.run("validate", &[]).code(0);
}

#[test]
fn move_changes_only_the_two_times() {
    let fx = Fx::new("edit-move");
    let base = fx.base_text();
    fx.write(&base);
    let far_two = format!("start={}\nend={}\n", fx.at(31 * 24), fx.at(31 * 24 + 8));
    assert!(base.contains(&far_two));
    let (start, end) = (fx.at(1), fx.at(3));
    fx.run("move", &["far-two", "--start", &start, "--end", &end])
        .code(0)
        // Moved into its key window: the plan creates its key.
        .stdout_line_with(&["create_key", "far-two"]);
    assert_eq!(
        fx.text(),
        base.replacen(&far_two, &format!("start={start}\nend={end}\n"), 1)
    );

    // Keys with odd spacing and comments on the same lines keep them.
    let one_start = rfc3339_plus_one(fx.now + Duration::days(40));
    let one_end = rfc3339_plus_one(fx.now + Duration::days(40) + Duration::hours(2));
    fx.run(
        "move",
        &["far-one", "--start", &one_start, "--end", &one_end],
    )
    .code(0);
    let text = fx.text();
    assert!(
        text.contains(&format!(
            "id = \"far-one\"\nstart = {one_start}\n\tend = {one_end}\n# user = \"commented-out\"\n"
        )),
        "{text}"
    );
    assert_eq!(text.lines().count(), base.lines().count());
}

#[test]
fn list_shows_every_workshop_by_start_with_its_state() {
    let fx = Fx::new("edit-list");
    fx.write(&fx.base_text());
    let before = fx.bytes();
    let r = fx.run("list", &[]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 5, "{r}");
    let header = lines[0];
    for column in ["WORKSHOP", "STATE", "START", "END", "USER", "TITLE"] {
        assert!(header.contains(column), "header lacks {column}:\n{r}");
    }
    let rows: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap(), words.next().unwrap())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("old-one", "past"),
            ("live-now", "live"),
            ("far-one", "upcoming"),
            ("far-two", "upcoming"),
        ],
        "{r}"
    );
    assert!(lines[1].contains("Literal title"), "{r}");

    let r = fx.run("list", &["--output", "json"]);
    r.code(0);
    let json: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{r}"));
    let items = json
        .as_array()
        .or_else(|| json["workshops"].as_array())
        .unwrap_or_else(|| panic!("no list of workshops:\n{r}"));
    let got: Vec<(&str, &str)> = items
        .iter()
        .map(|w| (w["id"].as_str().unwrap(), w["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("old-one", "past"),
            ("live-now", "live"),
            ("far-one", "upcoming"),
            ("far-two", "upcoming"),
        ]
    );
    let live = &items[1];
    assert_eq!(live["title"], "Live now");
    assert_eq!(live["user"], fx.user.as_str());
    assert_eq!(live["start"], fx.at(-1).as_str());
    assert_eq!(live["end"], fx.at(5).as_str());
    assert_eq!(fx.bytes(), before);

    // An empty schedule.
    fx.write("[settings]\nverify = false\n");
    let r = fx.run("list", &[]);
    r.code(0);
    assert_eq!(r.stdout.trim(), "No workshops.", "{r}");
}

#[test]
fn a_third_workshop_at_once_on_one_user_is_refused() {
    let fx = Fx::new("edit-capacity");
    fx.write(&fx.base_text());
    // live-now and x1 at once: two keys, allowed.
    fx.run("add", &["x1", "--start", &fx.at(-1), "--end", &fx.at(5)])
        .code(0);
    // A third: refused, located in the would-be file, with validate's hint.
    let r = fx.refused("add", &["x2", "--start", &fx.at(0), "--end", &fx.at(2)]);
    let path = fx.path_str();
    r.stderr_has("edit refused")
        .stderr_has("unchanged")
        .stderr_has("  hint: move one workshop to another `user = ...`, or shorten lead/grace");
    assert!(
        r.stderr.lines().any(|l| l.starts_with(&format!("{path}:"))
            && l.contains(": error: user ")
            && l.contains("would need 3 keys at once")
            && l.contains("live-now, x1, x2")),
        "no validate-style capacity message:\n{r}"
    );
    // The same with `move`.
    fx.refused(
        "move",
        &["far-one", "--start", &fx.at(0), "--end", &fx.at(2)],
    )
    .stderr_has("would need 3 keys at once");
    // With its own user it fits.
    fx.run(
        "add",
        &[
            "x2",
            "--start",
            &fx.at(0),
            "--end",
            &fx.at(2),
            "--user",
            &format!("{}-2", fx.user),
        ],
    )
    .code(0);
}

#[test]
fn end_before_start_is_refused_at_its_line() {
    let fx = Fx::new("edit-order");
    let base = fx.base_text();
    fx.write(&base);
    let path = fx.path_str();
    let r = fx.refused("add", &["x", "--start", &fx.at(50), "--end", &fx.at(49)]);
    // The new table's `end` line in the would-be file: after the last table, a blank line,
    // header, id, start.
    let line = base.lines().position(|l| l == "lead = \"3h\"").unwrap() + 1 + 5;
    r.stderr_has(&format!(
        "{path}:{line}:7: error: workshop \"x\" ends ({}) before or when it starts ({})",
        fx.at(49),
        fx.at(50)
    ))
    .stderr_has("  hint: end must be after start");

    let r = fx.refused(
        "move",
        &["live-now", "--start", &fx.at(3), "--end", &fx.at(3)],
    );
    let line = base.lines().position(|l| l == "id = \"live-now\"").unwrap() + 1 + 3;
    r.stderr_has(&format!(
        "{path}:{line}:7: error: workshop \"live-now\" ends"
    ));
}

#[test]
fn duplicate_and_unknown_ids_are_refused() {
    let fx = Fx::new("edit-ids");
    fx.write(&fx.base_text());
    fx.refused(
        "add",
        &["far-one", "--start", &fx.at(50), "--end", &fx.at(51)],
    )
    .stderr_has("workshop \"far-one\" is already in the schedule");
    fx.refused("remove", &["far-on"])
        .stderr_has("no workshop \"far-on\" in the schedule (did you mean \"far-one\"?)");
    fx.refused(
        "move",
        &["nowhere", "--start", &fx.at(50), "--end", &fx.at(51)],
    )
    .stderr_has("no workshop \"nowhere\" in the schedule");
    // An id validate refuses: named as the argument it is.
    fx.refused("add", &["../x", "--start", &fx.at(50), "--end", &fx.at(51)])
        .stderr_has("error: add: id \"../x\": not a valid workshop id; nothing was changed");
}

/// Issue 15, defect 13: `add "bad/id"` on a file pointed at `workshops.toml:141:6`, a line of
/// the would-be file that the real file does not have. A bad argument is named as the
/// argument; what only the edited text shows says that its places are in the edited text.
#[test]
fn defect_13_a_refused_edit_points_at_the_argument_not_at_a_line_that_does_not_exist() {
    let fx = Fx::new("edit-defect-13");
    let base = fx.base_text();
    fx.write(&base);
    let path = fx.path_str();
    let r = fx.refused(
        "add",
        &["bad/id", "--start", &fx.at(50), "--end", &fx.at(51)],
    );
    assert_eq!(
        r.stderr,
        "error: add: id \"bad/id\": not a valid workshop id; nothing was changed\n  hint: ids \
         are 1-64 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\"); they are used in file \
         names and IAM tags\n",
        "{r}"
    );
    assert!(!r.stderr.contains(&format!("{path}:")), "{r}");
    // The other arguments a schedule cannot hold, each by its flag.
    for (args, want) in [
        (
            vec!["--user", "bad user"],
            "error: add: --user \"bad user\": not a valid IAM user name; nothing was changed",
        ),
        (
            vec!["--lead", "soon"],
            "error: add: --lead \"soon\": invalid duration \"soon\" for lead",
        ),
        (
            vec!["--title", "two\nlines"],
            "error: add: --title \"two\\nlines\": a title must not contain control characters",
        ),
    ] {
        let mut all = vec!["ok-id", "--start", &fx.at(50), "--end", &fx.at(51)]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        fx.refused("add", &all).stderr_has(want);
    }
    // A problem only the edited text has (end before start) says where its place is: the new
    // table's `end` line, after the last table, a blank line, header, id, start.
    let line = base.lines().position(|l| l == "lead = \"3h\"").unwrap() + 1 + 5;
    let r = fx.refused("add", &["x", "--start", &fx.at(50), "--end", &fx.at(49)]);
    r.stderr_has(&format!(
        "error: edit refused: the schedule would not be valid after it; {path} is unchanged (the \
         places below are in the edited text, not in the file)\n{path}:{line}:7: error: workshop \"x\" \
         ends"
    ));
}

#[test]
fn times_are_read_like_validate_reads_them() {
    let fx = Fx::new("edit-times");
    let base = fx.base_text();
    fx.write(&base);
    // A local time needs settings.timezone.
    fx.refused(
        "add",
        &[
            "x",
            "--start",
            "2030-12-10T09:00:00",
            "--end",
            "2030-12-10T17:00:00Z",
        ],
    )
    .stderr_has("--start 2030-12-10T09:00:00 has no UTC offset, and settings.timezone is not set")
    .stderr_has("timezone = \"Europe/Berlin\"");
    fx.refused("add", &["x", "--start", "soon", "--end", &fx.at(2)])
        .stderr_has("--start \"soon\" is not a date-time");

    // With a zone: written as an offset date-time of that zone.
    let zoned = base.replacen(
        "# timezone = \"Europe/Berlin\"",
        "timezone = \"Europe/Berlin\"",
        1,
    );
    fx.write(&zoned);
    fx.run(
        "add",
        &[
            "x",
            "--start",
            "2030-12-10T09:00",
            "--end",
            "2030-07-10T17:00:00+02:00",
        ],
    )
    .code(1); // end before start: refused
    fx.run(
        "add",
        &[
            "x",
            "--start",
            "2030-12-10T09:00",
            "--end",
            "2030-12-10T17:00:00",
        ],
    )
    .code(0);
    assert_eq!(
        fx.text(),
        zoned.replacen(
            LAST_TABLE_END,
            &format!(
                "{LAST_TABLE_END}\n[[workshop]]\nid = \"x\"\nstart = 2030-12-10T09:00:00+01:00\nend = 2030-12-10T17:00:00+01:00\n"
            ),
            1
        )
    );
    // Summer time, and a time the clocks skip.
    fx.run(
        "move",
        &[
            "x",
            "--start",
            "2030-07-10T09:00:00",
            "--end",
            "2030-07-10T17:00:00",
        ],
    )
    .code(0);
    assert!(fx
        .text()
        .contains("start = 2030-07-10T09:00:00+02:00\nend = 2030-07-10T17:00:00+02:00\n"));
    fx.refused(
        "move",
        &[
            "x",
            "--start",
            "2026-03-29T02:30:00",
            "--end",
            "2026-03-29T05:00:00",
        ],
    )
    .stderr_has("--start 2026-03-29T02:30:00 does not exist in Europe/Berlin");
}

#[test]
fn an_edit_is_kept_when_the_plan_cannot_be_computed() {
    let fx = Fx::new("edit-offline");
    let base = fx.base_text();
    fx.write(&base);
    let mut cmd = common::shared().command();
    // Nothing listens on port 1: IAM is unreachable.
    cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("RUST_LOG", "warn")
        .args(["add", "soon", "--start", &fx.at(2), "--end", &fx.at(4)])
        .arg("--schedule")
        .arg(fx.schedule());
    let r = run(cmd, "workshop-keys add soon (IAM unreachable)".into());
    r.code(0);
    assert!(
        fx.text().contains("[[workshop]]\nid = \"soon\"\n"),
        "the edit was not written:\n{r}"
    );
    let all = format!("{}{}", r.stdout, r.stderr).to_lowercase();
    assert!(all.contains("plan"), "no note about the plan:\n{r}");
}

#[test]
fn a_missing_or_invalid_schedule_is_not_touched() {
    let fx = Fx::new("edit-missing");
    let r = fx.run("remove", &["x"]);
    r.code(1);
    assert!(!fx.schedule().exists(), "{r}");

    // Invalid TOML: nothing is edited.
    fx.write("[settings\nverify = false\n");
    fx.refused("add", &["x", "--start", &fx.at(2), "--end", &fx.at(3)]);
}

/// Issue 15 defect 7: `list` ignored the terminal's width. With COLUMNS it fits: each
/// workshop's user and title go on a line of their own under it, times shorten to
/// `2026-12-02 09:00`; ids are never cut. Without COLUMNS (a pipe) it is the full table.
#[test]
fn defect_7_list_fits_the_terminal_without_cutting_ids() {
    let schedule = concat!(env!("CARGO_MANIFEST_DIR"), "/workshops.toml");
    let list = |columns: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_workshop-keys"));
        cmd.args(["list", "--schedule", schedule])
            .env("RUST_LOG", "warn")
            .env_remove("COLUMNS");
        if let Some(c) = columns {
            cmd.env("COLUMNS", c);
        }
        let r = run(cmd, format!("COLUMNS={columns:?} workshop-keys list"));
        r.code(0);
        r
    };
    let ids = [
        "rag-basics-london",
        "context-engine-berlin",
        "context-engine-berlin-2",
        "agents-lab-paris",
    ];
    let full = list(None);
    assert!(
        full.stdout.lines().any(|l| l.chars().count() > 100),
        "{full}"
    );
    for columns in ["100", "80", "60"] {
        let r = list(Some(columns));
        let width: usize = columns.parse().unwrap();
        for line in r.stdout.lines() {
            assert!(
                line.chars().count() <= width,
                "wider than {width}: {line:?}\n{r}"
            );
        }
        for id in ids {
            assert!(
                r.stdout
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(id)),
                "{id} not whole at the start of a row:\n{r}"
            );
        }
        for word in [
            "workshop-bedrock-user-uk",
            "Retrieval-augmented",
            "London",
            "2026-12-05",
        ] {
            assert!(r.stdout.contains(word), "{word} lost at {width}:\n{r}");
        }
    }
}
