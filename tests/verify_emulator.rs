//! Bedrock verification end to end, through the built binary, against a moto server with
//! authentication on (signatures and IAM policies checked): reconcile creates and verifies a
//! key; a policy that does not allow the model reads `access-denied` and fails the run; a key
//! deleted behind the tool's back reads `invalid-token`; `status` shows the recorded outcome.
//!
//! The schedules here set `deadline = false`: moto evaluates a `DateGreaterThan` condition as if
//! it always held, so the deadline's `Deny bedrock:*` would deny every call with authentication
//! on. The deadline itself is tabled in `planner_security.rs` and read back in
//! `deadline_emulator.rs`.

mod common;

use std::process::Output;

use aws_credential_types::Credentials;
use common::MotoServer;
use serde_json::Value;

struct Fx {
    server: MotoServer,
    admin: Credentials,
    dir: tempfile::TempDir,
}

impl Fx {
    /// A private server (authentication is server-wide), an admin made while it is off.
    fn new() -> Fx {
        let server = MotoServer::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin = rt.block_on(server.create_admin(None, "tool-admin"));
        server.set_auth(true);
        Fx {
            server,
            admin,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write_schedule(&self, policy: &str) {
        let text = format!(
            "[settings]\nuser = \"verify-user\"\npath = \"/workshop/\"\n{policy}\nverify_timeout = \"3s\"\ndeadline = false\n\n[[workshop]]\nid = \"berlin\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n"
        );
        std::fs::write(self.dir.path().join("workshops.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.server.command();
        cmd.current_dir(self.dir.path())
            .env("AWS_ACCESS_KEY_ID", self.admin.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", self.admin.secret_access_key());
        common::run::echoed(cmd, args)
    }

    fn key_id(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("credentials/berlin.env"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("AWS_ACCESS_KEY_ID=").map(str::to_string))
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn reconcile_verifies_the_new_key_with_authentication_on() {
    let fx = Fx::new();
    fx.write_schedule("policy = \"all-models\"");
    let out = fx.run(&[
        "reconcile",
        "--at",
        "2026-12-02T12:00:00Z",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &report["verifications"][0];
    assert_eq!(v["workshop"], "berlin");
    assert_eq!(v["outcome"], "verified");
    assert_eq!(v["models"][0]["model"], "amazon.titan-embed-text-v1");
    let key = fx.key_id();
    assert_eq!(v["access_key_id"], key.as_str());

    // (Recording the outcome as a tag is checked below, with authentication off: moto with
    // authentication on refuses TagUser requests whose tag key contains ':' as badly signed,
    // which real IAM accepts.)
}

#[test]
fn a_policy_that_does_not_allow_the_model_reads_access_denied_and_fails_the_run() {
    let fx = Fx::new();
    // Restricted to a model other than the one verified: Bedrock (here moto) denies the call.
    fx.write_schedule(
        "policy = \"restricted\"\nmodels = [\"anthropic.claude-3-haiku-20240307-v1:0\"]\nverify_model = \"amazon.titan-embed-text-v1\"",
    );
    let out = fx.run(&["reconcile", "--at", "2026-12-02T12:00:00Z"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a key that fails verification fails the run"
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "workshop berlin: key {} access-denied",
            fx.key_id()
        )),
        "{text}"
    );
    assert!(text.contains("what to do:"), "{text}");
    // The run wrote the user's policy moments before (a new user), and IAM takes seconds to
    // reach Bedrock: access-denied is retried within verify_timeout (3 s here), then stands.
    assert!(
        text.contains("still not accepted after") && !text.contains("after 1 attempt ("),
        "denied after a policy change is retried within verify_timeout: {text}"
    );
}

#[test]
fn a_key_deleted_behind_the_tools_back_reads_invalid_token() {
    let fx = Fx::new();
    fx.write_schedule("policy = \"all-models\"");
    let out = fx.run(&["reconcile", "--at", "2026-12-02T12:00:00Z"]);
    assert_eq!(out.status.code(), Some(0));
    let key = fx.key_id();
    let admin = fx.server.iam_client(None, fx.admin.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        admin
            .delete_access_key()
            .user_name("verify-user")
            .access_key_id(&key)
            .send(),
    )
    .unwrap();
    // The trainer's file still holds the deleted key: `verify` checks it and says so.
    let out = fx.run(&["verify", "--workshop", "berlin", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = &v["verifications"][0];
    assert_eq!(check["access_key_id"], key.as_str());
    assert_eq!(check["outcome"], "invalid-token");
    assert!(
        check["models"][0]["attempts"].as_u64().unwrap() > 1,
        "retried while waiting for propagation: {check}"
    );
    // Nothing recorded for a key IAM no longer has.
    let tags = rt
        .block_on(admin.list_user_tags().user_name("verify-user").send())
        .unwrap()
        .tags;
    assert!(!tags
        .iter()
        .any(|t| t.key == format!("workshop-keys:verified:{key}")));
    // The next reconcile replaces the key, and the new one verifies.
    let out = fx.run(&["reconcile", "--at", "2026-12-02T12:30:00Z"]);
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(fx.key_id(), key);
    assert!(stdout(&out).contains(" verified"));
}

#[test]
fn status_shows_the_recorded_outcome() {
    // The shared server, authentication off: Bedrock answers any key, IAM records the tag.
    let dir = tempfile::tempdir().unwrap();
    let user = format!("verify-{}", common::unique_suffix());
    let text = format!(
        "[settings]\nuser = \"{user}\"\npath = \"{}\"\n\n[[workshop]]\nid = \"berlin\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n",
        common::unique_path("verify")
    );
    std::fs::write(dir.path().join("workshops.toml"), text).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = common::shared().command();
        cmd.current_dir(dir.path()).args(args);
        cmd.output().unwrap()
    };
    let out = run(&["reconcile", "--at", "2026-12-02T12:00:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let status = run(&["status", "--output", "json"]);
    let view: Value = serde_json::from_slice(&status.stdout).unwrap();
    let k = &view["users"][0]["keys"][0];
    let recorded = k["verified"].as_str().expect("a recorded verification");
    let (time, outcome) = recorded.split_once(' ').unwrap();
    assert_eq!(outcome, "verified");
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok(),
        "{recorded}"
    );
    assert_eq!(k["last_used"]["service"], "bedrock-runtime");
    // The full table has the recorded time; the default view says how long ago.
    let text = stdout(&run(&["status", "--wide"]));
    assert!(text.contains(&format!("{time} verified")), "{text}");
    let text = stdout(&run(&["status"]));
    assert!(
        text.lines()
            .any(|l| l.contains(" verified ") && l.trim_end().ends_with(" ago")),
        "{text}"
    );
}
