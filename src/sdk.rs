//! AWS SDK configuration: one [`AwsSession`] per AWS account, never a global client.
//!
//! Every AWS client (IAM, Bedrock, and the ones to come) is built from a session, so the profile,
//! region, endpoint and HTTP client are decided once, here. A per-account role would plug in as
//! another way to make a session.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;

/// The SDK configuration for one AWS account; clients are built from it, not shared globally.
#[derive(Debug, Clone)]
pub struct AwsSession {
    config: SdkConfig,
}

impl AwsSession {
    /// The configuration from the standard chains (environment, profile files, SSO, process
    /// credentials, container and instance metadata), with an explicit profile and region when
    /// given. `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_IAM`, ...) are honoured by `aws-config`.
    ///
    /// The region stays unset when nothing configures one: IAM falls back to its signing region,
    /// while regional services need a real one.
    pub async fn load(profile: Option<&str>, region: Option<&str>) -> Self {
        // rustls with ring: no OpenSSL and no aws-lc build on the operator's machine.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        AwsSession {
            config: loader.load().await,
        }
    }

    /// A session over a configuration made elsewhere (tests, or an assumed role's credentials).
    pub fn from_config(config: SdkConfig) -> Self {
        AwsSession { config }
    }

    /// The SDK configuration service clients are built from.
    pub(crate) fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }
}
