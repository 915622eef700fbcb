//! Every IAM behaviour workshop-keys relies on, proved against moto through `AwsIam` and the
//! `Iam` trait. Each test runs in a moto account of its own on the shared server.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde_json::json;

use workshop_keys::core::observed::KeyStatus;
use workshop_keys::core::tags;
use workshop_keys::iam::{Iam, IamError, IamErrorKind, UserSummary};

const PATH: &str = "/workshop-keys/";
const SMALL_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;

fn managed_tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            tags::MANAGED_BY_KEY.to_string(),
            tags::MANAGED_BY_VALUE.to_string(),
        ),
        ("workshop".to_string(), "ws-2025-01".to_string()),
    ])
}

fn expect_kind<T>(result: Result<T, IamError>, kind: IamErrorKind, operation: &str) -> IamError {
    match result {
        Ok(_) => panic!("{operation}: expected {kind:?}, got success"),
        Err(e) => {
            assert_eq!(e.kind, kind, "{operation}: {e}");
            assert_eq!(e.operation, operation, "{e}");
            e
        }
    }
}

#[tokio::test]
async fn create_user_with_path_and_tags_then_already_exists() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("alice", PATH, &managed_tags())
        .await
        .unwrap();

    let user = iam.get_user("alice").await.unwrap();
    assert_eq!(
        user,
        Some(UserSummary {
            name: "alice".into(),
            path: PATH.into()
        })
    );
    assert_eq!(iam.list_user_tags("alice").await.unwrap(), managed_tags());

    let err = expect_kind(
        iam.create_user("alice", PATH, &managed_tags()).await,
        IamErrorKind::EntityAlreadyExists,
        "CreateUser",
    );
    assert_eq!(err.user.as_deref(), Some("alice"));
    assert_eq!(err.code, "EntityAlreadyExists");
}

#[tokio::test]
async fn create_user_without_tags() {
    let acct = common::account();
    acct.iam
        .create_user("plain", "/", &BTreeMap::new())
        .await
        .unwrap();
    assert!(acct.iam.list_user_tags("plain").await.unwrap().is_empty());
}

#[tokio::test]
async fn get_user_of_missing_user_is_none() {
    let acct = common::account();
    assert_eq!(acct.iam.get_user("nobody").await.unwrap(), None);
}

#[tokio::test]
async fn calls_on_a_missing_user_are_no_such_entity() {
    let acct = common::account();
    let err = expect_kind(
        acct.iam.list_access_keys("nobody").await,
        IamErrorKind::NoSuchEntity,
        "ListAccessKeys",
    );
    assert_eq!(err.user.as_deref(), Some("nobody"));
    expect_kind(
        acct.iam.list_user_tags("nobody").await,
        IamErrorKind::NoSuchEntity,
        "ListUserTags",
    );
    expect_kind(
        acct.iam.create_access_key("nobody").await,
        IamErrorKind::NoSuchEntity,
        "CreateAccessKey",
    );
}

#[tokio::test]
async fn list_users_filters_by_path_prefix() {
    let acct = common::account();
    let iam = &acct.iam;
    let none = BTreeMap::new();
    iam.create_user("ws-a", PATH, &managed_tags())
        .await
        .unwrap();
    iam.create_user("ws-b", PATH, &none).await.unwrap();
    iam.create_user("deep", "/workshop-keys/deeper/", &none)
        .await
        .unwrap();
    iam.create_user("other", "/other/", &none).await.unwrap();
    iam.create_user("root-path", "/", &none).await.unwrap();

    let mut names: Vec<String> = iam
        .list_users(PATH)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    names.sort();
    assert_eq!(names, ["deep", "ws-a", "ws-b"]);

    let other = iam.list_users("/other/").await.unwrap();
    assert_eq!(
        other,
        [UserSummary {
            name: "other".into(),
            path: "/other/".into()
        }]
    );
    assert_eq!(iam.list_users("/").await.unwrap().len(), 5);
    assert!(iam.list_users("/nothing-here/").await.unwrap().is_empty());
}

#[tokio::test]
async fn tags_with_an_access_key_id_as_key() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("bob", PATH, &managed_tags()).await.unwrap();
    let key = iam.create_access_key("bob").await.unwrap();
    let id = key.access_key_id.clone();
    assert!(tags::is_access_key_id(&id));

    let deactivated = workshop_keys::time::format_time(Utc::now());
    iam.tag_user(
        "bob",
        &BTreeMap::from([
            (id.clone(), "ws-2025-01".to_string()),
            (tags::deactivated_tag(&id), deactivated.clone()),
        ]),
    )
    .await
    .unwrap();
    let got = iam.list_user_tags("bob").await.unwrap();
    assert_eq!(got.get(&id).map(String::as_str), Some("ws-2025-01"));
    assert_eq!(got.get(&tags::deactivated_tag(&id)), Some(&deactivated));
    assert_eq!(got.len(), managed_tags().len() + 2);

    // Tagging an existing key overwrites its value.
    iam.tag_user(
        "bob",
        &BTreeMap::from([(id.clone(), "ws-2025-02".to_string())]),
    )
    .await
    .unwrap();
    assert_eq!(
        iam.list_user_tags("bob")
            .await
            .unwrap()
            .get(&id)
            .map(String::as_str),
        Some("ws-2025-02")
    );

    iam.untag_user("bob", &tags::tags_of_key(&id))
        .await
        .unwrap();
    assert_eq!(iam.list_user_tags("bob").await.unwrap(), managed_tags());

    // Untagging keys that are not there is fine.
    iam.untag_user("bob", std::slice::from_ref(&id))
        .await
        .unwrap();
}

#[tokio::test]
async fn create_access_key_shape() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("carol", PATH, &managed_tags())
        .await
        .unwrap();
    let before = Utc::now() - Duration::seconds(5);
    let key = iam.create_access_key("carol").await.unwrap();

    assert!(
        key.access_key_id.starts_with("AKIA"),
        "{}",
        key.access_key_id
    );
    assert_eq!(key.access_key_id.len(), 20);
    // Never print the secret: compare lengths and character classes only.
    let secret = key.secret.expose();
    assert!(
        secret.len() == 40,
        "secret length is {}, not 40",
        secret.len()
    );
    assert!(
        secret.bytes().all(|b| b.is_ascii_graphic()),
        "secret has non-printable characters"
    );
    assert!(
        !format!("{:?}", key).contains(secret),
        "NewKey's Debug shows the secret"
    );
    assert!(key.created >= before && key.created <= Utc::now() + Duration::seconds(5));

    let keys = iam.list_access_keys("carol").await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].access_key_id, key.access_key_id);
    assert_eq!(keys[0].status, KeyStatus::Active);
    assert!((keys[0].created - key.created).num_seconds().abs() <= 1);
}

#[tokio::test]
async fn third_key_is_limit_exceeded_even_when_one_is_inactive() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("dave", PATH, &managed_tags())
        .await
        .unwrap();
    let first = iam.create_access_key("dave").await.unwrap();
    let second = iam.create_access_key("dave").await.unwrap();

    iam.update_access_key("dave", &first.access_key_id, KeyStatus::Inactive)
        .await
        .unwrap();
    let mut keys = iam.list_access_keys("dave").await.unwrap();
    keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    let status_of = |id: &str| {
        keys.iter()
            .find(|k| k.access_key_id == id)
            .map(|k| k.status)
    };
    assert_eq!(keys.len(), 2);
    assert_eq!(status_of(&first.access_key_id), Some(KeyStatus::Inactive));
    assert_eq!(status_of(&second.access_key_id), Some(KeyStatus::Active));

    let err = expect_kind(
        iam.create_access_key("dave").await,
        IamErrorKind::LimitExceeded,
        "CreateAccessKey",
    );
    assert_eq!(err.code, "LimitExceeded");
    assert_eq!(err.user.as_deref(), Some("dave"));

    // And back to Active.
    iam.update_access_key("dave", &first.access_key_id, KeyStatus::Active)
        .await
        .unwrap();
    assert!(iam
        .list_access_keys("dave")
        .await
        .unwrap()
        .iter()
        .all(|k| k.status == KeyStatus::Active));
}

#[tokio::test]
async fn delete_key_then_second_delete_is_no_such_entity() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("erin", PATH, &managed_tags())
        .await
        .unwrap();
    let key = iam.create_access_key("erin").await.unwrap();
    iam.delete_access_key("erin", &key.access_key_id)
        .await
        .unwrap();
    assert!(iam.list_access_keys("erin").await.unwrap().is_empty());
    expect_kind(
        iam.delete_access_key("erin", &key.access_key_id).await,
        IamErrorKind::NoSuchEntity,
        "DeleteAccessKey",
    );
    expect_kind(
        iam.update_access_key("erin", &key.access_key_id, KeyStatus::Inactive)
            .await,
        IamErrorKind::NoSuchEntity,
        "UpdateAccessKey",
    );
}

#[tokio::test]
async fn inline_policy_put_get_list_delete() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("frank", PATH, &managed_tags())
        .await
        .unwrap();
    // Characters IAM URL-encodes: quotes, spaces, ':', '/', '*', '+', '%', '&', non-ASCII.
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "InvokeModels",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "Condition": {
                "DateLessThan": {"aws:CurrentTime": "2025-01-31T18:00:00+00:00"},
                "StringLike": {"aws:UserAgent": "50% & more ü"}
            }
        }]
    });
    let text = serde_json::to_string_pretty(&document).unwrap();
    iam.put_user_policy("frank", "workshop", &text)
        .await
        .unwrap();
    iam.put_user_policy("frank", "second", SMALL_POLICY)
        .await
        .unwrap();

    let got = iam.get_user_policy("frank", "workshop").await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&got)
        .unwrap_or_else(|e| panic!("not JSON after decoding ({e}): {got}"));
    assert_eq!(parsed, document);

    let mut names = iam.list_user_policies("frank").await.unwrap();
    names.sort();
    assert_eq!(names, ["second", "workshop"]);

    // Putting again replaces the document.
    let replaced: serde_json::Value = serde_json::from_str(SMALL_POLICY).unwrap();
    iam.put_user_policy("frank", "workshop", &replaced.to_string())
        .await
        .unwrap();
    let got: serde_json::Value =
        serde_json::from_str(&iam.get_user_policy("frank", "workshop").await.unwrap()).unwrap();
    assert_eq!(got, replaced);

    iam.delete_user_policy("frank", "workshop").await.unwrap();
    assert_eq!(iam.list_user_policies("frank").await.unwrap(), ["second"]);
    expect_kind(
        iam.get_user_policy("frank", "workshop").await,
        IamErrorKind::NoSuchEntity,
        "GetUserPolicy",
    );
    expect_kind(
        iam.delete_user_policy("frank", "workshop").await,
        IamErrorKind::NoSuchEntity,
        "DeleteUserPolicy",
    );
}

#[tokio::test]
async fn managed_policy_attach_list_detach() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("grace", PATH, &managed_tags())
        .await
        .unwrap();
    assert!(iam
        .list_attached_user_policies("grace")
        .await
        .unwrap()
        .is_empty());

    let created = acct
        .client
        .create_policy()
        .policy_name("stray")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let arn = created.policy.and_then(|p| p.arn).unwrap();
    assert_eq!(
        arn,
        acct.policy_arn("stray"),
        "the policy lives in the test's account"
    );
    acct.client
        .attach_user_policy()
        .user_name("grace")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();

    assert_eq!(
        iam.list_attached_user_policies("grace").await.unwrap(),
        [arn.as_str()]
    );
    expect_kind(
        iam.delete_user("grace").await,
        IamErrorKind::DeleteConflict,
        "DeleteUser",
    );
    iam.detach_user_policy("grace", &arn).await.unwrap();
    assert!(iam
        .list_attached_user_policies("grace")
        .await
        .unwrap()
        .is_empty());
    expect_kind(
        iam.detach_user_policy("grace", &arn).await,
        IamErrorKind::NoSuchEntity,
        "DetachUserPolicy",
    );
}

#[tokio::test]
async fn delete_user_with_an_inline_policy_is_delete_conflict() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("heidi", PATH, &managed_tags())
        .await
        .unwrap();
    iam.put_user_policy("heidi", "workshop", SMALL_POLICY)
        .await
        .unwrap();
    let err = expect_kind(
        iam.delete_user("heidi").await,
        IamErrorKind::DeleteConflict,
        "DeleteUser",
    );
    assert_eq!(err.code, "DeleteConflict");
    assert_eq!(err.user.as_deref(), Some("heidi"));

    iam.delete_user_policy("heidi", "workshop").await.unwrap();
    iam.delete_user("heidi").await.unwrap();
    assert_eq!(iam.get_user("heidi").await.unwrap(), None);
    expect_kind(
        iam.delete_user("heidi").await,
        IamErrorKind::NoSuchEntity,
        "DeleteUser",
    );
}

#[tokio::test]
async fn last_used_of_a_fresh_key_is_empty() {
    let acct = common::account();
    let iam = &acct.iam;
    iam.create_user("ivan", PATH, &managed_tags())
        .await
        .unwrap();
    let key = iam.create_access_key("ivan").await.unwrap();
    let used = iam
        .get_access_key_last_used(&key.access_key_id)
        .await
        .unwrap();
    assert_eq!(used.at, None);
    assert_eq!(used.service, None);
    assert_eq!(used.region, None);
}

#[tokio::test]
async fn accounts_are_isolated() {
    let a = common::account();
    let b = common::account();
    assert_ne!(a.account_id, b.account_id);
    assert_eq!(a.account_id.len(), 12);
    a.iam
        .create_user("same-name", PATH, &managed_tags())
        .await
        .unwrap();
    assert_eq!(b.iam.get_user("same-name").await.unwrap(), None);
    b.iam
        .create_user("same-name", PATH, &BTreeMap::new())
        .await
        .unwrap();
    assert!(b.iam.list_user_tags("same-name").await.unwrap().is_empty());
    assert_eq!(a.iam.list_users(PATH).await.unwrap().len(), 1);
}

/// A server of its own: resets and the authentication mode are server-wide.
#[tokio::test]
async fn private_server_reset_and_authentication() {
    use workshop_keys::iam::aws::AwsIam;

    let server = common::MotoServer::start();
    let port = server.port();
    let setup = AwsIam::from_client(server.iam_client(None, common::test_credentials()));

    setup
        .create_user("before-reset", "/", &BTreeMap::new())
        .await
        .unwrap();
    server.reset();
    assert_eq!(setup.get_user("before-reset").await.unwrap(), None);

    // A workshop user with a key and no IAM permissions, and an admin; then authentication on.
    setup
        .create_user("workshop", PATH, &managed_tags())
        .await
        .unwrap();
    let workshop_key = setup.create_access_key("workshop").await.unwrap();
    let admin_creds = server.create_admin(None, "admin").await;
    server.set_auth(true);

    let admin = AwsIam::from_client(server.iam_client(None, admin_creds));
    assert!(admin.get_user("workshop").await.unwrap().is_some());

    // moto answers auth failures as XML the SDK does not decode: no code, HTTP 403.
    let workshop = AwsIam::from_client(server.iam_client(
        None,
        aws_credential_types::Credentials::new(
            workshop_key.access_key_id.clone(),
            workshop_key.secret.expose().to_string(),
            None,
            None,
            "workshop",
        ),
    ));
    let err = expect_kind(
        workshop.list_users(PATH).await,
        IamErrorKind::AccessDenied,
        "ListUsers",
    );
    assert!(!err.message.contains(workshop_key.secret.expose()));
    let unknown = AwsIam::from_client(server.iam_client(None, common::test_credentials()));
    expect_kind(
        unknown.get_user("workshop").await,
        IamErrorKind::AccessDenied,
        "GetUser",
    );

    server.set_auth(false);
    assert!(unknown.get_user("workshop").await.unwrap().is_some());

    drop(server);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "moto still answers after the guard was dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `AwsSession::load` reads the process environment, so it runs in a child process of this test
/// binary with the environment the built binary gets (`MotoServer::apply_env`).
#[tokio::test]
async fn load_sdk_config_honours_the_environment() {
    use workshop_keys::iam::aws::AwsIam;
    use workshop_keys::sdk::AwsSession;
    const CHILD: &str = "WORKSHOP_KEYS_TEST_CHILD_USER";

    if let Some(user) = std::env::var_os(CHILD) {
        let user = user.to_str().unwrap();
        // No region anywhere: IAM signs for us-east-1.
        let config = AwsSession::load(None, None).await;
        assert_eq!(config.region(), None);
        AwsIam::new(&config)
            .create_user(user, PATH, &managed_tags())
            .await
            .expect("CreateUser through AWS_ENDPOINT_URL");
        // An explicit region wins.
        let config = AwsSession::load(None, Some("eu-west-1")).await;
        assert_eq!(config.region(), Some("eu-west-1"));
        assert!(AwsIam::new(&config).get_user(user).await.unwrap().is_some());
        // A named profile from AWS_CONFIG_FILE supplies its region.
        let config = AwsSession::load(Some("workshop-test"), None).await;
        assert_eq!(config.region(), Some("eu-north-1"));
        assert!(AwsIam::new(&config).get_user(user).await.unwrap().is_some());
        return;
    }

    let server = common::shared();
    let user = format!("env-{}", common::unique_suffix());
    let profile = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("aws-config-{}", common::unique_suffix()));
    std::fs::write(&profile, "[profile workshop-test]\nregion = eu-north-1\n").unwrap();

    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    server
        .apply_env(&mut cmd)
        .env_remove("AWS_REGION")
        .env("AWS_CONFIG_FILE", &profile)
        .env(CHILD, &user)
        .args([
            "--exact",
            "load_sdk_config_honours_the_environment",
            "--test-threads=1",
        ]);
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_file(&profile);
    assert!(
        out.status.success(),
        "child test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the child did not run the test"
    );

    // The binary's requests carry no account header: the user is in moto's default account.
    let default_account = AwsIam::from_client(server.iam_client(None, common::test_credentials()));
    let created = default_account.get_user(&user).await.unwrap();
    assert_eq!(created.map(|u| u.path).as_deref(), Some(PATH));
}
