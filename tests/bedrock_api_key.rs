//! Amazon Bedrock API keys (`settings.bedrock_api_key`): the token the tool makes against AWS's
//! own generator, and the planner's refresh rule.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use workshop_keys::bedrock_api_key::presign;
use workshop_keys::store::files::Secret;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// AWS's reference generator (`aws-bedrock-token-generator`, installed into `.venv/` by
/// `scripts/setup-emulator`), its clock fixed by patching `botocore.auth.get_current_datetime`.
/// The secret goes on standard input, not in the arguments.
fn generator_token(key: &str, secret: &str, region: &str, signed_at: &str, seconds: u64) -> String {
    const SCRIPT: &str = r#"
import sys, datetime
from unittest import mock
import botocore.auth
from botocore.credentials import Credentials
from aws_bedrock_token_generator import provide_token

class Fixed:
    def __init__(self, credentials):
        self.credentials = credentials
    def load(self):
        return self.credentials

key, region, when, seconds = sys.argv[1:5]
secret = sys.stdin.read()
clock = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ")
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=clock):
    token = provide_token(
        region=region,
        aws_credentials_provider=Fixed(Credentials(key, secret)),
        expiry=datetime.timedelta(seconds=int(seconds)),
    )
sys.stdout.write(token)
"#;
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT, key, region, signed_at, &seconds.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run scripts/setup-emulator",
                python.display()
            )
        });
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "aws-bedrock-token-generator failed (scripts/setup-emulator installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The query parameters of a token, decoded, in their order.
fn params(token: &str) -> Vec<(String, String)> {
    let b64 = token.strip_prefix("bedrock-api-key-").expect("prefix");
    let url = String::from_utf8(aws_smithy_types::base64::decode(b64).unwrap()).unwrap();
    let query = url
        .strip_prefix("bedrock.amazonaws.com/?")
        .unwrap_or_else(|| panic!("not the Bedrock presign: {url}"));
    query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), urlencoding::decode(v).unwrap().into_owned())
        })
        .collect()
}

#[test]
fn the_token_is_byte_for_byte_the_one_aws_generator_makes() {
    let cases = [
        // (region, secret with '/' and '+', signing time, seconds)
        (
            "us-east-1",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "2026-12-03T09:00:00Z",
            1,
        ),
        (
            "eu-central-1",
            "abc+/def+/ghi0123456789ABCDEFGHIJKLMNOPQ",
            "2026-12-03T23:59:59Z",
            3600,
        ),
        (
            "ap-northeast-1",
            "////++++wJalrXUtnFEMIK7MDENGbPxRfiCYEXAM",
            "2026-02-28T12:34:56Z",
            43_200,
        ),
        (
            "us-west-2",
            "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/",
            "2027-01-01T00:00:00Z",
            3600,
        ),
        (
            "eu-west-3",
            "Xy9/aB+cD/eF+gH/iJ+kL/mN+oP/qR+sT/uV+wX/",
            "2026-12-31T23:59:59Z",
            43_200,
        ),
        (
            "us-gov-west-1",
            "plainSecretWithoutSlashOrPlus0123456789a",
            "2026-06-15T06:07:08Z",
            1,
        ),
    ];
    for (region, secret, when, seconds) in cases {
        let key = "AKIAIOSFODNN7EXAMPLE";
        let ours = presign(
            key,
            &Secret::new(secret.to_string()),
            region,
            at(when),
            Duration::from_secs(seconds),
        )
        .unwrap();
        let theirs = generator_token(key, secret, region, when, seconds);
        let what = format!("{region}, signed {when}, {seconds} s");
        assert_eq!(
            params(ours.expose()),
            params(&theirs),
            "{what}: query parameters differ"
        );
        assert!(
            ours.expose() == theirs,
            "{what}: same parameters, other bytes"
        );
        let p = params(&theirs);
        assert!(
            p.contains(&("X-Amz-Expires".into(), seconds.to_string())),
            "{what}"
        );
        assert!(
            p.iter().any(|(k, v)| k == "X-Amz-Credential" && v.contains(&format!("/{region}/bedrock/"))),
            "{what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The planner's rule, pure.

mod rule {
    use super::common::observed::{desired_from, key, lines, managed_user, observed, t};
    use workshop_keys::core::desired::Desired;
    use workshop_keys::core::observed::{CredentialsFile, KeyStatus, Observed};
    use workshop_keys::core::plan::ActionKind;
    use workshop_keys::core::planner::plan;

    const K1: &str = "AKIAEXAMPLE000000001";
    /// Key from 2026-12-02T09:00Z, end + grace 2026-12-03T18:00Z.
    fn schedule(extra: &str) -> Desired {
        desired_from(&format!(
            "[settings]\nuser = \"wk\"\n{extra}\n[[workshop]]\nid = \"berlin\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n"
        ))
    }

    /// `wk` holds berlin's live key K1, in berlin.env, whose token expires at `token`.
    fn world(d: &Desired, token: Option<&str>) -> Observed {
        let policy = d.policy_document("wk", t("2026-12-03T00:00:00Z"));
        let mut o = observed(vec![managed_user(
            "wk",
            vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
            &[(K1, "berlin")],
            policy,
        )]);
        o.files.insert(
            "berlin".into(),
            CredentialsFile {
                access_key_id: K1.into(),
                written: Some(t("2026-12-02T09:00:00Z")),
            },
        );
        if let Some(at) = token {
            o.tokens.insert("berlin".into(), t(at));
        }
        o
    }

    fn refreshes(d: &Desired, o: &Observed, now: &str) -> Vec<String> {
        let p = plan(d, o, t(now));
        p.actions
            .iter()
            .filter(|a| a.action == ActionKind::RefreshToken)
            .map(|a| a.reason.clone())
            .collect()
    }

    #[test]
    fn a_token_is_renewed_within_the_refresh_time_and_before_end_plus_grace() {
        let d = schedule("bedrock_api_key = true");
        // Expires 12:00; refresh 4h: due from 08:00 on.
        let o = world(&d, Some("2026-12-03T12:00:00Z"));
        assert!(refreshes(&d, &o, "2026-12-03T07:59:00Z").is_empty());
        assert_eq!(
            refreshes(&d, &o, "2026-12-03T08:00:00Z"),
            ["bearer token expires in 4h, within bedrock_api_key_refresh 4h"]
        );
        assert_eq!(
            refreshes(&d, &o, "2026-12-03T13:00:00Z"),
            ["bearer token expired 1h ago"]
        );
        // The same with another refresh time.
        let d90 = schedule("bedrock_api_key = true\nbedrock_api_key_refresh = \"90m\"");
        assert!(refreshes(&d90, &o, "2026-12-03T10:29:00Z").is_empty());
        assert_eq!(refreshes(&d90, &o, "2026-12-03T10:30:00Z").len(), 1);
        // A token that lives to end + grace is never renewed; nor outside the key window.
        let to_the_end = world(&d, Some("2026-12-03T18:00:00Z"));
        assert!(refreshes(&d, &to_the_end, "2026-12-03T17:30:00Z").is_empty());
        assert!(refreshes(&d, &o, "2026-12-03T18:00:00Z").is_empty());
        // The action: key, workshop, deadline of the token; its JSON holds no token.
        let p = plan(&d, &o, t("2026-12-03T09:00:00Z"));
        assert_eq!(lines(&p), ["refresh_token wk AKIAEXAMPLE000000001"]);
        let a = &p.actions[0];
        assert_eq!(a.workshop.as_deref(), Some("berlin"));
        assert_eq!(a.bearer_token_until(), Some(t("2026-12-03T18:00:00Z")));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["actions"][0]["action"], "refresh_token");
        assert_eq!(json["actions"][0]["effect"], "change");
        assert_eq!(
            json["actions"][0]["bearer_token_until"],
            "2026-12-03T18:00:00Z"
        );
        assert_eq!(p.summary().change, 1);
        let text = workshop_keys::view::render::plan_text(&p);
        assert!(
            text.contains("~ refresh_token      bearer token of key AKIAEXAMPLE000000001 of user wk [workshop berlin]: bearer token expires in 3h, within bedrock_api_key_refresh 4h"),
            "{text}"
        );
    }

    #[test]
    fn a_file_without_a_token_gets_one_once_the_setting_is_on() {
        let off = schedule("");
        let on = schedule("bedrock_api_key = true");
        let o = world(&on, None);
        assert_eq!(
            refreshes(&on, &o, "2026-12-03T09:00:00Z"),
            ["the credentials file holds no bearer token yet"]
        );
        // Setting off: no token, and the policy without CallWithBearerToken.
        let o_off = world(&off, None);
        assert!(plan(&off, &o_off, t("2026-12-03T09:00:00Z"))
            .actions
            .is_empty());
        // Turning it on also changes the policy.
        let p = plan(&on, &o_off, t("2026-12-03T09:00:00Z"));
        assert_eq!(
            lines(&p),
            [
                "put_user_policy wk BedrockInvokeOnly",
                "refresh_token wk AKIAEXAMPLE000000001"
            ]
        );
        let doc = p.actions[0].policy_document().unwrap().to_string();
        assert!(doc.contains("bedrock:CallWithBearerToken"), "{doc}");
    }

    #[test]
    fn no_renewal_for_a_key_that_goes_is_replaced_or_not_in_this_file() {
        let d = schedule("bedrock_api_key = true\nrotate_after = \"12h\"");
        let o = world(&d, Some("2026-12-03T12:00:00Z"));
        // Rotation: the new key's file gets a token with it, dying at end + grace.
        let p = plan(&d, &o, t("2026-12-03T09:00:00Z"));
        assert_eq!(lines(&p), ["create_key wk berlin"]);
        assert_eq!(
            p.actions[0].bearer_token_until(),
            Some(t("2026-12-03T18:00:00Z"))
        );
        // Quarantined by AWS: the key is deactivated, its token not renewed.
        let d = schedule("bedrock_api_key = true");
        let mut q = world(&d, Some("2026-12-03T12:00:00Z"));
        q.users[0]
            .attached_policies
            .push("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3".into());
        assert!(refreshes(&d, &q, "2026-12-03T11:00:00Z").is_empty());
        // The file holds another key (or none): nothing to renew here.
        let mut other = world(&d, Some("2026-12-03T12:00:00Z"));
        other.files.get_mut("berlin").unwrap().access_key_id = "AKIAEXAMPLE000000009".into();
        assert!(refreshes(&d, &other, "2026-12-03T11:00:00Z").is_empty());
        let mut none = world(&d, Some("2026-12-03T12:00:00Z"));
        none.files.clear();
        assert!(refreshes(&d, &none, "2026-12-03T11:00:00Z").is_empty());
        // Setting off: nothing, whatever the file says.
        let off = schedule("");
        assert!(refreshes(
            &off,
            &world(&off, Some("2026-12-03T10:00:00Z")),
            "2026-12-03T11:00:00Z"
        )
        .is_empty());
    }

    #[test]
    fn a_renewed_token_is_handed_over_with_deliver() {
        let d = schedule("bedrock_api_key = true\ndeliver = [\"/bin/true\"]");
        let mut o = world(&d, Some("2026-12-03T12:00:00Z"));
        o.users[0].tags.insert(
            format!("workshop-keys:delivered:{K1}"),
            "2026-12-02T09:00:00Z".into(),
        );
        let p = plan(&d, &o, t("2026-12-03T09:00:00Z"));
        assert_eq!(p.deliveries.len(), 1, "{:?}", p.deliveries);
        assert_eq!(p.deliveries[0].access_key_id.as_deref(), Some(K1));
        assert_eq!(p.deliveries[0].reason, "bearer token renewed");
        assert!(plan(&d, &o, t("2026-12-03T07:00:00Z"))
            .deliveries
            .is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Against moto, through the binary. Workshops are placed around the real clock: tokens are
// signed with it, whatever `--at` says. Verification is off here (moto answers HTTP 500 to
// bearer requests; tests/verify_bedrock.rs checks the bearer verification against a stand-in).

mod emulator {
    use std::path::PathBuf;

    use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
    use serde_json::Value;
    use workshop_keys::time::format_time;

    use super::common::run::Run;
    use super::common::{self, MotoServer};
    use super::params;

    struct Fx {
        server: &'static MotoServer,
        dir: tempfile::TempDir,
        user: String,
        path: String,
        now: DateTime<Utc>,
    }

    impl Fx {
        fn new() -> Fx {
            let sfx = common::unique_suffix();
            Fx {
                server: common::shared(),
                dir: tempfile::tempdir().unwrap(),
                user: format!("wk-bak-{sfx}"),
                path: common::unique_path("bak"),
                now: Utc::now().trunc_subsecs(0),
            }
        }

        /// One workshop `w` from now + `start_h` to now + `end_h` (grace 1h).
        fn write_schedule(&self, extra: &str, start_h: i64, end_h: i64) {
            let time = |h: i64| format_time(self.now + TimeDelta::hours(h));
            std::fs::write(
                self.dir.path().join("workshops.toml"),
                format!(
                    "[settings]\npath = \"{}\"\nuser = \"{}\"\nverify = false\ngrace = \"1h\"\n{extra}\n\n[[workshop]]\nid = \"w\"\nstart = {}\nend = {}\n",
                    self.path,
                    self.user,
                    time(start_h),
                    time(end_h)
                ),
            )
            .unwrap();
        }

        fn run(&self, args: &[&str]) -> Run {
            let mut cmd = self.server.command();
            cmd.args(args)
                .arg("--schedule")
                .arg(self.dir.path().join("workshops.toml"))
                .env_remove("RUST_LOG")
                .env("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-not-the-one");
            let run = Run::of(cmd, format!("workshop-keys {}", args.join(" ")));
            for stream in [&run.stdout, &run.stderr] {
                assert!(
                    !stream.contains("bedrock-api-key-") || stream.contains("bedrock-api-key-not"),
                    "a token in the output:\n{run}"
                );
            }
            run
        }

        fn at(&self, hours: i64) -> String {
            format_time(self.now + TimeDelta::hours(hours))
        }

        fn file(&self) -> PathBuf {
            self.dir.path().join("credentials/w.env")
        }

        fn text(&self) -> String {
            std::fs::read_to_string(self.file()).unwrap()
        }

        async fn policy(&self) -> Value {
            let iam = self.server.iam_client(None, common::test_credentials());
            let out = iam
                .get_user_policy()
                .user_name(&self.user)
                .policy_name("BedrockInvokeOnly")
                .send()
                .await
                .expect("GetUserPolicy");
            serde_json::from_str(&urlencoding::decode(out.policy_document()).unwrap()).unwrap()
        }
    }

    fn value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
    }

    /// The expiry on the token's comment line.
    fn expiry(text: &str) -> DateTime<Utc> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("# AWS_BEARER_TOKEN_BEDROCK expires "))
            .unwrap_or_else(|| panic!("no expiry comment:\n{}", redacted(text)));
        workshop_keys::time::parse_time(line.split_whitespace().next().unwrap()).unwrap()
    }

    /// The file without its secrets, for messages.
    fn redacted(text: &str) -> String {
        text.lines()
            .map(|l| match l.split_once('=') {
                Some((k, _)) if k.contains("SECRET") || k.contains("TOKEN") => format!("{k}=…"),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The token's signing time, life, key and region, decoded from the token.
    fn decoded(token: &str) -> (DateTime<Utc>, i64, String) {
        let p = params(token);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let signed = chrono::NaiveDateTime::parse_from_str(&get("X-Amz-Date"), "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc();
        (
            signed,
            get("X-Amz-Expires").parse().unwrap(),
            get("X-Amz-Credential"),
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_file_holds_a_token_that_dies_at_end_plus_grace_and_the_policy_allows_it() {
        let fx = Fx::new();
        // end + grace is 9h away: less than a token's 12 h.
        fx.write_schedule("bedrock_api_key = true", 2, 8);
        let first = fx.run(&["reconcile", "--output", "json"]);
        first.code(0);
        let text = fx.text();
        let id = value(&text, "AWS_ACCESS_KEY_ID").unwrap().to_string();
        let token = value(&text, "AWS_BEARER_TOKEN_BEDROCK")
            .unwrap_or_else(|| panic!("no token in the file:\n{}", redacted(&text)));
        assert!(token.starts_with("bedrock-api-key-"));
        let (signed, life, credential) = decoded(token);
        assert!(credential.starts_with(&format!("{id}/")), "{credential}");
        assert!(
            credential.ends_with("/us-east-1/bedrock/aws4_request"),
            "{credential}"
        );
        let until = fx.now + TimeDelta::hours(9);
        assert_eq!(expiry(&text), until);
        assert_eq!(
            signed + TimeDelta::seconds(life),
            until,
            "dies at end + grace"
        );
        // Signed by the real clock, moments ago.
        assert!(
            (Utc::now() - signed).num_seconds().abs() < 120,
            "signed {signed}"
        );
        // The JSON result says how long, never the token.
        let created = &first.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["action"] == "create_key")
            .unwrap()
            .clone();
        assert_eq!(
            created["detail"].as_str().unwrap(),
            format!("with a bearer token valid until {}", format_time(until))
        );
        assert_eq!(
            created["bearer_token_until"].as_str().unwrap(),
            format_time(until)
        );
        // The policy allows the bearer action; the deadline still denies all of Bedrock.
        let doc = fx.policy().await;
        let statements = doc["Statement"].as_array().unwrap();
        assert!(
            statements.iter().any(|s| s["Effect"] == "Allow"
                && s["Action"] == "bedrock:CallWithBearerToken"
                && s["Resource"] == "*"),
            "{doc}"
        );
        assert!(
            statements
                .iter()
                .any(|s| s["Effect"] == "Deny" && s["Action"] == "bedrock:*"),
            "{doc}"
        );
        // Nothing more to do, now or an hour before end + grace.
        fx.run(&["reconcile"])
            .code(0)
            .stdout_line_with(&["No changes"]);
        fx.run(&["plan", "--at", &fx.at(8), "--detailed-exitcode"])
            .code(0);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_token_is_renewed_when_due_and_not_otherwise() {
        let fx = Fx::new();
        // end + grace is 21h away: tokens live their full 12 h.
        let hook = fx.dir.path().join("deliver.sh");
        std::fs::write(
            &hook,
            "#!/bin/sh\numask 077\ncat > \"$(dirname \"$0\")/handed-over.json\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let deliver = format!("deliver = [{:?}]", hook.display().to_string());
        // First without the setting: a file without a token.
        fx.write_schedule(&deliver, 1, 20);
        fx.run(&["reconcile"]).code(0);
        let before = fx.text();
        assert!(value(&before, "AWS_BEARER_TOKEN_BEDROCK").is_none());

        // Turned on: the policy changes and the file gets its token.
        fx.write_schedule(&format!("{deliver}\nbedrock_api_key = true"), 1, 20);
        let plan = fx.run(&["plan", "--output", "json"]);
        plan.code(0);
        let refresh = plan.json()["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "refresh_token")
            .unwrap_or_else(|| panic!("no refresh_token:\n{plan}"))
            .clone();
        assert_eq!(
            refresh["reason"],
            "the credentials file holds no bearer token yet"
        );
        assert_eq!(refresh["workshop"], "w");
        assert_eq!(refresh["effect"], "change");
        let id = value(&before, "AWS_ACCESS_KEY_ID").unwrap();
        assert_eq!(refresh["access_key_id"], id);
        fx.run(&["reconcile"]).code(0).stdout_line_with(&[
            "ok",
            "~ refresh_token",
            id,
            "[workshop w]",
        ]);
        let after = fx.text();
        let token = value(&after, "AWS_BEARER_TOKEN_BEDROCK")
            .unwrap()
            .to_string();
        // Same key, secret, region and write time; mode 0600.
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        ] {
            assert_eq!(value(&before, name), value(&after, name), "{name}");
        }
        assert_eq!(before.lines().next(), after.lines().next(), "header kept");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(fx.file()).unwrap().mode() & 0o777, 0o600);
        let (signed, life, _) = decoded(&token);
        assert_eq!(life, 43_200);
        assert_eq!(expiry(&after), signed + TimeDelta::hours(12));
        // The renewed token was handed over.
        let handed: Value = serde_json::from_str(
            &std::fs::read_to_string(fx.dir.path().join("handed-over.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(handed["bedrock_api_key"], token.as_str());
        assert_eq!(
            handed["bedrock_api_key_expires"],
            format_time(expiry(&after))
        );
        assert_eq!(handed["access_key_id"], id);
        // A second run changes nothing.
        fx.run(&["reconcile"])
            .code(0)
            .stdout_line_with(&["No changes"]);

        // Due once it expires within 4h: `plan --at` shows when.
        let expires = expiry(&after);
        let at = |d: TimeDelta| format_time(expires - d);
        fx.run(&[
            "plan",
            "--at",
            &at(TimeDelta::minutes(4 * 60 + 5)),
            "--detailed-exitcode",
        ])
        .code(0);
        fx.run(&[
            "plan",
            "--at",
            &at(TimeDelta::hours(3)),
            "--detailed-exitcode",
        ])
        .code(2)
        .stdout_line_with(&["~ refresh_token", "bearer token expires in 3h"]);

        // A token made 9 hours ago (its comment says it expires in 3 h): renewed by a reconcile
        // now, and then there is nothing left to do.
        let old = format_time(expires);
        let soon = format_time(Utc::now().trunc_subsecs(0) + TimeDelta::hours(3));
        std::fs::write(fx.file(), after.replace(&old, &soon)).unwrap();
        std::fs::set_permissions(fx.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
        fx.run(&["reconcile"]).code(0).stdout_line_with(&[
            "ok",
            "~ refresh_token",
            "bearer token expires in",
        ]);
        let renewed = fx.text();
        // Rewritten: a token signed now for 12 h, and the comment saying so (within the same
        // second as the last signing, the token is the same: it is a pure function).
        let (resigned, life, _) = decoded(value(&renewed, "AWS_BEARER_TOKEN_BEDROCK").unwrap());
        assert!(resigned >= signed && life == 43_200);
        assert_eq!(expiry(&renewed), resigned + TimeDelta::hours(12));
        assert!(expiry(&renewed) > Utc::now() + TimeDelta::hours(11));
        fx.run(&["reconcile"])
            .code(0)
            .stdout_line_with(&["No changes"]);
    }

    /// A renewed token whose hand-over fails is handed over again by the next run (the record
    /// of the key's first hand-over is dropped), with the token then in the file.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_failed_hand_over_of_a_renewed_token_is_retried() {
        let fx = Fx::new();
        let hook = fx.dir.path().join("deliver.sh");
        std::fs::write(
            &hook,
            "#!/bin/sh\numask 077\nd=$(dirname \"$0\")\n[ -e \"$d/refuse\" ] && { echo refused >&2; exit 3; }\ncat > \"$d/handed-over.json\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        fx.write_schedule(
            &format!(
                "deliver = [{:?}]\nbedrock_api_key = true",
                hook.display().to_string()
            ),
            1,
            20,
        );
        fx.run(&["reconcile"]).code(0);
        let text = fx.text();
        let id = value(&text, "AWS_ACCESS_KEY_ID").unwrap().to_string();
        let iam = fx.server.iam_client(None, common::test_credentials());
        let delivered_tag = format!("workshop-keys:delivered:{id}");
        let tags = || async {
            iam.list_user_tags()
                .user_name(&fx.user)
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .map(|t| t.key().to_string())
                .collect::<Vec<_>>()
        };
        assert!(tags().await.contains(&delivered_tag));

        // The token is due (its comment says 1h left); the hook refuses.
        let soon = format_time(Utc::now().trunc_subsecs(0) + TimeDelta::hours(1));
        std::fs::write(fx.file(), text.replace(&format_time(expiry(&text)), &soon)).unwrap();
        std::fs::set_permissions(fx.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(fx.dir.path().join("refuse"), "").unwrap();
        fx.run(&["reconcile"])
            .code(1)
            .stdout_line_with(&["ok", "~ refresh_token"])
            .stdout_line_with(&["FAILED", "workshop w", &id]);
        assert!(!tags().await.contains(&delivered_tag), "record kept");

        // The next run hands the key over again, with the current token.
        std::fs::remove_file(fx.dir.path().join("refuse")).unwrap();
        fx.run(&["reconcile"])
            .code(0)
            .stdout_line_with(&["> deliver", &id, "not handed over yet"]);
        let handed: Value = serde_json::from_str(
            &std::fs::read_to_string(fx.dir.path().join("handed-over.json")).unwrap(),
        )
        .unwrap();
        let now_in_file = fx.text();
        assert_eq!(
            handed["bedrock_api_key"].as_str(),
            value(&now_in_file, "AWS_BEARER_TOKEN_BEDROCK")
        );
        assert!(tags().await.contains(&delivered_tag));
        fx.run(&["reconcile"])
            .code(0)
            .stdout_line_with(&["No changes"]);
    }
}
