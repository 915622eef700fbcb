//! What the schedule wants of IAM, independent of the moment: which users exist, which policy
//! they carry, and each workshop's key window. Pure; built from a validated `Schedule`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::core::policy;
use crate::schedule::{PolicyChoice, Schedule};

/// One workshop's key lifetime on its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub workshop: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `start - lead`: the key is created from here on.
    pub key_from: DateTime<Utc>,
    /// `end + grace`: the key is deactivated from here on.
    pub revoke_at: DateTime<Utc>,
    /// `end + grace + hold`: the key is deleted from here on.
    pub delete_at: DateTime<Utc>,
    /// The models the workshop uses (may be empty: none named).
    pub models: Vec<String>,
}

impl Window {
    /// The key should be live at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.key_from <= now && now < self.revoke_at
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The IAM path every managed user lives under.
    pub path: String,
    pub policy: PolicyChoice,
    /// `settings.deadline`: the policy carries the `WorkshopKeysDeadline` statement.
    pub enforce_deadline: bool,
    /// `settings.bedrock_api_key`: credentials files hold a bearer token, the policy allows it.
    pub bedrock_api_key: bool,
    /// `settings.bedrock_api_key_refresh`.
    pub bedrock_api_key_refresh: TimeDelta,
    pub hold: TimeDelta,
    pub rotate_after: Option<TimeDelta>,
    pub rotation_overlap: TimeDelta,
    /// Keys are handed over with `settings.deliver`.
    pub deliver: bool,
    /// Live keys are verified when made (`settings.verify`).
    pub verify: bool,
    /// `settings.check_models`: readiness of live workshops' models is reported.
    pub check_models: bool,
    /// `settings.verify_before_start`.
    pub verify_before_start: TimeDelta,
    /// Every user the schedule names, with its workshops' windows sorted by (key_from, id).
    pub users: BTreeMap<String, Vec<Window>>,
}

impl Desired {
    pub fn from_schedule(schedule: &Schedule) -> Desired {
        let s = &schedule.settings;
        let mut users: BTreeMap<String, Vec<Window>> = BTreeMap::new();
        users.entry(s.user.clone()).or_default();
        for w in &schedule.workshops {
            users.entry(w.user.clone()).or_default().push(Window {
                workshop: w.id.clone(),
                start: w.start,
                end: w.end,
                key_from: w.key_from(),
                revoke_at: w.revoke_at(),
                delete_at: w.revoke_at() + s.hold,
                models: w.models.clone(),
            });
        }
        for windows in users.values_mut() {
            windows.sort_by(|a, b| (a.key_from, &a.workshop).cmp(&(b.key_from, &b.workshop)));
        }
        Desired {
            path: s.path.clone(),
            policy: s.policy.clone(),
            enforce_deadline: s.deadline,
            bedrock_api_key: s.bedrock_api_key,
            bedrock_api_key_refresh: s.bedrock_api_key_refresh,
            hold: s.hold,
            rotate_after: s.rotate_after,
            rotation_overlap: s.rotation_overlap,
            deliver: s.deliver.is_some(),
            verify: s.verify,
            check_models: s.check_models,
            verify_before_start: s.verify_before_start,
            users,
        }
    }

    /// When AWS stops accepting `user`'s keys for Bedrock: the latest `end + grace` among its
    /// workshops whose key window has begun by `now` (it stays there after they end), or long
    /// past while none has. It moves forward only when a window begins, so it is stable
    /// between runs, and the policy carrying it is written before that window's key is made.
    pub fn deadline(&self, user: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        self.users
            .get(user)
            .into_iter()
            .flatten()
            .filter(|w| w.key_from <= now)
            .map(|w| w.revoke_at)
            .max()
            .unwrap_or(policy::NO_WINDOW_YET)
    }

    /// The inline policy `user` carries at `now`.
    pub fn policy_document(&self, user: &str, now: DateTime<Utc>) -> Value {
        let deadline = self.enforce_deadline.then(|| self.deadline(user, now));
        policy::document_for(&self.policy, deadline, self.bedrock_api_key)
    }

    /// The window of a workshop on a given user.
    pub fn window(&self, user: &str, workshop: &str) -> Option<&Window> {
        self.users
            .get(user)?
            .iter()
            .find(|w| w.workshop == workshop)
    }
}
