//! The keys on a test's users as IAM lists them, each with the claim tag that says whose it is:
//! what the participants' emulator tests compare the tool's work with.

use std::collections::BTreeMap;

use aws_sdk_iam::types::StatusType;

/// A key on a user: (user, key id, active, claim tag or "" when unclaimed).
pub type Key = (String, String, bool, String);

/// Every key on the users under `path`, with its claim.
pub async fn keys_under(iam: &aws_sdk_iam::Client, path: &str) -> Vec<Key> {
    let users = iam
        .list_users()
        .path_prefix(path)
        .send()
        .await
        .unwrap()
        .users;
    let mut out = Vec::new();
    for u in users {
        let name = u.user_name;
        let tags: BTreeMap<String, String> = iam
            .list_user_tags()
            .user_name(&name)
            .send()
            .await
            .unwrap()
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect();
        let keys = iam
            .list_access_keys()
            .user_name(&name)
            .send()
            .await
            .unwrap()
            .access_key_metadata;
        for k in keys {
            let id = k.access_key_id.unwrap();
            let claim = tags.get(&id).cloned().unwrap_or_default();
            let active = k.status == Some(StatusType::Active);
            out.push((name.clone(), id, active, claim));
        }
    }
    out
}
