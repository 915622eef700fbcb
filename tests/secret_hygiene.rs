//! Secret hygiene: every command (validate, plan, reconcile, status and `status --workshop`,
//! verify, and `plan --out` / `show` / `reconcile --dry-run`), at `RUST_LOG=trace`, with `--log-format text` and `json` and
//! `--output text` and `json`, against moto, through moments where `reconcile` creates keys
//! (verifies them with Bedrock using the secret, and hands them to a `deliver` hook), then
//! deletes them. Every secret — read from the credentials files as soon as they are written, plus
//! one of a key made with the SDK — is searched for in everything the binary printed, and in
//! every file left in the working directory except the credentials files and what the deliver
//! hook wrote (saved plans, the notify hook's input, the lock file): whole, as any 16-character
//! piece, and URL-encoded. The deliver hook fails for one workshop after printing its input
//! (secret included) on stderr: the tool must cut the secret out of what it reports. The secrets
//! are in their files and reached the hook (so the search is not vacuous), and the logs really
//! are trace logs.
//!
//! With `bedrock_api_key = true`, every bearer token (`AWS_BEARER_TOKEN_BEDROCK`) any run wrote,
//! and the signature inside it, is searched for the same way. The runs' `--at` lies days after
//! the real clock that signs the tokens, so each reconcile renews them: many tokens, each handed
//! to the hook (which prints them on stderr for `first`), checked with Bearer auth, and planned.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::proxy::output_within;
use common::MotoServer;

const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// `first` gets its key (user A).
const T1: &str = "2026-12-10T12:00:00Z";
/// `second` gets its key too (user B); both live.
const T2: &str = "2026-12-11T12:00:00Z";
/// Both over and past their hold: keys deleted, files removed.
const T3: &str = "2026-12-14T12:00:00Z";

struct Run {
    what: String,
    output: Output,
}

struct Test {
    server: &'static MotoServer,
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    schedule: PathBuf,
    runs: Vec<Run>,
    /// Workshop (or "sdk") -> (access key id, secret).
    secrets: BTreeMap<String, (String, String)>,
    /// Every bearer token seen in a credentials file -> (workshop, the signature inside it).
    tokens: BTreeMap<String, (String, String)>,
}

impl Test {
    fn run(&mut self, args: &[&str], log_format: &str, expect: &[i32]) -> String {
        let mut cmd = self.server.command();
        cmd.env("RUST_LOG", "trace")
            .current_dir(&self.dir)
            .args(["--log-format", log_format])
            .args(args)
            .arg("--schedule")
            .arg(&self.schedule);
        let output = output_within(&mut cmd, RUN_TIMEOUT);
        let what = format!("--log-format {log_format} {}", args.join(" "));
        let code = output.status.code().unwrap_or(-1);
        assert!(
            expect.contains(&code),
            "{what}: exit {code}\n--- stdout\n{}\n--- stderr (tail)\n{}",
            String::from_utf8_lossy(&output.stdout),
            tail(&String::from_utf8_lossy(&output.stderr))
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        check_logs(&what, log_format, &String::from_utf8_lossy(&output.stderr));
        self.runs.push(Run { what, output });
        self.collect_secrets();
        stdout
    }

    /// A command without `--schedule` (`show`).
    fn run_plain(&mut self, args: &[&str], log_format: &str) {
        let mut cmd = self.server.command();
        cmd.env("RUST_LOG", "trace")
            .current_dir(&self.dir)
            .args(["--log-format", log_format])
            .args(args);
        let output = output_within(&mut cmd, RUN_TIMEOUT);
        let what = format!("--log-format {log_format} {}", args.join(" "));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.runs.push(Run { what, output });
    }

    /// Every command in every format, at `at` where it takes one.
    fn every_command(&mut self, at: &str) {
        for log in ["text", "json"] {
            self.run(&["validate"], log, &[0]);
            for output in ["text", "json"] {
                self.run(&["plan", "--at", at, "--output", output], log, &[0]);
                self.run(
                    &[
                        "plan",
                        "--at",
                        at,
                        "--output",
                        output,
                        "--out",
                        "saved.plan",
                    ],
                    log,
                    &[0],
                );
                let show = ["show", "saved.plan", "--output", output];
                self.run_plain(&show, log);
                self.run(
                    &[
                        "plan",
                        "--at",
                        at,
                        "--output",
                        output,
                        "--detailed-exitcode",
                    ],
                    log,
                    &[0, 2],
                );
                self.run(
                    &["reconcile", "--dry-run", "--at", at, "--output", output],
                    log,
                    &[0],
                );
                self.run(&["status", "--at", at, "--output", output], log, &[0]);
                let one = ["status", "--workshop", "first", "--output", output];
                self.run(&one, log, &[0]);
                let check = ["status", "--check", "--at", at, "--output", output];
                self.run(&check, log, &[0, 1]);
                // verify checks keys now, with the secrets from the files; moto answers.
                self.run(&["verify", "--output", output], log, &[0, 1]);
                // Exit 1 while the delivery of `first` keeps failing.
                let reconcile = ["reconcile", "--at", at, "--output", output];
                self.run(&reconcile, log, &[0, 1]);
                let with_metrics = [&reconcile[..], &["--metrics-file", "metrics.prom"]].concat();
                self.run(&with_metrics, log, &[0, 1]);
            }
        }
    }

    /// Reads the secrets of every credentials file present now.
    fn collect_secrets(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join("credentials")) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(workshop) = name.strip_suffix(".env") else {
                continue;
            };
            let text = std::fs::read_to_string(e.path()).unwrap();
            let value = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                    .unwrap_or_else(|| panic!("{name} without {k}"))
                    .to_string()
            };
            let (id, secret) = (value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY"));
            assert!(
                secret.len() >= 20,
                "{name}: a real secret, not {} chars",
                secret.len()
            );
            // Not vacuous: the secret is in its file, exactly as the README shows.
            assert!(text.contains(&format!("\nAWS_SECRET_ACCESS_KEY={secret}\n")));
            let key = format!("{workshop}/{id}");
            self.secrets.entry(key).or_insert((id, secret));
            if let Some(token) = text
                .lines()
                .find_map(|l| l.strip_prefix("AWS_BEARER_TOKEN_BEDROCK="))
            {
                let signature = signature_of(token);
                self.tokens
                    .entry(token.to_string())
                    .or_insert((workshop.to_string(), signature));
            }
        }
    }
}

/// The `X-Amz-Signature` inside a bearer token: what makes it a credential.
fn signature_of(token: &str) -> String {
    let b64 = token
        .strip_prefix("bedrock-api-key-")
        .unwrap_or_else(|| panic!("a token without its prefix ({} chars)", token.len()));
    let url = String::from_utf8(aws_smithy_types::base64::decode(b64).unwrap()).unwrap();
    let signature = url
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Signature="))
        .expect("a signature in the token")
        .to_string();
    assert_eq!(signature.len(), 64, "a SigV4 signature");
    signature
}

/// A run's output or a file, searched for every secret and every token: panics on a find.
fn search(t: &Test, what: &str, text: &str) {
    for (owner, (id, secret)) in &t.secrets {
        if let Some(place) = leak(text, secret) {
            panic!("the secret of {owner} (key {id}) is in {what}: {place}");
        }
    }
    for (token, (workshop, signature)) in &t.tokens {
        for (name, value) in [("bearer token", token), ("token signature", signature)] {
            if let Some(place) = leak(text, value) {
                panic!("a {name} of workshop {workshop} is in {what}: {place}");
            }
        }
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The logs are there and in the format asked for.
fn check_logs(what: &str, format: &str, stderr: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    // validate makes no AWS call and may log nothing.
    let validate = what.contains(" validate");
    assert!(
        validate || !lines.is_empty(),
        "{what}: no logs at RUST_LOG=trace"
    );
    if format == "json" {
        let mut trace = 0;
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: a log line that is not JSON ({e}): {l}"));
            if v["level"] == "TRACE" {
                trace += 1;
            }
        }
        assert!(
            validate || trace > 0,
            "{what}: no TRACE line in the JSON logs"
        );
    } else if !validate {
        assert!(
            lines.iter().any(|l| l.contains("TRACE")),
            "{what}: no TRACE line in the logs"
        );
    }
}

/// Every regular file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

/// Where `secret` shows in `haystack`: whole, as any 16-character piece, or URL-encoded.
fn leak(haystack: &str, secret: &str) -> Option<String> {
    let encoded: String = secret
        .chars()
        .map(|c| match c {
            '/' => "%2F".to_string(),
            '+' => "%2B".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect();
    let chars: Vec<char> = secret.chars().collect();
    let pieces = chars
        .windows(16.min(chars.len()))
        .map(|w| w.iter().collect::<String>());
    std::iter::once(secret.to_string())
        .chain(std::iter::once(encoded))
        .chain(pieces)
        .find_map(|p| {
            haystack.find(&p).map(|i| {
                let from = haystack[..i]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(j, _)| j);
                let to = (i + p.len() + 80).min(haystack.len());
                let to = (to..=haystack.len())
                    .find(|&j| haystack.is_char_boundary(j))
                    .unwrap();
                format!("{p:?} in ...{}...", &haystack[from..to])
            })
        })
}

#[test]
fn the_leak_search_finds_pieces_and_encodings() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assert!(leak(&format!("x{secret}y"), secret).is_some());
    assert!(leak("..MDENG/bPxRfiCYEX..", secret).is_some());
    assert!(leak("..wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY..", secret).is_some());
    assert!(leak("wJalrXUtnFEMI/K7MD", secret).is_some());
    assert!(leak("wJalrXUtnFEMI/K7", secret).is_some());
    assert!(leak("wJalrXUtnFEMI/K", secret).is_none());
}

#[test]
fn no_secret_in_any_output_or_log_at_trace() {
    let started = Instant::now();
    let server = common::shared();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let sfx = common::unique_suffix();
    let (user_a, user_b) = (format!("wk-hyg-a-{sfx}"), format!("wk-hyg-b-{sfx}"));
    let schedule = dir.join("workshops.toml");
    // The deliver hook: fails for `first` after printing its input (with the secret) on stderr;
    // keeps the others' input (what a real hook would encrypt and send on).
    let deliver = dir.join("deliver.sh");
    std::fs::write(
        &deliver,
        r#"#!/bin/sh
input=$(cat)
case "$input" in
  *'"workshop":"first"'*) printf 'cannot hand over %s
' "$input" >&2; exit 1 ;;
esac
printf '%s' "$input" > "$(dirname "$0")/delivered-$$.json"
"#,
    )
    .unwrap();
    let notify = dir.join("notify.sh");
    std::fs::write(
        &notify,
        "#!/bin/sh
cat >> \"$(dirname \"$0\")/notified.log\"\necho >> \"$(dirname \"$0\")/notified.log\"\n",
    )
    .unwrap();
    for script in [&deliver, &notify] {
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        &schedule,
        format!(
            r#"[settings]
path = "{path}"
user = "{user_a}"
verify_timeout = "5s"
bedrock_api_key = true
deliver = [{deliver:?}]
notify = [{notify:?}]

[[workshop]]
id = "first"
start = 2026-12-11T09:00:00Z
end = 2026-12-11T17:00:00Z

[[workshop]]
id = "second"
user = "{user_b}"
start = 2026-12-12T09:00:00Z
end = 2026-12-12T17:00:00Z
"#,
            path = common::unique_path("hygiene"),
            deliver = deliver.display().to_string(),
            notify = notify.display().to_string(),
        ),
    )
    .unwrap();
    let mut t = Test {
        server,
        _tmp: tmp,
        dir,
        schedule,
        runs: Vec::new(),
        secrets: BTreeMap::new(),
        tokens: BTreeMap::new(),
    };

    // T1: reconcile creates and verifies `first`'s key (JSON logs, JSON output).
    // Exit 1: the delivery of `first` fails (by design of the hook).
    let out = t.run(&["reconcile", "--at", T1, "--output", "json"], "json", &[1]);
    assert!(
        out.contains("<secret>"),
        "the hook printed the secret; the report should show it cut out: {out}"
    );
    assert!(
        out.contains("\"created_key\""),
        "no key was created at {T1}: {out}"
    );
    t.collect_secrets();
    assert_eq!(t.secrets.len(), 1, "one credentials file after {T1}");

    // A key made outside the tool, with the SDK: its secret must not show either.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let iam = server.iam_client(None, common::test_credentials());
    let sdk_key = rt
        .block_on(iam.create_access_key().user_name(&user_a).send())
        .expect("CreateAccessKey")
        .access_key
        .unwrap();
    t.secrets.insert(
        "sdk".into(),
        (sdk_key.access_key_id, sdk_key.secret_access_key),
    );
    t.every_command(T1);

    // T2: `second`'s key (text logs, text output), then everything again.
    let out = t.run(&["reconcile", "--at", T2], "text", &[0, 1]);
    assert!(
        out.contains("create_key"),
        "no key was created at {T2}: {out}"
    );
    t.collect_secrets();
    assert_eq!(t.secrets.len(), 3, "two workshop keys and the SDK key");
    t.every_command(T2);

    // T3: keys deleted and files removed, with trace logs.
    let out = t.run(&["reconcile", "--at", T3], "json", &[0, 1]);
    assert!(
        out.contains("delete_key"),
        "keys should be deleted at {T3}: {out}"
    );
    t.every_command(T3);
    assert!(
        !Path::new(&t.dir.join("credentials/first.env")).exists(),
        "first.env removed with its key"
    );

    let mut bytes = 0;
    for run in &t.runs {
        for (stream, data) in [
            ("stdout", &run.output.stdout),
            ("stderr", &run.output.stderr),
        ] {
            let text = String::from_utf8_lossy(data);
            bytes += text.len();
            search(&t, &format!("the {stream} of `{}`", run.what), &text);
        }
    }
    // Every file left here, except the credentials files and the deliver hook's output: saved
    // plans, the notify hook's input, the lock file, the hooks themselves.
    let mut files = 0;
    let mut delivered = String::new();
    for path in walk(&t.dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if name.starts_with("delivered-") {
            delivered.push_str(&data);
            continue;
        }
        if name.ends_with(".env") && path.parent().is_some_and(|p| p.ends_with("credentials")) {
            continue;
        }
        files += 1;
        search(&t, &path.display().to_string(), &data);
    }
    assert!(t.dir.join("saved.plan").exists() && t.dir.join("notified.log").exists());
    assert!(t.dir.join("metrics.prom").exists());
    // Not vacuous: the hook received `second`'s secret.
    let second = t
        .secrets
        .iter()
        .find(|(k, _)| k.starts_with("second/"))
        .map(|(_, (_, s))| s.clone())
        .expect("second's secret");
    assert!(
        delivered.contains(&second),
        "the deliver hook never got second's secret"
    );
    // Not vacuous for tokens either: files held several, the hook got second's, and the hook
    // printed first's (on stderr) for the tool to cut out.
    assert!(t.tokens.len() >= 4, "only {} tokens seen", t.tokens.len());
    assert!(
        t.tokens
            .iter()
            .any(|(token, (w, _))| w == "second" && delivered.contains(token.as_str())),
        "the deliver hook never got a token of second"
    );

    // The secrets were used at trace level: Bedrock answered the keys in reconcile and verify.
    let verified = t
        .runs
        .iter()
        .filter(|r| r.what.contains(" verify ") || r.what.contains(" reconcile "))
        .filter(|r| String::from_utf8_lossy(&r.output.stdout).contains("verified"))
        .count();
    assert!(verified >= 2, "no run verified a key with its secret");
    // The key ids, which are not secret, do show: the search looks at the right output.
    let all: String = t
        .runs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.output.stdout).into_owned())
        .collect();
    for (owner, (id, _)) in &t.secrets {
        assert!(all.contains(id.as_str()), "key {id} of {owner} never shown");
    }
    eprintln!(
        "{} runs, {} MB of output and {files} files searched for {} secrets and {} tokens; {:.1}s",
        t.runs.len(),
        bytes / 1_000_000,
        t.secrets.len(),
        t.tokens.len(),
        started.elapsed().as_secs_f64()
    );
}
