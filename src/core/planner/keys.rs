//! The keys of one user: which stay, which go, which are made, and in what order.

use super::*;

/// What happens to one existing key in this run.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fate {
    /// Stays active.
    Keep,
    /// Active now, deactivated in this run, kept inactive afterwards.
    Deactivate(String),
    /// Inactive, kept until `until`.
    Hold { until: DateTime<Utc> },
    /// Deleted in this run (deactivated first if active).
    Delete(String),
}

pub(super) struct KeyPlan<'a> {
    key: &'a ObservedKey,
    /// The workshop that owns it, when that workshop is scheduled on this user.
    owner: Option<&'a Window>,
    /// The claim tag's value, whatever it names.
    claim: Option<String>,
    fate: Fate,
}

/// A key a live workshop needs.
pub(super) struct Need<'a> {
    window: &'a Window,
    reason: String,
    /// The workshop holds a key already (rotation, or a replacement).
    rotation: bool,
    /// Replaces a key whose secret is lost: the workshop cannot run without it.
    lost_secret: bool,
}

/// What the key stages of one user read: the user, its keys and tags, and the plan's inputs.
pub(super) struct Scope<'a> {
    desired: &'a Desired,
    observed: &'a Observed,
    user: &'a str,
    windows: &'a [Window],
    /// Every key IAM lists on the user.
    listed: &'a [ObservedKey],
    /// The listed keys this tool has not deleted.
    keys: &'a [ObservedKey],
    user_tags: &'a BTreeMap<String, String>,
    now: DateTime<Utc>,
}

impl Scope<'_> {
    /// When an inactive key was deactivated, from our tag.
    fn deactivated_at(&self, k: &ObservedKey) -> Option<DateTime<Utc>> {
        self.user_tags
            .get(&tags::deactivated_tag(&k.access_key_id))
            .and_then(|v| crate::time::parse_time(v))
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn plan_keys(
    b: &mut Builder,
    desired: &Desired,
    observed: &Observed,
    user: &str,
    windows: &[Window],
    existing: Option<&ObservedUser>,
    now: DateTime<Utc>,
) {
    let empty_tags = BTreeMap::new();
    let (listed, user_tags) = match existing {
        Some(u) => (u.keys.as_slice(), &u.tags),
        None => (&[][..], &empty_tags),
    };
    // Keys this tool deleted are gone, even while IAM still lists them.
    let live: Vec<ObservedKey> = listed
        .iter()
        .filter(|k| !observed.deleted.contains_key(&k.access_key_id))
        .cloned()
        .collect();
    let cx = Scope {
        desired,
        observed,
        user,
        windows,
        listed,
        keys: &live,
        user_tags,
        now,
    };
    let mut plans = ownership(b, &cx);
    // Fates before slot accounting.
    for i in 0..plans.len() {
        plans[i].fate = fate(&cx, &plans, i);
    }
    let quarantine = existing.and_then(ObservedUser::quarantine_policy);
    if let Some(arn) = quarantine {
        quarantine_keys(b, &cx, &mut plans, arn);
    }
    stamp_holds(b, &cx, &plans);
    let needs = if quarantine.is_none() {
        needs(b, &cx, &plans)
    } else {
        Vec::new()
    };
    allocate(b, &cx, &mut plans, needs);
    emit(b, &cx, &plans);
    plan_stale_tags(b, observed, user, &live, user_tags, now);
}

/// Ownership: the claim tag, or (when a run stopped between writing the credentials file and
/// tagging) the credentials file that holds the key.
fn ownership<'a>(b: &mut Builder, cx: &Scope<'a>) -> Vec<KeyPlan<'a>> {
    let (observed, windows, user) = (cx.observed, cx.windows, cx.user);
    let window_of = |id: &str| windows.iter().find(|w| w.has_claim(id));
    let mut plans: Vec<KeyPlan> = Vec::new();
    for k in cx.keys {
        let id = &k.access_key_id;
        let claim = cx.user_tags.get(id).cloned();
        let mut owner = claim.as_deref().and_then(window_of);
        if claim.is_none() {
            let adopted = windows.iter().find(|w| {
                observed
                    .files
                    .get(&w.claim())
                    .is_some_and(|f| &f.access_key_id == id)
            });
            if let Some(w) = adopted {
                let op = Op::TagUser {
                    access_key_id: Some(id.clone()),
                    tags: BTreeMap::from([(id.clone(), w.claim())]),
                    untag: Vec::new(),
                };
                let a = Action::new(
                    op,
                    Effect::Change,
                    user,
                    format!(
                        "claim key for workshop {}: its {} holds the key",
                        w.claim(),
                        cx.desired.bundles.kind()
                    ),
                )
                .claimed(&w.claim());
                b.push(Phase::TagUser, a);
                owner = Some(w);
            }
        }
        plans.push(KeyPlan {
            key: k,
            owner,
            claim,
            fate: Fate::Keep,
        });
    }
    plans
}

/// The fate of key `i` by its workshop's window (or its lack of one).
fn fate(cx: &Scope, plans: &[KeyPlan], i: usize) -> Fate {
    let (desired, now) = (cx.desired, cx.now);
    let p = &plans[i];
    let k = p.key;
    let active = k.status == KeyStatus::Active;
    let since = cx.deactivated_at(k).unwrap_or(now);
    match p.owner {
        Some(w) if now >= w.delete_at => Fate::Delete(format!(
            "workshop {} ended {} ago; hold over",
            w.workshop,
            human(now - w.end)
        )),
        Some(w) if now >= w.revoke_at => {
            if active {
                Fate::Deactivate(format!(
                    "workshop {} ended {} ago; grace over",
                    w.workshop,
                    human(now - w.end)
                ))
            } else {
                Fate::Hold { until: w.delete_at }
            }
        }
        Some(w) if now < w.key_from => {
            let why = format!(
                "workshop {} does not need a key until {}",
                w.workshop,
                crate::time::format_time(w.key_from)
            );
            hold_or_delete(active, since + desired.hold, now, why)
        }
        Some(w) if w.hold_only && active => Fate::Deactivate(format!(
            "participant {} holds its key on another pool user; one key per participant",
            w.claim()
        )),
        Some(w) => {
            // Live window: the newest active key is current; older ones go after the
            // rotation overlap.
            let newest = plans
                .iter()
                .filter(|q| {
                    q.key.status == KeyStatus::Active && q.owner.is_some_and(|o| std::ptr::eq(o, w))
                })
                .map(|q| (q.key.created, &q.key.access_key_id))
                .max();
            match newest {
                Some((_, id)) if id == &k.access_key_id => Fate::Keep,
                Some((created, id)) if active => {
                    if now >= created + desired.rotation_overlap {
                        Fate::Deactivate(format!(
                            "replaced by newer key {id} of workshop {}",
                            w.workshop
                        ))
                    } else {
                        Fate::Keep
                    }
                }
                _ => {
                    let until = (since + desired.hold).min(w.delete_at);
                    hold_or_delete(
                        false,
                        until,
                        now,
                        format!("inactive key of workshop {}; hold over", w.workshop),
                    )
                }
            }
        }
        None => {
            let why = match &p.claim {
                Some(other) => format!(
                    "claimed by workshop {other}, which the schedule does not list on this user"
                ),
                None => "not claimed by any scheduled workshop".to_string(),
            };
            hold_or_delete(active, since + desired.hold, now, why)
        }
    }
}

/// AWS quarantined the user: every active key goes now, none comes.
fn quarantine_keys(b: &mut Builder, cx: &Scope, plans: &mut [KeyPlan], arn: &str) {
    let why = quarantine_reason(cx.user, arn);
    for p in plans.iter_mut() {
        if matches!(p.fate, Fate::Keep | Fate::Deactivate(_)) {
            p.fate = Fate::Deactivate(format!(
                "user quarantined by AWS ({}): the key leaked",
                arn.rsplit('/').next().unwrap_or(arn)
            ));
        }
    }
    for w in cx
        .windows
        .iter()
        .filter(|w| w.is_live(cx.now) && !w.hold_only)
    {
        b.blocked.push(Blocked {
            workshop: w.claim(),
            reason: why.clone(),
        });
    }
}

/// Inactive keys we keep for a while need a deactivation time to count the hold from.
fn stamp_holds(b: &mut Builder, cx: &Scope, plans: &[KeyPlan]) {
    for p in plans {
        let stays_inactive = matches!(p.fate, Fate::Hold { .. });
        if stays_inactive && cx.deactivated_at(p.key).is_none() {
            let tag = tags::deactivated_tag(&p.key.access_key_id);
            let op = Op::TagUser {
                access_key_id: Some(p.key.access_key_id.clone()),
                tags: BTreeMap::from([(tag, crate::time::format_time(cx.now))]),
                untag: Vec::new(),
            };
            let a = Action::new(
                op,
                Effect::Change,
                cx.user,
                "record when the inactive key was first seen, to count its hold from",
            );
            b.push(Phase::TagUser, a);
        }
    }
}

/// What live workshops need: a first key, a replacement for a key whose secret is lost, or a
/// rotation. First keys before rotations, earliest first.
fn needs<'a>(b: &mut Builder, cx: &Scope<'a>, plans: &[KeyPlan]) -> Vec<Need<'a>> {
    let (observed, now) = (cx.observed, cx.now);
    let mut needs: Vec<Need> = Vec::new();
    // A hold-only window (a pool user holding a participant's revoked key) asks for nothing.
    for w in cx.windows.iter().filter(|w| w.is_live(now) && !w.hold_only) {
        let current = plans
            .iter()
            .filter(|p| p.fate == Fate::Keep && p.owner.is_some_and(|o| std::ptr::eq(o, w)))
            .map(|p| p.key)
            .max_by_key(|k| (k.created, &k.access_key_id));
        let Some(k) = current else {
            if let Some(pending) = pending_key(observed, &w.claim(), now) {
                b.warnings.push(format!(
                    "workshop {}: key {pending} was created less than {} ago and is not visible in IAM yet; not creating another",
                    w.claim(),
                    human(VISIBILITY_WINDOW)
                ));
                continue;
            }
            let reason = if now < w.start {
                format!("workshop {} starts in {}", w.claim(), human(w.start - now))
            } else {
                format!(
                    "workshop {} is live until {}",
                    w.claim(),
                    crate::time::format_time(w.revoke_at)
                )
            };
            needs.push(Need {
                window: w,
                reason,
                rotation: false,
                lost_secret: false,
            });
            continue;
        };
        match held_key(b, cx, w, k) {
            Held::Replace(need) => needs.push(need),
            Held::Wait => {}
            Held::InHand => needs.extend(rotation(cx, w, k)),
        }
    }
    needs.sort_by_key(|n| (n.rotation, n.window.key_from, n.window.claim()));
    needs
}

/// What a workshop's current key calls for, by its credentials file.
enum Held<'a> {
    /// The secret is here (or about to be): the key may still be due for rotation.
    InHand,
    /// Nothing now: the answer waits for IAM.
    Wait,
    /// The secret is lost: the key is replaced.
    Replace(Need<'a>),
}

fn held_key<'a>(b: &mut Builder, cx: &Scope, w: &'a Window, k: &ObservedKey) -> Held<'a> {
    let (desired, observed, user, user_tags, listed, now) = (
        cx.desired,
        cx.observed,
        cx.user,
        cx.user_tags,
        cx.listed,
        cx.now,
    );
    let files_unknown = observed
        .credentials_problem
        .as_ref()
        .is_some_and(|p| p.unlisted);
    let claim = w.claim();
    let bundles = &desired.bundles;
    let (kind, name, place) = (bundles.kind(), bundles.name(&claim), bundles.place());
    match observed.files.get(&claim) {
        Some(f) if f.access_key_id == k.access_key_id => {
            let delivered = user_tags.contains_key(&tags::delivered_tag(&k.access_key_id));
            if desired.deliver && !delivered {
                b.deliveries.push(Delivery {
                    workshop: claim.clone(),
                    user: user.to_string(),
                    access_key_id: Some(k.access_key_id.clone()),
                    reason: "not handed over yet (an earlier delivery failed)".into(),
                });
            }
            Held::InHand
        }
        // A newer key written moments ago that IAM does not list yet: in hand.
        _ if pending_key(observed, &claim, now).is_some() => Held::InHand,
        // The files could not be listed: nothing is known about the secret.
        _ if files_unknown => Held::InHand,
        // The secret is gone: nobody can run the workshop with this key, so it
        // is replaced like a rotation (the old key goes after the overlap).
        other => {
            let why = match other {
                None => "is missing".to_string(),
                Some(f) => format!("holds another key ({})", f.access_key_id),
            };
            // A key claimed for the workshop that IAM does not list may be one
            // made moments ago (its file lost with the folder): it takes a slot
            // that cannot be counted, so wait for IAM rather than meet the limit.
            let unlisted_claim = user_tags.iter().find(|(id, claim)| {
                w.has_claim(claim)
                    && tags::is_access_key_id(id)
                    && !listed.iter().any(|l| &l.access_key_id == *id)
            });
            if let Some((id, _)) = unlisted_claim {
                b.waiting.push(Blocked {
                    workshop: claim.clone(),
                    reason: format!(
                        "key {} has lost its secret (no {name}{place}), but key {id} claimed for the workshop is not listed in IAM yet; it is replaced once IAM shows that key, or its claim is removed",
                        k.access_key_id
                    ),
                });
                return Held::Wait;
            }
            // Said where `status` shows it too.
            b.warnings.push(format!(
                "workshop {claim}: its live key {} has no {kind}{place} ({name} {why}): its secret is lost, so the key is replaced",
                k.access_key_id
            ));
            Held::Replace(Need {
                window: w,
                reason: format!(
                    "replace key {} of workshop {claim}: its {kind} {name} {why}, so its secret is lost",
                    k.access_key_id
                ),
                rotation: true,
                lost_secret: true,
            })
        }
    }
}

/// A rotation, when the key is old enough and the window still long enough for one. Shared
/// keys only: a participant's pool user may hold another participant's key, so it has no
/// spare slot to rotate into (revoke a participant's key to replace it).
fn rotation<'a>(cx: &Scope, w: &'a Window, k: &ObservedKey) -> Option<Need<'a>> {
    let (desired, now) = (cx.desired, cx.now);
    let rotate_after = desired.rotate_after?;
    if w.participant.is_some() {
        return None;
    }
    let worth_it = now + desired.rotation_overlap < w.revoke_at;
    (now - k.created >= rotate_after && worth_it).then(|| Need {
        window: w,
        reason: format!(
            "rotate key {} of workshop {}: live for {} (rotate_after {})",
            k.access_key_id,
            w.workshop,
            human(now - k.created),
            human(rotate_after)
        ),
        rotation: true,
        lost_secret: false,
    })
}

/// Slots: two keys per user, inactive ones included, and keys this tool made moments ago that
/// IAM does not list yet (they count in IAM's limit already). Each need gets a new key, or
/// waits, or is blocked.
fn allocate(b: &mut Builder, cx: &Scope, plans: &mut [KeyPlan], needs: Vec<Need>) {
    let (desired, observed, user, keys) = (cx.desired, cx.observed, cx.user, cx.keys);
    let settled = settle_creations(observed, user, cx.listed, cx.user_tags, cx.now);
    let invisible = invisible_keys(observed, user, cx.windows, cx.now, &settled);
    b.settled.extend(settled);
    let mut used = plans
        .iter()
        .filter(|p| !matches!(p.fate, Fate::Delete(_)))
        .count()
        + invisible;
    // IAM refuses a 51st tag: a new key needs room for the tags the tool keeps.
    let foreign_tags = cx.user_tags.keys().filter(|t| !tags::is_own(t)).count();
    let tags_full = foreign_tags + tags::MAX_OWN_TAGS > TAGS_PER_USER;
    // IAM never holds more than two keys on a user: a view with more is still catching up
    // with deletions, and no slot can be trusted to be free.
    let lagging = keys.len() > KEYS_PER_USER;
    for need in needs {
        // A new secret needs a safe place; without one the key is not made (nothing else
        // waits for it: revocations go on).
        if let Some(problem) = &observed.credentials_problem {
            b.blocked.push(Blocked {
                workshop: need.window.claim(),
                reason: format!(
                    "{}, but no key is created: {}",
                    need.reason, problem.message
                ),
            });
            continue;
        }
        if tags_full {
            let msg = format!(
                "user {user} carries {foreign_tags} tags that are not workshop-keys' own; with the up to {} the tool keeps for its keys it would pass IAM's limit of {TAGS_PER_USER} tags per user, and tagging a new key would fail: remove at least {} of them",
                tags::MAX_OWN_TAGS,
                foreign_tags + tags::MAX_OWN_TAGS - TAGS_PER_USER
            );
            if need.rotation {
                b.warnings.push(format!(
                    "workshop {}: rotation postponed: {msg}",
                    need.window.claim()
                ));
            } else {
                b.blocked.push(Blocked {
                    workshop: need.window.claim(),
                    reason: msg,
                });
            }
            continue;
        }
        if lagging {
            b.waiting.push(Blocked {
                workshop: need.window.claim(),
                reason: format!(
                    "IAM lists {} keys for user {user}, more than it allows, so its view is still catching up; the next run creates the key",
                    keys.len()
                ),
            });
            continue;
        }
        if used >= KEYS_PER_USER {
            // Free as many slots as needed (more than one when keys IAM does not list yet
            // take some), or delete nothing.
            let short = used + 1 - KEYS_PER_USER;
            let victims = plans
                .iter()
                .filter(|p| matches!(p.fate, Fate::Hold { .. } | Fate::Deactivate(_)))
                .count();
            if victims < short {
                no_slot(b, cx, plans, &need, victims + invisible >= short);
                continue;
            }
            for _ in 0..short {
                let i = pick_victim(plans).expect("victims counted above");
                plans[i].fate = Fate::Delete(format!(
                    "frees a slot for workshop {} (AWS allows two keys per user)",
                    need.window.claim()
                ));
                used -= 1;
            }
        }
        used += 1;
        if desired.deliver {
            b.deliveries.push(Delivery {
                workshop: need.window.claim(),
                user: user.to_string(),
                access_key_id: None,
                reason: "new key".into(),
            });
        }
        b.push(
            Phase::CreateKey,
            Action::new(
                Op::CreateKey {
                    bearer_token_until: None,
                },
                Effect::Create,
                user,
                need.reason,
            )
            .claimed(&need.window.claim()),
        );
    }
}

/// Deactivations and deletions, from the fates.
fn emit(b: &mut Builder, cx: &Scope, plans: &[KeyPlan]) {
    let (user, user_tags) = (cx.user, cx.user_tags);
    for p in plans {
        let claim = p.owner.map(Window::claim).or(p.claim.clone());
        let workshop = claim.as_ref();
        let active = p.key.status == KeyStatus::Active;
        match &p.fate {
            Fate::Keep | Fate::Hold { .. } => {}
            Fate::Deactivate(why) => {
                let mut a = key_action(ActionKind::DeactivateKey, user, p.key, workshop, why);
                // Deactivated before (IAM's view lagging): the hold still counts from then.
                let tag = tags::deactivated_tag(&p.key.access_key_id);
                if let (Some(since), Op::DeactivateKey { tags, .. }) =
                    (user_tags.get(&tag), &mut a.action)
                {
                    tags.insert(tag, since.clone());
                }
                b.push(Phase::Deactivate, a)
            }
            // Every deletion precedes the creates: slot accounting counts deleted keys as
            // gone. Keys deleted here are past their use, so no downtime follows.
            Fate::Delete(why) => {
                if active {
                    b.push(
                        Phase::FreeSlot,
                        key_action(ActionKind::DeactivateKey, user, p.key, workshop, why),
                    );
                }
                b.push(
                    Phase::FreeSlot,
                    key_action(ActionKind::DeleteKey, user, p.key, workshop, why),
                );
            }
        }
    }
}

/// A workshop finds no slot: it waits when only keys IAM does not list yet stand in the way
/// (they show shortly, or their creation was interrupted), is blocked otherwise (a rotation
/// is only postponed).
pub(super) fn no_slot(
    b: &mut Builder,
    cx: &Scope,
    plans: &[KeyPlan],
    need: &Need,
    invisible_only: bool,
) {
    let user = cx.user;
    let workshop = need.window.claim();
    if invisible_only {
        b.waiting.push(Blocked {
            workshop,
            reason: format!(
                "user {user}'s last slot may hold a key made less than {} ago that IAM does not list yet; the key is created once IAM shows it, or after that time",
                human(VISIBILITY_WINDOW)
            ),
        });
        return;
    }
    let holders: Vec<String> = plans
        .iter()
        .filter(|p| !matches!(p.fate, Fate::Delete(_)))
        .map(|p| match p.owner {
            Some(o) => format!(
                "{} (workshop {}, live until {})",
                p.key.access_key_id,
                o.claim(),
                crate::time::format_time(o.revoke_at)
            ),
            None => p.key.access_key_id.clone(),
        })
        .collect();
    let msg = format!(
        "user {user} already holds two keys in use: {}",
        holders.join(", ")
    );
    if need.lost_secret {
        b.blocked.push(Blocked {
            workshop,
            reason: format!(
                "{}, but {msg}; restore the {}, or move a workshop to another user",
                need.reason,
                cx.desired.bundles.kind()
            ),
        });
    } else if need.rotation {
        b.warnings
            .push(format!("workshop {workshop}: rotation postponed: {msg}"));
    } else {
        b.blocked.push(Blocked {
            workshop,
            reason: format!("{msg}; move the workshop to another user or wait until one ends"),
        });
    }
}

/// An active key is deactivated now; an inactive one is deleted once its hold is over.
pub(super) fn hold_or_delete(
    active: bool,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    why: String,
) -> Fate {
    if active {
        Fate::Deactivate(why)
    } else if now >= until {
        Fate::Delete(format!("{why}; hold over"))
    } else {
        Fate::Hold { until }
    }
}

/// The key to delete when a slot is needed: an inactive one first (the one due soonest), then
/// one being deactivated in this run. Never a key that stays active.
pub(super) fn pick_victim(plans: &[KeyPlan]) -> Option<usize> {
    let held = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.fate {
            Fate::Hold { until } => Some((until, &p.key.access_key_id, i)),
            _ => None,
        })
        .min()
        .map(|(_, _, i)| i);
    held.or_else(|| {
        plans
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.fate, Fate::Deactivate(_)))
            .min_by_key(|(_, p)| &p.key.access_key_id)
            .map(|(i, _)| i)
    })
}
