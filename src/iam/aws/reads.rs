//! Conversions for what IAM reads answer: dates, tags and "N/A" fields.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use chrono::{DateTime, Utc};

use super::errors::other;
use super::IamError;

pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

pub(super) fn tags_of(
    operation: &'static str,
    user: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Tag>, IamError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| other(operation, Some(user), e.to_string()))
        })
        .collect()
}

/// `GetAccessKeyLastUsed` answers "N/A" for a key never used.
pub(super) fn not_na(s: &str) -> Option<String> {
    match s {
        "" | "N/A" => None,
        s => Some(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    //! moto answers everything in one page, so pagination and decoding are tested here against
    //! canned IAM answers.

    use chrono::TimeZone;

    use super::super::canned::*;
    use super::*;
    use crate::core::observed::{KeyStatus, LastUsed};
    use crate::iam::{Iam, KeyMeta, UserSummary};

    #[tokio::test]
    async fn list_users_follows_markers() {
        let canned = Canned::new([
            ok(
                "ListUsers",
                &format!("<Users>{}</Users>{}", user("a", "/ws/"), more("m1")),
            ),
            ok(
                "ListUsers",
                &format!(
                    "<Users>{}{}</Users>{}",
                    user("b", "/ws/"),
                    user("c", "/ws/x/"),
                    more("m2")
                ),
            ),
            ok("ListUsers", &format!("<Users></Users>{DONE}")),
        ]);
        let users = canned.iam().list_users("/ws/").await.unwrap();
        assert_eq!(
            users,
            [
                UserSummary {
                    name: "a".into(),
                    path: "/ws/".into()
                },
                UserSummary {
                    name: "b".into(),
                    path: "/ws/".into()
                },
                UserSummary {
                    name: "c".into(),
                    path: "/ws/x/".into()
                },
            ]
        );
        let requests = canned.requests();
        assert_eq!(requests.len(), 3);
        assert!(requests.iter().all(|r| r.contains("PathPrefix=%2Fws%2F")));
        assert!(!requests[0].contains("Marker="));
        assert!(requests[1].contains("Marker=m1"), "{}", requests[1]);
        assert!(requests[2].contains("Marker=m2"), "{}", requests[2]);
    }

    #[tokio::test]
    async fn list_user_tags_follows_markers() {
        let tag = |k: &str, v: &str| format!("<member><Key>{k}</Key><Value>{v}</Value></member>");
        let canned = Canned::new([
            ok(
                "ListUserTags",
                &format!("<Tags>{}</Tags>{}", tag("a", "1"), more("t1")),
            ),
            ok(
                "ListUserTags",
                &format!("<Tags>{}</Tags>{DONE}", tag("AKIAEXAMPLE000000001", "ws")),
            ),
        ]);
        let tags = canned.iam().list_user_tags("u").await.unwrap();
        assert_eq!(
            tags,
            BTreeMap::from([
                ("a".to_string(), "1".to_string()),
                ("AKIAEXAMPLE000000001".to_string(), "ws".to_string()),
            ])
        );
        assert!(canned.requests()[1].contains("Marker=t1"));
    }

    #[tokio::test]
    async fn list_access_keys_follows_markers_and_converts() {
        let key = |id: &str, status: &str, date: &str| {
            format!(
                "<member><UserName>u</UserName><AccessKeyId>{id}</AccessKeyId>\
                 <Status>{status}</Status><CreateDate>{date}</CreateDate></member>"
            )
        };
        let canned = Canned::new([
            ok(
                "ListAccessKeys",
                &format!(
                    "<AccessKeyMetadata>{}</AccessKeyMetadata>{}",
                    key("AKIAEXAMPLE000000001", "Active", "2025-01-02T03:04:05Z"),
                    more("k1")
                ),
            ),
            ok(
                "ListAccessKeys",
                &format!(
                    "<AccessKeyMetadata>{}</AccessKeyMetadata>{DONE}",
                    key("AKIAEXAMPLE000000002", "Inactive", "2025-01-03T00:00:00.5Z")
                ),
            ),
        ]);
        let keys = canned.iam().list_access_keys("u").await.unwrap();
        assert_eq!(
            keys,
            [
                KeyMeta {
                    access_key_id: "AKIAEXAMPLE000000001".into(),
                    status: KeyStatus::Active,
                    created: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
                },
                KeyMeta {
                    access_key_id: "AKIAEXAMPLE000000002".into(),
                    status: KeyStatus::Inactive,
                    created: Utc.with_ymd_and_hms(2025, 1, 3, 0, 0, 0).unwrap()
                        + chrono::Duration::milliseconds(500),
                },
            ]
        );
        assert!(canned.requests()[1].contains("Marker=k1"));
    }

    #[tokio::test]
    async fn list_policies_follow_markers() {
        let canned = Canned::new([
            ok(
                "ListUserPolicies",
                &format!(
                    "<PolicyNames><member>p1</member></PolicyNames>{}",
                    more("p")
                ),
            ),
            ok(
                "ListUserPolicies",
                &format!("<PolicyNames><member>p2</member></PolicyNames>{DONE}"),
            ),
            ok(
                "ListAttachedUserPolicies",
                &format!(
                    "<AttachedPolicies><member><PolicyName>x</PolicyName>\
                     <PolicyArn>arn:aws:iam::aws:policy/X</PolicyArn></member></AttachedPolicies>{}",
                    more("q")
                ),
            ),
            ok(
                "ListAttachedUserPolicies",
                &format!(
                    "<AttachedPolicies><member><PolicyName>y</PolicyName>\
                     <PolicyArn>arn:aws:iam::123456789012:policy/Y</PolicyArn></member>\
                     </AttachedPolicies>{DONE}"
                ),
            ),
        ]);
        let iam = canned.iam();
        assert_eq!(iam.list_user_policies("u").await.unwrap(), ["p1", "p2"]);
        assert_eq!(
            iam.list_attached_user_policies("u").await.unwrap(),
            [
                "arn:aws:iam::aws:policy/X",
                "arn:aws:iam::123456789012:policy/Y"
            ]
        );
        let requests = canned.requests();
        assert!(requests[1].contains("Marker=p"));
        assert!(requests[3].contains("Marker=q"));
    }

    #[tokio::test]
    async fn get_user_policy_url_decodes() {
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/a.b-v1:0"}]}"#;
        let canned = Canned::new([ok(
            "GetUserPolicy",
            &format!(
                "<UserName>u</UserName><PolicyName>p</PolicyName>\
                 <PolicyDocument>{}</PolicyDocument>",
                urlencoding::encode(document)
            ),
        )]);
        assert_eq!(
            canned.iam().get_user_policy("u", "p").await.unwrap(),
            document
        );
    }

    #[tokio::test]
    async fn last_used_not_applicable_is_none() {
        let canned = Canned::new([
            ok(
                "GetAccessKeyLastUsed",
                "<UserName>u</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName>\
                 <Region>N/A</Region></AccessKeyLastUsed>",
            ),
            ok(
                "GetAccessKeyLastUsed",
                "<UserName>u</UserName><AccessKeyLastUsed>\
                 <LastUsedDate>2025-01-02T03:04:05Z</LastUsedDate>\
                 <ServiceName>bedrock</ServiceName><Region>eu-central-1</Region>\
                 </AccessKeyLastUsed>",
            ),
        ]);
        let iam = canned.iam();
        assert_eq!(
            iam.get_access_key_last_used("AKIAEXAMPLE000000001")
                .await
                .unwrap(),
            LastUsed::default()
        );
        assert_eq!(
            iam.get_access_key_last_used("AKIAEXAMPLE000000001")
                .await
                .unwrap(),
            LastUsed {
                at: Some(Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()),
                service: Some("bedrock".into()),
                region: Some("eu-central-1".into()),
            }
        );
    }

    #[tokio::test]
    async fn create_access_key_wraps_the_secret() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let canned = Canned::new([ok(
            "CreateAccessKey",
            &format!(
                "<AccessKey><UserName>u</UserName><AccessKeyId>AKIAEXAMPLE000000001</AccessKeyId>\
                 <Status>Active</Status><SecretAccessKey>{secret}</SecretAccessKey>\
                 <CreateDate>2025-01-02T03:04:05Z</CreateDate></AccessKey>"
            ),
        )]);
        let key = canned.iam().create_access_key("u").await.unwrap();
        assert_eq!(key.access_key_id, "AKIAEXAMPLE000000001");
        assert!(key.secret.expose() == secret, "secret not passed through");
        assert!(
            !format!("{key:?}").contains(secret),
            "Debug shows the secret"
        );
        assert_eq!(
            key.created,
            Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
        );
    }

    #[test]
    fn dates_convert_with_subseconds() {
        let t = aws_smithy_types::DateTime::from_secs_and_nanos(1_735_787_045, 250_000_000);
        assert_eq!(
            to_chrono(&t),
            Some(
                Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
                    + chrono::Duration::milliseconds(250)
            )
        );
    }
}
