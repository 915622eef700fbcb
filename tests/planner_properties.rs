//! Property tests of plan + apply on the in-memory IAM: random schedules, random starting IAM
//! states within IAM's rules, random moments. After every step: at most two keys per user, no
//! LimitExceeded, planning again at the same moment gives no actions, and nothing outside the
//! managed path or without the managed-by tag is ever in a plan or changed.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use workshop_keys::apply::{apply, ApplyContext, Status};
use workshop_keys::core::desired::Desired;
use workshop_keys::core::observed::KeyStatus;
use workshop_keys::core::planner::plan;
use workshop_keys::core::tags;
use workshop_keys::iam::fake::{FakeIam, FakeUser};
use workshop_keys::observe::{observe, ObserveOptions};
use workshop_keys::schedule::{self, Schedule};
use workshop_keys::state::local::LocalState;
use workshop_keys::store::files::CredentialsDir;

const USERS: [&str; 3] = ["u0", "u1", "u2"];

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

#[derive(Debug, Clone)]
struct WorkshopSpec {
    start_h: i64,
    len_h: i64,
    user: usize,
}

#[derive(Debug, Clone)]
struct KeySpec {
    user: usize,
    active: bool,
    /// None: untagged; Some(i): claimed by workshop i (or a removed one if out of range).
    claim: Option<usize>,
    deactivated_h: Option<i64>,
}

fn schedule_text(workshops: &[WorkshopSpec], rotate: bool) -> String {
    let mut text = String::from(
        "[settings]\nuser = \"u0\"\npath = \"/workshop/\"\nlead = \"12h\"\ngrace = \"1h\"\nhold = \"6h\"\n",
    );
    if rotate {
        text.push_str("rotate_after = \"1d\"\nrotation_overlap = \"2h\"\n");
    }
    for (i, w) in workshops.iter().enumerate() {
        let start = base() + TimeDelta::hours(w.start_h);
        let end = start + TimeDelta::hours(w.len_h);
        text.push_str(&format!(
            "[[workshop]]\nid = \"w{i}\"\nstart = {}\nend = {}\nuser = \"{}\"\n",
            workshop_keys::time::format_time(start),
            workshop_keys::time::format_time(end),
            USERS[w.user]
        ));
    }
    text
}

fn workshop_spec() -> impl Strategy<Value = WorkshopSpec> {
    (0i64..240, 1i64..72, 0usize..3).prop_map(|(start_h, len_h, user)| WorkshopSpec {
        start_h,
        len_h,
        user,
    })
}

fn key_spec() -> impl Strategy<Value = KeySpec> {
    (
        0usize..3,
        any::<bool>(),
        proptest::option::of(0usize..8),
        proptest::option::of(-48i64..48),
    )
        .prop_map(|(user, active, claim, deactivated_h)| KeySpec {
            user,
            active,
            claim,
            deactivated_h,
        })
}

/// Fill the fake with a random state within IAM's rules: managed users with up to two keys,
/// plus an unmanaged user under the path and a user outside it, which must never change.
fn seed(iam: &FakeIam, keys: &[KeySpec], managed: [bool; 3]) {
    for (i, name) in USERS.iter().enumerate() {
        if managed[i] {
            iam.insert_user(
                name,
                FakeUser {
                    path: "/workshop/".into(),
                    tags: BTreeMap::from([("managed-by".into(), "workshop-keys".into())]),
                    ..FakeUser::default()
                },
            );
        }
    }
    for name in ["bystander", "elsewhere"] {
        iam.insert_user(
            name,
            FakeUser {
                path: if name == "elsewhere" {
                    "/other/"
                } else {
                    "/workshop/"
                }
                .into(),
                ..FakeUser::default()
            },
        );
        iam.insert_key(name, KeyStatus::Active, base());
    }
    let mut per_user = [0usize; 3];
    for k in keys {
        if !managed[k.user] || per_user[k.user] >= 2 {
            continue;
        }
        per_user[k.user] += 1;
        let status = if k.active {
            KeyStatus::Active
        } else {
            KeyStatus::Inactive
        };
        let id = iam.insert_key(USERS[k.user], status, base() - TimeDelta::hours(30));
        let mut user = iam.users()[USERS[k.user]].clone();
        if let Some(c) = k.claim {
            user.tags.insert(id.clone(), format!("w{c}"));
        }
        if let (false, Some(h)) = (k.active, k.deactivated_h) {
            user.tags.insert(
                tags::deactivated_tag(&id),
                workshop_keys::time::format_time(base() + TimeDelta::hours(h)),
            );
        }
        iam.insert_user(USERS[k.user], user);
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn check_steps(s: &Schedule, iam: &FakeIam, creds: &CredentialsDir, ticks: &[i64]) {
    let desired = Desired::from_schedule(s);
    let untouchable: Vec<_> = ["bystander", "elsewhere"]
        .iter()
        .map(|n| iam.users()[*n].clone())
        .collect();
    let opts = ObserveOptions::default();
    let state = LocalState::new(creds.clone(), "workshops.toml");
    for &h in ticks {
        let now = base() + TimeDelta::hours(h);
        iam.set_clock(now);
        let obs = run(observe(
            iam,
            &s.settings.path,
            &s.users(),
            Some((creds, &state)),
            &opts,
        ))
        .unwrap();
        let p = plan(&desired, &obs, now);
        for a in &p.actions {
            let managed = obs.user(&a.user).is_some_and(|u| u.is_managed());
            let created_here = p.actions.iter().any(|c| {
                c.action == workshop_keys::core::plan::ActionKind::CreateUser && c.user == a.user
            });
            assert!(
                managed || created_here,
                "plan touches unmanaged user {}: {a:?}",
                a.user
            );
        }
        let ctx = ApplyContext {
            credentials: creds,
            state: &state,
            region: "us-east-1",
            concurrency: 8,
        };
        let report = run(apply(&p, iam, &ctx));
        for r in &report.results {
            assert_eq!(
                r.status,
                Status::Ok,
                "action failed at {now}: {:?} {:?}",
                r.action,
                r.detail
            );
        }
        for (name, u) in iam.users() {
            assert!(u.keys.len() <= 2, "user {name} has {} keys", u.keys.len());
        }
        let after = run(observe(
            iam,
            &s.settings.path,
            &s.users(),
            Some((creds, &state)),
            &opts,
        ))
        .unwrap();
        let again = plan(&desired, &after, now);
        assert!(
            again.actions.is_empty(),
            "not idempotent at {now}: first {:#?}\nthen {:#?}",
            p.actions,
            again.actions
        );
        let now_untouchable: Vec<_> = ["bystander", "elsewhere"]
            .iter()
            .map(|n| iam.users()[*n].clone())
            .collect();
        assert_eq!(untouchable, now_untouchable);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn plan_apply_converges_within_iam_rules(
        workshops in proptest::collection::vec(workshop_spec(), 0..7),
        keys in proptest::collection::vec(key_spec(), 0..6),
        managed in any::<[bool; 3]>(),
        rotate in any::<bool>(),
        mut ticks in proptest::collection::vec(-24i64..340, 1..12),
    ) {
        let text = schedule_text(&workshops, rotate);
        let parsed = schedule::parse(Path::new("prop.toml"), &text);
        // Schedules that validate refuses (capacity) are not the planner's input.
        prop_assume!(parsed.is_ok());
        let s = parsed.unwrap();
        ticks.sort();
        let tmp = tempfile::tempdir().unwrap();
        let creds = CredentialsDir::new(tmp.path().join("credentials"));
        let iam = FakeIam::new();
        seed(&iam, &keys, managed);
        check_steps(&s, &iam, &creds, &ticks);
    }
}

// ---------------------------------------------------------------------------------------------
// Participants on a pool

#[derive(Debug, Clone)]
struct RoomSpec {
    start_h: i64,
    len_h: i64,
    participants: u32,
}

fn room_spec() -> impl Strategy<Value = RoomSpec> {
    (0i64..120, 1i64..48, 1u32..6).prop_map(|(start_h, len_h, participants)| RoomSpec {
        start_h,
        len_h,
        participants,
    })
}

fn pool_text(rooms: &[RoomSpec], pool_size: u32) -> String {
    let mut text = format!(
        "[settings]\nuser = \"u0\"\npath = \"/workshop/\"\nlead = \"12h\"\ngrace = \"1h\"\nhold = \"6h\"\nverify = false\npool = \"wp\"\npool_size = {pool_size}\n"
    );
    for (i, r) in rooms.iter().enumerate() {
        let start = base() + TimeDelta::hours(r.start_h);
        let end = start + TimeDelta::hours(r.len_h);
        text.push_str(&format!(
            "[[workshop]]\nid = \"r{i}\"\nstart = {}\nend = {}\nparticipants = {}\n",
            workshop_keys::time::format_time(start),
            workshop_keys::time::format_time(end),
            r.participants
        ));
    }
    text
}

/// Active participants' keys: claim -> (user, key id). Panics when a claim has two.
fn active_claims(iam: &FakeIam) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for (name, u) in iam.users() {
        for k in u.keys.iter().filter(|k| k.status == KeyStatus::Active) {
            if let Some(claim) = u.tags.get(&k.access_key_id).filter(|c| c.contains('/')) {
                let before = out.insert(claim.clone(), (name.clone(), k.access_key_id.clone()));
                assert!(before.is_none(), "{claim} has two active keys");
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, .. ProptestConfig::default() })]

    /// Never three keys on a pool user, every action succeeds, planning again is a no-op, and
    /// a participant keeps its key (and so its user) for as long as it is neither revoked nor
    /// past its window.
    #[test]
    fn participants_stay_on_their_pool_user_within_iam_rules(
        rooms in proptest::collection::vec(room_spec(), 1..5),
        pool_size in 1u32..8,
        mut ticks in proptest::collection::vec((-12i64..200, proptest::option::of((0usize..5, proptest::option::of(1u32..6)))), 1..14),
    ) {
        let text = pool_text(&rooms, pool_size);
        let parsed = schedule::parse(Path::new("prop.toml"), &text);
        prop_assume!(parsed.is_ok());
        let s = parsed.unwrap();
        let desired = Desired::from_schedule(&s);
        ticks.sort_by_key(|t| t.0);
        let tmp = tempfile::tempdir().unwrap();
        let creds = CredentialsDir::new(tmp.path().join("credentials"));
        let iam = FakeIam::new();
        let opts = ObserveOptions::default();
        let state = LocalState::new(creds.clone(), "workshops.toml");
        let ctx = ApplyContext { credentials: &creds, state: &state, region: "us-east-1", concurrency: 8 };
        let mut previous: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (h, revoke) in ticks {
            let now = base() + TimeDelta::hours(h);
            iam.set_clock(now);
            let observe_now = || run(observe(&iam, &s.settings.path, &s.users(), Some((&creds, &state)), &opts)).unwrap();
            let mut revoked = Vec::new();
            if let Some((room, label)) = revoke.filter(|(r, _)| *r < rooms.len()) {
                let ws = format!("r{room}");
                let label = label.filter(|l| *l <= rooms[room].participants).map(|l| {
                    workshop_keys::core::participants::labels(rooms[room].participants)[l as usize - 1].clone()
                });
                let p = workshop_keys::core::planner::revoke(&desired, &observe_now(), &ws, label.as_deref(), now).unwrap();
                let report = run(apply(&p, &iam, &ctx));
                prop_assert!(report.all_ok(), "{:?}", report.results);
                revoked.extend(p.actions.iter().filter_map(|a| a.claim()));
            }
            let p = plan(&desired, &observe_now(), now);
            let report = run(apply(&p, &iam, &ctx));
            for r in &report.results {
                prop_assert_eq!(r.status, Status::Ok, "at {}: {:?} {:?}", now, r.action, r.detail);
            }
            for (name, u) in iam.users() {
                prop_assert!(u.keys.len() <= 2, "user {} has {} keys", name, u.keys.len());
            }
            let again = plan(&desired, &observe_now(), now);
            prop_assert!(again.actions.is_empty(), "not idempotent at {}: {:#?}", now, again.actions);
            let current = active_claims(&iam);
            for (claim, (user, id)) in &previous {
                let live = desired.participants.iter().any(|w| &w.claim() == claim && w.is_live(now));
                if live && !revoked.contains(claim) {
                    prop_assert_eq!(current.get(claim), Some(&(user.clone(), id.clone())), "{} moved at {}", claim, now);
                }
            }
            previous = current;
        }
    }
}
