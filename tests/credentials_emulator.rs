//! The credentials folder and revocation, end to end: the built binary against moto (shared
//! server, default account, a path and user of each test's own), the SDK checking what IAM holds.
//!
//! - Revoking keys is never blocked by anything that only concerns new keys: with the folder
//!   open to others, replaced by a file, or holding a file others can read, an ended workshop's
//!   key is still deactivated; only the new keys are refused, each reported, and the run exits 1
//!   with the reason and the fix (issue 15, defect 1).
//! - A live key whose credentials file is gone reads `no-secret` in `verify`, and the next
//!   reconcile replaces it (issue 15, defect 2).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use aws_sdk_iam::types::StatusType;
use chrono::{SecondsFormat, TimeDelta, Utc};
use common::run::Run;
use serde_json::Value;

struct Fx {
    iam: aws_sdk_iam::Client,
    dir: tempfile::TempDir,
    user: String,
}

impl Fx {
    /// A schedule with `workshops` (`(id, start, end)`), lead 24h, grace 1h, hold 24h, no
    /// Bedrock check, credentials in `credentials/`.
    fn new(label: &str, workshops: &[(&str, &str, &str)]) -> Fx {
        let server = common::shared();
        let fx = Fx {
            iam: server.iam_client(None, common::test_credentials()),
            dir: tempfile::tempdir().expect("tempdir"),
            user: format!("{label}-{}", common::unique_suffix()),
        };
        let mut text = format!(
            "[settings]\nuser = \"{}\"\npath = \"{}\"\nlead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\n\
             rotation_overlap = \"1h\"\nverify = false\ncredentials_dir = \"credentials\"\n",
            fx.user,
            common::unique_path(label)
        );
        for (id, start, end) in workshops {
            text.push_str(&format!(
                "\n[[workshop]]\nid = \"{id}\"\nstart = {start}\nend = {end}\n"
            ));
        }
        fs::write(fx.dir.path().join("workshops.toml"), text).unwrap();
        fx
    }

    fn creds(&self) -> PathBuf {
        self.dir.path().join("credentials")
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = common::shared().command();
        cmd.current_dir(self.dir.path())
            .env("RUST_LOG", "warn")
            .args(args);
        Run::of(cmd, format!("workshop-keys {}", args.join(" ")))
    }

    /// The key id in `<workshop>.env`.
    fn file_key(&self, workshop: &str) -> String {
        fs::read_to_string(self.creds().join(format!("{workshop}.env")))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("AWS_ACCESS_KEY_ID=").map(str::to_string))
            .expect("a key id in the file")
    }

    /// Each key of the user, with its status.
    async fn keys(&self) -> Vec<(String, StatusType)> {
        let out = self
            .iam
            .list_access_keys()
            .user_name(&self.user)
            .send()
            .await
            .expect("ListAccessKeys");
        let mut keys: Vec<(String, StatusType)> = out
            .access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap().to_string(),
                    k.status().unwrap().clone(),
                )
            })
            .collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys
    }
}

/// How the folder gets broken, and what the tool must say about it.
#[derive(Debug, Clone, Copy)]
enum Broken {
    /// `chmod 755 credentials`.
    OpenToOthers,
    /// The folder moved away, a file in its place.
    AFile,
    /// A credentials file in it others can read (`chmod 644`).
    FileOpenToOthers,
}

impl Broken {
    fn apply(self, fx: &Fx) {
        let creds = fx.creds();
        match self {
            Broken::OpenToOthers => {
                fs::set_permissions(&creds, fs::Permissions::from_mode(0o755)).unwrap()
            }
            Broken::AFile => {
                fs::rename(&creds, fx.dir.path().join("credentials.moved")).unwrap();
                fs::write(&creds, "not a folder").unwrap();
            }
            Broken::FileOpenToOthers => {
                fs::set_permissions(creds.join("ended.env"), fs::Permissions::from_mode(0o644))
                    .unwrap()
            }
        }
    }

    /// Reason and fix, as the tool words them (the schedule is `./workshops.toml`, so the
    /// folder is named as `credentials`).
    fn words(self) -> (String, String) {
        let creds = "credentials";
        match self {
            Broken::OpenToOthers => (
                format!("credentials directory {creds} can be read by other users (mode 755)"),
                "chmod 700".into(),
            ),
            Broken::AFile => (
                format!("credentials directory {creds} is not a directory"),
                "set settings.credentials_dir to a directory, or move the file away".into(),
            ),
            Broken::FileOpenToOthers => (
                format!("credentials file {creds}/ended.env can be read by other users (mode 644)"),
                "chmod 600".into(),
            ),
        }
    }
}

const ENDED: (&str, &str, &str) = ("ended", "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z");
const NEXT: (&str, &str, &str) = ("next", "2026-12-05T09:00:00Z", "2026-12-05T17:00:00Z");
/// After `ended`'s end + grace, and inside `next`'s lead.
const AFTER: &str = "2026-12-04T12:00:00Z";

#[tokio::test]
async fn regression_an_unsafe_or_broken_credentials_folder_does_not_block_revocation() {
    for broken in [
        Broken::OpenToOthers,
        Broken::AFile,
        Broken::FileOpenToOthers,
    ] {
        let fx = Fx::new("creds-broken", &[ENDED, NEXT]);
        fx.run(&["reconcile", "--at", "2026-12-02T12:00:00Z"])
            .code(0);
        let key = fx.file_key("ended");
        let secret_line = fs::read_to_string(fx.creds().join("ended.env"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("AWS_SECRET_ACCESS_KEY="))
            .unwrap()
            .to_string();
        let secret = secret_line.split_once('=').unwrap().1.to_string();
        broken.apply(&fx);
        let (reason, fix) = broken.words();
        let context = format!("{broken:?}");

        // `plan` shows the deactivation, the refused create and the folder's problem.
        let plan = fx.run(&["plan", "--at", AFTER]);
        plan.code(0)
            .stdout_line_with(&["- deactivate_key", &key, "[workshop ended]"])
            .stdout_line_with(&["! blocked", "workshop next", "no key is created", &reason])
            .stdout_line_with(&["warning:", &reason, &fix, "no new key is created"]);
        let planned = fx.run(&["plan", "--at", AFTER, "--output", "json"]);
        let p = planned.code(0).json();
        let kinds: Vec<&str> = p["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["deactivate_key"], "{context}: {planned}");
        assert_eq!(p["blocked"][0]["workshop"], "next", "{context}: {planned}");

        // `reconcile` deactivates the ended workshop's key, refuses the new one, exits 1 with
        // the reason and the fix.
        let run = fx.run(&["reconcile", "--at", AFTER]);
        run.code(1)
            .stdout_line_with(&["ok", "- deactivate_key", &key])
            .stdout_line_with(&["! blocked", "workshop next", &reason, &fix])
            .stdout_line_with(&["warning:", &reason, &fix])
            .stderr_has(&reason);
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "{context}: the secret was shown:\n{run}"
        );
        assert_eq!(
            fx.keys().await,
            vec![(key.clone(), StatusType::Inactive)],
            "{context}: the key is deactivated and no key was created"
        );
        // Nothing new was written where secrets are not safe.
        if let Broken::OpenToOthers | Broken::FileOpenToOthers = broken {
            let names: Vec<String> = fs::read_dir(fx.creds())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names, vec!["ended.env".to_string()], "{context}");
        }
        // `status` still reads everything.
        fx.run(&["status", "--at", AFTER]).code(0);
        // Every cron run says so until it is fixed; then the new key is made.
        fx.run(&["reconcile", "--at", "2026-12-04T12:15:00Z"])
            .code(1)
            .stderr_has(&reason);
        match broken {
            Broken::OpenToOthers => {
                fs::set_permissions(fx.creds(), fs::Permissions::from_mode(0o700)).unwrap()
            }
            Broken::AFile => {
                fs::remove_file(fx.creds()).unwrap();
                fs::rename(fx.dir.path().join("credentials.moved"), fx.creds()).unwrap();
            }
            Broken::FileOpenToOthers => fs::set_permissions(
                fx.creds().join("ended.env"),
                fs::Permissions::from_mode(0o600),
            )
            .unwrap(),
        }
        let fixed = fx.run(&["reconcile", "--at", "2026-12-04T12:30:00Z"]);
        fixed
            .code(0)
            .stdout_line_with(&["ok", "+ create_key", "[workshop next]"]);
        assert_eq!(fx.keys().await.len(), 2, "{context}: {fixed}");
    }
}

#[tokio::test]
async fn regression_a_live_key_whose_credentials_file_is_gone_reads_no_secret_and_is_replaced() {
    // IAM stamps keys with the real time, and the overlap counts from there: real times here.
    let now = Utc::now();
    let at = |minutes: i64| {
        (now + TimeDelta::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    let fx = Fx::new("creds-lost", &[("berlin", &at(120), &at(600))]);
    fx.run(&["reconcile", "--at", &at(0)]).code(0);
    let old = fx.file_key("berlin");
    fs::remove_file(fx.creds().join("berlin.env")).unwrap();

    // `verify` says what is wrong without asking Bedrock, and what the next reconcile does.
    let verify = fx.run(&["verify", "--workshop", "berlin", "--output", "json"]);
    let v: Value = verify.code(1).json();
    let check = &v["verifications"][0];
    assert_eq!(check["access_key_id"], old.as_str(), "{verify}");
    assert_eq!(check["outcome"], "no-secret", "{verify}");
    assert_eq!(
        check["models"],
        serde_json::json!([]),
        "no Bedrock call: {verify}"
    );
    let advice = check["advice"].as_str().unwrap();
    assert!(
        advice.contains("berlin.env is missing")
            && advice.contains("the next reconcile replaces it"),
        "{verify}"
    );
    fx.run(&["verify", "--workshop", "berlin"])
        .code(1)
        .stdout_line_with(&["workshop berlin: key", &old, "no-secret"]);

    // `plan` and `reconcile` replace it: a new key and file; the old key stays for the overlap.
    fx.run(&["plan", "--at", &at(1)])
        .code(0)
        .stdout_line_with(&[
            "+ create_key",
            "[workshop berlin]",
            &format!(
                "replace key {old} of workshop berlin: its credentials file berlin.env is missing"
            ),
        ]);
    fx.run(&["reconcile", "--at", &at(1)]).code(0);
    let new = fx.file_key("berlin");
    assert_ne!(new, old);
    let mut want = vec![
        (old.clone(), StatusType::Active),
        (new.clone(), StatusType::Active),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(fx.keys().await, want);
    fx.run(&["reconcile", "--at", &at(30)])
        .code(0)
        .stdout_line_with(&["No changes."]);
    fx.run(&["verify", "--workshop", "berlin"])
        .code(0)
        .stdout_line_with(&["workshop berlin: key", &new, "verified"]);
    // After rotation_overlap the old key is deactivated.
    fx.run(&["reconcile", "--at", &at(90)])
        .code(0)
        .stdout_line_with(&["ok", "- deactivate_key", &old, "replaced by newer key"]);
    let mut want = vec![(old, StatusType::Inactive), (new, StatusType::Active)];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(fx.keys().await, want);
}
