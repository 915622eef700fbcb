//! Test harness: moto's server as the IAM API, shared by the integration test binaries.
//!
//! - [`shared()`] starts one moto server per test binary on first use; it lives as long as the
//!   test process (a watcher kills it when the process is gone, even after a panic or abort).
//! - [`MotoServer::start()`] starts an extra, private server (e.g. for authentication tests,
//!   since the auth mode is server-wide); it is killed when the guard is dropped.
//! - [`account()`] gives a test its own moto account (random 12-digit id sent as the
//!   `x-moto-account-id` header) on the shared server, with a raw SDK client and an `AwsIam`.
//! - Tests that drive the built binary cannot send that header: they use [`unique_suffix()`] /
//!   [`unique_path()`] for their IAM names, and [`MotoServer::command()`] or
//!   [`MotoServer::apply_env()`] to point the binary at moto (and never at real AWS).
//!
//! The server is `$WORKSHOP_KEYS_MOTO_SERVER` or `<crate>/.venv/bin/moto_server`. Its output goes to
//! `target/tmp/moto/*.log`. A missing or broken moto makes the tests panic: they never skip.

#![allow(dead_code)]

pub mod bedrock;
pub mod claims;
pub mod http;
pub mod observed;
pub mod proxy;
pub mod run;
pub mod server;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aws_credential_types::Credentials;
use aws_sdk_iam::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_iam::config::{
    BehaviorVersion, ConfigBag, Intercept, Region, RuntimeComponents, SharedHttpClient,
};
use aws_sdk_iam::error::BoxError;
use aws_smithy_http_client::tls;

use workshop_keys::iam::aws::AwsIam;

#[allow(unused_imports)]
pub use server::{moto_server_path, MotoServer, MOTO_VERSION};

/// The header moto reads to put a request in an account of its own.
pub const ACCOUNT_HEADER: &str = "x-moto-account-id";
/// The region everything in the tests runs in.
pub const REGION: &str = "us-east-1";
/// Credentials moto accepts while authentication is off.
pub const TEST_ACCESS_KEY_ID: &str = "testing";
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";

/// Environment variables that could send the binary to real AWS or change how it finds
/// credentials, endpoints or regions: removed before each run against moto.
pub const AWS_ENV_TO_CLEAR: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_STS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_SDK_UA_APP_ID",
];

/// The moto server shared by every test in this test binary, started on first use.
pub fn shared() -> &'static MotoServer {
    // A failed start is remembered, so that the other tests fail at once with the same message.
    static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        std::panic::catch_unwind(MotoServer::start).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "moto_server did not start".to_string())
        })
    });
    match started {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    }
}

/// A fresh moto account on the shared server.
pub fn account() -> TestAccount {
    shared().account()
}

/// A test's own moto account: every request of `client` and `iam` carries its id.
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// 12 digits.
    pub account_id: String,
    pub endpoint: String,
    /// The raw SDK client, for setup the `Iam` trait does not offer (e.g. `CreatePolicy`).
    pub client: aws_sdk_iam::Client,
    pub iam: AwsIam,
}

impl TestAccount {
    /// The ARN of a managed policy `name` in this account.
    pub fn policy_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:policy/{name}", self.account_id)
    }
}

impl MotoServer {
    /// A fresh account on this server.
    pub fn account(&self) -> TestAccount {
        let account_id = fresh_account_id();
        let client = self.iam_client(Some(&account_id), test_credentials());
        TestAccount {
            endpoint: self.endpoint().to_string(),
            iam: AwsIam::from_client(client.clone()),
            client,
            account_id,
        }
    }

    /// An IAM client for this server with `credentials`, in `account_id` (sent as
    /// `x-moto-account-id`) or moto's default account 123456789012.
    pub fn iam_client(
        &self,
        account_id: Option<&str>,
        credentials: Credentials,
    ) -> aws_sdk_iam::Client {
        let mut builder = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(credentials)
            .http_client(http_client());
        if let Some(id) = account_id {
            builder = builder.interceptor(AccountHeader::new(id));
        }
        aws_sdk_iam::Client::from_conf(builder.build())
    }

    /// An `SdkConfig` pointing at this server (region us-east-1), for other services' clients
    /// (e.g. `aws_sdk_bedrockruntime::Client::new`). Add [`AccountHeader`] to the service
    /// config to pick an account; with authentication on, a key is routed to its own account.
    pub fn sdk_config(&self, credentials: Credentials) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .http_client(http_client())
            .build()
    }

    /// Creates user `name` with an allow-everything inline policy and an access key, while
    /// authentication is off, and returns the key: the credentials for calls once it is on.
    pub async fn create_admin(&self, account_id: Option<&str>, name: &str) -> Credentials {
        let client = self.iam_client(account_id, test_credentials());
        client
            .create_user()
            .user_name(name)
            .send()
            .await
            .expect("CreateUser for the admin");
        client
            .put_user_policy()
            .user_name(name)
            .policy_name("admin")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            )
            .send()
            .await
            .expect("PutUserPolicy for the admin");
        let key = client
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .expect("CreateAccessKey for the admin")
            .access_key
            .expect("CreateAccessKey answer without a key");
        Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "moto-admin",
        )
    }

    /// Environment for the built binary: endpoint, test credentials, region. Apply together
    /// with removing [`AWS_ENV_TO_CLEAR`] (see [`MotoServer::apply_env`]).
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let nowhere = format!("{}/no-such-aws-config", env!("CARGO_TARGET_TMPDIR"));
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint().to_string()),
            ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID.to_string()),
            ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY.to_string()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_CONFIG_FILE", nowhere.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }

    /// Points `cmd` at this server with the test credentials, and clears every variable that
    /// could reach real AWS. Override `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` afterwards
    /// for authentication tests.
    pub fn apply_env<'a>(
        &self,
        cmd: &'a mut std::process::Command,
    ) -> &'a mut std::process::Command {
        for name in AWS_ENV_TO_CLEAR {
            cmd.env_remove(name);
        }
        // Text output fits COLUMNS when set; tests read it unwrapped unless they set it.
        cmd.env_remove("COLUMNS");
        for (name, value) in self.env_vars() {
            cmd.env(name, value);
        }
        cmd
    }

    /// The built `workshop-keys` binary, with [`MotoServer::apply_env`] applied.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_workshop-keys"));
        self.apply_env(&mut cmd);
        cmd
    }

    /// `workshop-keys COMMAND --schedule SCHEDULE ARGS...` against this server, without
    /// `RUST_LOG` (the output is the user's), kept for assertions.
    pub fn run(&self, schedule: &std::path::Path, command: &str, args: &[&str]) -> run::Run {
        let mut cmd = self.command();
        cmd.arg(command)
            .arg("--schedule")
            .arg(schedule)
            .args(args)
            .env_remove("RUST_LOG");
        run::Run::of(cmd, format!("workshop-keys {command} {}", args.join(" ")))
    }
}

/// Credentials moto accepts while authentication is off.
pub fn test_credentials() -> Credentials {
    Credentials::new(
        TEST_ACCESS_KEY_ID,
        TEST_SECRET_ACCESS_KEY,
        None,
        None,
        "moto-test",
    )
}

/// The HTTP client the product uses (rustls on ring); it speaks plain HTTP to moto as well.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Adds `x-moto-account-id` to every request, before signing.
#[derive(Debug, Clone)]
pub struct AccountHeader {
    account_id: String,
}

impl AccountHeader {
    pub fn new(account_id: impl Into<String>) -> Self {
        AccountHeader {
            account_id: account_id.into(),
        }
    }
}

impl Intercept for AccountHeader {
    fn name(&self) -> &'static str {
        "MotoAccountHeader"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert(ACCOUNT_HEADER, self.account_id.clone());
        Ok(())
    }
}

fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.finish()
    })
}

fn next_counter() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A random 12-digit account id, different for every call in this process.
pub fn fresh_account_id() -> String {
    const SPAN: u64 = 900_000_000_000;
    let n = (process_seed() % SPAN + next_counter()) % SPAN;
    format!("{}", 100_000_000_000 + n)
}

/// A short suffix unique to this call (and, with overwhelming probability, to this run):
/// lower-case letters, digits and '-', valid in IAM user names and paths.
pub fn unique_suffix() -> String {
    format!("{:08x}-{}", process_seed() as u32, next_counter())
}

/// An IAM path of its own for a test that drives the binary: `/<label>-<suffix>/`.
pub fn unique_path(label: &str) -> String {
    format!("/{label}-{}/", unique_suffix())
}
