//! A workshop with a key per participant, end to end: the built binary drives moto's IAM. A
//! 12-participant workshop on a 10-user pool beside a shared-key workshop: the keys, the files,
//! the no-op plan after; `revoke --participant` and the reissue; the end of the window, the
//! hold, the files and the pool users removed.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::claims::Key;
use common::run::Run;
use common::MotoServer;

struct Fx {
    server: &'static MotoServer,
    iam: aws_sdk_iam::Client,
    dir: tempfile::TempDir,
    path: String,
    sfx: String,
}

impl Fx {
    fn new() -> Fx {
        let server = common::shared();
        Fx {
            server,
            iam: server.iam_client(None, common::test_credentials()),
            dir: tempfile::tempdir().unwrap(),
            path: common::unique_path("participants"),
            sfx: common::unique_suffix(),
        }
    }

    fn pool(&self) -> String {
        format!("wp{}", self.sfx)
    }

    fn shared_user(&self) -> String {
        format!("shared-{}", self.sfx)
    }

    /// Where the deliver hook appends each hand-over document.
    fn handed(&self) -> PathBuf {
        self.dir.path().join("handed.jsonl")
    }

    fn creds(&self) -> PathBuf {
        self.dir.path().join("credentials")
    }

    fn write_schedule(&self) {
        let text = format!(
            "[settings]\nregion = \"eu-central-1\"\nuser = \"{user}\"\npath = \"{path}\"\n\
             lead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\ncredentials_dir = \"credentials\"\n\
             verify = false\ndeadline = false\npool = \"{pool}\"\npool_size = 10\n\
             deliver = [\"sh\", \"-c\", \"cat >> \\\"$0\\\"; echo >> \\\"$0\\\"\", \"{handed}\"]\n\n\
             [[workshop]]\nid = \"room\"\nstart = 2030-01-10T09:00:00Z\nend = 2030-01-10T17:00:00Z\nparticipants = 12\n\n\
             [[workshop]]\nid = \"solo\"\nstart = 2030-01-10T09:00:00Z\nend = 2030-01-10T17:00:00Z\n",
            user = self.shared_user(),
            path = self.path,
            pool = self.pool(),
            handed = self.handed().display(),
        );
        fs::write(self.dir.path().join("workshops.toml"), text).unwrap();
    }

    fn run(&self, command: &str, args: &[&str]) -> Run {
        let schedule = self.dir.path().join("workshops.toml");
        self.server.run(&schedule, command, args)
    }

    fn reconcile(&self, at: &str) -> Run {
        let run = self.run("reconcile", &["--at", at]);
        run.code(0);
        run
    }

    /// Every key on this test's users.
    async fn keys(&self) -> Vec<Key> {
        common::claims::keys_under(&self.iam, &self.path).await
    }

    async fn users(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .iam
            .list_users()
            .path_prefix(&self.path)
            .send()
            .await
            .unwrap()
            .users
            .into_iter()
            .map(|u| u.user_name)
            .collect();
        names.sort();
        names
    }

    /// The key id a credentials file holds.
    fn file_key(&self, relative: &str) -> Option<String> {
        let text = fs::read_to_string(self.creds().join(relative)).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("AWS_ACCESS_KEY_ID="))
            .map(str::to_string)
    }
}

fn at_most_two_per_user(keys: &[Key]) {
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for k in keys {
        *per.entry(&k.0).or_default() += 1;
    }
    assert!(per.values().all(|n| *n <= 2), "{per:?}");
}

#[tokio::test]
async fn a_participants_workshop_on_a_pool_from_first_key_to_empty_pool() {
    let fx = Fx::new();
    fx.write_schedule();
    fx.run("validate", &[]).code(0);

    // The day before: 12 participants' keys on the pool, the shared key on its user.
    fx.reconcile("2030-01-10T08:00:00Z");
    let keys = fx.keys().await;
    at_most_two_per_user(&keys);
    let room: Vec<&Key> = keys.iter().filter(|k| k.3.starts_with("room/")).collect();
    assert_eq!(room.len(), 12, "{keys:?}");
    assert!(room.iter().all(|k| k.0.starts_with(&fx.pool()) && k.2));
    let pool_users: std::collections::BTreeSet<&str> = room.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        pool_users.len(),
        6,
        "two per pool user, lowest first: {pool_users:?}"
    );
    assert!(pool_users.contains(format!("{}-001", fx.pool()).as_str()));
    for k in &room {
        let label = k.3.strip_prefix("room/").unwrap();
        assert_eq!(
            fx.file_key(&format!("room/{label}.env")).as_ref(),
            Some(&k.1)
        );
        let mode = fs::metadata(fx.creds().join(format!("room/{label}.env")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let folder = fs::metadata(fx.creds().join("room"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(folder & 0o777, 0o700);
    let solo = keys.iter().find(|k| k.3 == "solo").expect("the shared key");
    assert_eq!(solo.0, fx.shared_user());
    assert_eq!(fx.file_key("solo.env").as_ref(), Some(&solo.1));

    // Each key was handed over, a participant's naming the participant.
    let handed = fs::read_to_string(fx.handed()).unwrap();
    let docs: Vec<serde_json::Value> = handed
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 13, "{handed}");
    let p07 = docs
        .iter()
        .find(|d| d["participant"] == "p07")
        .expect("p07's");
    assert_eq!(p07["workshop"], "room");
    let solo_doc = docs.iter().find(|d| d["workshop"] == "solo").unwrap();
    assert!(solo_doc.get("participant").is_none());

    // The plan after it is a no-op.
    common::run::assert_no_changes(|c, a| fx.run(c, a), "2030-01-10T08:00:00Z");

    // p03's key leaked: revoke it, and the next reconcile hands p03 a fresh key and file.
    let old = room.iter().find(|k| k.3 == "room/p03").unwrap().1.clone();
    let revoked = fx.run(
        "revoke",
        &[
            "room",
            "--participant",
            "p03",
            "--at",
            "2030-01-10T10:00:00Z",
        ],
    );
    revoked
        .code(0)
        .stdout_line_with(&["revoked p03's key", &old, "deactivated"]);
    revoked.stdout_line_with(&["next reconcile", "fresh key"]);
    fx.run(
        "revoke",
        &[
            "room",
            "--participant",
            "p03",
            "--at",
            "2030-01-10T10:00:00Z",
        ],
    )
    .code(1)
    .stdout_line_with(&["no live key", "nothing changed"]);
    fx.run("revoke", &["room", "--participant", "p99"])
        .code(1)
        .stderr_has("p01 to p12");
    fx.run("revoke", &["nope"])
        .code(1)
        .stderr_has("workshop nope is not in the schedule");

    let run = fx.reconcile("2030-01-10T10:00:00Z");
    let keys = fx.keys().await;
    at_most_two_per_user(&keys);
    let p03: Vec<&Key> = keys.iter().filter(|k| k.3 == "room/p03").collect();
    assert_eq!(p03.len(), 2, "{keys:?}\n{run}");
    let fresh = p03.iter().find(|k| k.2).expect("a fresh active key");
    assert_ne!(fresh.1, old);
    assert!(
        p03.iter().any(|k| k.1 == old && !k.2),
        "the old key is held inactive"
    );
    assert_eq!(fx.file_key("room/p03.env").as_ref(), Some(&fresh.1));
    let settled = fx.run(
        "plan",
        &["--at", "2030-01-10T10:05:00Z", "--detailed-exitcode"],
    );
    settled.code(0);

    // End + grace: every key deactivated; after the hold: deleted, files gone; then the pool
    // users nobody needs are deleted.
    fx.reconcile("2030-01-10T18:00:00Z");
    let keys = fx.keys().await;
    assert!(keys.iter().all(|k| !k.2), "{keys:?}");
    fx.run("revoke", &["room", "--at", "2030-01-10T18:30:00Z"])
        .code(1)
        .stdout_line_with(&["no live key"]);
    fx.reconcile("2030-01-11T18:00:00Z");
    assert!(fx.keys().await.is_empty());
    assert!(
        !fx.creds().join("room").exists(),
        "the participants' folder goes"
    );
    assert!(fx.file_key("solo.env").is_none());
    assert_eq!(
        fx.users().await,
        [fx.shared_user()],
        "unused pool users are deleted"
    );
    let plan = fx.run(
        "plan",
        &["--at", "2030-01-11T18:05:00Z", "--detailed-exitcode"],
    );
    plan.code(0);
}
