//! The eventual-consistency view of [`FakeIam`](super::FakeIam): what a read sees against what
//! was written. Each write's changes show from `clock + delay` on; a write seen late never
//! overrides a newer one seen earlier.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{DelayFn, FakeKey, FakeUser};
use crate::core::observed::KeyStatus;

/// Entity kinds of the consistency view, in the order a user's entities are stored.
pub(super) const E_USER: u8 = 0;
pub(super) const E_TAG: u8 = 1;
pub(super) const E_KEY: u8 = 2;
pub(super) const E_POLICY: u8 = 3;
pub(super) const E_ATTACHED: u8 = 4;

/// (user, kind, name): one thing a read can see.
pub(super) type Entity = (String, u8, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Val {
    Path(String),
    Tag(String),
    Key(KeyStatus, DateTime<Utc>),
    Doc(String),
    Attached,
}

/// A write's changes, visible from `visible_at`.
pub(super) struct Pending {
    pub(super) visible_at: DateTime<Utc>,
    pub(super) seq: u64,
    pub(super) changes: Vec<(Entity, Option<Val>)>,
}

/// What reads see when consistency is on: each entity's value with the sequence number of the
/// write that set it (a write seen late never overrides a later one seen earlier).
pub(super) struct View {
    pub(super) entities: BTreeMap<Entity, (u64, Option<Val>)>,
    /// Some entity is absent (kept with its sequence number until no late write can arrive).
    pub(super) tombstones: bool,
    pub(super) pending: Vec<Pending>,
    pub(super) delay: DelayFn,
}

impl View {
    pub(super) fn set(&mut self, seq: u64, changes: Vec<(Entity, Option<Val>)>) {
        for (e, v) in changes {
            let slot = self.entities.entry(e).or_insert((0, None));
            if seq >= slot.0 {
                self.tombstones |= v.is_none();
                *slot = (seq, v);
            }
        }
    }

    pub(super) fn catch_up(&mut self, now: DateTime<Utc>, all: bool) {
        let (due, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| all || p.visible_at <= now);
        self.pending = later;
        for p in due {
            self.set(p.seq, p.changes);
        }
        if self.tombstones && self.pending.is_empty() {
            // No late write can arrive to be ordered against them: forget the tombstones.
            self.entities.retain(|_, (_, v)| v.is_some());
            self.tombstones = false;
        }
    }

    pub(super) fn user(&self, name: &str) -> Option<FakeUser> {
        let path = match self
            .entities
            .get(&(name.to_string(), E_USER, String::new()))
        {
            Some((_, Some(Val::Path(p)))) => p.clone(),
            _ => return None,
        };
        let mut u = FakeUser {
            path,
            ..FakeUser::default()
        };
        let from = (name.to_string(), E_TAG, String::new());
        let to = (name.to_string(), E_ATTACHED + 1, String::new());
        for ((_, kind, id), (_, v)) in self.entities.range(from..to) {
            match (*kind, v) {
                (E_TAG, Some(Val::Tag(v))) => {
                    u.tags.insert(id.clone(), v.clone());
                }
                (E_KEY, Some(Val::Key(status, created))) => u.keys.push(FakeKey {
                    access_key_id: id.clone(),
                    status: *status,
                    created: *created,
                }),
                (E_POLICY, Some(Val::Doc(d))) => {
                    u.inline_policies.insert(id.clone(), d.clone());
                }
                (E_ATTACHED, Some(Val::Attached)) => {
                    u.attached_policies.insert(id.clone());
                }
                _ => {}
            }
        }
        Some(u)
    }

    pub(super) fn users(&self) -> BTreeMap<String, FakeUser> {
        self.entities
            .iter()
            .filter(|((_, kind, _), (_, v))| *kind == E_USER && v.is_some())
            .filter_map(|((name, _, _), _)| Some((name.clone(), self.user(name)?)))
            .collect()
    }
}

/// A user as entities.
pub(super) fn entities(name: &str, u: &FakeUser) -> BTreeMap<Entity, Val> {
    let e = |kind: u8, id: &str| (name.to_string(), kind, id.to_string());
    let mut out = BTreeMap::new();
    out.insert(e(E_USER, ""), Val::Path(u.path.clone()));
    for (k, v) in &u.tags {
        out.insert(e(E_TAG, k), Val::Tag(v.clone()));
    }
    for k in &u.keys {
        out.insert(e(E_KEY, &k.access_key_id), Val::Key(k.status, k.created));
    }
    for (n, d) in &u.inline_policies {
        out.insert(e(E_POLICY, n), Val::Doc(d.clone()));
    }
    for arn in &u.attached_policies {
        out.insert(e(E_ATTACHED, arn), Val::Attached);
    }
    out
}

/// What changed about one user.
pub(super) fn diff(
    name: &str,
    before: Option<&FakeUser>,
    after: Option<&FakeUser>,
) -> Vec<(Entity, Option<Val>)> {
    let b = before.map(|u| entities(name, u)).unwrap_or_default();
    let mut a = after.map(|u| entities(name, u)).unwrap_or_default();
    let mut out = Vec::new();
    for (e, v) in &b {
        match a.remove(e) {
            Some(nv) if &nv == v => {}
            nv => out.push((e.clone(), nv)),
        }
    }
    out.extend(a.into_iter().map(|(e, v)| (e, Some(v))));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeDelta;

    use super::super::tests::{block, managed, t};
    use super::super::FakeIam;
    use crate::iam::{Iam, IamErrorKind};

    #[test]
    fn reads_lag_writes_when_consistency_is_on() {
        let iam = FakeIam::new();
        iam.set_clock(t("2026-01-01T00:00:00Z"));
        iam.set_consistency(Some(Box::new(|op| match op {
            "CreateUser" => TimeDelta::seconds(10),
            _ => TimeDelta::seconds(60),
        })));
        block(iam.create_user("u", "/workshop/", &managed())).unwrap();
        // the truth enforces the rules at once ...
        let e = block(iam.create_user("u", "/workshop/", &managed())).unwrap_err();
        assert!(e.is(IamErrorKind::EntityAlreadyExists));
        let k = block(iam.create_access_key("u")).unwrap();
        // ... while reads do not see the user yet
        assert_eq!(block(iam.get_user("u")).unwrap(), None);
        assert!(block(iam.list_users("/")).unwrap().is_empty());
        let e = block(iam.list_access_keys("u")).unwrap_err();
        assert!(e.is(IamErrorKind::NoSuchEntity));
        iam.set_clock(t("2026-01-01T00:00:10Z"));
        assert_eq!(block(iam.list_users("/")).unwrap().len(), 1);
        assert!(block(iam.list_access_keys("u")).unwrap().is_empty());
        assert_eq!(iam.pending_writes(), 1);
        iam.set_clock(t("2026-01-01T00:01:00Z"));
        let keys = block(iam.list_access_keys("u")).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].access_key_id, k.access_key_id);
        assert_eq!(iam.pending_writes(), 0);
        assert_eq!(iam.visible_users(), iam.users());
    }

    #[test]
    fn a_late_write_never_hides_a_newer_one() {
        let iam = FakeIam::new();
        iam.set_clock(t("2026-01-01T00:00:00Z"));
        block(iam.create_user("u", "/workshop/", &managed())).unwrap();
        // consistency on after the user exists: it is visible from the start
        let slow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let s = slow.clone();
        iam.set_consistency(Some(Box::new(move |_| {
            if s.swap(false, std::sync::atomic::Ordering::SeqCst) {
                TimeDelta::minutes(5)
            } else {
                TimeDelta::minutes(1)
            }
        })));
        let tag = |v: &str| BTreeMap::from([("x".to_string(), v.to_string())]);
        block(iam.tag_user("u", &tag("old"))).unwrap(); // visible at +5m
        block(iam.tag_user("u", &tag("new"))).unwrap(); // visible at +1m
        iam.set_clock(t("2026-01-01T00:02:00Z"));
        assert_eq!(block(iam.list_user_tags("u")).unwrap()["x"], "new");
        iam.set_clock(t("2026-01-01T00:10:00Z"));
        assert_eq!(block(iam.list_user_tags("u")).unwrap()["x"], "new");
        // deleting and re-creating a user converges too
        block(iam.untag_user("u", &["x".to_string()])).unwrap();
        block(iam.delete_user("u")).unwrap();
        block(iam.create_user("u", "/other/", &BTreeMap::new())).unwrap();
        iam.settle();
        assert_eq!(iam.visible_users(), iam.users());
        assert_eq!(iam.users()["u"].path, "/other/");
    }
}
