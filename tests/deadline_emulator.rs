//! The AWS-enforced deadline, read back from IAM: a week of workshops replayed with `--at`
//! through the built binary against moto, and after each run the user's `BedrockInvokeOnly`
//! document fetched with `GetUserPolicy`.
//!
//! moto validates the condition's syntax (`PutUserPolicy` rejects an unknown operator or a bad
//! date) but does not enforce it: it evaluates a `DateGreaterThan` on `aws:CurrentTime` as if it
//! always held. So this test proves which deadline is written when, and in which order; that AWS
//! then refuses Bedrock after it is the documented meaning of the statement.

mod common;

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use common::run::Run;

struct Fx {
    server: &'static common::MotoServer,
    iam: aws_sdk_iam::Client,
    dir: tempfile::TempDir,
    user: String,
}

impl Fx {
    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn run(&self, command: &str, at: &str, extra: &[&str]) -> Run {
        let mut cmd = self.server.command();
        cmd.arg(command)
            .args(["--schedule", self.schedule().to_str().unwrap(), "--at", at])
            .args(extra)
            .env_remove("RUST_LOG");
        Run::of(cmd, format!("workshop-keys {command} --at {at}"))
    }

    async fn document(&self) -> Value {
        let out = self
            .iam
            .get_user_policy()
            .user_name(&self.user)
            .policy_name("BedrockInvokeOnly")
            .send()
            .await
            .expect("GetUserPolicy");
        let text = urlencoding::decode(out.policy_document()).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn deadline_of(doc: &Value) -> String {
    let deny = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "WorkshopKeysDeadline")
        .unwrap_or_else(|| panic!("no deadline statement: {doc}"));
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Action"], "bedrock:*");
    assert_eq!(deny["Resource"], "*");
    deny["Condition"]["DateGreaterThan"]["aws:CurrentTime"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_week_replayed_writes_each_deadline_before_its_key() {
    let server = common::shared();
    let sfx = common::unique_suffix();
    let fx = Fx {
        server,
        iam: server.iam_client(None, common::test_credentials()),
        dir: tempfile::tempdir().unwrap(),
        user: format!("deadline-{sfx}"),
    };
    // Monday and Wednesday workshops; Wednesday's with a grace of its own. Lead 24h.
    fs::write(
        fx.schedule(),
        format!(
            "[settings]\nuser = \"{}\"\npath = \"/deadline-{sfx}/\"\nlead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\nverify = false\n\n\
             [[workshop]]\nid = \"mon\"\nstart = 2026-12-07T09:00:00Z\nend = 2026-12-07T17:00:00Z\n\n\
             [[workshop]]\nid = \"wed\"\nstart = 2026-12-09T09:00:00Z\nend = 2026-12-09T17:00:00Z\ngrace = \"2h30m\"\n",
            fx.user
        ),
    )
    .unwrap();

    // (moment, deadline in the policy after the run there)
    let week = [
        ("2026-12-05T12:00:00Z", "1970-01-01T00:00:00Z"), // no window yet
        ("2026-12-06T09:00:00Z", "2026-12-07T18:00:00Z"), // mon's window begins
        ("2026-12-07T12:00:00Z", "2026-12-07T18:00:00Z"), // mon live
        ("2026-12-07T18:00:00Z", "2026-12-07T18:00:00Z"), // mon revoked, deadline stays
        ("2026-12-08T09:00:00Z", "2026-12-09T19:30:00Z"), // wed's window begins (own grace)
        ("2026-12-09T20:00:00Z", "2026-12-09T19:30:00Z"), // all ended
        ("2026-12-12T00:00:00Z", "2026-12-09T19:30:00Z"), // hold over, keys deleted
    ];
    let mut last = String::new();
    for (at, want) in week {
        let run = fx.run("reconcile", at, &["--output", "json"]);
        run.code(0);
        let results = run.json()["results"].as_array().unwrap().clone();
        let order: Vec<&str> = results
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        if want != last {
            let put = order.iter().position(|a| *a == "put_user_policy");
            assert!(put.is_some(), "at {at} the deadline should move: {run}");
            if let Some(create) = order.iter().position(|a| *a == "create_key") {
                assert!(
                    put < Some(create),
                    "policy after the key at {at}: {order:?}"
                );
            }
        } else {
            assert!(
                !order.contains(&"put_user_policy"),
                "the deadline moved at {at} without a new window: {run}"
            );
        }
        let doc = fx.document().await;
        assert_eq!(deadline_of(&doc), want, "deadline after the run at {at}");
        // Stable: the same moment again is a no-op.
        fx.run("plan", at, &["--detailed-exitcode"])
            .code(0)
            .stdout_line_with(&["No changes."]);
        last = want.to_string();
    }
}
