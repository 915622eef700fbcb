//! `handout`: the CSV for a mail merge and the printable HTML page, from credentials files in
//! the on-disk format, through the built binary. The page is rendered by headless Chromium
//! (Debian's `chromium`, installed by `scripts/setup-browser`; missing, the test fails): a
//! screenshot, and the DOM after layout, with one card per participant.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_workshop-keys");
const CHROMIUM: &str = "/usr/bin/chromium";
const PARTICIPANTS: usize = 12;

/// A schedule with a 12-participant workshop and a shared-key one, far enough ahead that their
/// keys still work, and a credentials file for each participant and for the shared key.
struct Fx {
    dir: tempfile::TempDir,
}

fn secret(label: &str) -> String {
    format!("wJalrXUtnFEMI/K7MDENG+bPxRfiCY{label:0>10}")
}

fn key_id(n: usize) -> String {
    format!("AKIAPARTICIPANT{n:05}")
}

impl Fx {
    fn new() -> Fx {
        let fx = Fx {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::write(
            fx.schedule(),
            "[settings]\nregion = \"eu-central-1\"\ntimezone = \"Europe/Berlin\"\n\n\
             [[workshop]]\nid = \"room\"\ntitle = \"Agents & <Tools>: a day \\\"hands-on\\\"\"\n\
             participants = 12\nstart = 2099-03-04T09:00:00\nend = 2099-03-04T17:00:00\n\n\
             [[workshop]]\nid = \"trainers\"\nstart = 2099-03-04T09:00:00\nend = 2099-03-04T17:00:00\n\n\
             [[workshop]]\nid = \"empty\"\nparticipants = 3\nstart = 2099-03-05T09:00:00\nend = 2099-03-05T17:00:00\n",
        )
        .unwrap();
        let creds = fx.dir.path().join("credentials");
        let room = creds.join("room");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&room)
            .unwrap();
        for n in 1..=PARTICIPANTS {
            let label = format!("p{n:02}");
            write_env(
                &room.join(format!("{label}.env")),
                &key_id(n),
                &secret(&label),
            );
        }
        write_env(
            &creds.join("trainers.env"),
            "AKIASHAREDTRAINERS00",
            &secret("shared"),
        );
        fx
    }

    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn handout(&self, args: &[&str]) -> Output {
        let out = Command::new(BIN)
            .arg("handout")
            .args(args)
            .arg("--schedule")
            .arg(self.schedule())
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("wJalrXUtnFEMI"),
            "a secret reached stdout or stderr:\n{all}"
        );
        out
    }
}

/// A credentials file as the tool writes it: mode 0600.
fn write_env(path: &Path, id: &str, secret: &str) {
    use std::io::Write as _;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    write!(
        f,
        "# workshop-keys: workshop room, written 2099-03-03T08:00:00Z\nAWS_ACCESS_KEY_ID={id}\n\
         AWS_SECRET_ACCESS_KEY={secret}\nAWS_DEFAULT_REGION=eu-central-1\n"
    )
    .unwrap();
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `cmd`'s output, killing it after `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM} ({e}); run scripts/setup-browser"));
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "chromium did not finish within {limit:?}:\n{}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Headless Chromium on `page`, with a profile of its own and nothing fetched from the network.
fn chromium(page: &Path, profile: &Path, action: &str) -> Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup-browser (apt-get install chromium)"
    );
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1240,1754",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(action)
    .arg(format!("file://{}", page.display()))
    .env("HOME", profile);
    let out = output_within(&mut cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "chromium {action} failed:\n{}",
        text(&out.stderr)
    );
    out
}

#[test]
fn the_html_handout_renders_one_card_per_participant() {
    let fx = Fx::new();
    let page = fx.out("room.html");
    let out = fx.handout(&["room", "--output", "html", "--out", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("wrote 12 cards to {} (mode 0600)\n", page.display())
    );
    assert_eq!(mode(&page), 0o600);
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("Agents &amp; &lt;Tools&gt;: a day &quot;hands-on&quot;"));
    assert!(html.contains(&secret("p07")));
    assert!(html.contains("This key stops working at Wed 4 Mar 2099, 18:00 CET."));

    // Rendered: the DOM after parsing and layout holds the cards, not just the text.
    let profile = tempfile::tempdir().unwrap();
    let dom = text(&chromium(&page, profile.path(), "--dump-dom").stdout);
    assert_eq!(dom.matches("class=\"card\"").count(), PARTICIPANTS, "{dom}");
    for n in 1..=PARTICIPANTS {
        assert!(dom.contains(&key_id(n)), "card {n} lacks its key id");
    }
    assert!(dom.contains("Agents &amp; &lt;Tools&gt;"));

    let shot = fx.out("room.png");
    chromium(
        &page,
        profile.path(),
        &format!("--screenshot={}", shot.display()),
    );
    let png = fs::read(&shot).expect("chromium wrote no screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1240, 1754));
    // A blank page compresses to a few kilobytes; cards full of text do not.
    assert!(png.len() > 40_000, "screenshot is only {} bytes", png.len());
    // Printed: eight cards (four rows) a page, so two A4 pages.
    let pdf = fx.out("room.pdf");
    chromium(
        &page,
        profile.path(),
        &format!("--print-to-pdf={}", pdf.display()),
    );
    let pdf = fs::read(&pdf).expect("chromium wrote no PDF");
    let pdf = String::from_utf8_lossy(&pdf);
    // Page objects: `/Type /Page`, not the page tree's `/Type /Pages`.
    let pages = pdf
        .match_indices("/Type /Page")
        .filter(|(i, m)| !pdf[i + m.len()..].starts_with('s'))
        .count();
    assert_eq!(pages, 2, "the 12 cards should print on two pages");
    if let Ok(keep) = std::env::var("HANDOUT_SCREENSHOT") {
        fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn the_csv_handout_has_the_header_and_a_row_per_participant() {
    let fx = Fx::new();
    let csv = fx.out("room.csv");
    let path = csv.to_str().unwrap();
    let out = fx.handout(&["room", "--output", "csv", "--out", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("wrote 12 cards to {path} (mode 0600)\n")
    );
    assert_eq!(mode(&csv), 0o600);
    // Read by Python's csv module, an independent RFC 4180 reader.
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='')))))",
            path,
        ])
        .output()
        .expect("python3");
    assert!(parsed.status.success(), "{}", text(&parsed.stderr));
    let rows: Vec<Vec<String>> = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!(
        rows[0],
        [
            "participant",
            "access_key_id",
            "secret_access_key",
            "region",
            "expires"
        ]
    );
    assert_eq!(rows.len(), 1 + PARTICIPANTS);
    for (n, row) in rows[1..].iter().enumerate() {
        let label = format!("p{:02}", n + 1);
        assert_eq!(
            row,
            &[
                label.clone(),
                key_id(n + 1),
                secret(&label),
                "eu-central-1".into(),
                "2099-03-04T17:00:00Z".into()
            ]
        );
    }
    assert!(fs::read_to_string(&csv).unwrap().contains("\r\n"));

    // An existing file is kept unless --force.
    fs::write(&csv, "keep me").unwrap();
    let refused = fx.handout(&["room", "--output", "csv", "--out", path]);
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(err.contains(path) && err.contains("--force"), "{err}");
    assert_eq!(fs::read_to_string(&csv).unwrap(), "keep me");
    let forced = fx.handout(&["room", "--output", "csv", "--out", path, "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_eq!(mode(&csv), 0o600);
    assert!(fs::read_to_string(&csv)
        .unwrap()
        .starts_with("participant,"));
}

#[test]
fn a_shared_key_is_one_card_and_no_live_keys_is_an_error() {
    let fx = Fx::new();
    let csv = fx.out("trainers.csv");
    let out = fx.handout(&[
        "trainers",
        "--output",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("wrote 1 card to "));
    let body = fs::read_to_string(&csv).unwrap();
    assert_eq!(body.lines().count(), 2);
    assert!(body.contains(&format!(
        "\r\n,AKIASHAREDTRAINERS00,{},eu-central-1,2099-03-04T17:00:00Z\r\n",
        secret("shared")
    )));

    let none = fx.out("empty.html");
    let out = fx.handout(&["empty", "--output", "html", "--out", none.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "workshop empty has no live keys: the credentials file empty/p1.env does not exist"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!none.exists());

    let unknown = fx.handout(&["nope", "--output", "csv", "--out", "x.csv"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("\"nope\" is not in the schedule"));
}
