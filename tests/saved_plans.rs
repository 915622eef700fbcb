//! Saved plans against the emulator: `plan --out`, `show`, `reconcile --plan`, and stale plans
//! refused (changing nothing) when the schedule file or the observed IAM state changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

struct Fx {
    dir: tempfile::TempDir,
    user: String,
    path: String,
}

impl Fx {
    fn new() -> Fx {
        let suffix = common::unique_suffix();
        Fx {
            dir: tempfile::tempdir().unwrap(),
            user: format!("saved-{suffix}"),
            path: common::unique_path("saved"),
        }
    }

    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn write_schedule(&self, extra: &str) {
        let text = format!(
            "[settings]\nuser = \"{}\"\npath = \"{}\"\nverify = false\n\n[[workshop]]\nid = \"berlin\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n{extra}",
            self.user, self.path
        );
        std::fs::write(self.schedule(), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = common::shared().command();
        cmd.current_dir(self.dir.path());
        common::run::echoed(cmd, args)
    }

    /// Users, keys and tags under this test's path, as JSON (via `status`).
    fn iam_state(&self) -> Value {
        let out = self.run(&["status", "--output", "json"]);
        assert_eq!(out.status.code(), Some(0));
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        // Ages and the status time move with the clock; the rest is IAM's state.
        v.as_object_mut().unwrap().remove("at");
        for u in v["users"].as_array_mut().unwrap() {
            for k in u["keys"].as_array_mut().unwrap() {
                k.as_object_mut().unwrap().remove("age_seconds");
            }
        }
        v.as_object_mut().unwrap().remove("workshops");
        v
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn plan_file(fx: &Fx, at: &str) -> PathBuf {
    let path = fx.dir.path().join("tomorrow.plan");
    let out = fx.run(&["plan", "--at", at, "--out", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Saved this plan to"));
    path
}

#[test]
fn a_saved_plan_is_shown_and_applied_exactly_whatever_the_clock() {
    let fx = Fx::new();
    fx.write_schedule("");
    // Planned for the lead window; applied now (today is long before it): the plan is what runs.
    let path = plan_file(&fx, "2026-12-02T12:00:00Z");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["format"], "workshop-keys-plan/1");
    assert_eq!(saved["schedule_sha256"].as_str().unwrap().len(), 64);
    let kinds: Vec<&str> = saved["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create_user", "put_user_policy", "create_key"]);

    let show = fx.run(&["show", path.to_str().unwrap()]);
    assert_eq!(show.status.code(), Some(0));
    assert!(stdout(&show).contains("+ create_key"));
    assert!(stdout(&show).contains("Plan: 3 to create, 0 to change, 0 to delete, 0 blocked."));
    let show_json = fx.run(&["show", path.to_str().unwrap(), "--output", "json"]);
    let shown: Value = serde_json::from_slice(&show_json.stdout).unwrap();
    assert_eq!(shown, saved["plan"]);

    let applied = fx.run(&["reconcile", "--plan", path.to_str().unwrap()]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert!(stdout(&applied).contains("Reconcile: 3 ok, 0 failed, 0 skipped."));
    let creds = fx.dir.path().join("credentials/berlin.env");
    assert!(
        creds.exists(),
        "the saved plan's create_key wrote the key's file"
    );
    // The plan file holds no secret.
    let secret = std::fs::read_to_string(&creds)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("AWS_SECRET_ACCESS_KEY=").map(str::to_string))
        .unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&secret));
}

#[test]
fn a_plan_is_stale_when_the_schedule_changed_and_nothing_is_applied() {
    let fx = Fx::new();
    fx.write_schedule("");
    let path = plan_file(&fx, "2026-12-02T12:00:00Z");
    let before = fx.iam_state();
    fx.write_schedule("title = \"renamed\"\n");
    let out = fx.run(&["reconcile", "--plan", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("is stale, nothing was applied"), "{err}");
    assert!(err.contains("the schedule file"), "{err}");
    assert!(err.contains("changed since the plan was saved"), "{err}");
    assert_eq!(fx.iam_state(), before, "a stale plan changed IAM");
    assert!(!fx.dir.path().join("credentials").exists());
}

#[test]
fn a_plan_is_stale_when_iam_changed_and_the_message_says_what() {
    let fx = Fx::new();
    fx.write_schedule("");
    // First make the user exist, so the saved plan is about keys only.
    let out = fx.run(&["reconcile", "--at", "2026-11-20T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(0));
    let path = plan_file(&fx, "2026-12-02T12:00:00Z");
    // Someone creates a key behind the tool's back.
    let client = common::shared().iam_client(None, common::test_credentials());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = rt
        .block_on(client.create_access_key().user_name(&fx.user).send())
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    let before = fx.iam_state();
    let out = fx.run(&["reconcile", "--plan", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("key {key} of user {} was created", fx.user)),
        "{err}"
    );
    assert_eq!(fx.iam_state(), before, "a stale plan changed IAM");
}

#[test]
fn a_file_that_is_not_a_plan_is_refused() {
    let fx = Fx::new();
    fx.write_schedule("");
    let bogus = fx.dir.path().join("bogus.plan");
    std::fs::write(&bogus, "{\"hello\": 1}").unwrap();
    for args in [
        vec!["show", bogus.to_str().unwrap()],
        vec!["reconcile", "--plan", bogus.to_str().unwrap()],
    ] {
        let out = fx.run(&args);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("is not a workshop-keys plan file"),
            "{}",
            stderr(&out)
        );
    }
    let missing: &Path = &fx.dir.path().join("missing.plan");
    let out = fx.run(&["show", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read plan file"));
}
