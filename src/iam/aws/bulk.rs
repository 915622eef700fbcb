//! `GetAccountAuthorizationDetails` (filter `User`): every user's path, tags and policies in one
//! call per 1,000 users, the bulk read `observe` prefers.

use std::collections::BTreeMap;

use aws_sdk_iam::types::EntityType;

use super::errors::{map_sdk_error, other};
use super::AwsIam;
use crate::iam::{IamError, UserDetail};

const OP: &str = "GetAccountAuthorizationDetails";

/// IAM's largest page for this call.
const MAX_ITEMS: i32 = 1000;

impl AwsIam {
    pub(super) async fn bulk_users(&self) -> Result<Vec<UserDetail>, IamError> {
        tracing::debug!(operation = OP, "iam call");
        let pages: Vec<_> = self
            .client
            .get_account_authorization_details()
            .filter(EntityType::User)
            .max_items(MAX_ITEMS)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error(OP, None, e))?;
        let mut users = Vec::new();
        for page in pages {
            for u in page.user_detail_list.unwrap_or_default() {
                users.push(convert(u)?);
            }
        }
        Ok(users)
    }
}

fn convert(u: aws_sdk_iam::types::UserDetail) -> Result<UserDetail, IamError> {
    let name = u
        .user_name
        .ok_or_else(|| other(OP, None, "user without a name"))?;
    let mut inline_policies = BTreeMap::new();
    for p in u.user_policy_list.unwrap_or_default() {
        let policy_name = p
            .policy_name
            .ok_or_else(|| other(OP, Some(&name), "inline policy without a name"))?;
        let encoded = p.policy_document.unwrap_or_default();
        // URL-encoded like GetUserPolicy's answer.
        let document = urlencoding::decode(&encoded)
            .map(|d| d.into_owned())
            .map_err(|e| {
                other(
                    OP,
                    Some(&name),
                    format!("policy {policy_name} is not URL-encoded UTF-8: {e}"),
                )
            })?;
        inline_policies.insert(policy_name, document);
    }
    Ok(UserDetail {
        path: u.path.unwrap_or_else(|| "/".to_string()),
        tags: u
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect(),
        inline_policies,
        attached_policies: u
            .attached_managed_policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_arn)
            .collect(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::super::canned::*;
    use crate::iam::Iam;

    fn detail(name: &str, policy: &str) -> String {
        format!(
            "<member><UserName>{name}</UserName><Path>/ws/</Path>\
             <Tags><member><Key>managed-by</Key><Value>workshop-keys</Value></member></Tags>\
             <UserPolicyList><member><PolicyName>p</PolicyName>\
             <PolicyDocument>{policy}</PolicyDocument></member></UserPolicyList>\
             <AttachedManagedPolicies><member><PolicyName>m</PolicyName>\
             <PolicyArn>arn:aws:iam::aws:policy/m</PolicyArn></member></AttachedManagedPolicies>\
             </member>"
        )
    }

    #[tokio::test]
    async fn follows_markers_and_decodes_documents() {
        let canned = Canned::new([
            ok(
                "GetAccountAuthorizationDetails",
                &format!(
                    "<UserDetailList>{}</UserDetailList>{}",
                    detail("a", "%7B%22Version%22%3A%222012-10-17%22%7D"),
                    more("m1")
                ),
            ),
            ok(
                "GetAccountAuthorizationDetails",
                &format!(
                    "<UserDetailList>{}</UserDetailList>{DONE}",
                    detail("b", "{}")
                ),
            ),
        ]);
        let users = canned
            .iam()
            .get_account_authorization_details()
            .await
            .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].name, "a");
        assert_eq!(users[0].path, "/ws/");
        assert_eq!(users[0].tags["managed-by"], "workshop-keys");
        assert_eq!(users[0].inline_policies["p"], r#"{"Version":"2012-10-17"}"#);
        assert_eq!(users[0].attached_policies, ["arn:aws:iam::aws:policy/m"]);
        let requests = canned.requests();
        assert_eq!(requests.len(), 2);
        assert!(
            requests[0].contains("Filter.member.1=User"),
            "{}",
            requests[0]
        );
        assert!(requests[0].contains("MaxItems=1000"), "{}", requests[0]);
        assert!(requests[1].contains("Marker=m1"), "{}", requests[1]);
    }
}
