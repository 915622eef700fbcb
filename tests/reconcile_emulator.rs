//! `reconcile`, `plan` and `status` end to end: the built binary drives moto's IAM (its default
//! account, through `AWS_ENDPOINT_URL`), and the SDK inspects what it did.
//!
//! The binary cannot send moto's account header, so every test works in the shared server's
//! default account under an IAM path and user names of its own (`unique_path` /
//! `unique_suffix`), with its schedule and credentials directory in a tempdir of its own.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_iam::error::DisplayErrorContext;
use aws_sdk_iam::types::{StatusType, Tag};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use common::run::Run;
use common::MotoServer;

const POLICY_NAME: &str = "BedrockInvokeOnly";
const MANAGED_BY: &str = "managed-by";
const MANAGED_BY_VALUE: &str = "workshop-keys";
const DEACTIVATED_PREFIX: &str = "workshop-keys:deactivated:";
/// `settings.region`: written into credentials files (the IAM client uses `AWS_REGION`).
const FILE_REGION: &str = "eu-central-1";
/// IAM calls that change nothing.
const READ_APIS: &[&str] = &[
    "GetAccountAuthorizationDetails",
    "ListUsers",
    "GetUser",
    "ListUserTags",
    "ListAccessKeys",
    "GetAccessKeyLastUsed",
    "ListUserPolicies",
    "GetUserPolicy",
    "ListAttachedUserPolicies",
];
/// Enough logging for the SDK's per-call spans (`rpc.method`) to show in JSON logs.
const LOG_SDK_CALLS: &str = "warn,aws_sdk_iam=debug,aws_smithy_runtime=debug";

// ---------------------------------------------------------------------------------------------
// Expected documents

fn all_models_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BedrockInvokeOnly",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": "*",
        }]
    })
}

fn titan_only_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BedrockInvokeOnly",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": ["arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v1"],
        }]
    })
}

const DENY_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;

// ---------------------------------------------------------------------------------------------
// Running the binary

/// One run of the binary.
/// A test's own schedule directory, IAM path and user names, on the shared moto server.
struct Fx {
    server: &'static MotoServer,
    iam: aws_sdk_iam::Client,
    dir: tempfile::TempDir,
    path: String,
    sfx: String,
}

impl Fx {
    fn new(label: &str) -> Fx {
        let server = common::shared();
        Fx {
            server,
            iam: server.iam_client(None, common::test_credentials()),
            dir: tempfile::tempdir().expect("tempdir"),
            path: common::unique_path(label),
            sfx: common::unique_suffix(),
        }
    }

    /// A user name of this test's own.
    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.sfx)
    }

    fn schedule(&self) -> PathBuf {
        self.dir.path().join("workshops.toml")
    }

    fn creds(&self) -> PathBuf {
        self.dir.path().join("credentials")
    }

    /// Writes the schedule: lead 24h, grace 1h, hold 24h, credentials in `credentials/`, and no
    /// Bedrock check of new keys unless `extra` sets `verify`. The deadline statement is off
    /// unless `extra` sets `deadline`, so these tests compare the plain policy; the deadline's
    /// documents are read back in `deadline_emulator.rs`.
    fn write_schedule(&self, user: &str, extra: &str, workshops: &[String]) {
        let mut verify = if extra.contains("verify") {
            String::new()
        } else {
            "verify = false\n".to_string()
        };
        if !extra.contains("deadline") {
            verify.push_str("deadline = false\n");
        }
        let text = format!(
            "[settings]\nregion = \"{FILE_REGION}\"\nuser = \"{user}\"\npath = \"{path}\"\n\
             lead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\ncredentials_dir = \"credentials\"\n\
             {verify}{extra}\n{}",
            workshops.join("\n"),
            path = self.path,
        );
        fs::write(self.schedule(), text).expect("write the schedule");
    }

    /// `workshop-keys <command> --schedule <ours> <args>` against moto, with `env` added.
    fn run_env(&self, command: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.server.command();
        cmd.arg(command)
            .arg("--schedule")
            .arg(self.schedule())
            .args(args)
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::of(cmd, format!("workshop-keys {command} {}", args.join(" ")))
    }

    fn run(&self, command: &str, args: &[&str]) -> Run {
        self.run_env(command, args, &[])
    }

    /// `plan --at AT --output json`: the plan.
    fn plan_json(&self, at: &str) -> Value {
        self.run("plan", &["--at", at, "--output", "json"])
            .code(0)
            .json()
    }

    /// `reconcile --at AT --output json`, which must succeed with every action ok.
    fn reconcile_ok(&self, at: &str) -> Vec<Value> {
        let run = self.run("reconcile", &["--at", at, "--output", "json"]);
        run.code(0);
        let v = run.json();
        assert_eq!(v["ok"], true, "{run}");
        let results = v["results"].as_array().expect("results").clone();
        for r in &results {
            assert_eq!(r["status"], "ok", "action failed: {r}\n{run}");
        }
        results
    }

    /// After a reconcile at AT: another one at AT changes nothing and calls only read APIs, and
    /// `plan --detailed-exitcode` at AT agrees.
    fn assert_settled(&self, at: &str) {
        let again = self.run_env(
            "reconcile",
            &["--at", at, "--log-format", "json"],
            &[("RUST_LOG", LOG_SDK_CALLS)],
        );
        again.code(0);
        assert!(
            again.stdout.contains("No changes."),
            "a second reconcile at {at} still had work:\n{again}"
        );
        let calls = again.iam_calls();
        assert!(
            calls.contains("GetAccountAuthorizationDetails"),
            "no IAM calls in the logs: is RUST_LOG honoured?\n{again}"
        );
        let writes: Vec<&String> = calls
            .iter()
            .filter(|c| !READ_APIS.contains(&c.as_str()))
            .collect();
        assert!(
            writes.is_empty(),
            "a second reconcile at {at} called {writes:?}"
        );
        let plan = self.run("plan", &["--at", at, "--detailed-exitcode"]);
        plan.code(0);
        assert!(plan.stdout.contains("No changes."), "{plan}");
    }

    // --- SDK-side helpers (default account) ---

    async fn create_user(&self, name: &str, path: &str, tags: &[(&str, &str)]) {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
            .collect();
        self.iam
            .create_user()
            .user_name(name)
            .path(path)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateUser {name}: {}", DisplayErrorContext(e)));
    }

    async fn create_key(&self, user: &str) -> String {
        self.iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccessKey {user}: {}", DisplayErrorContext(e)))
            .access_key
            .expect("a key")
            .access_key_id
    }

    async fn tag(&self, user: &str, key: &str, value: &str) {
        self.iam
            .tag_user()
            .user_name(user)
            .tags(Tag::builder().key(key).value(value).build().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("TagUser {user}: {}", DisplayErrorContext(e)));
    }

    async fn put_policy(&self, user: &str, name: &str, doc: &str) {
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(doc)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutUserPolicy {user}: {}", DisplayErrorContext(e)));
    }

    /// Creates a managed policy of this test's own and attaches it to `user`; returns its ARN.
    async fn attach_new_managed_policy(&self, user: &str, label: &str) -> String {
        let arn = self
            .iam
            .create_policy()
            .policy_name(self.name(label))
            .policy_document(DENY_IAM)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreatePolicy: {}", DisplayErrorContext(e)))
            .policy
            .and_then(|p| p.arn)
            .expect("policy ARN");
        self.iam
            .attach_user_policy()
            .user_name(user)
            .policy_arn(&arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("AttachUserPolicy: {}", DisplayErrorContext(e)));
        arn
    }

    async fn attachment_count(&self, arn: &str) -> i32 {
        self.iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetPolicy {arn}: {}", DisplayErrorContext(e)))
            .policy
            .and_then(|p| p.attachment_count)
            .expect("attachment count")
    }

    /// Everything IAM says about one user, or `None` when there is no such user.
    async fn user_state(&self, name: &str) -> Option<UserState> {
        let user = match self.iam.get_user().user_name(name).send().await {
            Ok(out) => out.user.expect("GetUser answer without a user"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                return None
            }
            Err(e) => panic!("GetUser {name}: {}", DisplayErrorContext(e)),
        };
        let tags = self
            .iam
            .list_user_tags()
            .user_name(name)
            .max_items(1000)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListUserTags {name}: {}", DisplayErrorContext(e)));
        let keys = self
            .iam
            .list_access_keys()
            .user_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListAccessKeys {name}: {}", DisplayErrorContext(e)));
        let names = self
            .iam
            .list_user_policies()
            .user_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListUserPolicies {name}: {}", DisplayErrorContext(e)));
        let mut inline = BTreeMap::new();
        for policy in names.policy_names() {
            let out = self
                .iam
                .get_user_policy()
                .user_name(name)
                .policy_name(policy)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetUserPolicy {name}: {}", DisplayErrorContext(e)));
            inline.insert(policy.clone(), decode_policy(out.policy_document()));
        }
        let attached = self
            .iam
            .list_attached_user_policies()
            .user_name(name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "ListAttachedUserPolicies {name}: {}",
                    DisplayErrorContext(e)
                )
            });
        Some(UserState {
            path: user.path,
            tags: tags
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            keys: keys
                .access_key_metadata()
                .iter()
                .map(|k| {
                    let status = match k.status() {
                        Some(StatusType::Active) => "Active",
                        Some(StatusType::Inactive) => "Inactive",
                        other => panic!("key status {other:?}"),
                    };
                    (
                        k.access_key_id().expect("key id").to_string(),
                        KeyState {
                            status: status.to_string(),
                            created: k.create_date().map(|d| d.to_string()),
                        },
                    )
                })
                .collect(),
            inline,
            attached: attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect(),
        })
    }

    async fn must_exist(&self, name: &str) -> UserState {
        self.user_state(name)
            .await
            .unwrap_or_else(|| panic!("user {name} does not exist"))
    }

    /// Every user under this test's path, and every file in its credentials directory.
    async fn world(&self) -> (BTreeMap<String, UserState>, BTreeMap<String, String>) {
        let listed = self
            .iam
            .list_users()
            .path_prefix(&self.path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListUsers: {}", DisplayErrorContext(e)));
        let mut users = BTreeMap::new();
        for u in listed.users() {
            let state = self.must_exist(u.user_name()).await;
            users.insert(u.user_name().to_string(), state);
        }
        (users, dir_contents(&self.creds()))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct KeyState {
    status: String,
    created: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct UserState {
    path: String,
    tags: BTreeMap<String, String>,
    keys: BTreeMap<String, KeyState>,
    inline: BTreeMap<String, Value>,
    attached: BTreeSet<String>,
}

impl UserState {
    fn statuses(&self) -> BTreeMap<String, String> {
        self.keys
            .iter()
            .map(|(id, k)| (id.clone(), k.status.clone()))
            .collect()
    }
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(doc: &str) -> Value {
    let decoded = urlencoding::decode(doc).unwrap_or_else(|e| panic!("policy {doc:?}: {e}"));
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("policy {decoded:?}: {e}"))
}

/// A `[[workshop]]` table.
fn workshop(id: &str, user: Option<&str>, start: &str, end: &str, extra: &str) -> String {
    let user = user
        .map(|u| format!("user = \"{u}\"\n"))
        .unwrap_or_default();
    format!(
        "[[workshop]]\nid = \"{id}\"\ntitle = \"Workshop {id}\"\nstart = {start}\nend = {end}\n{user}{extra}\n"
    )
}

/// `(action, user, workshop)` of each action (plan actions or reconcile results), sorted.
fn summary(actions: &[Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = actions
        .iter()
        .map(|a| {
            (
                a["action"].as_str().expect("action").to_string(),
                a["user"].as_str().expect("user").to_string(),
                a["workshop"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected_summary(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = items
        .iter()
        .map(|(a, u, w)| (a.to_string(), u.to_string(), w.to_string()))
        .collect();
    out.sort();
    out
}

fn actions(plan: &Value) -> Vec<Value> {
    plan["actions"].as_array().expect("actions").clone()
}

/// Name and contents of every file in `dir` (empty when it does not exist).
fn dir_contents(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    // The tool's own records of its recent writes (`.deleted.<key>`, `.creating.<workshop>`)
    // hold no secrets and are not credentials files; anything else is.
    entries
        .map(|e| e.expect("dir entry"))
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with(".deleted.") && !name.starts_with(".creating.")
        })
        .map(|e| {
            let text = fs::read_to_string(e.path()).expect("read a credentials file");
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The `KEY=value` lines of a credentials file.
fn env_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("credentials file line without '=': {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// `<dir>/<workshop>.env` exists with mode 0600 in a 0700 directory, and holds `key_id`, a
/// 40-character secret and the schedule's region.
fn assert_credentials_file(dir: &Path, workshop: &str, key_id: &str) {
    assert_eq!(mode(dir), 0o700, "credentials directory mode");
    let path = dir.join(format!("{workshop}.env"));
    assert_eq!(mode(&path), 0o600, "{} mode", path.display());
    let values = env_values(&fs::read_to_string(&path).expect("read credentials file"));
    assert_eq!(
        values.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_DEFAULT_REGION",
            "AWS_SECRET_ACCESS_KEY"
        ],
        "{}",
        path.display()
    );
    assert_eq!(values["AWS_ACCESS_KEY_ID"], key_id, "{}", path.display());
    assert_eq!(values["AWS_DEFAULT_REGION"], FILE_REGION);
    let secret = &values["AWS_SECRET_ACCESS_KEY"];
    assert!(
        secret.len() == 40 && secret.bytes().all(|b| b.is_ascii_graphic()),
        "{}: the secret is not 40 printable characters",
        path.display()
    );
}

fn read_secret(dir: &Path, workshop: &str) -> String {
    let text = fs::read_to_string(dir.join(format!("{workshop}.env"))).expect("credentials file");
    env_values(&text)
        .remove("AWS_SECRET_ACCESS_KEY")
        .expect("a secret")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap_or_else(|e| panic!("{v}: {e}"))
        .with_timezone(&Utc)
}

fn managed_only() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string())])
}

// ---------------------------------------------------------------------------------------------
// 1. A week of workshops, replayed

/// One moment of the week: what reconcile does then, and the keys afterwards.
struct Step {
    at: &'static str,
    /// `(action, user role, workshop)`.
    actions: &'static [(&'static str, &'static str, &'static str)],
    /// `(user role, workshop, active, deactivated at)`.
    keys: &'static [(&'static str, &'static str, bool, Option<&'static str>)],
}

/// Two users: "u1" (settings.user) with three workshops, back to back and overlapping, and
/// "u2" with one. In UTC (lead 24h, grace 1h, hold 24h unless overridden):
///
/// | workshop | user | key from    | revoked     | deleted     |
/// |----------|------|-------------|-------------|-------------|
/// | rag      | u2   | 12-01 09:00 | 12-02 17:00 | 12-03 17:00 |
/// | ctx-1    | u1   | 12-02 08:00 | 12-03 17:00 | 12-04 17:00 |
/// | ctx-2    | u1   | 12-03 08:00 | 12-04 17:00 | 12-05 17:00 |
/// | paris    | u1   | 12-04 07:00 | 12-04 13:00 | 12-05 13:00 | (lead 3h, grace 30m)
///
/// At 12-04 07:00 u1 holds ctx-1's inactive key and ctx-2's live one: paris's key takes the
/// slot of ctx-1's key, deleted before its hold is over.
const WEEK: &[Step] = &[
    Step {
        at: "2026-11-30T12:00:00Z",
        actions: &[
            ("create_user", "u1", ""),
            ("create_user", "u2", ""),
            ("put_user_policy", "u1", ""),
            ("put_user_policy", "u2", ""),
        ],
        keys: &[],
    },
    // One second before rag's lead.
    Step {
        at: "2026-12-01T08:59:59Z",
        actions: &[],
        keys: &[],
    },
    Step {
        at: "2026-12-01T09:00:00Z",
        actions: &[("create_key", "u2", "rag")],
        keys: &[("u2", "rag", true, None)],
    },
    // rag is running; ctx-1's lead begins.
    Step {
        at: "2026-12-02T08:00:00Z",
        actions: &[("create_key", "u1", "ctx-1")],
        keys: &[("u2", "rag", true, None), ("u1", "ctx-1", true, None)],
    },
    // rag's grace.
    Step {
        at: "2026-12-02T16:59:59Z",
        actions: &[],
        keys: &[("u2", "rag", true, None), ("u1", "ctx-1", true, None)],
    },
    Step {
        at: "2026-12-02T17:00:00Z",
        actions: &[("deactivate_key", "u2", "rag")],
        keys: &[
            ("u2", "rag", false, Some("2026-12-02T17:00:00Z")),
            ("u1", "ctx-1", true, None),
        ],
    },
    // ctx-1 starts and ctx-2's lead begins: two live keys on u1.
    Step {
        at: "2026-12-03T08:00:00Z",
        actions: &[("create_key", "u1", "ctx-2")],
        keys: &[
            ("u2", "rag", false, Some("2026-12-02T17:00:00Z")),
            ("u1", "ctx-1", true, None),
            ("u1", "ctx-2", true, None),
        ],
    },
    // ctx-1's grace ends as rag's hold does.
    Step {
        at: "2026-12-03T17:00:00Z",
        actions: &[
            ("deactivate_key", "u1", "ctx-1"),
            ("delete_key", "u2", "rag"),
        ],
        keys: &[
            ("u1", "ctx-1", false, Some("2026-12-03T17:00:00Z")),
            ("u1", "ctx-2", true, None),
        ],
    },
    // paris needs a slot: ctx-1's held key goes early.
    Step {
        at: "2026-12-04T07:00:00Z",
        actions: &[("delete_key", "u1", "ctx-1"), ("create_key", "u1", "paris")],
        keys: &[("u1", "ctx-2", true, None), ("u1", "paris", true, None)],
    },
    // paris's grace.
    Step {
        at: "2026-12-04T12:59:59Z",
        actions: &[],
        keys: &[("u1", "ctx-2", true, None), ("u1", "paris", true, None)],
    },
    Step {
        at: "2026-12-04T13:00:00Z",
        actions: &[("deactivate_key", "u1", "paris")],
        keys: &[
            ("u1", "ctx-2", true, None),
            ("u1", "paris", false, Some("2026-12-04T13:00:00Z")),
        ],
    },
    Step {
        at: "2026-12-04T17:00:00Z",
        actions: &[("deactivate_key", "u1", "ctx-2")],
        keys: &[
            ("u1", "ctx-2", false, Some("2026-12-04T17:00:00Z")),
            ("u1", "paris", false, Some("2026-12-04T13:00:00Z")),
        ],
    },
    // paris's hold.
    Step {
        at: "2026-12-05T12:59:59Z",
        actions: &[],
        keys: &[
            ("u1", "ctx-2", false, Some("2026-12-04T17:00:00Z")),
            ("u1", "paris", false, Some("2026-12-04T13:00:00Z")),
        ],
    },
    Step {
        at: "2026-12-05T13:00:00Z",
        actions: &[("delete_key", "u1", "paris")],
        keys: &[("u1", "ctx-2", false, Some("2026-12-04T17:00:00Z"))],
    },
    Step {
        at: "2026-12-05T17:00:00Z",
        actions: &[("delete_key", "u1", "ctx-2")],
        keys: &[],
    },
    // Long after.
    Step {
        at: "2026-12-10T00:00:00Z",
        actions: &[],
        keys: &[],
    },
];

#[tokio::test]
async fn a_week_of_workshops_replayed_moment_by_moment() {
    let fx = Fx::new("week");
    let roles = BTreeMap::from([("u1", fx.name("trainer")), ("u2", fx.name("trainer-uk"))]);
    fx.write_schedule(
        &roles["u1"],
        "",
        &[
            workshop(
                "rag",
                Some(&roles["u2"]),
                "2026-12-02T09:00:00Z",
                "2026-12-02T16:00:00Z",
                "",
            ),
            workshop(
                "ctx-1",
                None,
                "2026-12-03T09:00:00+01:00",
                "2026-12-03T17:00:00+01:00",
                "",
            ),
            workshop(
                "ctx-2",
                None,
                "2026-12-04T09:00:00+01:00",
                "2026-12-04T17:00:00+01:00",
                "",
            ),
            workshop(
                "paris",
                None,
                "2026-12-04T11:00:00+01:00",
                "2026-12-04T13:30:00+01:00",
                "lead = \"3h\"\ngrace = \"30m\"\n",
            ),
        ],
    );
    fx.run("validate", &[]).code(0);

    // Workshop id -> its key, learned when reconcile creates it.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for step in WEEK {
        let at = step.at;
        let want: Vec<(&str, &str, &str)> = step
            .actions
            .iter()
            .map(|(a, role, w)| (*a, roles[role].as_str(), *w))
            .collect();

        // The plan says what reconcile will do, and --detailed-exitcode says whether it will.
        let plan = fx.run(
            "plan",
            &["--at", at, "--output", "json", "--detailed-exitcode"],
        );
        plan.code(if step.actions.is_empty() { 0 } else { 2 });
        let plan = plan.json();
        assert_eq!(
            summary(&actions(&plan)),
            expected_summary(&want),
            "plan at {at}"
        );
        assert_eq!(plan["blocked"], json!([]), "at {at}");

        let results = fx.reconcile_ok(at);
        assert_eq!(
            summary(&results),
            expected_summary(&want),
            "reconcile at {at}"
        );
        for r in results.iter().filter(|r| r["action"] == "create_key") {
            let w = r["workshop"].as_str().expect("workshop").to_string();
            let id = r["created_key"].as_str().expect("created_key").to_string();
            let file = r["credentials_file"].as_str().expect("credentials_file");
            assert_eq!(
                Path::new(file),
                fx.creds().join(format!("{w}.env")),
                "at {at}"
            );
            assert!(
                ids.insert(w.clone(), id).is_none(),
                "a second key for {w} at {at}"
            );
        }
        fx.assert_settled(at);

        // IAM holds exactly the expected users, keys, tags and policy.
        for (role, name) in &roles {
            let u = fx.must_exist(name).await;
            assert_eq!(u.path, fx.path, "path of {name} at {at}");
            let mut tags = managed_only();
            let mut keys = BTreeMap::new();
            for (_, w, active, deactivated) in step.keys.iter().filter(|k| k.0 == *role) {
                let id = &ids[*w];
                tags.insert(id.clone(), w.to_string());
                if let Some(t) = deactivated {
                    tags.insert(format!("{DEACTIVATED_PREFIX}{id}"), t.to_string());
                }
                let status = if *active { "Active" } else { "Inactive" };
                keys.insert(id.clone(), status.to_string());
            }
            assert_eq!(u.statuses(), keys, "keys of {name} at {at}");
            assert_eq!(u.tags, tags, "tags of {name} at {at}");
            assert_eq!(
                u.inline,
                BTreeMap::from([(POLICY_NAME.to_string(), all_models_policy())]),
                "inline policies of {name} at {at}"
            );
            assert!(u.attached.is_empty(), "{name} at {at}: {:?}", u.attached);
        }
        let (users, files) = fx.world().await;
        assert_eq!(
            users.keys().collect::<BTreeSet<_>>(),
            roles.values().collect::<BTreeSet<_>>(),
            "users under the path at {at}"
        );

        // A credentials file for every key that exists, and nothing else.
        let want_files: BTreeSet<String> =
            step.keys.iter().map(|k| format!("{}.env", k.1)).collect();
        assert_eq!(
            files.keys().cloned().collect::<BTreeSet<_>>(),
            want_files,
            "credentials files at {at}"
        );
        for (_, w, _, _) in step.keys {
            assert_credentials_file(&fx.creds(), w, &ids[*w]);
        }
    }
    assert_eq!(ids.len(), 4, "{ids:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. plan --output json, and plan changes nothing

#[tokio::test]
async fn plan_json_names_every_field_and_changes_nothing() {
    let fx = Fx::new("plan");
    let main = fx.name("main");
    let second = fx.name("second");
    let handmade = fx.name("handmade");
    let at = "2026-12-02T10:00:00Z";
    let day = |id: &str, user: Option<&str>| {
        workshop(id, user, "2026-12-02T09:00:00Z", "2026-12-02T16:00:00Z", "")
    };
    fx.write_schedule(&main, "", &[day("a", None)]);
    fx.reconcile_ok(at);

    // An unclaimed key on the managed user, an unmanaged user under the path, and two more
    // workshops: one on a new user, one on the unmanaged user.
    let orphan = fx.create_key(&main).await;
    fx.create_user(&handmade, &fx.path, &[]).await;
    fx.write_schedule(
        &main,
        "",
        &[
            day("a", None),
            day("b", Some(&second)),
            day("c", Some(&handmade)),
        ],
    );
    let before = fx.world().await;

    let run = fx.run(
        "plan",
        &["--at", at, "--output", "json", "--detailed-exitcode"],
    );
    run.code(2);
    let plan = run.json();
    assert_eq!(parse_time(&plan["at"]), parse_time(&json!(at)));

    let acts = actions(&plan);
    let kinds: Vec<&str> = acts.iter().map(|a| a["action"].as_str().unwrap()).collect();
    // In the order they are applied: the user, its policy, its key; revocations last.
    assert_eq!(
        kinds,
        [
            "create_user",
            "put_user_policy",
            "create_key",
            "deactivate_key"
        ],
        "{run}"
    );
    for a in &acts {
        assert!(
            a["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "action without a reason: {a}"
        );
    }
    let (create_user, put_policy, create_key, deactivate) =
        (&acts[0], &acts[1], &acts[2], &acts[3]);
    assert_eq!(create_user["user"], second);
    assert_eq!(create_user["path"], fx.path);
    assert_eq!(create_user["tags"], json!({ MANAGED_BY: MANAGED_BY_VALUE }));
    assert_eq!(put_policy["user"], second);
    assert_eq!(put_policy["policy_name"], POLICY_NAME);
    assert_eq!(put_policy["policy_document"], all_models_policy());
    assert_eq!(create_key["user"], second);
    assert_eq!(create_key["workshop"], "b");
    assert_eq!(deactivate["user"], main);
    assert_eq!(deactivate["access_key_id"], orphan);
    assert!(
        deactivate["reason"]
            .as_str()
            .unwrap()
            .contains("not claimed"),
        "{deactivate}"
    );
    // Fields that do not apply are absent.
    for (a, absent) in [
        (
            create_user,
            &["workshop", "access_key_id", "policy_name"][..],
        ),
        (put_policy, &["workshop", "access_key_id"][..]),
        (create_key, &["access_key_id", "policy_name"][..]),
        (deactivate, &["workshop", "policy_name"][..]),
    ] {
        for field in absent {
            assert!(a.get(field).is_none(), "{field} in {a}");
        }
    }

    let blocked = plan["blocked"].as_array().expect("blocked");
    assert_eq!(blocked.len(), 1, "{run}");
    assert_eq!(blocked[0]["workshop"], "c");
    let reason = blocked[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&handmade) && reason.contains("managed-by=workshop-keys"),
        "{reason}"
    );
    let warnings = plan["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{run}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains(&handmade) && warning.contains("left untouched"),
        "{warning}"
    );

    // The text plan, and reconcile --dry-run, say the same and do nothing either.
    let text = fx.run("plan", &["--at", at]);
    text.code(0);
    assert!(
        text.stdout
            .contains("Plan: 3 to create, 0 to change, 1 to delete, 1 blocked."),
        "{text}"
    );
    assert!(text.stdout.contains("! blocked"), "{text}");
    let dry = fx.run("reconcile", &["--at", at, "--dry-run"]);
    dry.code(0);
    assert!(dry.stdout.contains(&orphan), "{dry}");
    assert!(!dry.stdout.contains("Applying"), "{dry}");

    assert_eq!(
        fx.world().await,
        before,
        "plan changed IAM or the credentials files"
    );
    assert!(fx.user_state(&second).await.is_none());
}

// ---------------------------------------------------------------------------------------------
// 3. Orphan keys

#[tokio::test]
async fn orphan_keys_are_deactivated_then_deleted_after_the_hold() {
    let fx = Fx::new("orphans");
    let user = fx.name("orphans");
    let who = user.as_str();
    fx.write_schedule(who, "", &[]);
    fx.reconcile_ok("2026-12-01T00:00:00Z");
    fx.assert_settled("2026-12-01T00:00:00Z");

    // One key nobody claims, one claimed by a workshop the schedule does not have.
    let bare = fx.create_key(&user).await;
    let ghost = fx.create_key(&user).await;
    fx.tag(&user, &ghost, "ghost").await;

    let t1 = "2026-12-02T10:00:00Z";
    let plan = fx.plan_json(t1);
    assert_eq!(
        summary(&actions(&plan)),
        expected_summary(&[
            ("deactivate_key", who, ""),
            ("deactivate_key", who, "ghost")
        ])
    );
    let reasons: Vec<String> = actions(&plan)
        .iter()
        .map(|a| a["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not claimed by any scheduled workshop"))
            && reasons.iter().any(|r| {
                r.contains("claimed by workshop ghost, which the schedule does not list")
            }),
        "{reasons:?}"
    );
    fx.reconcile_ok(t1);
    fx.assert_settled(t1);
    let u = fx.must_exist(&user).await;
    assert_eq!(
        u.statuses(),
        BTreeMap::from([
            (bare.clone(), "Inactive".to_string()),
            (ghost.clone(), "Inactive".to_string())
        ])
    );
    let mut tags = managed_only();
    tags.insert(ghost.clone(), "ghost".into());
    tags.insert(format!("{DEACTIVATED_PREFIX}{bare}"), t1.into());
    tags.insert(format!("{DEACTIVATED_PREFIX}{ghost}"), t1.into());
    assert_eq!(u.tags, tags);

    // Held for 24h from the deactivation, then deleted with their tags.
    fx.run(
        "plan",
        &["--at", "2026-12-03T09:59:59Z", "--detailed-exitcode"],
    )
    .code(0);
    let t2 = "2026-12-03T10:00:00Z";
    let results = fx.reconcile_ok(t2);
    assert_eq!(
        summary(&results),
        expected_summary(&[("delete_key", who, ""), ("delete_key", who, "ghost")])
    );
    fx.assert_settled(t2);
    let u = fx.must_exist(&user).await;
    assert!(u.keys.is_empty(), "{:?}", u.keys);
    assert_eq!(u.tags, managed_only());

    // A key found already inactive: its hold counts from when reconcile first saw it.
    let found = fx.create_key(&user).await;
    fx.iam
        .update_access_key()
        .user_name(&user)
        .access_key_id(&found)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap_or_else(|e| panic!("UpdateAccessKey: {}", DisplayErrorContext(e)));
    let t3 = "2026-12-04T00:00:00Z";
    let results = fx.reconcile_ok(t3);
    assert_eq!(
        summary(&results),
        expected_summary(&[("tag_user", who, "")])
    );
    assert_eq!(results[0]["access_key_id"], found);
    fx.assert_settled(t3);
    let u = fx.must_exist(&user).await;
    assert_eq!(
        u.statuses(),
        BTreeMap::from([(found.clone(), "Inactive".to_string())])
    );
    let mut tags = managed_only();
    tags.insert(format!("{DEACTIVATED_PREFIX}{found}"), t3.into());
    assert_eq!(u.tags, tags);
    fx.run(
        "plan",
        &["--at", "2026-12-04T23:59:59Z", "--detailed-exitcode"],
    )
    .code(0);
    let t4 = "2026-12-05T00:00:00Z";
    assert_eq!(
        summary(&fx.reconcile_ok(t4)),
        expected_summary(&[("delete_key", who, "")])
    );
    fx.assert_settled(t4);
    let u = fx.must_exist(&user).await;
    assert!(u.keys.is_empty() && u.tags == managed_only(), "{u:?}");

    // Not an orphan: an untagged key that a live workshop's credentials file holds (a run that
    // stopped before tagging) is claimed for it, and no second key is made.
    fx.write_schedule(
        &user,
        "",
        &[workshop(
            "adopt",
            None,
            "2026-12-06T09:00:00Z",
            "2026-12-06T16:00:00Z",
            "",
        )],
    );
    let kept = fx.create_key(&user).await;
    fs::DirBuilder::new()
        .mode(0o700)
        .create(fx.creds())
        .unwrap();
    let file = fx.creds().join("adopt.env");
    fs::write(
        &file,
        format!(
            "AWS_ACCESS_KEY_ID={kept}\nAWS_SECRET_ACCESS_KEY={}\nAWS_DEFAULT_REGION={FILE_REGION}\n",
            "x".repeat(40)
        ),
    )
    .unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let t5 = "2026-12-06T10:00:00Z";
    let results = fx.reconcile_ok(t5);
    assert_eq!(
        summary(&results),
        expected_summary(&[("tag_user", who, "adopt")])
    );
    fx.assert_settled(t5);
    let u = fx.must_exist(&user).await;
    assert_eq!(
        u.statuses(),
        BTreeMap::from([(kept.clone(), "Active".to_string())])
    );
    assert_eq!(u.tags.get(&kept).map(String::as_str), Some("adopt"));
}

// ---------------------------------------------------------------------------------------------
// 4. Users that are not the tool's

#[tokio::test]
async fn unmanaged_users_and_users_outside_the_path_are_never_touched() {
    let fx = Fx::new("foreign");
    let main = fx.name("main");
    let handmade = fx.name("handmade");
    let outside = fx.name("elsewhere");
    let outside_path = format!("/elsewhere-{}/", fx.sfx);

    // Under the path, tagged managed-by with another value; with a key and both kinds of
    // policy.
    fx.create_user(
        &handmade,
        &fx.path,
        &[(MANAGED_BY, "terraform"), ("team", "ml")],
    )
    .await;
    let handmade_key = fx.create_key(&handmade).await;
    fx.put_policy(&handmade, "Own", DENY_IAM).await;
    fx.attach_new_managed_policy(&handmade, "handmade-managed")
        .await;
    // Outside the path, even though tagged as ours and carrying our policy's name.
    fx.create_user(&outside, &outside_path, &[(MANAGED_BY, MANAGED_BY_VALUE)])
        .await;
    let outside_key = fx.create_key(&outside).await;
    fx.tag(&outside, &outside_key, "lab-y").await;
    fx.put_policy(&outside, POLICY_NAME, DENY_IAM).await;
    fx.attach_new_managed_policy(&outside, "outside-managed")
        .await;
    let handmade_before = fx.must_exist(&handmade).await;
    let outside_before = fx.must_exist(&outside).await;
    assert_eq!(
        handmade_before.keys.keys().collect::<Vec<_>>(),
        [&handmade_key]
    );
    assert_eq!(outside_before.attached.len(), 1);

    let at = "2026-12-02T10:00:00Z";
    let day = |id: &str, user: Option<&str>| {
        workshop(id, user, "2026-12-02T09:00:00Z", "2026-12-02T16:00:00Z", "")
    };
    fx.write_schedule(&main, "", &[day("main-ws", None)]);
    let results = fx.reconcile_ok(at);
    assert_eq!(
        summary(&results),
        expected_summary(&[
            ("create_key", &main, "main-ws"),
            ("create_user", &main, ""),
            ("put_user_policy", &main, ""),
        ])
    );
    fx.assert_settled(at);
    assert_eq!(fx.must_exist(&handmade).await, handmade_before);
    assert_eq!(fx.must_exist(&outside).await, outside_before);

    // Far-off workshops on them: a warning, nothing blocked yet.
    let later = |id: &str, user: &str| {
        workshop(
            id,
            Some(user),
            "2026-12-20T09:00:00Z",
            "2026-12-20T16:00:00Z",
            "",
        )
    };
    fx.write_schedule(
        &main,
        "",
        &[
            day("main-ws", None),
            later("lab-x", &handmade),
            later("lab-y", &outside),
        ],
    );
    let run = fx.run("reconcile", &["--at", at]);
    run.code(0);
    assert!(run.stdout.contains("No changes."), "{run}");
    assert!(
        run.stdout
            .contains(&format!("warning: user {handmade} exists without the tag"))
            && run.stdout.contains(&format!(
                "warning: user {outside} exists outside the managed path {}",
                fx.path
            )),
        "{run}"
    );

    // Live workshops on them: blocked, exit 1, and the reason says why.
    fx.write_schedule(
        &main,
        "",
        &[
            day("main-ws", None),
            day("lab-x", Some(&handmade)),
            day("lab-y", Some(&outside)),
        ],
    );
    let plan = fx.run(
        "plan",
        &["--at", at, "--output", "json", "--detailed-exitcode"],
    );
    plan.code(2);
    let plan = plan.json();
    assert_eq!(plan["actions"], json!([]), "{plan}");
    let blocked: BTreeMap<String, String> = plan["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["workshop"].as_str().unwrap().to_string(),
                b["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(blocked.len(), 2, "{blocked:?}");
    assert!(
        blocked["lab-x"].contains(&format!(
            "user {handmade} exists without the tag managed-by=workshop-keys"
        )),
        "{}",
        blocked["lab-x"]
    );
    assert!(
        blocked["lab-y"].contains(&format!(
            "user {outside} exists outside the managed path {}",
            fx.path
        )),
        "{}",
        blocked["lab-y"]
    );
    for _ in 0..2 {
        let run = fx.run("reconcile", &["--at", at]);
        run.code(1);
        for (w, reason) in &blocked {
            assert!(
                run.stdout.contains(&format!("workshop {w}: {reason}")),
                "{run}"
            );
        }
        assert!(
            run.stdout
                .contains("Plan: 0 to create, 0 to change, 0 to delete, 2 blocked."),
            "{run}"
        );
    }
    let json_run = fx.run("reconcile", &["--at", at, "--output", "json"]);
    json_run.code(1);
    assert_eq!(json_run.json()["ok"], false, "{json_run}");

    assert_eq!(fx.must_exist(&handmade).await, handmade_before);
    assert_eq!(fx.must_exist(&outside).await, outside_before);
    assert_eq!(
        dir_contents(&fx.creds()).into_keys().collect::<Vec<_>>(),
        ["main-ws.env"]
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Policy drift

#[tokio::test]
async fn policy_drift_is_repaired() {
    let fx = Fx::new("drift");
    let user = fx.name("drift");
    fx.write_schedule(
        &user,
        "policy = \"restricted\"\nmodels = [\"amazon.titan-embed-text-v1\"]",
        &[],
    );
    let at = "2026-12-02T10:00:00Z";
    fx.reconcile_ok(at);
    fx.assert_settled(at);
    let inline_ok = BTreeMap::from([(POLICY_NAME.to_string(), titan_only_policy())]);
    assert_eq!(fx.must_exist(&user).await.inline, inline_ok);

    // The same document written differently is not drift.
    fx.put_policy(
        &user,
        POLICY_NAME,
        r#"{ "Statement": { "Resource": "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v1",
             "Action": ["bedrock:InvokeModelWithResponseStream", "bedrock:InvokeModel"],
             "Effect": "Allow", "Sid": "BedrockInvokeOnly" },
           "Version": "2012-10-17" }"#,
    )
    .await;
    fx.run("plan", &["--at", at, "--detailed-exitcode"]).code(0);

    // Widened, an extra inline policy, an attached managed one.
    fx.put_policy(&user, POLICY_NAME, &all_models_policy().to_string())
        .await;
    fx.put_policy(&user, "Extra", DENY_IAM).await;
    let arn = fx.attach_new_managed_policy(&user, "drift-managed").await;
    let plan = fx.plan_json(at);
    let acts = actions(&plan);
    let got: Vec<(&str, &str)> = acts
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["policy_name"]
                    .as_str()
                    .or(a["policy_arn"].as_str())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("put_user_policy", POLICY_NAME),
            ("delete_user_policy", "Extra"),
            ("detach_user_policy", arn.as_str()),
        ]
    );
    assert_eq!(acts[0]["effect"], "change");
    assert_eq!(acts[0]["policy_document"], titan_only_policy());
    fx.reconcile_ok(at);
    fx.assert_settled(at);
    let u = fx.must_exist(&user).await;
    assert_eq!(u.inline, inline_ok);
    assert!(u.attached.is_empty(), "{:?}", u.attached);
    assert_eq!(fx.attachment_count(&arn).await, 0, "detached, not deleted");

    // A deleted policy comes back.
    fx.iam
        .delete_user_policy()
        .user_name(&user)
        .policy_name(POLICY_NAME)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteUserPolicy: {}", DisplayErrorContext(e)));
    assert_eq!(
        summary(&fx.reconcile_ok(at)),
        expected_summary(&[("put_user_policy", &user, "")])
    );
    fx.assert_settled(at);
    assert_eq!(fx.must_exist(&user).await.inline, inline_ok);
}

// ---------------------------------------------------------------------------------------------
// 6. A user removed from the schedule

#[tokio::test]
async fn a_user_removed_from_the_schedule_is_emptied_and_deleted() {
    let fx = Fx::new("removed");
    let stays = fx.name("stays");
    let goes = fx.name("goes");
    let at = "2026-12-02T10:00:00Z";
    fx.write_schedule(
        &stays,
        "",
        &[workshop(
            "w2",
            Some(&goes),
            "2026-12-02T09:00:00Z",
            "2026-12-02T16:00:00Z",
            "",
        )],
    );
    let results = fx.reconcile_ok(at);
    let w2_key = results
        .iter()
        .find_map(|r| r["created_key"].as_str())
        .expect("a key for w2")
        .to_string();
    assert_credentials_file(&fx.creds(), "w2", &w2_key);
    // More on it than the tool put there.
    let extra_key = fx.create_key(&goes).await;
    fx.put_policy(&goes, "Extra", DENY_IAM).await;
    let arn = fx.attach_new_managed_policy(&goes, "goes-managed").await;

    fx.write_schedule(&stays, "", &[]);
    let plan = fx.plan_json(at);
    let acts = actions(&plan);
    assert!(acts.iter().all(|a| a["user"] == goes), "{plan}");
    let kinds: Vec<&str> = acts.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "delete_user_policy",
            "delete_user_policy",
            "detach_user_policy",
            "deactivate_key",
            "deactivate_key",
            "delete_key",
            "delete_key",
            "delete_user"
        ],
        "{plan}"
    );
    let keys: BTreeSet<&str> = acts
        .iter()
        .filter_map(|a| a["access_key_id"].as_str())
        .collect();
    assert_eq!(keys, BTreeSet::from([w2_key.as_str(), extra_key.as_str()]));

    fx.reconcile_ok(at);
    fx.assert_settled(at);
    assert!(fx.user_state(&goes).await.is_none(), "{goes} still exists");
    let (users, files) = fx.world().await;
    assert_eq!(users.keys().collect::<Vec<_>>(), [&stays]);
    assert!(
        files.is_empty(),
        "credentials files left: {:?}",
        files.keys()
    );
    assert_eq!(fx.attachment_count(&arn).await, 0, "detached, not deleted");
}

// ---------------------------------------------------------------------------------------------
// 7. status

#[tokio::test]
async fn status_json_shows_keys_files_and_workshop_states() {
    let fx = Fx::new("status");
    let user = fx.name("status");
    // `status` has no --at: these workshops are placed around the real clock.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let t = |h: i64| rfc3339(now + Duration::hours(h));
    fx.write_schedule(
        &user,
        "",
        &[
            workshop("live", None, &t(-1), &t(5), ""),
            workshop("revoked", None, &t(-5), &t(-2), "grace = \"30m\"\n"),
            workshop("upcoming", None, &t(72), &t(76), ""),
            workshop("ended", None, &t(-240), &t(-238), ""),
        ],
    );

    // Before any reconcile: no users, nothing live.
    let before = fx.run("status", &["--output", "json"]);
    before.code(0);
    let v = before.json();
    assert_eq!(v["users"], json!([]), "{before}");
    let states = |v: &Value| -> BTreeMap<String, String> {
        v["workshops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["id"].as_str().unwrap().to_string(),
                    w["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        states(&v),
        BTreeMap::from([
            ("ended".into(), "ended".into()),
            ("live".into(), "waiting".into()),
            ("revoked".into(), "revoked".into()),
            ("upcoming".into(), "upcoming".into()),
        ])
    );

    // Three hours ago both "live" and "revoked" got keys; now "revoked"'s is deactivated.
    fx.reconcile_ok(&t(-3));
    let now_run = fx.run("reconcile", &[]);
    now_run.code(0);
    let u = fx.must_exist(&user).await;
    let by_workshop: BTreeMap<String, String> = u
        .tags
        .iter()
        .filter(|(k, _)| k.starts_with("AKIA"))
        .map(|(k, v)| (v.clone(), k.clone()))
        .collect();
    let (live_key, revoked_key) = (&by_workshop["live"], &by_workshop["revoked"]);
    assert_eq!(u.keys[live_key].status, "Active");
    assert_eq!(u.keys[revoked_key].status, "Inactive");

    let run = fx.run("status", &["--output", "json"]);
    run.code(0);
    let v = run.json();
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{run}");
    assert_eq!(users[0]["name"], user);
    assert_eq!(users[0]["path"], fx.path);
    assert_eq!(users[0]["managed"], true);
    let keys: BTreeMap<String, Value> = users[0]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["access_key_id"].as_str().unwrap().to_string(), k.clone()))
        .collect();
    assert_eq!(keys.len(), 2, "{run}");
    assert_eq!(keys[live_key]["workshop"], "live");
    assert_eq!(keys[live_key]["status"], "Active");
    assert_eq!(keys[live_key]["credentials_file"], true);
    assert_eq!(
        parse_time(&keys[live_key]["window_from"]),
        now - Duration::hours(25)
    );
    assert_eq!(
        parse_time(&keys[live_key]["window_until"]),
        now + Duration::hours(6)
    );
    assert_eq!(keys[revoked_key]["workshop"], "revoked");
    assert_eq!(keys[revoked_key]["status"], "Inactive");
    assert_eq!(keys[revoked_key]["credentials_file"], true);
    assert_eq!(
        states(&v),
        BTreeMap::from([
            ("ended".into(), "ended".into()),
            ("live".into(), "key-live".into()),
            ("revoked".into(), "revoked".into()),
            ("upcoming".into(), "upcoming".into()),
        ])
    );
    let live = v["workshops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "live")
        .unwrap();
    assert_eq!(live["access_key_id"], live_key.as_str());
    assert_eq!(live["user"], user);
    assert_eq!(v["warnings"], json!([]), "{run}");

    // The live key's file is gone: shown as missing, and warned about.
    fs::remove_file(fx.creds().join("live.env")).unwrap();
    let run = fx.run("status", &["--output", "json"]);
    run.code(0);
    let v = run.json();
    let key = v["users"][0]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["access_key_id"] == live_key.as_str())
        .unwrap()
        .clone();
    assert_eq!(key["credentials_file"], false, "{run}");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("workshop live")
            && w.contains(live_key.as_str())
            && w.contains("no credentials file")),
        "{warnings:?}"
    );
    let text = fx.run("status", &[]);
    text.code(0);
    assert!(text.stdout.contains("MISSING"), "{text}");
    assert!(text.stdout.contains("key live"), "{text}");
}

/// Issue 14 item 3 and issue 15 defect 7: `status` was 166-244 columns wide whatever the
/// terminal. At COLUMNS=100 its default view fits (short times, relative ages, keys and
/// workshops under their user); `--wide` is the full table. Compared with
/// `tests/snapshots/status_100.txt` after replacing what differs between runs (key ids, the
/// test's user suffix, the times around the real clock) with text of the same width, so the
/// columns line up as they did; `UPDATE_SNAPSHOTS=1` rewrites it.
#[tokio::test]
async fn defect_7_status_fits_100_columns() {
    let fx = Fx::new("status-width");
    let (a, b) = (
        fx.name("workshop-bedrock-user"),
        fx.name("workshop-bedrock-user-uk"),
    );
    // Keys are created at the real time (moto's clock): the schedule is placed around it, to
    // the second, so that the ages `status --at` shows are the same on every run.
    let base = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let t = |h: i64| rfc3339(base + Duration::hours(h));
    fx.write_schedule(
        &a,
        "",
        &[
            // One key per user: IAM lists a user's keys in no useful order.
            workshop("context-engine-berlin", None, &t(-1), &t(5), ""),
            workshop("rag-basics-london", Some(&b), &t(2), &t(4), ""),
            workshop("context-engine-berlin-2", None, &t(72), &t(76), ""),
        ],
    );
    fx.reconcile_ok(&t(0));
    let at = rfc3339(base + Duration::hours(3) + Duration::seconds(30));
    let run = fx.run_env("status", &["--at", &at], &[("COLUMNS", "100")]);
    run.code(0);
    for line in run.stdout.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100: {line:?}\n{run}"
        );
    }

    // What differs between runs, replaced by text of the same width.
    let json = fx
        .run("status", &["--at", &at, "--output", "json"])
        .code(0)
        .json();
    let mut replace: Vec<(String, String)> =
        vec![(format!("Status at {at}"), "Status at <at>".into())];
    for u in json["users"].as_array().unwrap() {
        for k in u["keys"].as_array().unwrap() {
            let id = k["access_key_id"].as_str().unwrap().to_string();
            let w = k["workshop"].as_str().unwrap_or("none");
            replace.push((id, format!("{:-<20.20}", format!("KEY-{w}"))));
        }
    }
    for h in [-1, 2, 4, 5, 72, 76] {
        let shown = (base + Duration::hours(h))
            .format("%m-%d %H:%M")
            .to_string();
        replace.push((shown, format!("{:<11}", format!("base{h:+}h"))));
    }
    replace.push((fx.sfx.clone(), "<sfx>".into()));
    let mut text = run.stdout.clone();
    for (from, to) in &replace {
        text = text.replace(from.as_str(), to);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/status_100.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::write(&path, &text).unwrap();
    }
    let expected = fs::read_to_string(&path).expect("tests/snapshots/status_100.txt");
    assert!(
        text == expected,
        "status at COLUMNS=100 differs from {} (UPDATE_SNAPSHOTS=1 rewrites it); got:\n{text}\n{run}",
        path.display()
    );

    // --wide: the full table, exact times and key windows, however wide.
    let wide = fx.run_env("status", &["--at", &at, "--wide"], &[("COLUMNS", "100")]);
    wide.code(0);
    wide.stdout_line_with(&["USER", "KEY", "CREATED", "WINDOW", "LAST USED"]);
    assert!(
        wide.stdout.lines().any(|l| l.chars().count() > 100),
        "{wide}"
    );
    wide.stdout_line_with(&[&rfc3339(base + Duration::hours(-1)), "key live"]);
    // A narrower terminal: still within it.
    let narrow = fx.run_env("status", &["--at", &at], &[("COLUMNS", "90")]);
    for line in narrow.code(0).stdout.lines() {
        assert!(
            line.chars().count() <= 90,
            "wider than 90: {line:?}\n{narrow}"
        );
    }
}

/// Issue 15 defect 7: `plan` ignored the terminal's width. With COLUMNS (or a terminal) its
/// lines fold at spaces, the reason under the reason; ids and key ids are never cut. Without
/// either (a pipe, a cron log) each action stays on one line.
#[tokio::test]
async fn defect_7_plan_fits_the_terminal_without_cutting_ids() {
    let fx = Fx::new("plan-width");
    let user = fx.name("workshop-bedrock-user");
    let t = |s: &str| s.to_string();
    fx.write_schedule(
        &user,
        "",
        &[
            workshop(
                "context-engine-berlin",
                None,
                &t("2026-12-03T08:00:00Z"),
                &t("2026-12-03T16:00:00Z"),
                "",
            ),
            workshop(
                "agents-lab-paris",
                None,
                &t("2026-12-05T09:00:00Z"),
                &t("2026-12-05T12:30:00Z"),
                "",
            ),
        ],
    );
    fx.reconcile_ok("2026-12-03T07:00:00Z");
    let at = "2026-12-04T12:00:00Z"; // berlin's key goes, paris's comes
    let flat = fx.run("plan", &["--at", at]);
    flat.code(0);
    let deactivate = flat
        .stdout
        .lines()
        .find(|l| l.contains("deactivate_key"))
        .unwrap_or_else(|| panic!("no deactivation:\n{flat}"));
    assert!(
        deactivate.contains("grace over"),
        "one line without COLUMNS:\n{flat}"
    );
    assert!(deactivate.chars().count() > 80, "{flat}");

    let narrow = fx.run_env("plan", &["--at", at], &[("COLUMNS", "80")]);
    narrow.code(0);
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        words(&narrow.stdout),
        words(&flat.stdout),
        "folding changed the words:\n{narrow}"
    );
    for line in narrow.stdout.lines() {
        // Only a single word longer than the room (none here) may overflow.
        assert!(
            line.chars().count() <= 80,
            "wider than 80: {line:?}\n{narrow}"
        );
    }
    assert!(
        narrow.stdout.lines().count() > flat.stdout.lines().count(),
        "{narrow}"
    );
    // The continuation starts under the reason, not at the margin.
    let i = narrow
        .stdout
        .lines()
        .position(|l| l.contains("deactivate_key"))
        .unwrap();
    let next = narrow.stdout.lines().nth(i + 1).unwrap();
    assert!(next.starts_with(&" ".repeat(23)), "{next:?}\n{narrow}");
}

// ---------------------------------------------------------------------------------------------
// 8. A bad schedule stops everything before IAM

/// The binary pointed at a port nothing listens on, with test credentials.
fn offline(args: &[&str]) -> Run {
    let nowhere = format!("{}/no-such-aws-config", env!("CARGO_TARGET_TMPDIR"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workshop-keys"));
    for name in common::AWS_ENV_TO_CLEAR {
        cmd.env_remove(name);
    }
    cmd.env_remove("RUST_LOG")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", common::TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", common::TEST_SECRET_ACCESS_KEY)
        .env("AWS_REGION", common::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .args(args);
    Run::of(cmd, format!("workshop-keys {}", args.join(" ")))
}

#[test]
fn a_missing_or_invalid_schedule_fails_before_any_iam_call() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = dir.path().join("invalid.toml");
    fs::write(
        &invalid,
        "[settings]\nuser = \"trainer\"\nlead = 5\n\n[[workshop]]\nid = \"w\"\n\
         start = 2026-12-02T16:00:00Z\nend = 2026-12-02T09:00:00Z\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.toml");
    let valid = dir.path().join("valid.toml");
    fs::write(&valid, "[settings]\nuser = \"trainer\"\nverify = false\n").unwrap();

    for (file, starts) in [
        (&invalid, format!("{}:3:8: error: ", invalid.display())),
        (
            &missing,
            format!("{}: cannot read the schedule", missing.display()),
        ),
    ] {
        let file = file.to_str().unwrap();
        let validate = offline(&["validate", "--schedule", file]);
        validate.code(1);
        assert!(validate.stderr.starts_with(&starts), "{validate}");
        if file.ends_with("invalid.toml") {
            assert!(
                validate
                    .stderr
                    .lines()
                    .filter(|l| l.contains(": error: "))
                    .count()
                    >= 2,
                "every problem is reported:\n{validate}"
            );
        }
        for args in [
            &["plan", "--schedule", file][..],
            &[
                "plan",
                "--schedule",
                file,
                "--detailed-exitcode",
                "--output",
                "json",
            ],
            &[
                "reconcile",
                "--schedule",
                file,
                "--at",
                "2026-12-02T10:00:00Z",
            ],
            &["status", "--schedule", file, "--output", "json"],
        ] {
            let run = offline(args);
            run.code(1);
            assert_eq!(run.stderr, validate.stderr, "{run}");
            assert_eq!(run.stdout, "", "{run}");
        }
    }
    assert!(
        !dir.path().join("credentials").exists(),
        "a failed reconcile created the credentials directory"
    );

    // A bad --at is refused before IAM as well.
    let valid = valid.to_str().unwrap();
    let run = offline(&["plan", "--schedule", valid, "--at", "tomorrow"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("--at \"tomorrow\" is not an RFC 3339 time")
            && !run.stderr.contains("GetAccountAuthorizationDetails"),
        "{run}"
    );

    // Control: with a valid schedule the binary does go to the endpoint, and fails there.
    let run = offline(&["plan", "--schedule", valid]);
    run.code(1);
    assert!(
        run.stderr
            .contains("error: cannot reach the AWS endpoint http://127.0.0.1:9 for iam:GetAccountAuthorizationDetails"),
        "{run}"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Secrets stay out of every output

fn assert_no_secret(run: &Run, secret: &str, what: &str) {
    let encoded = urlencoding::encode(secret).into_owned();
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        for (form, needle) in [
            ("the secret", secret),
            ("the URL-encoded secret", encoded.as_str()),
            ("the first 20 characters of the secret", &secret[..20]),
        ] {
            // Never print the secret itself, only where it is.
            if let Some(at) = text.find(needle) {
                panic!(
                    "{what}: {form} is in {stream} at byte {at} of {} (`{}`)",
                    text.len(),
                    run.what
                );
            }
        }
    }
}

#[tokio::test]
async fn secrets_appear_in_no_output_even_at_trace_level() {
    let fx = Fx::new("secrets");
    let user = fx.name("secrets");
    fx.write_schedule(
        &user,
        "",
        &[
            workshop(
                "s1",
                None,
                "2026-12-02T09:00:00Z",
                "2026-12-02T16:00:00Z",
                "",
            ),
            workshop(
                "s2",
                None,
                "2026-12-03T09:00:00Z",
                "2026-12-03T16:00:00Z",
                "",
            ),
        ],
    );
    let trace = [("RUST_LOG", "trace")];

    // s1's key made with JSON logs, s2's with text logs and JSON output.
    let first = fx.run_env(
        "reconcile",
        &["--at", "2026-12-01T10:00:00Z", "--log-format", "json"],
        &trace,
    );
    first.code(0);
    assert!(
        first.stderr.contains("\"level\":\"TRACE\"")
            && first.iam_calls().contains("CreateAccessKey"),
        "the run was not traced: {} bytes of stderr",
        first.stderr.len()
    );
    let s1 = read_secret(&fx.creds(), "s1");
    assert_no_secret(&first, &s1, "reconcile creating s1's key (JSON logs)");

    let second = fx.run_env(
        "reconcile",
        &["--at", "2026-12-02T10:00:00Z", "--output", "json"],
        &trace,
    );
    second.code(0);
    assert!(
        second.stderr.contains("TRACE") && second.stderr.contains("CreateAccessKey"),
        "the run was not traced: {} bytes of stderr",
        second.stderr.len()
    );
    let s2 = read_secret(&fx.creds(), "s2");
    assert_ne!(s1, s2);
    for secret in [&s1, &s2] {
        assert_no_secret(&second, secret, "reconcile creating s2's key (text logs)");
    }

    // With the Bedrock check on, the new key signs requests of its own: still nothing shows.
    fx.write_schedule(
        &user,
        "verify = true\nverify_timeout = \"20s\"",
        &[
            workshop(
                "s2",
                None,
                "2026-12-03T09:00:00Z",
                "2026-12-03T16:00:00Z",
                "",
            ),
            workshop(
                "s3",
                None,
                "2026-12-04T09:00:00Z",
                "2026-12-04T16:00:00Z",
                "",
            ),
        ],
    );
    let third = fx.run_env(
        "reconcile",
        &["--at", "2026-12-03T10:00:00Z", "--log-format", "json"],
        &trace,
    );
    let s3 = read_secret(&fx.creds(), "s3");
    for secret in [&s1, &s2, &s3] {
        assert_no_secret(&third, secret, "reconcile creating and verifying s3's key");
    }
    assert!(
        third.iam_calls().contains("CreateAccessKey")
            && third.stderr.contains("\"rpc.service\":\"Bedrock Runtime\""),
        "no key made or no Bedrock call traced: {} bytes of stderr, exit {}",
        third.stderr.len(),
        third.code
    );

    for format in ["json", "text"] {
        for (command, args) in [
            (
                "plan",
                &["--at", "2026-12-02T10:00:00Z", "--output", "json"][..],
            ),
            ("plan", &["--at", "2026-12-05T10:00:00Z"][..]),
            ("status", &["--output", "json"][..]),
            ("status", &[][..]),
        ] {
            let mut args = args.to_vec();
            args.extend(["--log-format", format]);
            let run = fx.run_env(command, &args, &trace);
            run.code(0);
            assert!(run.stderr.contains("TRACE"), "not traced: {}", run.what);
            for secret in [&s1, &s2, &s3] {
                assert_no_secret(&run, secret, command);
            }
        }
    }
}

/// Regression (caught here): a live workshop moved to another user within 15 minutes of its key
/// being written got no key on the new user until the visibility window passed.
#[tokio::test]
async fn regression_moving_a_live_workshop_to_another_user_gives_it_a_key_there_at_once() {
    let fx = Fx::new("move");
    let (first, second) = (fx.name("first"), fx.name("second"));
    let w = |user: &str| {
        workshop(
            "w",
            Some(user),
            "2026-12-02T09:00:00Z",
            "2026-12-02T16:00:00Z",
            "",
        )
    };
    let other = workshop(
        "other",
        Some(&second),
        "2026-12-20T09:00:00Z",
        "2026-12-20T16:00:00Z",
        "",
    );
    fx.write_schedule(&first, "", &[w(&first), other.clone()]);
    fx.reconcile_ok("2026-12-02T10:00:00Z");
    // Ten minutes later the workshop moves to the other user (both stay in the schedule).
    fx.write_schedule(&first, "", &[w(&second), other]);
    let run = fx.run("reconcile", &["--at", "2026-12-02T10:10:00Z"]);
    run.code(0);
    let u = fx.must_exist(&second).await;
    let active = u
        .keys
        .iter()
        .filter(|(id, k)| k.status == "Active" && u.tags.get(*id).map(String::as_str) == Some("w"))
        .count();
    assert_eq!(
        active, 1,
        "live workshop w has no active key on {second}:\n{run}"
    );
}

/// Caught by the SIGKILL test: a run killed while its CreateAccessKey was in flight leaves the
/// creation's record and a key whose secret nobody has. Once IAM lists that key, the record is
/// settled (removed first), the key goes like any unclaimed key, and the workshop gets its key
/// in the same run instead of waiting out the visibility window.
#[tokio::test]
async fn regression_an_interrupted_creation_is_settled_when_iam_lists_its_key() {
    let fx = Fx::new("settle");
    let user = fx.name("settle");
    let who = user.as_str();
    let (start, end) = ("2026-12-02T09:00:00Z", "2026-12-02T16:00:00Z");
    // `held` gets its key; `lost` is left out of this first run.
    fx.write_schedule(who, "", &[workshop("held", None, start, end, "")]);
    let at = "2026-12-02T08:00:00Z";
    fx.reconcile_ok(at);
    let held_key = fx
        .must_exist(who)
        .await
        .keys
        .into_keys()
        .next()
        .expect("held's key");
    fx.write_schedule(
        who,
        "",
        &[
            workshop("held", None, start, end, ""),
            workshop("lost", None, start, end, ""),
        ],
    );
    // What a killed run leaves: the record (written by the tool's own code, with the keys the
    // user held), then the key IAM made for it.
    let creds = workshop_keys::state::local::LocalState::new(
        workshop_keys::store::files::CredentialsDir::new(fx.creds()),
        "workshops.toml",
    );
    creds
        .begin_create_now(
            "lost",
            who,
            parse_time(&json!(at)),
            Some(&BTreeSet::from([held_key.clone()])),
        )
        .expect("write the creation record");
    let lost_key = fx.create_key(who).await;

    let plan = fx.plan_json(at);
    assert_eq!(
        plan["settled"],
        json!([{ "workshop": "lost", "user": who, "access_key_id": lost_key }]),
        "{plan:#}"
    );
    assert_eq!(
        summary(&actions(&plan)),
        expected_summary(&[
            ("deactivate_key", who, ""),
            ("delete_key", who, ""),
            ("create_key", who, "lost"),
        ])
    );
    let text = fx.run("plan", &["--at", at]);
    assert!(
        text.stdout.contains(&format!(
            "settle             interrupted creation [workshop lost]: its key {lost_key}"
        )),
        "{text}"
    );

    fx.reconcile_ok(at);
    fx.assert_settled(at);
    assert!(
        creds.scan_creating_now().expect("scan records").is_empty(),
        "the record is still there: {:?}",
        dir_contents(&fx.creds())
    );
    let u = fx.must_exist(who).await;
    assert!(!u.keys.contains_key(&lost_key), "{:?}", u.keys);
    assert_eq!(u.keys.len(), 2, "{:?}", u.keys);
    let new_key = u
        .tags
        .iter()
        .find(|(_, w)| *w == "lost")
        .map(|(k, _)| k.clone());
    let new_key = new_key.expect("lost's new key is claimed");
    assert_credentials_file(&fx.creds(), "lost", &new_key);
}
