//! Keys IAM does not list yet (eventual consistency) and interrupted creations.

use super::*;

/// How many keys on `user` this tool made in the last `VISIBILITY_WINDOW` that IAM does not
/// list yet: named by a recent credentials file, or by a creation record whose file was never
/// written (the run died, or the answer was lost) and whose key IAM does not list either.
pub(super) fn invisible_keys(
    observed: &Observed,
    user: &str,
    windows: &[Window],
    now: DateTime<Utc>,
    settled: &[Settled],
) -> usize {
    let from_files = windows
        .iter()
        .filter(|w| !w.hold_only && pending_key(observed, &w.claim(), now).is_some())
        .count();
    let from_records = open_creations(observed, user, now)
        .into_iter()
        .filter(|(workshop, _)| !settled.iter().any(|s| s.workshop == **workshop))
        .count();
    from_files + from_records
}

/// Creation records on `user` that may still stand for a key IAM does not list: recent, and
/// not followed by the workshop's credentials file. Oldest first.
pub(super) fn open_creations<'o>(
    observed: &'o Observed,
    user: &str,
    now: DateTime<Utc>,
) -> Vec<(&'o String, &'o PendingCreate)> {
    let mut open: Vec<_> = observed
        .creating
        .iter()
        .filter(|(workshop, c)| {
            let superseded = observed
                .files
                .get(*workshop)
                .and_then(|f| f.written)
                .is_some_and(|t| t >= c.at);
            c.user == user && (now - c.at).abs() < VISIBILITY_WINDOW && !superseded
        })
        .collect();
    open.sort_by_key(|(workshop, c)| (c.at, *workshop));
    open
}

/// Open creation records whose key IAM lists now: a key that was not on the user when the
/// record was written, that no workshop claims and no credentials file names. Nobody holds
/// its secret; it is handled like any unclaimed key. Each such key settles one record.
pub(super) fn settle_creations(
    observed: &Observed,
    user: &str,
    listed: &[ObservedKey],
    user_tags: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Vec<Settled> {
    let mut unexplained: Vec<&ObservedKey> = listed
        .iter()
        .filter(|k| {
            let id = &k.access_key_id;
            !user_tags.contains_key(id) && !observed.files.values().any(|f| &f.access_key_id == id)
        })
        .collect();
    unexplained.sort_by_key(|k| (k.created, &k.access_key_id));
    let mut settled = Vec::new();
    for (workshop, c) in open_creations(observed, user, now) {
        let Some(before) = &c.keys_before else {
            continue;
        };
        if let Some(i) = unexplained
            .iter()
            .position(|k| !before.contains(&k.access_key_id))
        {
            let k = unexplained.remove(i);
            settled.push(Settled {
                workshop: workshop.clone(),
                user: user.to_string(),
                access_key_id: k.access_key_id.clone(),
            });
        }
    }
    settled
}

/// A key this tool wrote for `workshop` recently that IAM does not list yet.
pub(super) fn pending_key(
    observed: &Observed,
    workshop: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    let f = observed.files.get(workshop)?;
    let written = f.written?;
    let recent = (now - written).abs() < VISIBILITY_WINDOW;
    // Listed on any user counts: a workshop moved to another user left its key behind.
    let listed = observed
        .users
        .iter()
        .any(|u| u.key(&f.access_key_id).is_some());
    (recent && !listed).then(|| f.access_key_id.clone())
}
