//! `status --workshop ID` against a moto server: the participants' keys on pool users (found
//! by their claim tags, `room/p1`), their state and files, and a shared key's single row.
//! The keys are made here with the SDK, as the tool would leave them, so this test does not
//! depend on the planner.

mod common;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use aws_sdk_iam::types::{StatusType, Tag};
use common::run::Run;

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

/// A managed user under `path` with one key claimed by `claim`; returns the key id.
async fn user_with_key(iam: &aws_sdk_iam::Client, path: &str, name: &str, claim: &str) -> String {
    iam.create_user()
        .user_name(name)
        .path(path)
        .tags(tag("managed-by", "workshop-keys"))
        .send()
        .await
        .expect("CreateUser");
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("CreateAccessKey");
    let id = key.access_key().unwrap().access_key_id().to_string();
    iam.tag_user()
        .user_name(name)
        .tags(tag(&id, claim))
        .send()
        .await
        .expect("TagUser");
    id
}

fn credentials_file(path: &Path, id: &str) {
    use std::io::Write as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path.parent().unwrap())
        .unwrap();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    write!(
        f,
        "AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY=not-shown\nAWS_DEFAULT_REGION=us-east-1\n"
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn status_workshop_lists_participants_and_a_shared_key() {
    let server = common::shared();
    let iam = server.iam_client(None, common::test_credentials());
    let suffix = common::unique_suffix();
    let path = common::unique_path("statusws");
    let pool = format!("sw-{suffix}");
    let shared = format!("sw-shared-{suffix}");
    let dir = tempfile::tempdir().unwrap();
    let schedule = dir.path().join("workshops.toml");
    fs::write(
        &schedule,
        format!(
            "[settings]\npath = \"{path}\"\npool = \"{pool}\"\npool_size = 10\nuser = \"{shared}\"\n\n\
             [[workshop]]\nid = \"room\"\nparticipants = 3\nstart = 2099-03-04T09:00:00Z\nend = 2099-03-04T17:00:00Z\n\n\
             [[workshop]]\nid = \"trainers\"\nstart = 2099-03-04T09:00:00Z\nend = 2099-03-04T17:00:00Z\n"
        ),
    )
    .unwrap();
    let p1 = user_with_key(&iam, &path, &format!("{pool}-001"), "room/p1").await;
    let p2 = user_with_key(&iam, &path, &format!("{pool}-002"), "room/p2").await;
    iam.update_access_key()
        .user_name(format!("{pool}-002"))
        .access_key_id(&p2)
        .status(StatusType::Inactive)
        .send()
        .await
        .expect("UpdateAccessKey");
    let trainers = user_with_key(&iam, &path, &shared, "trainers").await;
    let creds = dir.path().join("credentials");
    credentials_file(&creds.join("room").join("p1.env"), &p1);
    credentials_file(&creds.join("trainers.env"), &trainers);

    let run = |args: &[&str]| {
        let mut cmd = server.command();
        cmd.arg("status")
            .args(args)
            .arg("--schedule")
            .arg(&schedule);
        Run::of(cmd, format!("workshop-keys status {}", args.join(" ")))
    };
    let json = run(&["--workshop", "room", "--output", "json"]);
    json.code(0);
    let v = json.json();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{json}");
    let row = |i: usize, field: &str| rows[i][field].clone();
    assert_eq!(row(0, "participant"), "p1");
    assert_eq!(row(0, "access_key_id"), p1.as_str());
    assert_eq!(row(0, "state"), "active");
    assert_eq!(row(0, "file"), true);
    assert_eq!(row(0, "user"), format!("{pool}-001").as_str());
    assert_eq!(row(1, "access_key_id"), p2.as_str());
    assert_eq!(row(1, "state"), "inactive");
    assert_eq!(row(1, "file"), false);
    assert_eq!(row(2, "participant"), "p3");
    assert_eq!(row(2, "state"), "none");
    assert!(row(2, "access_key_id").is_null() && row(2, "last_used").is_null());
    for r in rows {
        let used = &r["last_used"];
        assert!(
            used.is_null() || (used.get("service").is_some() && used.get("time").is_some()),
            "{used}"
        );
    }

    let text = run(&["--workshop", "room"]);
    text.code(0)
        .stdout_line_with(&["PARTICIPANT", "KEY", "STATE", "LAST USED", "FILE"])
        .stdout_line_with(&["p1", &p1, "active", "yes"])
        .stdout_line_with(&["p2", &p2, "inactive", "no"])
        .stdout_line_with(&["p3", "none", "no"]);

    let one = run(&["--workshop", "trainers", "--output", "json"]);
    one.code(0);
    let v = one.json();
    assert_eq!(v["rows"].as_array().unwrap().len(), 1, "{one}");
    assert!(v["rows"][0]["participant"].is_null());
    assert_eq!(v["rows"][0]["access_key_id"], trainers.as_str());
    assert_eq!(v["rows"][0]["file"], true);

    let unknown = run(&["--workshop", "nope"]);
    unknown
        .code(1)
        .stderr_has("\"nope\" is not in the schedule");
}
