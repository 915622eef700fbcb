//! Participants' keys on the pool, end to end through the planner, the executor, an in-memory
//! IAM and a real credentials folder: where keys go, that they stay there, that no pool user
//! ever holds three, revoke -> reissue -> hold -> delete, and a full pool.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use futures::executor::block_on;
use workshop_keys::apply::{apply, ApplyContext, Report};
use workshop_keys::core::desired::Desired;
use workshop_keys::core::observed::{KeyStatus, Observed};
use workshop_keys::core::plan::{ActionKind, Plan};
use workshop_keys::core::planner::{plan, revoke, RevokeError};
use workshop_keys::iam::fake::FakeIam;
use workshop_keys::observe::{observe, ObserveOptions};
use workshop_keys::schedule::{self, Schedule};
use workshop_keys::state::local::LocalState;
use workshop_keys::store::files::CredentialsDir;

const PATH: &str = "/workshop/";

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

fn at(h: i64) -> DateTime<Utc> {
    base() + TimeDelta::hours(h)
}

/// A workshop: (id, start hour, end hour, participants).
type Ws<'a> = (&'a str, i64, i64, Option<u32>);

struct World {
    _tmp: tempfile::TempDir,
    iam: FakeIam,
    creds: CredentialsDir,
    schedule: Schedule,
    desired: Desired,
}

fn schedule_text(pool_size: u32, workshops: &[Ws]) -> String {
    let mut text = format!(
        "[settings]\nuser = \"shared\"\npath = \"{PATH}\"\nlead = \"1h\"\ngrace = \"0m\"\nhold = \"24h\"\nverify = false\npool = \"wp\"\npool_size = {pool_size}\n"
    );
    for (id, start, end, n) in workshops {
        text.push_str(&format!(
            "\n[[workshop]]\nid = \"{id}\"\nstart = {}\nend = {}\n",
            workshop_keys::time::format_time(at(*start)),
            workshop_keys::time::format_time(at(*end))
        ));
        if let Some(n) = n {
            text.push_str(&format!("participants = {n}\n"));
        }
    }
    text
}

impl World {
    fn new(pool_size: u32, workshops: &[Ws]) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let iam = FakeIam::new();
        iam.set_consistency(Some(Box::new(|_| TimeDelta::zero())));
        let mut w = World {
            iam,
            creds: CredentialsDir::new(tmp.path().join("credentials")),
            _tmp: tmp,
            schedule: schedule::parse(Path::new("t.toml"), &schedule_text(1, &[])).unwrap(),
            desired: Desired::from_schedule(
                &schedule::parse(Path::new("t.toml"), &schedule_text(1, &[])).unwrap(),
            ),
        };
        w.set_schedule(pool_size, workshops);
        w
    }

    /// Edit the schedule (the capacity check is `validate`'s; this parses only).
    fn set_schedule(&mut self, pool_size: u32, workshops: &[Ws]) {
        let text = schedule_text(pool_size, workshops);
        // Parsed as `timeline` does: a pool too small for the schedule is `validate`'s error,
        // and these tests show what the planner does when it happens anyway.
        self.schedule = schedule::parse_allowing_collisions(Path::new("t.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}"))
            .0;
        self.desired = Desired::from_schedule(&self.schedule);
    }

    /// The local records beside the credentials files.
    fn state(&self) -> LocalState {
        LocalState::new(self.creds.clone(), "t.toml")
    }

    fn observe(&self, now: DateTime<Utc>) -> Observed {
        self.iam.set_clock(now);
        block_on(observe(
            &self.iam,
            PATH,
            &self.schedule.users(),
            Some((&self.creds, &self.state())),
            &ObserveOptions::default(),
        ))
        .unwrap()
    }

    fn apply(&self, p: &Plan) -> Report {
        let state = self.state();
        let ctx = ApplyContext {
            credentials: &self.creds,
            state: &state,
            region: "us-east-1",
            concurrency: 8,
        };
        block_on(apply(p, &self.iam, &ctx))
    }

    fn run(&self, now: DateTime<Utc>) -> (Plan, Report) {
        let p = plan(&self.desired, &self.observe(now), now);
        let r = self.apply(&p);
        assert!(r.all_ok(), "{r:?}");
        self.check_limits();
        (p, r)
    }

    fn revoke(
        &self,
        ws: &str,
        label: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Plan, RevokeError> {
        let p = revoke(&self.desired, &self.observe(now), ws, label, now)?;
        let r = self.apply(&p);
        assert!(r.all_ok(), "{r:?}");
        Ok(p)
    }

    /// claim -> (user, key id, status), of every key IAM holds.
    fn keys(&self) -> BTreeMap<String, Vec<(String, String, KeyStatus)>> {
        let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for (name, u) in self.iam.users() {
            for k in &u.keys {
                let claim = u.tags.get(&k.access_key_id).cloned().unwrap_or_default();
                out.entry(claim).or_default().push((
                    name.clone(),
                    k.access_key_id.clone(),
                    k.status,
                ));
            }
        }
        out
    }

    /// claim -> user of its active key.
    fn homes(&self) -> BTreeMap<String, String> {
        self.keys()
            .into_iter()
            .flat_map(|(c, ks)| {
                ks.into_iter()
                    .filter(|(_, _, s)| *s == KeyStatus::Active)
                    .map(move |(u, _, _)| (c.clone(), u))
            })
            .collect()
    }

    fn check_limits(&self) {
        for (name, u) in self.iam.users() {
            assert!(u.keys.len() <= 2, "user {name} holds {} keys", u.keys.len());
        }
    }

    fn file(&self, claim: &str) -> Option<String> {
        self.creds.file(claim).unwrap().map(|f| f.access_key_id)
    }
}

fn kinds(p: &Plan, kind: ActionKind) -> Vec<String> {
    p.actions
        .iter()
        .filter(|a| a.action == kind)
        .map(|a| format!("{} {}", a.user, a.claim().unwrap_or_default()))
        .collect()
}

#[test]
fn participants_fill_the_pool_two_per_user_lowest_first_and_the_next_plan_is_empty() {
    let w = World::new(10, &[("ws", 2, 6, Some(5)), ("solo", 2, 6, None)]);
    let (p, _) = w.run(at(1));
    assert_eq!(
        kinds(&p, ActionKind::CreateKey),
        [
            "shared solo",
            "wp-001 ws/p1",
            "wp-001 ws/p2",
            "wp-002 ws/p3",
            "wp-002 ws/p4",
            "wp-003 ws/p5"
        ]
    );
    let create = p
        .actions
        .iter()
        .find(|a| a.action == ActionKind::CreateKey && a.user == "wp-001")
        .unwrap();
    let json = serde_json::to_string(create).unwrap();
    assert!(
        json.contains(r#""workshop":"ws","participant":"p1","#),
        "{json}"
    );
    for label in ["p1", "p2", "p3", "p4", "p5"] {
        let claim = format!("ws/{label}");
        assert_eq!(w.file(&claim).as_ref(), Some(&w.keys()[&claim][0].1));
        let path = w.creds.dir().join("ws").join(format!("{label}.env"));
        assert!(path.exists(), "{}", path.display());
    }
    assert!(w.file("solo").is_some());
    let again = plan(&w.desired, &w.observe(at(1)), at(1));
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert!(again.blocked.is_empty(), "{:?}", again.blocked);
}

#[test]
fn assignment_is_stable_across_runs_and_schedule_edits() {
    let mut w = World::new(10, &[("b", 2, 30, Some(3))]);
    w.run(at(1));
    let before = w.homes();
    // An earlier workshop with participants is added, and `b` grows by one participant.
    w.set_schedule(10, &[("a", 3, 8, Some(3)), ("b", 2, 30, Some(4))]);
    let (p, _) = w.run(at(2));
    assert_eq!(
        kinds(&p, ActionKind::CreateKey),
        ["wp-002 b/p4", "wp-003 a/p1", "wp-003 a/p2", "wp-004 a/p3"]
    );
    for h in [3, 5, 7] {
        w.run(at(h));
        let now = w.homes();
        for (claim, user) in &before {
            assert_eq!(now.get(claim), Some(user), "{claim} moved at {h}h");
        }
    }
}

#[test]
fn a_full_pool_blocks_the_participants_it_cannot_take() {
    let w = World::new(2, &[("ws", 2, 6, Some(5))]);
    let (p, _) = w.run(at(1));
    assert_eq!(kinds(&p, ActionKind::CreateKey).len(), 4);
    assert_eq!(p.blocked.len(), 1, "{:?}", p.blocked);
    assert_eq!(p.blocked[0].workshop, "ws/p5");
    assert!(
        p.blocked[0].reason.contains("pool full"),
        "{}",
        p.blocked[0].reason
    );
    assert!(p.blocked[0].reason.contains("raise pool_size"));
}

#[test]
fn revoke_reissue_hold_delete_and_the_pool_empties_after_the_window() {
    let w = World::new(10, &[("ws", 2, 40, Some(4))]);
    w.run(at(1));
    let old = w.keys()["ws/p3"][0].clone();
    assert_eq!(old.0, "wp-002");
    let p = w.revoke("ws", Some("p3"), at(3)).unwrap();
    assert_eq!(kinds(&p, ActionKind::DeactivateKey), ["wp-002 ws/p3"]);
    // Nothing live any more: says so by an empty plan.
    let none = w.revoke("ws", Some("p3"), at(3)).unwrap();
    assert!(none.actions.is_empty());
    // wp-002 holds p3's revoked key and p4's: the fresh key goes to the next free slot.
    let (p, _) = w.run(at(3));
    assert_eq!(kinds(&p, ActionKind::CreateKey), ["wp-003 ws/p3"]);
    let fresh = w.homes()["ws/p3"].clone();
    assert_eq!(fresh, "wp-003");
    let new_id = w.keys()["ws/p3"]
        .iter()
        .find(|k| k.2 == KeyStatus::Active)
        .unwrap()
        .1
        .clone();
    assert_eq!(w.file("ws/p3"), Some(new_id));
    let held = w.keys()["ws/p3"]
        .iter()
        .find(|k| k.1 == old.1)
        .cloned()
        .unwrap();
    assert_eq!(held.2, KeyStatus::Inactive);
    // Later runs keep everything where it is; no new key for a revoked participant.
    let (p, _) = w.run(at(4));
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    // The hold of the revoked key (24h from 3h) ends while the window is still open.
    let (p, _) = w.run(at(27));
    assert!(
        p.actions
            .iter()
            .any(|a| a.action == ActionKind::DeleteKey && a.access_key_id() == Some(&old.1)),
        "{:?}",
        p.actions
    );
    // End of the window: all deactivated; after the hold: deleted, files and users gone.
    let (p, _) = w.run(at(40));
    assert_eq!(
        kinds(&p, ActionKind::DeactivateKey).len(),
        4,
        "{:?}",
        p.actions
    );
    assert!(kinds(&p, ActionKind::DeleteUser).is_empty());
    // The pool users nobody needs go in the same run, after their keys and policies.
    let (p, _) = w.run(at(64));
    assert!(w.keys().is_empty(), "{:?}", w.keys());
    assert_eq!(
        kinds(&p, ActionKind::DeleteUser),
        ["wp-001 ", "wp-002 ", "wp-003 "]
    );
    assert_eq!(kinds(&p, ActionKind::DeleteUserPolicy).len(), 3);
    let users: Vec<String> = w.iam.users().keys().cloned().collect();
    assert_eq!(users, ["shared"], "pool users nobody needs are deleted");
    let left: Vec<_> = std::fs::read_dir(w.creds.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn revoke_names_unknown_workshops_and_participants() {
    let w = World::new(10, &[("ws", 2, 6, Some(4)), ("solo", 2, 6, None)]);
    let e = w.revoke("nope", None, at(3)).unwrap_err();
    assert!(
        e.to_string()
            .contains("workshop nope is not in the schedule"),
        "{e}"
    );
    let e = w.revoke("ws", Some("p9"), at(3)).unwrap_err();
    assert!(e.to_string().contains("p1 to p4"), "{e}");
    let e = w.revoke("solo", Some("p1"), at(3)).unwrap_err();
    assert!(e.to_string().contains("drop --participant"), "{e}");
}

#[test]
fn revoking_a_room_replaces_every_key_and_never_holds_three() {
    let w = World::new(10, &[("ws", 2, 8, Some(4)), ("solo", 2, 8, None)]);
    w.run(at(1));
    let p = w.revoke("ws", None, at(3)).unwrap();
    assert_eq!(kinds(&p, ActionKind::DeactivateKey).len(), 4);
    let (p, _) = w.run(at(3));
    // wp-001 and wp-002 are full with held keys: fresh keys on wp-003 and wp-004.
    assert_eq!(
        kinds(&p, ActionKind::CreateKey),
        [
            "wp-003 ws/p1",
            "wp-003 ws/p2",
            "wp-004 ws/p3",
            "wp-004 ws/p4"
        ]
    );
    // The shared workshop is untouched by a revoke of `ws`.
    assert_eq!(w.keys()["solo"][0].2, KeyStatus::Active);
    // Revoked again while the held keys are still there: the pool has room for it.
    w.revoke("ws", None, at(4)).unwrap();
    let (p, _) = w.run(at(4));
    assert_eq!(kinds(&p, ActionKind::CreateKey).len(), 4);
}

#[test]
fn participants_on_a_quarantined_pool_user_get_fresh_keys_elsewhere() {
    let w = World::new(10, &[("ws", 2, 8, Some(4))]);
    w.run(at(1));
    assert_eq!(w.homes()["ws/p1"], "wp-001");
    let mut u = w.iam.users()["wp-001"].clone();
    u.attached_policies
        .insert("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3".into());
    w.iam.insert_user("wp-001", u);
    let (p, _) = w.run(at(2));
    assert_eq!(
        kinds(&p, ActionKind::DeactivateKey),
        ["wp-001 ws/p1", "wp-001 ws/p2"]
    );
    assert_eq!(
        kinds(&p, ActionKind::CreateKey),
        ["wp-003 ws/p1", "wp-003 ws/p2"]
    );
    assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    assert_eq!(p.quarantined.len(), 1);
}

/// A pool user someone untagged by hand is not the tool's: its participants get keys
/// elsewhere. Tagged again, the user holds a second active key for each of them; they keep
/// the key their credentials file holds, the other is deactivated, and no key is made.
#[test]
fn a_pool_user_tagged_again_by_hand_leaves_each_participant_one_key() {
    let w = World::new(10, &[("ws", 2, 30, Some(2))]);
    w.run(at(1));
    assert_eq!(w.homes()["ws/p1"], "wp-001");
    let mut u = w.iam.users()["wp-001"].clone();
    let managed = u.tags.remove("managed-by").expect("managed-by tag");
    w.iam.insert_user("wp-001", u.clone());
    let (p, _) = w.run(at(2));
    assert_eq!(
        kinds(&p, ActionKind::CreateKey),
        ["wp-002 ws/p1", "wp-002 ws/p2"]
    );
    let files = (w.file("ws/p1"), w.file("ws/p2"));
    u.tags.insert("managed-by".into(), managed);
    w.iam.insert_user("wp-001", u);
    let (p, _) = w.run(at(3));
    assert!(
        kinds(&p, ActionKind::CreateKey).is_empty(),
        "{:?}",
        p.actions
    );
    assert_eq!(
        kinds(&p, ActionKind::DeactivateKey),
        ["wp-001 ws/p1", "wp-001 ws/p2"]
    );
    let reason = &p
        .actions
        .iter()
        .find(|a| a.action == ActionKind::DeactivateKey)
        .unwrap()
        .reason;
    assert!(reason.contains("another pool user"), "{reason}");
    assert_eq!(w.homes()["ws/p1"], "wp-002");
    assert_eq!((w.file("ws/p1"), w.file("ws/p2")), files);
    let again = plan(&w.desired, &w.observe(at(3)), at(3));
    assert!(again.actions.is_empty(), "{:?}", again.actions);
}
