//! What a user sees when their AWS setup is at fault, through the built binary: one to three
//! lines saying what happened and where, then a hint; the SDK's own rendering only at
//! RUST_LOG=debug. No credentials at all, an expired SSO login, an unknown key and a wrong secret
//! (moto with authentication on), and an endpoint nobody listens on.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;

use common::run::Run;
use common::MotoServer;
use tempfile::TempDir;

const SCHEDULE: &str = "[settings]\npath = \"/access-errors/\"\n\n[[workshop]]\nid = \"berlin\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n";

/// A loopback port nobody listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// The binary in a directory of its own with a schedule, an empty HOME, no AWS variables, no
/// profile files, no instance metadata, and an endpoint on loopback, so that nothing can reach
/// AWS whatever the test sets next.
struct Fx {
    dir: TempDir,
    home: TempDir,
}

impl Fx {
    fn new() -> Fx {
        let dir = TempDir::new().expect("temporary directory");
        std::fs::write(dir.path().join("workshops.toml"), SCHEDULE).expect("write the schedule");
        Fx {
            dir,
            home: TempDir::new().expect("temporary HOME"),
        }
    }

    fn command(&self, endpoint: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_workshop-keys"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(&name);
            }
        }
        cmd.env_remove("RUST_LOG")
            .current_dir(self.dir.path())
            .env("HOME", self.home.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.home.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.home.path().join("no-credentials"),
            )
            .env("AWS_ENDPOINT_URL", endpoint);
        cmd
    }

    fn run(&self, mut cmd: Command, args: &[&str]) -> Run {
        cmd.args(args);
        Run::of(cmd, format!("workshop-keys {}", args.join(" ")))
    }
}

/// Exit 1, nothing on stdout, and stderr exactly `first` then at most two more lines, the last
/// one the hint.
fn assert_short_error(run: &Run, first: &str) {
    run.code(1);
    assert!(run.stdout.is_empty(), "stdout is not empty:\n{run}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.first().copied(), Some(first), "first line:\n{run}");
    assert!(
        (2..=4).contains(&lines.len()) && lines.last().unwrap().starts_with("hint: "),
        "not one to three lines and a hint:\n{run}"
    );
    for noise in ["DispatchFailure", "ConnectorError", "{", "WARN"] {
        assert!(
            !run.stderr.contains(noise),
            "SDK rendering {noise:?}:\n{run}"
        );
    }
}

#[test]
fn no_credentials_in_the_chain_names_the_sources_tried() {
    let fx = Fx::new();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let run = fx.run(fx.command(&endpoint), &["plan"]);
    assert_short_error(
        &run,
        "error: no AWS credentials found for iam:GetAccountAuthorizationDetails",
    );
    assert_eq!(
        run.stderr.lines().nth(1),
        Some(
            "  tried: environment variables (AWS_ACCESS_KEY_ID), the profile in ~/.aws/config and \
             ~/.aws/credentials, a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE), container \
             credentials (ECS, EKS), EC2 instance metadata"
        ),
        "{run}"
    );
    run.stderr_has("hint: set AWS_PROFILE (or pass --profile)");

    // The SDK's own account of it is in the debug log.
    let mut cmd = fx.command(&endpoint);
    cmd.env("RUST_LOG", "workshop_keys=debug");
    let debug = fx.run(cmd, &["plan"]);
    debug.code(1).stderr_has("no credentials found in chain");
}

#[test]
fn expired_sso_login_says_aws_sso_login() {
    let fx = Fx::new();
    let aws = fx.home.path().join(".aws");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    let config = aws.join("config");
    std::fs::write(
        &config,
        "[profile workshops]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = Admin\nregion = us-east-1\n\n[sso-session corp]\n\
         sso_start_url = https://example.invalid/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    // The SSO token cache file is named by the SHA-1 of the session name: sha1("corp"). Without
    // a refresh token an expired token fails before any request is sent.
    std::fs::write(
        aws.join("sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
        r#"{"accessToken":"expired-token","expiresAt":"2020-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://example.invalid/start"}"#,
    )
    .unwrap();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut cmd = fx.command(&endpoint);
    cmd.env("AWS_CONFIG_FILE", &config);
    let run = fx.run(cmd, &["plan", "--profile", "workshops"]);
    assert_short_error(
        &run,
        "error: the AWS SSO login of profile workshops has expired or was never made \
         (iam:GetAccountAuthorizationDetails not sent)",
    );
    run.stderr_has("hint: run `aws sso login --profile workshops`, then run workshop-keys again");
}

#[test]
fn unknown_key_and_wrong_secret_are_named() {
    let server = MotoServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin = rt.block_on(server.create_admin(None, "access-errors-admin"));
    server.set_auth(true);
    let fx = Fx::new();

    let mut cmd = fx.command(server.endpoint());
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "not-the-secret-of-any-key-at-all-000000",
        )
        .env("AWS_REGION", common::REGION);
    let run = fx.run(cmd, &["plan"]);
    assert_short_error(
        &run,
        "error: AWS does not know the access key in use (InvalidClientTokenId on iam:GetAccountAuthorizationDetails): \
         deleted, deactivated or mistyped",
    );

    let mut cmd = fx.command(server.endpoint());
    cmd.env("AWS_ACCESS_KEY_ID", admin.access_key_id())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "not-the-secret-of-any-key-at-all-000000",
        )
        .env("AWS_REGION", common::REGION);
    let run = fx.run(cmd, &["plan"]);
    assert_short_error(
        &run,
        "error: AWS rejected the request signature (SignatureDoesNotMatch on iam:GetAccountAuthorizationDetails): the \
         secret key does not match the access key",
    );

    // The admin's own key works: the errors above were about the keys, not the server.
    let mut cmd = fx.command(server.endpoint());
    cmd.env("AWS_ACCESS_KEY_ID", admin.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", admin.secret_access_key())
        .env("AWS_REGION", common::REGION);
    fx.run(cmd, &["plan"]).code(0);
}

#[test]
fn unreachable_endpoint_is_named_with_the_reason() {
    let fx = Fx::new();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut cmd = fx.command(&endpoint);
    cmd.env("AWS_ACCESS_KEY_ID", common::TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", common::TEST_SECRET_ACCESS_KEY);
    let run = fx.run(cmd, &["plan"]);
    assert_short_error(
        &run,
        &format!(
            "error: cannot reach the AWS endpoint {endpoint} for iam:GetAccountAuthorizationDetails (connection refused)"
        ),
    );
}
