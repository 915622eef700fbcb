//! Monitoring end to end: `reconcile --metrics-file` and `status --check` through the built
//! binary against a moto server of its own (with AWS's managed policies loaded, so that a user
//! can be quarantined the way AWS does it).
//!
//! The metrics file is read by a real parser, `prometheus_client`'s text-format parser, and the
//! example alert rules by PyYAML and `promql-parser` (all three pinned and installed into
//! `.venv/` by `scripts/setup-emulator`; a missing one fails the test, never skips it).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use serde_json::Value;

use common::run::Run;
use common::MotoServer;

const V3: &str = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";
/// berlin's key window opens at 07:00 (lead 2h): imminent.
const IMMINENT: &str = "2026-12-10T08:00:00Z";
const LIVE: &str = "2026-12-10T10:00:00Z";
/// Three hours after berlin's end + grace (18:00).
const LATE: &str = "2026-12-10T21:00:00Z";

/// Every metric the file has after a run that read IAM.
const ALL_METRICS: [&str; 8] = [
    "workshop_keys_last_run_timestamp_seconds",
    "workshop_keys_last_success_timestamp_seconds",
    "workshop_keys_run_ok",
    "workshop_keys_keys",
    "workshop_keys_workshops",
    "workshop_keys_overdue_keys",
    "workshop_keys_verification_failures",
    "workshop_keys_quarantined_users",
];
/// The metrics of a run that failed before it read IAM.
const RUN_METRICS: [&str; 3] = [
    "workshop_keys_last_run_timestamp_seconds",
    "workshop_keys_last_success_timestamp_seconds",
    "workshop_keys_run_ok",
];

/// prometheus_client's parser, as JSON: `[{name, type, help, samples: [{name, labels, value}]}]`.
const PARSE_METRICS: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
with open(sys.argv[1]) as f:
    families = list(text_string_to_metric_families(f.read()))
print(json.dumps([
    {"name": f.name, "type": f.type, "help": f.documentation,
     "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
    for f in families
]))
"#;

/// The rule file's shape as Prometheus loads it, every `expr` parsed as PromQL and every `for`
/// as a duration; prints `[{alert, metrics}]` with the metric names each expression reads.
const PARSE_RULES: &str = r#"
import json, sys, yaml, promql_parser
with open(sys.argv[1]) as f:
    doc = yaml.safe_load(f)
assert isinstance(doc, dict) and set(doc) == {"groups"}, f"top level: {doc!r}"
out, groups = [], set()
for g in doc["groups"]:
    assert set(g) <= {"name", "interval", "limit", "rules"}, f"group keys {sorted(g)}"
    assert isinstance(g["name"], str) and g["name"] not in groups, f"group name {g['name']!r}"
    groups.add(g["name"])
    for r in g["rules"]:
        assert set(r) <= {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}, f"rule keys {sorted(r)}"
        assert ("alert" in r) != ("record" in r), f"a rule is an alert or a record: {r!r}"
        for field in ("for", "keep_firing_for"):
            if field in r:
                promql_parser.parse_duration(r[field])
        for field in ("labels", "annotations"):
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in r.get(field, {}).items()), f"{field} of {r!r}"
        try:
            expr = promql_parser.parse(r["expr"])
        except ValueError as e:
            raise SystemExit(f"rule {r.get('alert') or r.get('record')}: expr {r['expr']!r}: {e}")
        names = []
        def pre(node):
            if isinstance(node, promql_parser.VectorSelector):
                names.append(node.name)
        promql_parser.walk(expr, pre)
        out.append({"alert": r.get("alert"), "metrics": names})
print(json.dumps(out))
"#;

fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup-emulator",
        p.display()
    );
    p
}

/// Run one of the scripts above on `file` with the project's Python; its JSON answer.
fn python_json(script: &str, file: &Path) -> Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .expect("run .venv/bin/python");
    assert!(
        out.status.success(),
        "the parser refused {}:\n{}\n--- the file\n{}\n(missing module? run scripts/setup-emulator)",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        fs::read_to_string(file).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).expect("the parser's JSON")
}

/// A metrics file as parsed: family name -> (type, help, samples as `name{labels}` -> value).
type Families = BTreeMap<String, (String, String, BTreeMap<String, f64>)>;

fn parse_metrics(file: &Path) -> Families {
    let parsed = python_json(PARSE_METRICS, file);
    let mut out = Families::new();
    for f in parsed.as_array().unwrap() {
        let samples = f["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels: Vec<String> = s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                    .collect();
                let name = if labels.is_empty() {
                    s["name"].as_str().unwrap().to_string()
                } else {
                    format!("{}{{{}}}", s["name"].as_str().unwrap(), labels.join(","))
                };
                (name, s["value"].as_f64().unwrap())
            })
            .collect();
        let name = f["name"].as_str().unwrap().to_string();
        let previous = out.insert(
            name.clone(),
            (
                f["type"].as_str().unwrap().to_string(),
                f["help"].as_str().unwrap().to_string(),
                samples,
            ),
        );
        assert!(previous.is_none(), "{name} appears twice");
    }
    out
}

/// One sample's value.
fn value(m: &Families, sample: &str) -> f64 {
    let family = sample.split('{').next().unwrap();
    let (_, _, samples) = m
        .get(family)
        .unwrap_or_else(|| panic!("no metric {family} in {m:#?}"));
    *samples
        .get(sample)
        .unwrap_or_else(|| panic!("no sample {sample} in {samples:?}"))
}

/// Every family is a gauge with a HELP text, and the names are exactly `expected`.
fn assert_names(m: &Families, expected: &[&str]) {
    let names: BTreeSet<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(names, expected.iter().copied().collect::<BTreeSet<_>>());
    for (name, (kind, help, samples)) in m {
        assert_eq!(kind, "gauge", "{name}");
        assert!(!help.is_empty(), "{name} has no HELP");
        assert!(!samples.is_empty(), "{name} has no sample");
    }
}

struct Fx {
    server: MotoServer,
    iam: aws_sdk_iam::Client,
    dir: tempfile::TempDir,
    room: String,
}

impl Fx {
    /// berlin (live on 2026-12-10, 09:00-17:00) and paris (upcoming, ten days later) on one
    /// user; lead 2h, grace 1h; new keys verified against moto's Bedrock.
    fn new(verify: bool) -> Fx {
        let server = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
        let iam = server.iam_client(None, common::test_credentials());
        let fx = Fx {
            server,
            iam,
            dir: tempfile::tempdir().expect("tempdir"),
            room: format!("room-{}", common::unique_suffix()),
        };
        let text = format!(
            "[settings]\nuser = \"{room}\"\npath = \"/monitoring/\"\nlead = \"2h\"\ngrace = \"1h\"\nhold = \"24h\"\n\
             verify = {verify}\nverify_timeout = \"5s\"\n\n\
             [[workshop]]\nid = \"berlin\"\nstart = 2026-12-10T09:00:00Z\nend = 2026-12-10T17:00:00Z\n\n\
             [[workshop]]\nid = \"paris\"\nstart = 2026-12-20T09:00:00Z\nend = 2026-12-20T17:00:00Z\n",
            room = fx.room,
        );
        fs::write(fx.schedule(), text).unwrap();
        fx
    }

    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn run_env(&self, command: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.server.command();
        cmd.arg(command)
            .args(args)
            .arg("--schedule")
            .arg(self.schedule())
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::of(cmd, format!("workshop-keys {command} {}", args.join(" ")))
    }

    fn run(&self, command: &str, args: &[&str]) -> Run {
        self.run_env(command, args, &[])
    }

    async fn quarantine(&self) {
        self.iam
            .attach_user_policy()
            .user_name(&self.room)
            .policy_arn(V3)
            .send()
            .await
            .expect("AttachUserPolicy AWSCompromisedKeyQuarantineV3 (needs MOTO_IAM_LOAD_MANAGED_POLICIES)");
    }

    async fn key(&self) -> String {
        let out = self
            .iam
            .list_access_keys()
            .user_name(&self.room)
            .send()
            .await
            .expect("ListAccessKeys");
        let keys = out.access_key_metadata();
        assert_eq!(keys.len(), 1, "{keys:?}");
        keys[0].access_key_id().unwrap().to_string()
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn the_metrics_file_parses_and_follows_the_runs() {
    let fx = Fx::new(true);
    let dir = fx.dir.path().join("textfile");
    fs::create_dir(&dir).unwrap();
    let file = dir.join("workshop_keys.prom");
    let file_arg = file.to_str().unwrap();

    // A successful run: berlin's key is made and verified, paris is upcoming.
    let before = Utc::now().timestamp() as f64;
    fx.run("reconcile", &["--at", IMMINENT, "--metrics-file", file_arg])
        .code(0);
    let after = Utc::now().timestamp() as f64;
    let m = parse_metrics(&file);
    assert_names(&m, &ALL_METRICS);
    // Run times are the real clock's, not --at's.
    let first_run = value(&m, "workshop_keys_last_run_timestamp_seconds");
    assert!(
        (before..=after).contains(&first_run),
        "{first_run} not in {before}..{after}"
    );
    assert_eq!(
        value(&m, "workshop_keys_last_success_timestamp_seconds"),
        first_run
    );
    assert_eq!(value(&m, "workshop_keys_run_ok"), 1.0);
    assert_eq!(value(&m, "workshop_keys_keys{state=active}"), 1.0);
    assert_eq!(value(&m, "workshop_keys_keys{state=inactive}"), 0.0);
    let states = |m: &Families| -> Vec<(String, f64)> {
        ["upcoming", "waiting", "live", "revoked", "ended", "blocked"]
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    value(m, &format!("workshop_keys_workshops{{state={s}}}")),
                )
            })
            .collect()
    };
    let expect = |counts: [f64; 6]| -> Vec<(String, f64)> {
        ["upcoming", "waiting", "live", "revoked", "ended", "blocked"]
            .iter()
            .zip(counts)
            .map(|(s, n)| (s.to_string(), n))
            .collect()
    };
    assert_eq!(states(&m), expect([1.0, 0.0, 1.0, 0.0, 0.0, 0.0]));
    assert_eq!(value(&m, "workshop_keys_overdue_keys"), 0.0);
    assert_eq!(value(&m, "workshop_keys_verification_failures"), 0.0);
    assert_eq!(value(&m, "workshop_keys_quarantined_users"), 0.0);
    // Readable by a collector running as another user; no temporary file left beside it.
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let entries: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["workshop_keys.prom"]);

    // IAM unreachable: the run fails after the schedule loaded; the file says so, keeps the
    // last success, and drops the state it could not read.
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let down = fx.run_env(
        "reconcile",
        &["--at", IMMINENT, "--metrics-file", file_arg],
        &[("AWS_ENDPOINT_URL", &endpoint), ("AWS_MAX_ATTEMPTS", "1")],
    );
    down.code(1);
    let m = parse_metrics(&file);
    assert_names(&m, &RUN_METRICS);
    assert_eq!(value(&m, "workshop_keys_run_ok"), 0.0, "{down}");
    assert_eq!(
        value(&m, "workshop_keys_last_success_timestamp_seconds"),
        first_run
    );
    assert!(value(&m, "workshop_keys_last_run_timestamp_seconds") >= first_run);

    // After berlin's window: its key is deactivated; success again.
    fx.run("reconcile", &["--at", LATE, "--metrics-file", file_arg])
        .code(0);
    let m = parse_metrics(&file);
    assert_names(&m, &ALL_METRICS);
    assert_eq!(value(&m, "workshop_keys_run_ok"), 1.0);
    assert!(value(&m, "workshop_keys_last_success_timestamp_seconds") >= first_run);
    assert_eq!(value(&m, "workshop_keys_keys{state=active}"), 0.0);
    assert_eq!(value(&m, "workshop_keys_keys{state=inactive}"), 1.0);
    assert_eq!(states(&m), expect([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]));
    assert_eq!(value(&m, "workshop_keys_overdue_keys"), 0.0);
    let last_success = value(&m, "workshop_keys_last_success_timestamp_seconds");

    // AWS quarantines the user: the run fails (exit 1) but read IAM, so the state is there.
    fx.quarantine().await;
    let q = fx.run("reconcile", &["--at", LATE, "--metrics-file", file_arg]);
    q.code(1);
    let m = parse_metrics(&file);
    assert_names(&m, &ALL_METRICS);
    assert_eq!(value(&m, "workshop_keys_run_ok"), 0.0);
    assert_eq!(value(&m, "workshop_keys_quarantined_users"), 1.0, "{q}");
    assert_eq!(
        value(&m, "workshop_keys_last_success_timestamp_seconds"),
        last_success
    );

    // The example alert rules parse, and read only metrics the binary writes.
    let rules_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus-alerts.yml");
    let rules = python_json(PARSE_RULES, &rules_file);
    let rules = rules.as_array().unwrap();
    let alerts: BTreeSet<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    for wanted in [
        "WorkshopKeysNoSuccessfulRun",
        "WorkshopKeysOverdueKey",
        "WorkshopKeysUserQuarantined",
    ] {
        assert!(alerts.contains(wanted), "no alert {wanted}: {alerts:?}");
    }
    for r in rules {
        let used = r["metrics"].as_array().unwrap();
        assert!(!used.is_empty(), "rule {} reads no metric", r["alert"]);
        for name in used {
            assert!(
                m.contains_key(name.as_str().unwrap()),
                "rule {} reads {name}, which the metrics file does not have",
                r["alert"]
            );
        }
    }
}

#[tokio::test]
async fn status_check_exit_codes() {
    let fx = Fx::new(true);
    let check = |at: &str| fx.run("status", &["--check", "--at", at]);

    // Imminent, no key yet.
    check(IMMINENT)
        .code(1)
        .stdout_line_with(&[
            "CRITICAL: workshop berlin (user",
            &fx.room,
            "starts in 1h and has no active key",
        ])
        .stdout_line_with(&["CRITICAL: 1 problem (2 workshops, 0 active keys)"]);

    // reconcile makes and verifies the key: all is well, imminent and live.
    fx.run("reconcile", &["--at", IMMINENT]).code(0);
    let key = fx.key().await;
    for at in [IMMINENT, LIVE] {
        let ok = check(at);
        ok.code(0);
        assert_eq!(ok.stdout.lines().count(), 1, "{ok}");
        assert!(
            ok.stdout.starts_with("OK: 2 workshops, 1 active key;"),
            "{ok}"
        );
    }

    // The verification record lost (or never made): the live workshop has no verified key.
    fx.iam
        .untag_user()
        .user_name(&fx.room)
        .tag_keys(format!("workshop-keys:verified:{key}"))
        .send()
        .await
        .expect("UntagUser");
    check(LIVE).code(1).stdout_line_with(&[
        "CRITICAL: workshop berlin (user",
        &key,
        "was never verified (is live)",
    ]);

    // No reconcile since the window closed: the key is live outside it.
    let late = check(LATE);
    late.code(1).stdout_line_with(&[&format!(
        "CRITICAL: workshop berlin (user {}): key {key} active 3h past its window",
        fx.room
    )]);
    let json = fx
        .run("status", &["--check", "--at", LATE, "--output", "json"])
        .code(1)
        .json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"][0]["workshop"], "berlin");
    assert_eq!(json["problems"][0]["user"], fx.room.as_str());
    assert_eq!(json["problems"][0]["access_key_id"], key.as_str());

    // Reconciled: fine again.
    fx.run("reconcile", &["--at", LATE]).code(0);
    check(LATE).code(0);

    // Quarantined: a problem until released, naming the user and the exposed key.
    fx.quarantine().await;
    check(LATE).code(1).stdout_line_with(&[
        &format!("CRITICAL: user {}: quarantined by AWS", fx.room),
        &key,
        "workshop-keys release",
    ]);
}

#[tokio::test]
async fn verification_off_needs_only_an_active_key_and_a_blocked_workshop_is_reported() {
    let fx = Fx::new(false);
    fx.run("reconcile", &["--at", LIVE]).code(0);
    let ok = fx.run("status", &["--check", "--at", LIVE]);
    ok.code(0)
        .stdout_line_with(&["OK:", "verification is off: settings.verify = false"]);

    // A workshop for a user that exists outside the managed path is blocked.
    let elsewhere = format!("elsewhere-{}", common::unique_suffix());
    fx.iam
        .create_user()
        .user_name(&elsewhere)
        .send()
        .await
        .expect("CreateUser outside the managed path");
    let mut text = fs::read_to_string(fx.schedule()).unwrap();
    text.push_str(&format!(
        "\n[[workshop]]\nid = \"lisbon\"\nuser = \"{elsewhere}\"\nstart = 2026-12-10T09:00:00Z\nend = 2026-12-10T17:00:00Z\n"
    ));
    fs::write(fx.schedule(), text).unwrap();
    fx.run("status", &["--check", "--at", LIVE])
        .code(1)
        .stdout_line_with(&[&format!(
            "CRITICAL: workshop lisbon (user {elsewhere}): blocked:"
        )])
        .stdout_line_with(&["CRITICAL: 1 problem (3 workshops, 1 active key)"]);
    let file = fx.dir.path().join("workshop_keys.prom");
    fx.run(
        "reconcile",
        &["--at", LIVE, "--metrics-file", file.to_str().unwrap()],
    )
    .code(1);
    let m = parse_metrics(&file);
    assert_names(&m, &ALL_METRICS);
    assert_eq!(value(&m, "workshop_keys_run_ok"), 0.0);
    assert_eq!(value(&m, "workshop_keys_workshops{state=blocked}"), 1.0);
    assert_eq!(value(&m, "workshop_keys_workshops{state=live}"), 1.0);
    assert_eq!(value(&m, "workshop_keys_workshops{state=waiting}"), 0.0);
    // Never succeeded with this file: 0, so that the age alert fires.
    assert_eq!(
        value(&m, "workshop_keys_last_success_timestamp_seconds"),
        0.0
    );
}
