//! Which pool user carries which participant's window in this run. Pure and deterministic:
//! the same schedule and IAM give the same assignment, run after run.
//!
//! 1. A participant whose key (claim tag `ws/p07`) is active on a user stays on that user for
//!    the key's whole life. Active keys on two users (a user someone untagged by hand and
//!    tagged again, after its participants had moved on): the participant stays with the key
//!    its credentials are for, else with the newest; the other user holds its key hold-only,
//!    and the key is deactivated.
//! 2. A user also carries, hold-only, the windows of the other keys it holds for participants
//!    (revoked or ended): the usual fates hold and delete them; no new key is asked there.
//! 3. Every other participant whose window is live gets the lowest-numbered pool user with a
//!    free slot (non-deleted keys, open creation records and homes given in this run count; two
//!    per user), in the order (key_from, workshop, label). No free slot: blocked.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::*;

/// The pool users this run needs, with the participant windows each carries, and the
/// participants no pool user can take.
#[derive(Debug, Default)]
pub(super) struct Assignment {
    pub users: BTreeMap<String, Vec<Window>>,
    pub blocked: Vec<Blocked>,
}

/// The keys in flight on `u`, as (key id, claim): its claim tags name a key IAM does not list
/// yet, and the claim's credentials file holds it (written moments ago).
fn in_flight<'o>(
    observed: &'o Observed,
    u: &'o ObservedUser,
    now: DateTime<Utc>,
) -> impl Iterator<Item = (&'o String, &'o String)> {
    u.tags.iter().filter(move |(id, claim)| {
        tags::is_access_key_id(id)
            && u.key(id).is_none()
            && pending_key(observed, claim, now).as_deref() == Some(id.as_str())
    })
}

pub(super) fn assign(desired: &Desired, observed: &Observed, now: DateTime<Utc>) -> Assignment {
    let any_pool_user = observed
        .users
        .iter()
        .any(|u| desired.pool.contains(&u.name));
    if desired.participants.is_empty() && !any_pool_user {
        return Assignment::default();
    }
    let mut pass = Pass {
        desired,
        observed,
        now,
        by_claim: desired
            .participants
            .iter()
            .map(|w| (w.claim(), w))
            .collect(),
        // Keys a participant's file names but no claim tag does yet (a run stopped before
        // tagging).
        by_file: observed
            .files
            .iter()
            .map(|(claim, f)| (f.access_key_id.as_str(), claim.as_str()))
            .collect(),
        homes: BTreeMap::new(),
        used: BTreeMap::new(),
        homed: BTreeSet::new(),
        out: Assignment::default(),
    };
    let carried: Vec<&ObservedUser> = observed
        .users
        .iter()
        .filter(|u| u.is_managed() && !desired.users.contains_key(&u.name))
        .collect();
    pass.homes = homes(&pass, &carried);
    for u in carried {
        pass.carry(u);
    }
    pass.creations();
    pass.home_live();
    let mut out = pass.out;
    for windows in out.users.values_mut() {
        windows.sort_by(|a, b| {
            (a.key_from, &a.workshop, &a.participant).cmp(&(
                b.key_from,
                &b.workshop,
                &b.participant,
            ))
        });
    }
    out
}

/// One assignment in the making.
struct Pass<'a> {
    desired: &'a Desired,
    observed: &'a Observed,
    now: DateTime<Utc>,
    by_claim: HashMap<String, &'a Window>,
    by_file: HashMap<&'a str, &'a str>,
    /// Rule 1: the user of each participant's active key (one user, when there are two).
    homes: BTreeMap<&'a str, &'a str>,
    /// Slots taken on each user that holds or gets keys.
    used: BTreeMap<String, usize>,
    /// Participants that have a user in this run.
    homed: BTreeSet<String>,
    out: Assignment,
}

impl<'a> Pass<'a> {
    /// The claim of key `id` on `u`: its claim tag, else the credentials file that names it (a
    /// run stopped before tagging).
    fn claim_of(&self, u: &'a ObservedUser, id: &str) -> Option<&'a str> {
        u.tags
            .get(id)
            .map(String::as_str)
            .or_else(|| self.by_file.get(id).copied())
    }

    /// Rules 1 and 2: the participants' keys `u` holds, and the slots they take.
    fn carry(&mut self, u: &'a ObservedUser) {
        let (desired, observed, now) = (self.desired, self.observed, self.now);
        let in_pool = desired.pool.contains(&u.name);
        let mut count =
            in_flight(observed, u, now).count() + open_creations(observed, &u.name, now).len();
        let mut carried: Vec<Window> = Vec::new();
        let listed = u
            .keys
            .iter()
            .filter(|k| !observed.deleted.contains_key(&k.access_key_id));
        for k in listed {
            let claim = self.claim_of(u, &k.access_key_id);
            let found = claim.and_then(|c| self.by_claim.get_key_value(c));
            let goes = goes_this_run(desired, u, k, found.map(|(_, w)| *w), now);
            count += usize::from(!goes);
            let Some((claim, w)) = found else {
                continue;
            };
            // A quarantined user's keys are deactivated now: its participants move on. So is
            // a participant's second active key, on a user that is not its home.
            let active = k.status == KeyStatus::Active
                && u.quarantine_policy().is_none()
                && self.homes.get(claim.as_str()) == Some(&u.name.as_str());
            if active {
                self.homed.insert(claim.clone());
            }
            match carried.iter_mut().find(|c| c.has_claim(claim)) {
                Some(c) => {
                    c.hold_only &= !active;
                    c.departing &= goes;
                }
                None => carried.push(Window {
                    hold_only: !active,
                    departing: goes,
                    ..(*w).clone()
                }),
            }
        }
        // A key in flight (tagged, written, not listed yet) is its claim's home.
        for (_, claim) in in_flight(observed, u, now) {
            let Some((claim, w)) = self.by_claim.get_key_value(claim.as_str()) else {
                continue;
            };
            self.homed.insert(claim.clone());
            match carried.iter_mut().find(|c| c.has_claim(claim)) {
                Some(c) => c.departing = false,
                None => carried.push((*w).clone()),
            }
        }
        if in_pool || count > 0 || !carried.is_empty() {
            self.used.insert(u.name.clone(), count);
        }
        // A pool user that holds keys stays (its keys go by the usual fates), even with no
        // window; other users are the schedule's business.
        if (in_pool && count > 0) || !carried.is_empty() {
            self.out.users.insert(u.name.clone(), carried);
        }
    }

    /// A creation record names the claim it makes a key for: that claim is at home there.
    fn creations(&mut self) {
        for (claim, c) in open_creations_anywhere(self.observed, self.now) {
            if let Some((claim, w)) = self.by_claim.get_key_value(claim.as_str()) {
                if self.homed.insert(claim.clone()) {
                    let list = self.out.users.entry(c.user.clone()).or_default();
                    if !list.iter().any(|x| x.has_claim(claim)) {
                        list.push((*w).clone());
                    }
                }
            }
        }
    }

    /// Rule 3: a home for every live participant without one, lowest-numbered free user first.
    fn home_live(&mut self) {
        let (desired, observed) = (self.desired, self.observed);
        // Pool users the tool may not use: a shared user's name, outside the path, not
        // managed, or quarantined by AWS.
        let mut unusable: BTreeSet<&str> =
            observed.outside_path.iter().map(String::as_str).collect();
        unusable.extend(
            observed
                .users
                .iter()
                .filter(|u| !u.is_managed() || u.quarantine_policy().is_some())
                .map(|u| u.name.as_str()),
        );
        let pool: Vec<String> = desired.pool.users().collect();
        let mut next = 0;
        for w in desired.participants.iter().filter(|w| w.is_live(self.now)) {
            let claim = w.claim();
            if self.homed.contains(&claim) {
                continue;
            }
            let free = |name: &str| {
                !unusable.contains(name)
                    && !desired.users.contains_key(name)
                    && self.used.get(name).copied().unwrap_or(0) < KEYS_PER_USER
            };
            while next < pool.len() && !free(&pool[next]) {
                next += 1;
            }
            let Some(name) = pool.get(next) else {
                self.out.blocked.push(Blocked {
                    workshop: claim,
                    reason: format!(
                        "pool full: no user of pool {} ({} users) has a free slot (AWS allows two keys per user); raise pool_size, or shorten lead, grace or hold",
                        desired.pool.prefix, desired.pool.size
                    ),
                });
                continue;
            };
            *self.used.entry(name.clone()).or_default() += 1;
            let list = self.out.users.entry(name.clone()).or_default();
            match list.iter_mut().find(|c| c.has_claim(&claim)) {
                Some(c) => {
                    c.hold_only = false;
                    c.departing = false;
                }
                None => list.push(w.clone()),
            }
        }
    }
}

/// How strongly a user holds a participant's key, greatest first: holds the key its
/// credentials file names, the key's creation (a key in flight has none), the first by name.
type HomeRank<'a> = (bool, Option<DateTime<Utc>>, Reverse<&'a str>);

/// Rule 1: each participant's home among `users`, the users holding its active keys (and keys
/// in flight). With more than one: the user of the key its credentials file names, else of
/// its newest key, else the first by name.
fn homes<'a>(pass: &Pass<'a>, users: &[&'a ObservedUser]) -> BTreeMap<&'a str, &'a str> {
    let (observed, now) = (pass.observed, pass.now);
    let mut best: BTreeMap<&'a str, HomeRank<'a>> = BTreeMap::new();
    let mut offer = |claim: &'a str, rank: HomeRank<'a>| {
        let e = best.entry(claim).or_insert(rank);
        *e = (*e).max(rank);
    };
    for u in users.iter().filter(|u| u.quarantine_policy().is_none()) {
        let name = Reverse(u.name.as_str());
        for k in u.keys.iter().filter(|k| k.status == KeyStatus::Active) {
            if observed.deleted.contains_key(&k.access_key_id) {
                continue;
            }
            let Some(claim) = pass.claim_of(u, &k.access_key_id) else {
                continue;
            };
            let in_file = observed
                .files
                .get(claim)
                .is_some_and(|f| f.access_key_id == k.access_key_id);
            offer(claim, (in_file, Some(k.created), name));
        }
        for (_, claim) in in_flight(observed, u, now) {
            offer(claim, (true, None, name));
        }
    }
    best.into_iter()
        .map(|(claim, (_, _, Reverse(user)))| (claim, user))
        .collect()
}

/// A key the usual fates delete in this run (see `keys::fate`): its slot is free for a new
/// home. Only the sure cases; any other key counts.
fn goes_this_run(
    desired: &Desired,
    u: &ObservedUser,
    k: &ObservedKey,
    window: Option<&Window>,
    now: DateTime<Utc>,
) -> bool {
    if window.is_some_and(|w| now >= w.delete_at) {
        return true;
    }
    let since = u
        .tags
        .get(&tags::deactivated_tag(&k.access_key_id))
        .and_then(|v| crate::time::parse_time(v));
    let hold_over = since.is_some_and(|t| now >= t + desired.hold);
    let counted_from_deactivation = window.is_none_or(|w| w.is_live(now) || now < w.key_from);
    k.status == KeyStatus::Inactive && hold_over && counted_from_deactivation
}

/// Creation records on any user that may still stand for a key IAM does not list.
fn open_creations_anywhere(
    observed: &Observed,
    now: DateTime<Utc>,
) -> Vec<(&String, &PendingCreate)> {
    let mut users: Vec<&str> = observed
        .creating
        .values()
        .map(|c| c.user.as_str())
        .collect();
    users.sort();
    users.dedup();
    users
        .into_iter()
        .flat_map(|u| open_creations(observed, u, now))
        .collect()
}
