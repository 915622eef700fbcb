//! `revoke WORKSHOP [--participant LABEL]`: the "key leaked, replace it" path. Deactivates at
//! once every active key the claim tags give to the workshop (or to one participant), and
//! stamps when. Nothing else: the next reconcile hands a live participant a fresh key (the
//! revoked one takes a slot until its hold is over, then it is deleted as usual).

use super::*;
use crate::core::participants;

/// Why a revoke cannot even be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeError {
    UnknownWorkshop(String),
    /// A label the workshop does not have (`known`: its first and last labels, or none).
    UnknownParticipant {
        workshop: String,
        label: String,
        known: Option<(String, String)>,
    },
}

impl std::fmt::Display for RevokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevokeError::UnknownWorkshop(id) => write!(
                f,
                "workshop {id} is not in the schedule: name a workshop the schedule lists (see `workshop-keys list`)"
            ),
            RevokeError::UnknownParticipant {
                workshop,
                label,
                known: Some((first, last)),
            } => write!(
                f,
                "workshop {workshop} has no participant {label}: its participants are {first} to {last}"
            ),
            RevokeError::UnknownParticipant {
                workshop, label, ..
            } => write!(
                f,
                "workshop {workshop} has one shared key and no participants, so there is no participant {label}: drop --participant to revoke the shared key"
            ),
        }
    }
}

/// The claims `revoke` covers: the shared key's `ws`, one participant's `ws/p07`, or all of a
/// workshop's participants.
fn covers(claim: &str, workshop: &str, participant: Option<&str>) -> bool {
    let (w, p) = participants::parse_claim(claim);
    w == workshop && (participant.is_none() || p == participant)
}

/// A plan deactivating, now, every active key claimed by `workshop` (or by its `participant`).
/// Empty when none is live.
pub fn revoke(
    desired: &Desired,
    observed: &Observed,
    workshop: &str,
    participant: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Plan, RevokeError> {
    let windows: Vec<&Window> = desired
        .users
        .values()
        .flatten()
        .chain(&desired.participants)
        .filter(|w| w.workshop == workshop)
        .collect();
    if windows.is_empty() {
        return Err(RevokeError::UnknownWorkshop(workshop.to_string()));
    }
    if let Some(label) = participant {
        if !windows
            .iter()
            .any(|w| w.participant.as_deref() == Some(label))
        {
            let labels: Vec<&str> = windows
                .iter()
                .filter_map(|w| w.participant.as_deref())
                .collect();
            return Err(RevokeError::UnknownParticipant {
                workshop: workshop.to_string(),
                label: label.to_string(),
                known: labels
                    .first()
                    .zip(labels.last())
                    .map(|(a, b)| (a.to_string(), b.to_string())),
            });
        }
    }
    let mut b = Builder::default();
    for u in observed.users.iter().filter(|u| u.is_managed()) {
        for k in &u.keys {
            let id = &k.access_key_id;
            let Some(claim) = u.tags.get(id) else {
                continue;
            };
            let live = k.status == KeyStatus::Active && !observed.deleted.contains_key(id);
            if live && covers(claim, workshop, participant) {
                let stamp = (tags::deactivated_tag(id), crate::time::format_time(now));
                let op = Op::DeactivateKey {
                    access_key_id: id.clone(),
                    tags: BTreeMap::from([stamp]),
                };
                let who = match participants::parse_claim(claim).1 {
                    Some(label) => format!("participant {label}'s key"),
                    None => "the shared key".to_string(),
                };
                let a = Action::new(op, Effect::Delete, &u.name, format!("revoked: {who}"))
                    .claimed(claim);
                b.push(Phase::Deactivate, a);
            }
        }
    }
    Ok(b.finish(now))
}
