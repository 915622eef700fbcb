//! A workshop with a key per participant whose bundles live in Secrets Manager
//! (`store = "secretsmanager"`), end to end against moto with the built binary: one secret per
//! participant named `<prefix>room/p07`, read back by the no-op plan after (scan) and by
//! `handout` (a row per participant, mode 0600, no secret said), and removed with the keys at
//! the end of the window.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::run::Run;
use common::MotoServer;

const PARTICIPANTS: usize = 12;

struct Fx {
    server: &'static MotoServer,
    dir: tempfile::TempDir,
    path: String,
    sfx: String,
}

impl Fx {
    fn new() -> Fx {
        Fx {
            server: common::shared(),
            dir: tempfile::tempdir().unwrap(),
            path: common::unique_path("psecrets"),
            sfx: common::unique_suffix(),
        }
    }

    fn prefix(&self) -> String {
        format!("wk-{}/", self.sfx)
    }

    fn write_schedule(&self) {
        let text = format!(
            "[settings]\nregion = \"eu-central-1\"\nuser = \"shared-{sfx}\"\npath = \"{path}\"\n\
             lead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\nverify = false\ndeadline = false\n\
             pool = \"wp{sfx}\"\npool_size = 10\nstore = \"secretsmanager\"\n\
             secrets_prefix = \"{prefix}\"\n\n\
             [[workshop]]\nid = \"room\"\nstart = 2030-01-10T09:00:00Z\nend = 2030-01-10T17:00:00Z\nparticipants = {PARTICIPANTS}\n\n\
             [[workshop]]\nid = \"solo\"\nstart = 2030-01-10T09:00:00Z\nend = 2030-01-10T17:00:00Z\n",
            sfx = self.sfx,
            path = self.path,
            prefix = self.prefix(),
        );
        fs::write(self.dir.path().join("workshops.toml"), text).unwrap();
    }

    fn run(&self, command: &str, args: &[&str]) -> Run {
        let schedule = self.dir.path().join("workshops.toml");
        self.server.run(&schedule, command, args)
    }

    fn sm(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.server.sdk_config(common::test_credentials()))
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        self.server.iam_client(None, common::test_credentials())
    }

    /// The secrets under this test's prefix: name -> (key id, secret access key).
    async fn secrets(&self) -> BTreeMap<String, (String, String)> {
        let sm = self.sm();
        let mut names = Vec::new();
        let mut next = None;
        loop {
            let page = sm.list_secrets().set_next_token(next).send().await.unwrap();
            names.extend(
                page.secret_list()
                    .iter()
                    .filter_map(|s| s.name())
                    .filter(|n| n.starts_with(&self.prefix()))
                    .map(str::to_string),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        let mut out = BTreeMap::new();
        for name in names {
            let value = sm.get_secret_value().secret_id(&name).send().await.unwrap();
            let json: serde_json::Value =
                serde_json::from_str(value.secret_string().unwrap()).unwrap();
            let var = |v: &str| json[v].as_str().unwrap().to_string();
            out.insert(
                name.strip_prefix(&self.prefix()).unwrap().to_string(),
                (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")),
            );
        }
        out
    }

    /// The active keys on this test's users, by claim.
    async fn active_keys(&self) -> BTreeMap<String, String> {
        common::claims::keys_under(&self.iam(), &self.path)
            .await
            .into_iter()
            .filter(|k| k.2 && !k.3.is_empty())
            .map(|(_, id, _, claim)| (claim, id))
            .collect()
    }
}

/// Neither stream of `run` holds any of `secrets`.
fn says_no_secret(run: &Run, secrets: &BTreeMap<String, (String, String)>) {
    for (name, (_, secret)) in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "the secret of {name} was said:\n{run}"
        );
    }
}

#[tokio::test]
async fn participants_secrets_are_named_by_claim_handed_out_and_removed() {
    let fx = Fx::new();
    fx.write_schedule();
    fx.run("validate", &[]).code(0);

    // The day before: a key and a secret `<prefix>room/pNN` per participant.
    let run = fx.run("reconcile", &["--at", "2030-01-10T08:00:00Z"]);
    run.code(0);
    let keys = fx.active_keys().await;
    let secrets = fx.secrets().await;
    says_no_secret(&run, &secrets);
    assert_eq!(keys.len(), PARTICIPANTS + 1, "{keys:?}");
    let mut claims: Vec<&String> = keys.keys().collect();
    claims.sort();
    assert_eq!(
        secrets.keys().collect::<Vec<_>>(),
        claims,
        "one secret per claim"
    );
    assert!(secrets.contains_key("room/p07"), "{secrets:?}");
    for (claim, id) in &keys {
        assert_eq!(&secrets[claim].0, id, "the secret of {claim} holds its key");
    }
    assert!(
        !fx.dir.path().join("credentials/room").exists(),
        "no participants' files with the Secrets Manager store"
    );

    // The plan after reads the secrets back (scan): nothing to do.
    let json = common::run::assert_no_changes(|c, a| fx.run(c, a), "2030-01-10T08:30:00Z");
    assert!(json["warnings"].as_array().unwrap().is_empty(), "{json}");

    // The handout reads the secrets: a row per participant with its key, mode 0600.
    let csv = fx.dir.path().join("room.csv");
    let out = fx.run(
        "handout",
        &["room", "--output", "csv", "--out", csv.to_str().unwrap()],
    );
    out.code(0);
    says_no_secret(&out, &secrets);
    assert!(
        out.stdout
            .starts_with(&format!("wrote {PARTICIPANTS} cards to ")),
        "{out}"
    );
    let mode = fs::metadata(&csv).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let body = fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = body
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), PARTICIPANTS, "{body}");
    for row in &rows {
        let claim = format!("room/{}", row[0]);
        assert_eq!(row[1], keys[&claim], "{claim}'s key id");
        assert_eq!(row[2], secrets[&claim].1, "{claim}'s secret");
        assert_eq!(row[3], "eu-central-1");
    }
    let solo = fx.dir.path().join("solo.csv");
    fx.run(
        "handout",
        &["solo", "--output", "csv", "--out", solo.to_str().unwrap()],
    )
    .code(0)
    .stdout_line_with(&["wrote 1 card to"]);
    assert!(fs::read_to_string(&solo).unwrap().contains(&keys["solo"]));

    // A workshop whose window has not opened: the error names the store's secret.
    fs::write(
        fx.dir.path().join("workshops.toml"),
        fs::read_to_string(fx.dir.path().join("workshops.toml")).unwrap()
            + "\n[[workshop]]\nid = \"later\"\nstart = 2030-02-10T09:00:00Z\nend = 2030-02-10T17:00:00Z\nparticipants = 3\n",
    )
    .unwrap();
    let none = fx.dir.path().join("later.csv");
    fx.run(
        "handout",
        &["later", "--output", "csv", "--out", none.to_str().unwrap()],
    )
    .code(1)
    .stderr_has("workshop later has no live keys")
    .stderr_has(&format!(
        "the secret {}later/p1 does not exist",
        fx.prefix()
    ));
    assert!(!none.exists());

    // End + grace, then after the hold: the keys and their secrets go.
    fx.run("reconcile", &["--at", "2030-01-10T18:00:00Z"])
        .code(0);
    assert!(fx.active_keys().await.is_empty());
    fx.run("reconcile", &["--at", "2030-01-11T18:00:00Z"])
        .code(0);
    assert!(
        fx.secrets().await.is_empty(),
        "every secret goes with its key: {:?}",
        fx.secrets().await.keys()
    );
    fx.run(
        "plan",
        &["--at", "2030-01-11T18:05:00Z", "--detailed-exitcode"],
    )
    .code(0);
}
