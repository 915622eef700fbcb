//! In-memory IAM that enforces the rules the tool relies on (two keys per user, inactive keys
//! counting, 50 tags per user, DeleteConflict, NoSuchEntity, EntityAlreadyExists), for unit and
//! simulation tests.
//!
//! - Faults: a hook can fail any call before or after its effect, as a timeout or crash would.
//! - Eventual consistency (off by default): writes change the truth at once, so IAM's rules are
//!   enforced on it, but reads (`List*`, `Get*`) see a view in which each write shows only from
//!   `clock + delay` on, the delay chosen per write by a function (`set_consistency`). Writes
//!   may become visible out of order; each entity (a user, a tag, a key, a policy) converges to
//!   its latest value.
//! - Every write call is recorded with the user it targets and that user's path and managed-by
//!   tag just before and after it (`write_records`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Iam, IamError, IamErrorKind, KeyMeta, NewKey, UserDetail, UserSummary};
use crate::core::observed::{KeyStatus, LastUsed};
use crate::core::tags;
use crate::store::files::Secret;

mod view;
use view::*;

pub use crate::core::limits::KEYS_PER_USER as MAX_KEYS;
pub use crate::core::limits::TAGS_PER_USER as MAX_TAGS;

/// When a fault hook is asked: before the call takes effect, or after it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Before,
    After,
}

/// Returns an error to inject for (operation, stage), or None to let the call through.
pub type FaultHook = Box<dyn FnMut(&'static str, Stage) -> Option<IamError> + Send>;

/// How long after a write (named by its operation) reads start to show it.
pub type DelayFn = Box<dyn FnMut(&'static str) -> TimeDelta + Send>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeKey {
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeUser {
    pub path: String,
    pub tags: BTreeMap<String, String>,
    pub keys: Vec<FakeKey>,
    pub inline_policies: BTreeMap<String, String>,
    pub attached_policies: BTreeSet<String>,
}

/// Where a user stood, as far as "may the tool write to it" goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMark {
    pub path: String,
    /// Carries `managed-by = workshop-keys`.
    pub managed: bool,
}

impl UserMark {
    fn of(u: &FakeUser) -> Self {
        UserMark {
            path: u.path.clone(),
            managed: tags::is_managed(&u.tags),
        }
    }
}

/// One write call that reached IAM (was not failed by the fault hook before its effect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    pub operation: &'static str,
    pub user: String,
    /// The fake's clock when it was made.
    pub at: DateTime<Utc>,
    /// The user in the truth just before the call; None when it did not exist.
    pub before: Option<UserMark>,
    /// ... and just after it.
    pub after: Option<UserMark>,
    /// The call changed IAM (it may still have been failed afterwards by the fault hook).
    pub took_effect: bool,
    /// When IAM refused it: the error code (`NoSuchEntity`, `LimitExceeded`, ...).
    pub refused: Option<String>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<String, FakeUser>,
    clock: Option<DateTime<Utc>>,
    next_key: u64,
    /// Write calls made, in order, as `Operation user`.
    writes: Vec<String>,
    records: Vec<WriteRecord>,
    /// Sequence number of the last change.
    seq: u64,
    /// Some when reads lag writes.
    view: Option<View>,
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_default()
    }

    /// Make a change to `user` known to the view (at once when `immediate`).
    fn publish(
        &mut self,
        op: &'static str,
        user: &str,
        before: Option<&FakeUser>,
        immediate: bool,
    ) {
        let now = self.now();
        let Some(view) = self.view.as_mut() else {
            return;
        };
        let changes = diff(user, before, self.users.get(user));
        if changes.is_empty() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let delay = if immediate {
            TimeDelta::zero()
        } else {
            (view.delay)(op)
        };
        if delay <= TimeDelta::zero() {
            view.set(seq, changes);
        } else {
            view.pending.push(Pending {
                visible_at: now + delay,
                seq,
                changes,
            });
        }
    }

    /// One user as reads see it now.
    fn read_user(&mut self, name: &str) -> Option<FakeUser> {
        let now = self.now();
        match self.view.as_mut() {
            Some(v) => {
                v.catch_up(now, false);
                v.user(name)
            }
            None => self.users.get(name).cloned(),
        }
    }

    /// Every user as reads see them now.
    fn read_users(&mut self) -> BTreeMap<String, FakeUser> {
        let now = self.now();
        match self.view.as_mut() {
            Some(v) => {
                v.catch_up(now, false);
                v.users()
            }
            None => self.users.clone(),
        }
    }
}

#[derive(Default)]
pub struct FakeIam {
    state: Mutex<State>,
    hook: Mutex<Option<FaultHook>>,
}

fn err(op: &'static str, user: &str, kind: IamErrorKind, code: &str, msg: String) -> IamError {
    IamError::new(op, Some(user), kind, code, msg)
}

fn no_such_user(op: &'static str, user: &str) -> IamError {
    err(
        op,
        user,
        IamErrorKind::NoSuchEntity,
        "NoSuchEntity",
        format!("The user with name {user} cannot be found."),
    )
}

fn too_many_tags(op: &'static str, user: &str) -> IamError {
    err(
        op,
        user,
        IamErrorKind::LimitExceeded,
        "LimitExceeded",
        format!("Cannot exceed quota for TagsPerUser: {MAX_TAGS}"),
    )
}

impl FakeIam {
    pub fn new() -> Self {
        Self::default()
    }

    /// The simulated clock: stamped on new keys and write records, and the moment reads look
    /// at when consistency is on. Defaults to the Unix epoch.
    pub fn set_clock(&self, now: DateTime<Utc>) {
        self.state.lock().unwrap().clock = Some(now);
    }

    pub fn set_fault_hook(&self, hook: Option<FaultHook>) {
        *self.hook.lock().unwrap() = hook;
    }

    /// Turn eventual consistency on (reads then see each write from `clock + delay(op)` on) or
    /// off (`None`: reads see the truth). Turning it on starts from the truth as it is.
    pub fn set_consistency(&self, delay: Option<DelayFn>) {
        let mut st = self.state.lock().unwrap();
        match (delay, st.view.as_mut()) {
            (None, _) => st.view = None,
            (Some(d), Some(v)) => v.delay = d,
            (Some(d), None) => {
                let seq = st.seq;
                let entities = st
                    .users
                    .iter()
                    .flat_map(|(name, u)| entities(name, u))
                    .map(|(e, v)| (e, (seq, Some(v))))
                    .collect();
                st.view = Some(View {
                    entities,
                    tombstones: false,
                    pending: Vec::new(),
                    delay: d,
                });
            }
        }
    }

    /// Make every write visible to reads now, whatever its delay (IAM has caught up).
    pub fn settle(&self) {
        let mut st = self.state.lock().unwrap();
        let now = st.now();
        if let Some(v) = st.view.as_mut() {
            v.catch_up(now, true);
        }
    }

    /// Writes that reads do not show yet.
    pub fn pending_writes(&self) -> usize {
        let mut st = self.state.lock().unwrap();
        let now = st.now();
        st.view.as_mut().map_or(0, |v| {
            v.catch_up(now, false);
            v.pending.len()
        })
    }

    /// A copy of every user, for assertions: the truth, whatever reads see.
    pub fn users(&self) -> BTreeMap<String, FakeUser> {
        self.state.lock().unwrap().users.clone()
    }

    /// Every user as reads would see them now.
    pub fn visible_users(&self) -> BTreeMap<String, FakeUser> {
        self.state.lock().unwrap().read_users()
    }

    /// Write calls made so far (`Operation user`).
    pub fn writes(&self) -> Vec<String> {
        self.state.lock().unwrap().writes.clone()
    }

    /// Write calls made so far, with the state of the user they targeted.
    pub fn write_records(&self) -> Vec<WriteRecord> {
        self.state.lock().unwrap().records.clone()
    }

    /// The write records made since the last call (and forget them).
    pub fn take_write_records(&self) -> Vec<WriteRecord> {
        std::mem::take(&mut self.state.lock().unwrap().records)
    }

    /// Put a user in place directly (for setting up tests; visible to reads at once).
    pub fn insert_user(&self, name: &str, user: FakeUser) {
        let mut st = self.state.lock().unwrap();
        let before = st.users.insert(name.to_string(), user);
        st.publish("InsertUser", name, before.as_ref(), true);
    }

    /// Make a key directly, bypassing the API (for setting up tests). Returns its id.
    pub fn insert_key(&self, user: &str, status: KeyStatus, created: DateTime<Utc>) -> String {
        let mut st = self.state.lock().unwrap();
        let id = next_key_id(&mut st);
        let before = st.users.get(user).cloned();
        st.users
            .get_mut(user)
            .expect("insert_key: user exists")
            .keys
            .push(FakeKey {
                access_key_id: id.clone(),
                status,
                created,
            });
        st.publish("InsertKey", user, before.as_ref(), true);
        id
    }

    fn fault(&self, op: &'static str, stage: Stage) -> Result<(), IamError> {
        match self
            .hook
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|h| h(op, stage))
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Run one read call: fault before, the read, fault after.
    fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut State) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        self.fault(op, Stage::Before)?;
        let out = f(&mut self.state.lock().unwrap())?;
        self.fault(op, Stage::After)?;
        Ok(out)
    }

    /// Run one write call on `user`: fault before, the effect on the truth (recorded, and
    /// published to the view), fault after.
    fn write<T>(
        &self,
        op: &'static str,
        user: &str,
        f: impl FnOnce(&mut State) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        self.fault(op, Stage::Before)?;
        let out = {
            let mut st = self.state.lock().unwrap();
            st.writes.push(format!("{op} {user}"));
            let before = st.users.get(user).cloned();
            let out = f(&mut st);
            let record = WriteRecord {
                operation: op,
                user: user.to_string(),
                at: st.now(),
                before: before.as_ref().map(UserMark::of),
                after: st.users.get(user).map(UserMark::of),
                took_effect: out.is_ok(),
                refused: out.as_ref().err().map(|e| e.code.clone()),
            };
            st.records.push(record);
            if out.is_ok() {
                st.publish(op, user, before.as_ref(), false);
            }
            out?
        };
        self.fault(op, Stage::After)?;
        Ok(out)
    }
}

fn next_key_id(st: &mut State) -> String {
    st.next_key += 1;
    format!("AKIAFAKE{:012}", st.next_key)
}

fn user_mut<'a>(
    st: &'a mut State,
    op: &'static str,
    user: &str,
) -> Result<&'a mut FakeUser, IamError> {
    st.users.get_mut(user).ok_or_else(|| no_such_user(op, user))
}

fn read_user(st: &mut State, op: &'static str, user: &str) -> Result<FakeUser, IamError> {
    st.read_user(user).ok_or_else(|| no_such_user(op, user))
}

impl Iam for FakeIam {
    async fn list_users(&self, path_prefix: &str) -> Result<Vec<UserSummary>, IamError> {
        self.read("ListUsers", |st| {
            Ok(st
                .read_users()
                .into_iter()
                .filter(|(_, u)| u.path.starts_with(path_prefix))
                .map(|(name, u)| UserSummary { name, path: u.path })
                .collect())
        })
    }

    async fn get_user(&self, user: &str) -> Result<Option<UserSummary>, IamError> {
        self.read("GetUser", |st| {
            Ok(st.read_user(user).map(|u| UserSummary {
                name: user.to_string(),
                path: u.path,
            }))
        })
    }

    async fn list_user_tags(&self, user: &str) -> Result<BTreeMap<String, String>, IamError> {
        self.read("ListUserTags", |st| {
            Ok(read_user(st, "ListUserTags", user)?.tags)
        })
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<KeyMeta>, IamError> {
        self.read("ListAccessKeys", |st| {
            Ok(read_user(st, "ListAccessKeys", user)?
                .keys
                .into_iter()
                .map(|k| KeyMeta {
                    access_key_id: k.access_key_id,
                    status: k.status,
                    created: k.created,
                })
                .collect())
        })
    }

    async fn get_access_key_last_used(&self, access_key_id: &str) -> Result<LastUsed, IamError> {
        self.read("GetAccessKeyLastUsed", |st| {
            let found = st
                .read_users()
                .values()
                .any(|u| u.keys.iter().any(|k| k.access_key_id == access_key_id));
            if found {
                Ok(LastUsed::default())
            } else {
                Err(IamError::new(
                    "GetAccessKeyLastUsed",
                    None,
                    IamErrorKind::NoSuchEntity,
                    "NoSuchEntity",
                    "no such access key",
                ))
            }
        })
    }

    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.read("ListUserPolicies", |st| {
            Ok(read_user(st, "ListUserPolicies", user)?
                .inline_policies
                .into_keys()
                .collect())
        })
    }

    async fn get_user_policy(&self, user: &str, policy_name: &str) -> Result<String, IamError> {
        self.read("GetUserPolicy", |st| {
            read_user(st, "GetUserPolicy", user)?
                .inline_policies
                .remove(policy_name)
                .ok_or_else(|| {
                    err(
                        "GetUserPolicy",
                        user,
                        IamErrorKind::NoSuchEntity,
                        "NoSuchEntity",
                        format!("The user policy with name {policy_name} cannot be found."),
                    )
                })
        })
    }

    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.read("ListAttachedUserPolicies", |st| {
            Ok(read_user(st, "ListAttachedUserPolicies", user)?
                .attached_policies
                .into_iter()
                .collect())
        })
    }

    async fn get_account_authorization_details(&self) -> Result<Vec<UserDetail>, IamError> {
        self.read("GetAccountAuthorizationDetails", |st| {
            Ok(st
                .read_users()
                .into_iter()
                .map(|(name, u)| UserDetail {
                    name,
                    path: u.path,
                    tags: u.tags,
                    inline_policies: u.inline_policies,
                    attached_policies: u.attached_policies.into_iter().collect(),
                })
                .collect())
        })
    }

    async fn create_user(
        &self,
        user: &str,
        path: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), IamError> {
        self.write("CreateUser", user, |st| {
            if st.users.contains_key(user) {
                return Err(err(
                    "CreateUser",
                    user,
                    IamErrorKind::EntityAlreadyExists,
                    "EntityAlreadyExists",
                    format!("User with name {user} already exists."),
                ));
            }
            if tags.len() > MAX_TAGS {
                return Err(too_many_tags("CreateUser", user));
            }
            st.users.insert(
                user.to_string(),
                FakeUser {
                    path: path.to_string(),
                    tags: tags.clone(),
                    ..FakeUser::default()
                },
            );
            Ok(())
        })
    }

    async fn tag_user(&self, user: &str, tags: &BTreeMap<String, String>) -> Result<(), IamError> {
        self.write("TagUser", user, |st| {
            let u = user_mut(st, "TagUser", user)?;
            let added = tags.keys().filter(|k| !u.tags.contains_key(*k)).count();
            if u.tags.len() + added > MAX_TAGS {
                return Err(too_many_tags("TagUser", user));
            }
            u.tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
    }

    async fn untag_user(&self, user: &str, keys: &[String]) -> Result<(), IamError> {
        self.write("UntagUser", user, |st| {
            let u = user_mut(st, "UntagUser", user)?;
            for k in keys {
                u.tags.remove(k);
            }
            Ok(())
        })
    }

    async fn put_user_policy(
        &self,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.write("PutUserPolicy", user, |st| {
            let u = user_mut(st, "PutUserPolicy", user)?;
            u.inline_policies
                .insert(policy_name.to_string(), document.to_string());
            Ok(())
        })
    }

    async fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<(), IamError> {
        self.write("DeleteUserPolicy", user, |st| {
            let u = user_mut(st, "DeleteUserPolicy", user)?;
            u.inline_policies
                .remove(policy_name)
                .map(|_| ())
                .ok_or_else(|| {
                    err(
                        "DeleteUserPolicy",
                        user,
                        IamErrorKind::NoSuchEntity,
                        "NoSuchEntity",
                        format!("The user policy with name {policy_name} cannot be found."),
                    )
                })
        })
    }

    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError> {
        self.write("DetachUserPolicy", user, |st| {
            let u = user_mut(st, "DetachUserPolicy", user)?;
            if u.attached_policies.remove(policy_arn) {
                Ok(())
            } else {
                Err(err(
                    "DetachUserPolicy",
                    user,
                    IamErrorKind::NoSuchEntity,
                    "NoSuchEntity",
                    format!("Policy {policy_arn} was not found."),
                ))
            }
        })
    }

    async fn create_access_key(&self, user: &str) -> Result<NewKey, IamError> {
        self.write("CreateAccessKey", user, |st| {
            let created = st.now();
            let id = next_key_id(st);
            let u = user_mut(st, "CreateAccessKey", user)?;
            if u.keys.len() >= MAX_KEYS {
                return Err(err(
                    "CreateAccessKey",
                    user,
                    IamErrorKind::LimitExceeded,
                    "LimitExceeded",
                    format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}"),
                ));
            }
            u.keys.push(FakeKey {
                access_key_id: id.clone(),
                status: KeyStatus::Active,
                created,
            });
            Ok(NewKey {
                secret: Secret::new(format!("fake-secret-{id}-{}", "s".repeat(12))),
                access_key_id: id,
                created,
            })
        })
    }

    async fn update_access_key(
        &self,
        user: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.write("UpdateAccessKey", user, |st| {
            let u = user_mut(st, "UpdateAccessKey", user)?;
            match u.keys.iter_mut().find(|k| k.access_key_id == access_key_id) {
                Some(k) => {
                    k.status = status;
                    Ok(())
                }
                None => Err(err(
                    "UpdateAccessKey",
                    user,
                    IamErrorKind::NoSuchEntity,
                    "NoSuchEntity",
                    format!("The Access Key with id {access_key_id} cannot be found"),
                )),
            }
        })
    }

    async fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<(), IamError> {
        self.write("DeleteAccessKey", user, |st| {
            let u = user_mut(st, "DeleteAccessKey", user)?;
            let before = u.keys.len();
            u.keys.retain(|k| k.access_key_id != access_key_id);
            if u.keys.len() == before {
                return Err(err(
                    "DeleteAccessKey",
                    user,
                    IamErrorKind::NoSuchEntity,
                    "NoSuchEntity",
                    format!("The Access Key with id {access_key_id} cannot be found"),
                ));
            }
            Ok(())
        })
    }

    async fn delete_user(&self, user: &str) -> Result<(), IamError> {
        self.write("DeleteUser", user, |st| {
            let u = user_mut(st, "DeleteUser", user)?;
            if !u.keys.is_empty()
                || !u.inline_policies.is_empty()
                || !u.attached_policies.is_empty()
            {
                return Err(err(
                    "DeleteUser",
                    user,
                    IamErrorKind::DeleteConflict,
                    "DeleteConflict",
                    "Cannot delete entity, must delete access keys and policies first.".to_string(),
                ));
            }
            st.users.remove(user);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn block<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    pub(super) fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    pub(super) fn managed() -> BTreeMap<String, String> {
        BTreeMap::from([(
            tags::MANAGED_BY_KEY.to_string(),
            tags::MANAGED_BY_VALUE.to_string(),
        )])
    }

    #[test]
    fn two_keys_per_user_inactive_ones_count() {
        let iam = FakeIam::new();
        block(iam.create_user("u", "/workshop/", &managed())).unwrap();
        let a = block(iam.create_access_key("u")).unwrap();
        block(iam.update_access_key("u", &a.access_key_id, KeyStatus::Inactive)).unwrap();
        block(iam.create_access_key("u")).unwrap();
        let e = block(iam.create_access_key("u")).unwrap_err();
        assert!(e.is(IamErrorKind::LimitExceeded), "{e}");
        let e = block(iam.delete_user("u")).unwrap_err();
        assert!(e.is(IamErrorKind::DeleteConflict), "{e}");
        let e = block(iam.create_user("u", "/workshop/", &managed())).unwrap_err();
        assert!(e.is(IamErrorKind::EntityAlreadyExists), "{e}");
    }

    #[test]
    fn tags_per_user_are_limited() {
        let iam = FakeIam::new();
        block(iam.create_user("u", "/", &BTreeMap::new())).unwrap();
        let many: BTreeMap<String, String> = (0..MAX_TAGS)
            .map(|i| (format!("t{i}"), "v".into()))
            .collect();
        block(iam.tag_user("u", &many)).unwrap();
        // re-setting existing tags is fine; one more is not
        block(iam.tag_user("u", &many)).unwrap();
        let one = BTreeMap::from([("x".to_string(), "v".to_string())]);
        let e = block(iam.tag_user("u", &one)).unwrap_err();
        assert!(e.is(IamErrorKind::LimitExceeded), "{e}");
    }

    #[test]
    fn writes_are_recorded_with_the_user_they_touched() {
        let iam = FakeIam::new();
        iam.insert_user("plain", FakeUser::default());
        block(iam.create_user("u", "/workshop/", &managed())).unwrap();
        let _ = block(iam.tag_user("plain", &managed()));
        let _ = block(iam.delete_user("nobody"));
        let r = iam.write_records();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].operation, r[0].before.clone()), ("CreateUser", None));
        assert_eq!(
            r[0].after,
            Some(UserMark {
                path: "/workshop/".into(),
                managed: true
            })
        );
        assert_eq!(r[1].user, "plain");
        assert!(!r[1].before.as_ref().unwrap().managed && r[1].took_effect);
        assert!(!r[2].took_effect);
        assert_eq!(r[2].refused.as_deref(), Some("NoSuchEntity"));
        assert_eq!(iam.take_write_records().len(), 3);
        assert!(iam.write_records().is_empty());
        assert_eq!(iam.writes().len(), 3);
    }

    #[test]
    fn faults_before_and_after_the_effect() {
        let iam = FakeIam::new();
        iam.set_fault_hook(Some(Box::new(|op, stage| {
            (op == "CreateUser").then(|| {
                IamError::new(
                    op,
                    None,
                    IamErrorKind::Transient,
                    "Timeout",
                    format!("{stage:?}"),
                )
            })
        })));
        let e = block(iam.create_user("u", "/", &BTreeMap::new())).unwrap_err();
        assert_eq!(e.message, "Before");
        assert!(iam.users().is_empty());
        iam.set_fault_hook(Some(Box::new(|op, stage| {
            (op == "CreateUser" && stage == Stage::After)
                .then(|| IamError::new(op, None, IamErrorKind::Transient, "Timeout", "after"))
        })));
        let e = block(iam.create_user("u", "/", &BTreeMap::new())).unwrap_err();
        assert_eq!(e.message, "after");
        assert!(iam.users().contains_key("u"));
    }
}
