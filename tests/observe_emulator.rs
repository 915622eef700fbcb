//! The two ways of reading IAM against moto: the bulk read (`GetAccountAuthorizationDetails`)
//! and the per-user reads give the same snapshot; `--observe auto` falls back to per-user reads
//! when the caller may not make the bulk call, and `--observe bulk` then fails naming it.

mod common;

use std::collections::BTreeMap;

use aws_credential_types::Credentials;
use common::run::Run;
use common::MotoServer;
use workshop_keys::core::tags;
use workshop_keys::iam::Iam;
use workshop_keys::observe::{observe, ObserveMode, ObserveOptions};

const PATH: &str = "/observe/";
const DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;

fn managed(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut t = BTreeMap::from([(
        tags::MANAGED_BY_KEY.to_string(),
        tags::MANAGED_BY_VALUE.to_string(),
    )]);
    for (k, v) in extra {
        t.insert(k.to_string(), v.to_string());
    }
    t
}

fn opts(mode: ObserveMode, last_used: bool) -> ObserveOptions {
    ObserveOptions {
        concurrency: 4,
        last_used,
        mode,
    }
}

#[tokio::test]
async fn bulk_and_per_user_reads_give_the_same_snapshot() {
    let acct = common::account();
    let iam = &acct.iam;
    let policy_arn = acct
        .client
        .create_policy()
        .policy_name("extra")
        .policy_document(DOC)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    for i in 0..5 {
        let user = format!("managed-{i}");
        iam.create_user(&user, PATH, &managed(&[("workshop", &format!("w{i}"))]))
            .await
            .unwrap();
        if i % 2 == 0 {
            iam.put_user_policy(&user, "workshop-keys", DOC)
                .await
                .unwrap();
            iam.put_user_policy(&user, "other", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
                .await
                .unwrap();
        }
        for _ in 0..(i % 3) {
            iam.create_access_key(&user).await.unwrap();
        }
    }
    acct.client
        .attach_user_policy()
        .user_name("managed-1")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    // Under the path but not managed: tags only.
    iam.create_user(
        "stranger",
        PATH,
        &BTreeMap::from([("team".into(), "x".into())]),
    )
    .await
    .unwrap();
    iam.put_user_policy("stranger", "theirs", DOC)
        .await
        .unwrap();
    // Named by the schedule, outside the path; and one elsewhere nobody names.
    iam.create_user("elsewhere", "/other/", &managed(&[]))
        .await
        .unwrap();
    iam.create_user("unnamed", "/other/", &BTreeMap::new())
        .await
        .unwrap();
    let schedule_users = ["managed-0", "elsewhere", "missing"].map(String::from);

    for last_used in [false, true] {
        let per_user = observe(
            iam,
            PATH,
            &schedule_users,
            None,
            &opts(ObserveMode::PerUser, last_used),
        )
        .await
        .unwrap();
        let bulk = observe(
            iam,
            PATH,
            &schedule_users,
            None,
            &opts(ObserveMode::Bulk, last_used),
        )
        .await
        .unwrap();
        let auto = observe(
            iam,
            PATH,
            &schedule_users,
            None,
            &opts(ObserveMode::Auto, last_used),
        )
        .await
        .unwrap();
        assert_eq!(bulk, per_user);
        assert_eq!(auto, per_user);
        assert_eq!(per_user.users.len(), 6);
        assert_eq!(per_user.outside_path, ["elsewhere".to_string()].into());
        let m1 = per_user
            .users
            .iter()
            .find(|u| u.name == "managed-1")
            .unwrap();
        assert_eq!(m1.attached_policies, std::slice::from_ref(&policy_arn));
        assert_eq!(m1.keys.len(), 1);
        let m0 = per_user
            .users
            .iter()
            .find(|u| u.name == "managed-0")
            .unwrap();
        assert_eq!(m0.inline_policies.len(), 2);
        let stranger = per_user
            .users
            .iter()
            .find(|u| u.name == "stranger")
            .unwrap();
        assert!(stranger.inline_policies.is_empty());
    }
}

/// A server of its own with authentication on, an admin for the setup and an operator whose
/// policy is the example least-privilege policy without the optional bulk permission.
struct AuthFx {
    server: MotoServer,
    operator: Credentials,
    dir: tempfile::TempDir,
}

const AT: &str = "2026-12-02T12:00:00Z";

impl AuthFx {
    fn new() -> AuthFx {
        let server = MotoServer::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let operator = rt.block_on(async {
            let admin = server.create_admin(None, "tool-admin").await;
            let client = server.iam_client(None, admin);
            let iam = workshop_keys::iam::aws::AwsIam::from_client(client.clone());
            for i in 0..3 {
                let user = format!("room-{i}");
                iam.create_user(&user, "/workshop/", &managed(&[]))
                    .await
                    .unwrap();
                iam.put_user_policy(&user, "workshop-keys", DOC)
                    .await
                    .unwrap();
                iam.create_access_key(&user).await.unwrap();
            }
            iam.create_user("outsider", "/elsewhere/", &BTreeMap::new())
                .await
                .unwrap();
            iam.create_user("operator", "/", &BTreeMap::new())
                .await
                .unwrap();
            iam.put_user_policy("operator", "least-privilege", &operator_policy())
                .await
                .unwrap();
            let key = iam.create_access_key("operator").await.unwrap();
            Credentials::new(
                key.access_key_id,
                key.secret.expose().to_string(),
                None,
                None,
                "operator",
            )
        });
        server.set_auth(true);
        let dir = tempfile::tempdir().unwrap();
        let schedule = "[settings]\npath = \"/workshop/\"\ndeadline = false\n\n\
            [[workshop]]\nid = \"a\"\nuser = \"room-0\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n\n\
            [[workshop]]\nid = \"b\"\nuser = \"outsider\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n";
        std::fs::write(dir.path().join("workshops.toml"), schedule).unwrap();
        AuthFx {
            server,
            operator,
            dir,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.server.command();
        cmd.current_dir(self.dir.path())
            .env("RUST_LOG", "workshop_keys=debug")
            .env("AWS_ACCESS_KEY_ID", self.operator.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", self.operator.secret_access_key())
            .args(args);
        Run::of(cmd, format!("workshop-keys {}", args.join(" ")))
    }
}

/// The example policy's actions without `iam:GetAccountAuthorizationDetails`. Resources become
/// `*`: moto checks a request against its policies' actions with the resource `*`.
fn operator_policy() -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/least-privilege-policy.json"),
    )
    .unwrap();
    let mut policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    let statements = policy["Statement"].as_array_mut().unwrap();
    statements.retain(|s| !s.to_string().contains("GetAccountAuthorizationDetails"));
    for s in statements {
        s["Resource"] = "*".into();
    }
    policy.to_string()
}

#[test]
fn auto_falls_back_to_per_user_reads_when_the_bulk_read_is_denied() {
    let fx = AuthFx::new();
    let per_user = fx.run(&[
        "plan",
        "--at",
        AT,
        "--output",
        "json",
        "--observe",
        "per-user",
    ]);
    per_user.code(0);
    let auto = fx.run(&["plan", "--at", AT, "--output", "json"]);
    auto.code(0);
    auto.stderr_has("GetAccountAuthorizationDetails refused; reading user by user");
    assert_eq!(auto.json(), per_user.json(), "{auto}");
    auto.stderr_has("ListUserTags");

    let bulk = fx.run(&["plan", "--at", AT, "--observe", "bulk"]);
    bulk.code(1);
    bulk.stderr_has("iam:GetAccountAuthorizationDetails")
        .stderr_has("--observe per-user");
}
