//! Amazon Bedrock API keys (`settings.bedrock_api_key`): the token the tool makes against AWS's
//! own generator, and the planner's refresh rule.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use workshop_keys::bedrock_api_key::presign;
use workshop_keys::secrets::Secret;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// AWS's reference generator (`aws-bedrock-token-generator`, installed into `.venv/` by
/// `scripts/setup-emulator`), its clock fixed by patching `botocore.auth.get_current_datetime`.
/// The secret goes on standard input, not in the arguments.
fn generator_token(key: &str, secret: &str, region: &str, signed_at: &str, seconds: u64) -> String {
    const SCRIPT: &str = r#"
import sys, datetime
from unittest import mock
import botocore.auth
from botocore.credentials import Credentials
from aws_bedrock_token_generator import provide_token

class Fixed:
    def __init__(self, credentials):
        self.credentials = credentials
    def load(self):
        return self.credentials

key, region, when, seconds = sys.argv[1:5]
secret = sys.stdin.read()
clock = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ")
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=clock):
    token = provide_token(
        region=region,
        aws_credentials_provider=Fixed(Credentials(key, secret)),
        expiry=datetime.timedelta(seconds=int(seconds)),
    )
sys.stdout.write(token)
"#;
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT, key, region, signed_at, &seconds.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run scripts/setup-emulator",
                python.display()
            )
        });
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "aws-bedrock-token-generator failed (scripts/setup-emulator installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The query parameters of a token, decoded, in their order.
fn params(token: &str) -> Vec<(String, String)> {
    let b64 = token.strip_prefix("bedrock-api-key-").expect("prefix");
    let url = String::from_utf8(aws_smithy_types::base64::decode(b64).unwrap()).unwrap();
    let query = url
        .strip_prefix("bedrock.amazonaws.com/?")
        .unwrap_or_else(|| panic!("not the Bedrock presign: {url}"));
    query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), urlencoding::decode(v).unwrap().into_owned())
        })
        .collect()
}

#[test]
fn the_token_is_byte_for_byte_the_one_aws_generator_makes() {
    let cases = [
        // (region, secret with '/' and '+', signing time, seconds)
        (
            "us-east-1",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "2026-12-03T09:00:00Z",
            1,
        ),
        (
            "eu-central-1",
            "abc+/def+/ghi0123456789ABCDEFGHIJKLMNOPQ",
            "2026-12-03T23:59:59Z",
            3600,
        ),
        (
            "ap-northeast-1",
            "////++++wJalrXUtnFEMIK7MDENGbPxRfiCYEXAM",
            "2026-02-28T12:34:56Z",
            43_200,
        ),
        (
            "us-west-2",
            "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/",
            "2027-01-01T00:00:00Z",
            3600,
        ),
        (
            "eu-west-3",
            "Xy9/aB+cD/eF+gH/iJ+kL/mN+oP/qR+sT/uV+wX/",
            "2026-12-31T23:59:59Z",
            43_200,
        ),
        (
            "us-gov-west-1",
            "plainSecretWithoutSlashOrPlus0123456789a",
            "2026-06-15T06:07:08Z",
            1,
        ),
    ];
    for (region, secret, when, seconds) in cases {
        let key = "AKIAIOSFODNN7EXAMPLE";
        let ours = presign(
            key,
            &Secret::new(secret.to_string()),
            region,
            at(when),
            Duration::from_secs(seconds),
        )
        .unwrap();
        let theirs = generator_token(key, secret, region, when, seconds);
        let what = format!("{region}, signed {when}, {seconds} s");
        assert_eq!(
            params(ours.expose()),
            params(&theirs),
            "{what}: query parameters differ"
        );
        assert!(
            ours.expose() == theirs,
            "{what}: same parameters, other bytes"
        );
        let p = params(&theirs);
        assert!(
            p.contains(&("X-Amz-Expires".into(), seconds.to_string())),
            "{what}"
        );
        assert!(
            p.iter().any(|(k, v)| k == "X-Amz-Credential" && v.contains(&format!("/{region}/bedrock/"))),
            "{what}"
        );
    }
}
