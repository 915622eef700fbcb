//! AWS's quarantine of a leaked key, end to end: the built binary against a moto server of its
//! own started with `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, so that the real AWS managed policy
//! `AWSCompromisedKeyQuarantineV3` exists and can be attached the way AWS does it.
//!
//! What moto cannot show: the quarantine policy's denials are not enforced for the leaked key
//! (moto evaluates no conditions and, with authentication off, no policies). What the tool does
//! about the quarantine (never detach it, deactivate the keys, make none, report, release) is
//! all IAM state, and that is what these tests read back.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use aws_sdk_iam::types::StatusType;
use serde_json::Value;

use common::run::Run;
use common::MotoServer;

const V3: &str = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";
const START: &str = "2026-12-10T09:00:00Z";
/// Both workshops' keys are live.
const T1: &str = "2026-12-10T08:00:00Z";
const T2: &str = "2026-12-10T10:00:00Z";
const T3: &str = "2026-12-10T11:00:00Z";
/// After both workshops ended and their hold is over.
const T4: &str = "2026-12-13T00:00:00Z";

struct Fx {
    server: MotoServer,
    iam: aws_sdk_iam::Client,
    dir: tempfile::TempDir,
    room: String,
    other: String,
}

impl Fx {
    fn new() -> Fx {
        let server = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
        let iam = server.iam_client(None, common::test_credentials());
        let sfx = common::unique_suffix();
        let fx = Fx {
            server,
            iam,
            dir: tempfile::tempdir().expect("tempdir"),
            room: format!("room-{sfx}"),
            other: format!("other-{sfx}"),
        };
        // Two workshops at once on two users; new keys are verified against moto's Bedrock.
        let hook = fx.dir.path().join("notify.sh");
        fs::write(&hook, "#!/bin/sh\ncat >> \"$(dirname \"$0\")/notified.jsonl\"\necho >> \"$(dirname \"$0\")/notified.jsonl\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
        let text = format!(
            "[settings]\nuser = \"{room}\"\npath = \"/quarantine/\"\nlead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\n\
             verify_timeout = \"5s\"\nnotify = [\"{hook}\"]\n\n\
             [[workshop]]\nid = \"room-ws\"\nstart = {START}\nend = 2026-12-10T17:00:00Z\n\n\
             [[workshop]]\nid = \"other-ws\"\nuser = \"{other}\"\nstart = {START}\nend = 2026-12-10T17:00:00Z\n",
            room = fx.room,
            other = fx.other,
            hook = hook.display(),
        );
        fs::write(fx.schedule(), text).unwrap();
        fx
    }

    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn run(&self, command: &str, args: &[&str]) -> Run {
        let mut cmd = self.server.command();
        cmd.arg(command)
            .args(args)
            .arg("--schedule")
            .arg(self.schedule())
            .env_remove("RUST_LOG");
        Run::of(cmd, format!("workshop-keys {command} {}", args.join(" ")))
    }

    fn plan(&self, at: &str) -> Value {
        self.run("plan", &["--at", at, "--output", "json"])
            .code(0)
            .json()
    }

    async fn keys(&self, user: &str) -> BTreeMap<String, StatusType> {
        let out = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .expect("ListAccessKeys");
        out.access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap().to_string(),
                    k.status().unwrap().clone(),
                )
            })
            .collect()
    }

    async fn attached(&self, user: &str) -> Vec<String> {
        let out = self
            .iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("ListAttachedUserPolicies");
        out.attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect()
    }

    fn notified(&self) -> String {
        fs::read_to_string(self.dir.path().join("notified.jsonl")).unwrap_or_default()
    }
}

/// No plan holds a detach of AWS's quarantine policy.
fn assert_no_detach(plan: &Value) {
    for a in plan["actions"].as_array().unwrap() {
        assert!(
            !(a["action"] == "detach_user_policy" && a["policy_arn"] == V3),
            "a plan detaches the quarantine: {a}"
        );
    }
}

#[tokio::test]
async fn a_leaked_key_is_contained_and_release_restores_service() {
    let fx = Fx::new();
    let first = fx.run("reconcile", &["--at", T1, "--output", "json"]);
    first.code(0);
    let keys = fx.keys(&fx.room).await;
    assert_eq!(keys.len(), 1, "{first}");
    let leaked = keys.keys().next().unwrap().clone();
    let other_before = fx.keys(&fx.other).await;
    assert_eq!(other_before.len(), 1);

    // AWS finds the key in a public repository and quarantines the user.
    fx.iam
        .attach_user_policy()
        .user_name(&fx.room)
        .policy_arn(V3)
        .send()
        .await
        .expect(
            "AttachUserPolicy AWSCompromisedKeyQuarantineV3 (needs MOTO_IAM_LOAD_MANAGED_POLICIES)",
        );
    let notified_before = fx.notified().len();

    let plan = fx.plan(T2);
    assert_no_detach(&plan);
    assert_eq!(plan["quarantined"][0]["user"], fx.room.as_str());
    assert_eq!(plan["quarantined"][0]["policy_arn"], V3);
    assert_eq!(plan["quarantined"][0]["keys"], serde_json::json!([leaked]));
    fx.run("plan", &["--at", T2, "--detailed-exitcode"]).code(2);

    // One reconcile: the exposed key is inactive, nothing new on the user, exit 1 naming it.
    for at in [T2, T3] {
        let run = fx.run("reconcile", &["--at", at]);
        run.code(1)
            .stdout_line_with(&["! quarantined", &fx.room, "AWSCompromisedKeyQuarantineV3"])
            .stderr_has(&format!("user {} is quarantined by AWS", fx.room));
        assert_eq!(
            fx.keys(&fx.room).await,
            BTreeMap::from([(leaked.clone(), StatusType::Inactive)]),
            "after reconcile at {at}:\n{run}"
        );
        assert_eq!(fx.attached(&fx.room).await, vec![V3.to_string()]);
        assert_eq!(
            fx.keys(&fx.other).await,
            other_before,
            "other workshop touched"
        );
        assert_no_detach(&fx.plan(at));
    }
    assert_no_detach(&fx.plan(T4));

    // The notify hook heard of the incident at once, without secrets.
    let notified = fx.notified();
    let incident = &notified[notified_before..];
    assert!(incident.contains("\"quarantined\""), "{incident}");
    assert!(incident.contains(&fx.room));
    assert!(!incident.contains("AWS_SECRET_ACCESS_KEY"));

    // status shows it, with the time it was first seen.
    let status = fx.run("status", &["--at", T3]);
    status
        .code(0)
        .stdout_line_with(&["user", &fx.room, "AWSCompromisedKeyQuarantineV3 since", T2]);
    let json = fx.run("status", &["--at", T3, "--output", "json"]).json();
    assert_eq!(json["quarantined"][0]["since"], T2);

    // release refuses what it should not touch, changing nothing.
    let refused = fx.run("release", &[&fx.other]);
    refused
        .code(1)
        .stderr_has(&format!("user {} is not quarantined", fx.other));
    fx.run("release", &["nobody-here"])
        .code(1)
        .stderr_has("user nobody-here is not managed by workshop-keys");
    assert_eq!(fx.keys(&fx.other).await, other_before);

    // release: exposed keys deleted first, then the policy detached; shows the next step.
    let released = fx.run("release", &[&fx.room, "--at", T3]);
    released
        .code(0)
        .stdout_line_with(&["Released user", &fx.room])
        .stdout_line_with(&["+ create_key", &fx.room]);
    assert!(fx.keys(&fx.room).await.is_empty(), "{released}");
    assert!(fx.attached(&fx.room).await.is_empty(), "{released}");

    // The next reconcile creates and verifies a fresh key.
    let next = fx.run("reconcile", &["--at", T3, "--output", "json"]);
    next.code(0);
    let v = next.json();
    let fresh = fx.keys(&fx.room).await;
    assert_eq!(fresh.len(), 1, "{next}");
    let (fresh_id, status) = fresh.into_iter().next().unwrap();
    assert_ne!(fresh_id, leaked);
    assert_eq!(status, StatusType::Active);
    let check = v["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["access_key_id"] == fresh_id.as_str())
        .unwrap_or_else(|| panic!("the fresh key was not verified:\n{next}"));
    assert_eq!(check["outcome"], "verified", "{next}");
    assert!(v["plan"].get("quarantined").is_none());
}
