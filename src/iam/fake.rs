//! In-memory IAM that enforces the rules the tool relies on (two keys per user, inactive keys
//! counting, DeleteConflict, NoSuchEntity, EntityAlreadyExists), for unit and simulation tests.
//! A fault hook can fail any call before or after its effect, as a timeout or crash would.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{Iam, IamError, IamErrorKind, KeyMeta, NewKey, UserSummary};
use crate::observed::{KeyStatus, LastUsed};
use crate::secrets::Secret;

/// When a fault hook is asked: before the call takes effect, or after it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Before,
    After,
}

/// Returns an error to inject for (operation, stage), or None to let the call through.
pub type FaultHook = Box<dyn FnMut(&'static str, Stage) -> Option<IamError> + Send>;

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

#[derive(Default)]
struct State {
    users: BTreeMap<String, FakeUser>,
    clock: Option<DateTime<Utc>>,
    next_key: u64,
    /// Write calls made, in order, as `Operation user`.
    writes: Vec<String>,
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

impl FakeIam {
    pub fn new() -> Self {
        Self::default()
    }

    /// The time stamped on new keys (the simulated clock); defaults to the Unix epoch.
    pub fn set_clock(&self, now: DateTime<Utc>) {
        self.state.lock().unwrap().clock = Some(now);
    }

    pub fn set_fault_hook(&self, hook: Option<FaultHook>) {
        *self.hook.lock().unwrap() = hook;
    }

    /// A copy of every user, for assertions.
    pub fn users(&self) -> BTreeMap<String, FakeUser> {
        self.state.lock().unwrap().users.clone()
    }

    /// Write calls made so far (`Operation user`).
    pub fn writes(&self) -> Vec<String> {
        self.state.lock().unwrap().writes.clone()
    }

    /// Put a user in place directly (for setting up tests).
    pub fn insert_user(&self, name: &str, user: FakeUser) {
        self.state
            .lock()
            .unwrap()
            .users
            .insert(name.to_string(), user);
    }

    /// Make a key directly, bypassing the API (for setting up tests). Returns its id.
    pub fn insert_key(&self, user: &str, status: KeyStatus, created: DateTime<Utc>) -> String {
        let mut st = self.state.lock().unwrap();
        let id = next_key_id(&mut st);
        st.users
            .get_mut(user)
            .expect("insert_key: user exists")
            .keys
            .push(FakeKey {
                access_key_id: id.clone(),
                status,
                created,
            });
        id
    }

    fn fault(&self, op: &'static str, stage: Stage) -> Result<(), IamError> {
        match self.hook.lock().unwrap().as_mut().and_then(|h| h(op, stage)) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Run one call: fault before, the effect, fault after.
    fn call<T>(
        &self,
        op: &'static str,
        write: Option<&str>,
        f: impl FnOnce(&mut State) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        self.fault(op, Stage::Before)?;
        let out = {
            let mut st = self.state.lock().unwrap();
            if let Some(user) = write {
                st.writes.push(format!("{op} {user}"));
            }
            f(&mut st)?
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

impl Iam for FakeIam {
    async fn list_users(&self, path_prefix: &str) -> Result<Vec<UserSummary>, IamError> {
        self.call("ListUsers", None, |st| {
            Ok(st
                .users
                .iter()
                .filter(|(_, u)| u.path.starts_with(path_prefix))
                .map(|(name, u)| UserSummary {
                    name: name.clone(),
                    path: u.path.clone(),
                })
                .collect())
        })
    }

    async fn get_user(&self, user: &str) -> Result<Option<UserSummary>, IamError> {
        self.call("GetUser", None, |st| {
            Ok(st.users.get(user).map(|u| UserSummary {
                name: user.to_string(),
                path: u.path.clone(),
            }))
        })
    }

    async fn list_user_tags(&self, user: &str) -> Result<BTreeMap<String, String>, IamError> {
        self.call("ListUserTags", None, |st| {
            Ok(user_mut(st, "ListUserTags", user)?.tags.clone())
        })
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<KeyMeta>, IamError> {
        self.call("ListAccessKeys", None, |st| {
            Ok(user_mut(st, "ListAccessKeys", user)?
                .keys
                .iter()
                .map(|k| KeyMeta {
                    access_key_id: k.access_key_id.clone(),
                    status: k.status,
                    created: k.created,
                })
                .collect())
        })
    }

    async fn get_access_key_last_used(&self, access_key_id: &str) -> Result<LastUsed, IamError> {
        self.call("GetAccessKeyLastUsed", None, |st| {
            let found = st
                .users
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
        self.call("ListUserPolicies", None, |st| {
            Ok(user_mut(st, "ListUserPolicies", user)?
                .inline_policies
                .keys()
                .cloned()
                .collect())
        })
    }

    async fn get_user_policy(&self, user: &str, policy_name: &str) -> Result<String, IamError> {
        self.call("GetUserPolicy", None, |st| {
            user_mut(st, "GetUserPolicy", user)?
                .inline_policies
                .get(policy_name)
                .cloned()
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
        self.call("ListAttachedUserPolicies", None, |st| {
            Ok(user_mut(st, "ListAttachedUserPolicies", user)?
                .attached_policies
                .iter()
                .cloned()
                .collect())
        })
    }

    async fn create_user(
        &self,
        user: &str,
        path: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), IamError> {
        self.call("CreateUser", Some(user), |st| {
            if st.users.contains_key(user) {
                return Err(err(
                    "CreateUser",
                    user,
                    IamErrorKind::EntityAlreadyExists,
                    "EntityAlreadyExists",
                    format!("User with name {user} already exists."),
                ));
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
        self.call("TagUser", Some(user), |st| {
            let u = user_mut(st, "TagUser", user)?;
            u.tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
    }

    async fn untag_user(&self, user: &str, keys: &[String]) -> Result<(), IamError> {
        self.call("UntagUser", Some(user), |st| {
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
        self.call("PutUserPolicy", Some(user), |st| {
            let u = user_mut(st, "PutUserPolicy", user)?;
            u.inline_policies
                .insert(policy_name.to_string(), document.to_string());
            Ok(())
        })
    }

    async fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<(), IamError> {
        self.call("DeleteUserPolicy", Some(user), |st| {
            let u = user_mut(st, "DeleteUserPolicy", user)?;
            u.inline_policies.remove(policy_name).map(|_| ()).ok_or_else(|| {
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
        self.call("DetachUserPolicy", Some(user), |st| {
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
        self.call("CreateAccessKey", Some(user), |st| {
            let created = st.clock.unwrap_or_default();
            let id = next_key_id(st);
            let u = user_mut(st, "CreateAccessKey", user)?;
            if u.keys.len() >= 2 {
                return Err(err(
                    "CreateAccessKey",
                    user,
                    IamErrorKind::LimitExceeded,
                    "LimitExceeded",
                    "Cannot exceed quota for AccessKeysPerUser: 2".to_string(),
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
        self.call("UpdateAccessKey", Some(user), |st| {
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
        self.call("DeleteAccessKey", Some(user), |st| {
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
        self.call("DeleteUser", Some(user), |st| {
            let u = user_mut(st, "DeleteUser", user)?;
            if !u.keys.is_empty() || !u.inline_policies.is_empty() || !u.attached_policies.is_empty()
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
