//! Saved plans (`plan --out FILE`, `reconcile --plan FILE`, `show FILE`), as with
//! `terraform plan -out`: the plan plus fingerprints of the schedule file and of the observed
//! state it was computed from. A saved plan is applied as it is, whatever the clock says; it is
//! stale when either fingerprint no longer matches. Holds no secrets (plans never do).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::observed::Observed;
use crate::core::plan::Plan;

pub const FORMAT: &str = "workshop-keys-plan/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    /// The schedule file as given to `plan`.
    pub schedule: PathBuf,
    pub schedule_sha256: String,
    pub observed_sha256: String,
    /// The snapshot the plan was computed from, to say what changed when it is stale.
    pub observed: Observed,
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read plan file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a workshop-keys plan file ({reason}); write one with `workshop-keys plan --out FILE`", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("cannot write plan file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the saved plan {} is stale, nothing was applied:\n{}\nRun `workshop-keys plan --out {}` again and review the new plan", path.display(), changes.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n"), path.display())]
    Stale { path: PathBuf, changes: Vec<String> },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The snapshot without the keys' last-use data, which changes with every call and decides
/// nothing.
fn without_last_use(observed: &Observed) -> Observed {
    let mut o = observed.clone();
    for u in &mut o.users {
        for k in &mut u.keys {
            k.last_used = None;
        }
    }
    o
}

/// The fingerprint of an observed snapshot: its canonical JSON (maps are sorted), without the
/// keys' last-use data.
pub fn observed_fingerprint(observed: &Observed) -> String {
    let o = without_last_use(observed);
    sha256_hex(&serde_json::to_vec(&o).expect("plain data serialises"))
}

impl SavedPlan {
    pub fn new(schedule: &Path, schedule_text: &str, observed: &Observed, plan: Plan) -> Self {
        let observed = without_last_use(observed);
        SavedPlan {
            format: FORMAT.to_string(),
            schedule: schedule.to_path_buf(),
            schedule_sha256: sha256_hex(schedule_text.as_bytes()),
            observed_sha256: observed_fingerprint(&observed),
            observed,
            plan,
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serialises");
        text.push('\n');
        std::fs::write(path, text).map_err(|source| SavedPlanError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| SavedPlanError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if saved.format != FORMAT {
            return Err(SavedPlanError::Format {
                path: path.to_path_buf(),
                reason: format!("format {:?}, expected {FORMAT:?}", saved.format),
            });
        }
        Ok(saved)
    }

    /// Refuse the plan when the schedule or the observed state differ from those it was
    /// computed from, saying what changed.
    pub fn check_fresh(
        &self,
        path: &Path,
        schedule_text: &str,
        observed: &Observed,
    ) -> Result<(), SavedPlanError> {
        let mut changes = Vec::new();
        if sha256_hex(schedule_text.as_bytes()) != self.schedule_sha256 {
            changes.push(format!(
                "the schedule file {} changed since the plan was saved",
                self.schedule.display()
            ));
        }
        if observed_fingerprint(observed) != self.observed_sha256 {
            let diff = describe_changes(&self.observed, observed);
            if diff.is_empty() {
                changes.push("the observed IAM state changed since the plan was saved".into());
            }
            changes.extend(diff);
        }
        if changes.is_empty() {
            Ok(())
        } else {
            Err(SavedPlanError::Stale {
                path: path.to_path_buf(),
                changes,
            })
        }
    }
}

/// What differs between two snapshots, one line per user, key, policy or file.
pub fn describe_changes(before: &Observed, after: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    let users =
        |o: &Observed| -> BTreeSet<String> { o.users.iter().map(|u| u.name.clone()).collect() };
    let (b_users, a_users) = (users(before), users(after));
    for name in b_users.difference(&a_users) {
        out.push(format!("user {name} no longer exists"));
    }
    for name in a_users.difference(&b_users) {
        out.push(format!("user {name} appeared"));
    }
    for name in b_users.intersection(&a_users) {
        let (b, a) = (before.user(name).unwrap(), after.user(name).unwrap());
        let keys = |u: &crate::core::observed::ObservedUser| -> BTreeMap<String, &'static str> {
            u.keys
                .iter()
                .map(|k| (k.access_key_id.clone(), k.status.as_str()))
                .collect()
        };
        let (bk, ak) = (keys(b), keys(a));
        for (id, status) in &bk {
            match ak.get(id) {
                None => out.push(format!("key {id} of user {name} was deleted")),
                Some(s) if s != status => {
                    out.push(format!("key {id} of user {name} is now {s} (was {status})"))
                }
                _ => {}
            }
        }
        for id in ak.keys().filter(|id| !bk.contains_key(*id)) {
            out.push(format!("key {id} of user {name} was created"));
        }
        if b.tags != a.tags {
            out.push(format!("tags of user {name} changed"));
        }
        if b.inline_policies != a.inline_policies || b.attached_policies != a.attached_policies {
            out.push(format!("policies of user {name} changed"));
        }
        if b.path != a.path {
            out.push(format!("user {name} moved to path {}", a.path));
        }
    }
    if before.outside_path != after.outside_path {
        out.push("users outside the managed path changed".into());
    }
    for (w, f) in &before.files {
        match after.files.get(w) {
            None => out.push(format!("credentials file {w}.env was removed")),
            Some(g) if g != f => out.push(format!("credentials file {w}.env changed")),
            _ => {}
        }
    }
    for w in after
        .files
        .keys()
        .filter(|w| !before.files.contains_key(*w))
    {
        out.push(format!("credentials file {w}.env appeared"));
    }
    for (w, expires) in &after.tokens {
        if before.tokens.get(w) != Some(expires) {
            out.push(format!(
                "the bearer token in credentials file {w}.env was renewed"
            ));
        }
    }
    if before.credentials_problem != after.credentials_problem {
        out.push(match &after.credentials_problem {
            Some(p) => format!(
                "the credentials directory cannot take new secrets: {}",
                p.message
            ),
            None => "the credentials directory can take new secrets again".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::observed::CredentialsProblem;

    #[test]
    fn a_credentials_directory_that_broke_or_was_mended_is_named() {
        let fine = Observed::default();
        let broken = Observed {
            credentials_problem: Some(CredentialsProblem {
                message: "credentials directory c is not a directory".into(),
                unlisted: true,
            }),
            ..Observed::default()
        };
        assert_ne!(observed_fingerprint(&fine), observed_fingerprint(&broken));
        assert_eq!(
            describe_changes(&fine, &broken),
            vec!["the credentials directory cannot take new secrets: credentials directory c is not a directory"]
        );
        assert_eq!(
            describe_changes(&broken, &fine),
            vec!["the credentials directory can take new secrets again"]
        );
    }
}
