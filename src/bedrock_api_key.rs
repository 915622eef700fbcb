//! Amazon Bedrock API keys, short-term: a bearer token that participants put in
//! `AWS_BEARER_TOKEN_BEDROCK`. It is a SigV4 *query* presign, made with the `aws-sigv4` crate, of
//! `POST https://bedrock.amazonaws.com/?Action=CallWithBearerToken` (service `bedrock`, one
//! region, signed header `host`, `X-Amz-Expires` at most 43,200 s), without `https://`, with
//! `&Version=1` appended, base64-encoded and prefixed with `bedrock-api-key-` — the format of
//! AWS's reference implementation, `aws-bedrock-token-generator`. AWS itself refuses it after its
//! expiry, or once the key that signed it is deactivated.
//!
//! [`presign`] is pure (the signing time is an input), so that it can be compared with AWS's
//! generator; [`for_window`] picks the life of a workshop's token.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use zeroize::Zeroizing;

use crate::store::files::Secret;

/// The variable the AWS SDKs (boto3, the AWS SDK for Rust) read the token from.
pub const ENV_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK";
/// Every short-term (and long-term) Bedrock API key starts with this.
pub const PREFIX: &str = "bedrock-api-key-";
/// AWS accepts a short-term key for at most 12 hours; the quota lives with the others.
pub use crate::core::limits::BEDROCK_API_KEY_MAX_LIFE as MAX_LIFE;
const HOST: &str = "bedrock.amazonaws.com";
const SERVICE: &str = "bedrock";

/// A token and when AWS stops accepting it. Debug never shows the token; it is wiped on drop.
#[derive(Debug)]
pub struct BearerToken {
    pub token: Secret,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a Bedrock API key lives from 1 s to 43200 s (12 h), not {seconds} s")]
    BadLife { seconds: i64 },
    #[error("no Bedrock API key can be made for a window that ended at {until} by this machine's clock ({now}): tokens are signed with the real clock, not with --at")]
    WindowOver { until: String, now: String },
    #[error("signing the Bedrock API key for region {region:?} failed: {reason}")]
    Sign { region: String, reason: String },
}

/// The token for `access_key_id` and its secret in `region`, signed at `signed_at` (whole
/// seconds count; a fraction is dropped) and valid for `expires_in` (1 s to 12 h, whole
/// seconds). Pure: the same inputs give the same token.
pub fn presign(
    access_key_id: &str,
    secret: &Secret,
    region: &str,
    signed_at: DateTime<Utc>,
    expires_in: Duration,
) -> Result<Secret, TokenError> {
    let seconds = expires_in.as_secs();
    if seconds == 0 || seconds > MAX_LIFE.num_seconds() as u64 || expires_in.subsec_nanos() != 0 {
        return Err(TokenError::BadLife {
            seconds: seconds as i64,
        });
    }
    let failed = |reason: String| TokenError::Sign {
        region: region.to_string(),
        reason,
    };
    // Credentials keep the secret in zeroizing memory of their own.
    let identity =
        Credentials::new(access_key_id, secret.expose(), None, None, "workshop-keys").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(SystemTime::from(signed_at.trunc_subsecs(0)))
        .settings(settings)
        .build()
        .map_err(|e| failed(e.to_string()))?
        .into();
    let url = format!("https://{HOST}/?Action=CallWithBearerToken");
    let request = SignableRequest::new(
        "POST",
        &url,
        std::iter::once(("host", HOST)),
        // botocore (AWS's generator) signs the empty body's hash, not `UNSIGNED-PAYLOAD`.
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| failed(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| failed(e.to_string()))?
        .into_parts();
    let mut presigned = Zeroizing::new(format!("{HOST}/?Action=CallWithBearerToken"));
    for (name, value) in instructions.params() {
        presigned.push('&');
        presigned.push_str(name);
        presigned.push('=');
        presigned.push_str(&urlencoding::encode(value));
    }
    presigned.push_str("&Version=1");
    let encoded = Zeroizing::new(aws_smithy_types::base64::encode(presigned.as_bytes()));
    Ok(Secret::new(format!("{PREFIX}{}", encoded.as_str())))
}

/// How long a token signed at `now` may live for a window that closes at `until` (a
/// workshop's end + grace): `min(12 h, until - now)` in whole seconds, from `now` cut to
/// whole seconds, so that it dies at `until` at the latest. None when `until` is not ahead.
pub fn life(now: DateTime<Utc>, until: DateTime<Utc>) -> Option<TimeDelta> {
    let left = (until - now.trunc_subsecs(0)).num_seconds();
    (left >= 1).then(|| TimeDelta::seconds(left.min(MAX_LIFE.num_seconds())))
}

/// The token for a workshop's key, signed at `now` (the real clock: AWS checks the signing
/// time) and dying at `min(now + 12 h, until)`.
pub fn for_window(
    access_key_id: &str,
    secret: &Secret,
    region: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<BearerToken, TokenError> {
    let Some(life) = life(now, until) else {
        return Err(TokenError::WindowOver {
            until: crate::time::format_time(until),
            now: crate::time::format_time(now),
        });
    };
    let expires_in = life.to_std().expect("positive");
    let token = presign(access_key_id, secret, region, now, expires_in)?;
    Ok(BearerToken {
        token,
        expires: now.trunc_subsecs(0) + life,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn decoded(token: &Secret) -> String {
        let b64 = token.expose().strip_prefix(PREFIX).expect("prefix");
        String::from_utf8(aws_smithy_types::base64::decode(b64).unwrap()).unwrap()
    }

    #[test]
    fn token_is_the_presigned_url_without_scheme_plus_version() {
        let secret = Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into());
        let t = presign(
            ID,
            &secret,
            "eu-central-1",
            at("2026-12-03T09:00:00.750Z"),
            Duration::from_secs(3600),
        )
        .unwrap();
        let url = decoded(&t);
        assert!(
            url.starts_with("bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261203%2Feu-central-1%2Fbedrock%2Faws4_request&X-Amz-Date=20261203T090000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature="),
            "{url}"
        );
        assert!(url.ends_with("&Version=1"), "{url}");
        assert!(!url.contains(secret.expose()));
        // Pure: the same inputs, the same token; another second, another token.
        let again = presign(
            ID,
            &secret,
            "eu-central-1",
            at("2026-12-03T09:00:00Z"),
            Duration::from_secs(3600),
        )
        .unwrap();
        assert_eq!(t.expose(), again.expose());
        let later = presign(
            ID,
            &secret,
            "eu-central-1",
            at("2026-12-03T09:00:01Z"),
            Duration::from_secs(3600),
        )
        .unwrap();
        assert_ne!(t.expose(), later.expose());
        assert!(!format!("{t:?}").contains(PREFIX));
    }

    #[test]
    fn life_is_at_most_twelve_hours_and_ends_with_the_window() {
        let now = at("2026-12-03T09:00:00.400Z");
        assert_eq!(
            life(now, at("2026-12-05T00:00:00Z")),
            Some(TimeDelta::hours(12))
        );
        assert_eq!(
            life(now, at("2026-12-03T10:30:00Z")),
            Some(TimeDelta::minutes(90))
        );
        assert_eq!(life(now, at("2026-12-03T09:00:00Z")), None);
        assert_eq!(life(now, at("2026-12-02T09:00:00Z")), None);
        let secret = Secret::new("x".repeat(40));
        let t = for_window(ID, &secret, "us-east-1", now, at("2026-12-03T10:30:00Z")).unwrap();
        assert_eq!(t.expires, at("2026-12-03T10:30:00Z"));
        assert!(decoded(&t.token).contains("&X-Amz-Expires=5400&"));
        let e = for_window(ID, &secret, "us-east-1", now, at("2026-12-03T08:00:00Z")).unwrap_err();
        assert!(e.to_string().contains("not with --at"), "{e}");
    }

    #[test]
    fn life_outside_one_second_to_twelve_hours_is_refused() {
        let secret = Secret::new("x".repeat(40));
        let now = at("2026-12-03T09:00:00Z");
        for bad in [0, 43_201] {
            assert!(matches!(
                presign(ID, &secret, "us-east-1", now, Duration::from_secs(bad)),
                Err(TokenError::BadLife { .. })
            ));
        }
        for good in [1, 43_200] {
            assert!(presign(ID, &secret, "us-east-1", now, Duration::from_secs(good)).is_ok());
        }
    }
}
