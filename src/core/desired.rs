//! What the schedule wants of IAM, independent of the moment: which users exist, which policy
//! they carry, and each workshop's key window. Pure; built from a validated `Schedule`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::core::{participants, policy};
use crate::schedule::backends::StoreKind;
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
    /// The participant label (`p07`) of a workshop with `participants`; `None` for the shared key.
    pub participant: Option<String>,
    /// On a pool user: the window is carried only for a key the user already holds (revoked or
    /// ended), never to ask for a new key there. Always false outside the planner.
    pub hold_only: bool,
    /// On a pool user: every key of this window there is deleted in this run. Carried for the
    /// fate rules only: it sets no deadline (the user's policy then matches the next run's).
    pub departing: bool,
}

impl Window {
    /// The key should be live at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.key_from <= now && now < self.revoke_at
    }

    /// What the claim tag of this window's key holds: `ws`, or `ws/p07` for a participant.
    pub fn claim(&self) -> String {
        participants::claim(&self.workshop, self.participant.as_deref())
    }

    /// `claim()` names this window (without building the string).
    pub fn has_claim(&self, claim: &str) -> bool {
        let (workshop, participant) = participants::parse_claim(claim);
        workshop == self.workshop && participant == self.participant.as_deref()
    }
}

/// The participants' pool (`settings.pool`, `settings.pool_size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub prefix: String,
    pub size: u32,
}

impl Pool {
    /// The pool's user names, first to last.
    pub fn users(&self) -> impl Iterator<Item = String> + '_ {
        (1..=self.size).map(|i| participants::pool_user(&self.prefix, i))
    }

    pub fn contains(&self, user: &str) -> bool {
        participants::pool_index(&self.prefix, self.size, user).is_some()
    }
}

/// How the configured store names a claim's credentials bundle, so that the planner's messages
/// say where a secret is (or is missing) without looking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BundleNames {
    /// `<credentials_dir>/<claim>.env`.
    #[default]
    Files,
    /// The secret `<prefix><claim>` in AWS Secrets Manager.
    SecretsManager { prefix: String },
}

impl BundleNames {
    /// What a bundle is: `credentials file`, `secret`.
    pub fn kind(&self) -> &'static str {
        match self {
            BundleNames::Files => "credentials file",
            BundleNames::SecretsManager { .. } => "secret",
        }
    }

    /// A claim's bundle by name: `ws/p07.env`, `workshop-keys/ws/p07`.
    pub fn name(&self, claim: &str) -> String {
        match self {
            BundleNames::Files => format!("{claim}.env"),
            BundleNames::SecretsManager { prefix } => format!("{prefix}{claim}"),
        }
    }

    /// Where the bundles are, after a name: ` here` (next to the schedule), ` in Secrets
    /// Manager`.
    pub fn place(&self) -> &'static str {
        match self {
            BundleNames::Files => " here",
            BundleNames::SecretsManager { .. } => " in Secrets Manager",
        }
    }

    /// What the operator deletes: `file`, `secret`.
    pub fn noun(&self) -> &'static str {
        match self {
            BundleNames::Files => "file",
            BundleNames::SecretsManager { .. } => "secret",
        }
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
    /// The planner adds the pool users it assigns participants to (see `planner::pool`).
    pub users: BTreeMap<String, Vec<Window>>,
    /// One window per participant of workshops with `participants`, sorted by (key_from,
    /// workshop, label); they live on pool users, assigned at each run.
    pub participants: Vec<Window>,
    pub pool: Pool,
    /// How the store names each claim's bundle (for messages only).
    pub bundles: BundleNames,
}

impl Desired {
    pub fn from_schedule(schedule: &Schedule) -> Desired {
        let s = &schedule.settings;
        let mut users: BTreeMap<String, Vec<Window>> = BTreeMap::new();
        users.entry(s.user.clone()).or_default();
        let mut participants = Vec::new();
        for w in &schedule.workshops {
            let window = Window {
                workshop: w.id.clone(),
                start: w.start,
                end: w.end,
                key_from: w.key_from(),
                revoke_at: w.revoke_at(),
                delete_at: w.revoke_at() + s.hold,
                models: w.models.clone(),
                participant: None,
                hold_only: false,
                departing: false,
            };
            match w.participants {
                Some(n) => {
                    participants.extend(participants::labels(n).into_iter().map(|l| Window {
                        participant: Some(l),
                        ..window.clone()
                    }))
                }
                None => users.entry(w.user.clone()).or_default().push(window),
            }
        }
        for windows in users.values_mut() {
            windows.sort_by(|a, b| (a.key_from, &a.workshop).cmp(&(b.key_from, &b.workshop)));
        }
        participants.sort_by(|a, b| {
            (a.key_from, &a.workshop, &a.participant).cmp(&(
                b.key_from,
                &b.workshop,
                &b.participant,
            ))
        });
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
            participants,
            pool: Pool {
                prefix: s.pool.clone(),
                size: s.pool_size,
            },
            bundles: match s.backends.store {
                StoreKind::Files => BundleNames::Files,
                StoreKind::SecretsManager => BundleNames::SecretsManager {
                    prefix: s.backends.secrets_prefix.clone(),
                },
            },
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
            .filter(|w| w.key_from <= now && !w.departing)
            .map(|w| w.revoke_at)
            .max()
            .unwrap_or(policy::NO_WINDOW_YET)
    }

    /// The inline policy `user` carries at `now`.
    pub fn policy_document(&self, user: &str, now: DateTime<Utc>) -> Value {
        let deadline = self.enforce_deadline.then(|| self.deadline(user, now));
        policy::document_for(&self.policy, deadline, self.bedrock_api_key)
    }

    /// This desired state with the pool users of one run and the participant windows they
    /// carry (see `planner::pool`): deadlines and policies of pool users follow from them.
    pub fn with_pool_users(&self, pool_users: BTreeMap<String, Vec<Window>>) -> Desired {
        let mut d = self.clone();
        for (user, windows) in pool_users {
            d.users.entry(user).or_default().extend(windows);
        }
        d
    }

    /// The window of a claim (`ws`, or `ws/p07`) on a given user.
    pub fn window(&self, user: &str, claim: &str) -> Option<&Window> {
        self.users.get(user)?.iter().find(|w| w.has_claim(claim))
    }

    /// The window of a claim on any user, or among the participants.
    pub fn window_of_claim(&self, claim: &str) -> Option<&Window> {
        self.users
            .values()
            .flatten()
            .chain(&self.participants)
            .find(|w| w.has_claim(claim))
    }
}
