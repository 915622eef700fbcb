//! Where secrets go: a credentials bundle per workshop, written before its key is claimed.
//! `files` keeps them as `.env` files next to the schedule; `secretsmanager` as secrets in AWS
//! Secrets Manager. Callers see only the [`CredentialStore`] trait.

pub mod files;
pub mod participant_files;
pub mod secretsmanager;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use zeroize::Zeroizing;

use crate::bedrock_api_key::BearerToken;
use crate::core::observed::CredentialsFile;

pub use files::SecretsError;

/// A secret access key. Debug and Display print a placeholder; the bytes are wiped on drop.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The secret itself: only for the credentials bundle and the SDK's credentials provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One workshop's credentials, as handed to a store.
pub struct Bundle<'a> {
    pub workshop: &'a str,
    pub access_key_id: &'a str,
    pub secret: &'a Secret,
    pub region: &'a str,
    /// When the key was written (the plan's time); kept for the visibility rules.
    pub written: DateTime<Utc>,
    pub token: Option<&'a BearerToken>,
}

/// The store of credentials bundles, by workshop id. Listing never reads a secret out.
pub trait CredentialStore: Send + Sync {
    /// How messages name a workshop's bundle: `the credentials file ws.env`, `the secret x/ws`.
    fn describe(&self, workshop: &str) -> String;

    /// Why a new secret must not go to the store now (files: a directory others can read).
    fn check(&self) -> BoxFuture<'_, Result<(), SecretsError>>;

    /// Which key each bundle holds (and when it was written), by workshop id.
    fn scan(&self) -> BoxFuture<'_, Result<BTreeMap<String, CredentialsFile>, SecretsError>>;

    /// When the bearer token of each bundle that holds one expires, by workshop id.
    fn scan_tokens(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>>;

    /// Put a workshop's bundle in place (replacing the one before, whole). Returns where it is.
    fn write<'a>(&'a self, bundle: Bundle<'a>) -> BoxFuture<'a, Result<PathBuf, SecretsError>>;

    /// The key id and secret a workshop's bundle holds.
    fn read_secret<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, Secret)>, SecretsError>>;

    /// The bearer token a workshop's bundle holds, with its expiry.
    fn read_token<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<BearerToken>, SecretsError>>;

    /// What the bundle records without its secret (key id, write time), if it exists.
    fn file<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<CredentialsFile>, SecretsError>>;

    /// Remove every bundle that holds `access_key_id` (a newer key's bundle stays).
    fn remove_key<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PathBuf>, SecretsError>>;
}

impl CredentialStore for files::CredentialsDir {
    fn describe(&self, workshop: &str) -> String {
        format!("the credentials file {workshop}.env")
    }
    fn check(&self) -> BoxFuture<'_, Result<(), SecretsError>> {
        Box::pin(async move { files::CredentialsDir::check(self) })
    }
    fn scan(&self) -> BoxFuture<'_, Result<BTreeMap<String, CredentialsFile>, SecretsError>> {
        Box::pin(async move { files::CredentialsDir::scan(self) })
    }
    fn scan_tokens(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>> {
        Box::pin(async move { files::CredentialsDir::scan_tokens(self) })
    }
    fn write<'a>(&'a self, b: Bundle<'a>) -> BoxFuture<'a, Result<PathBuf, SecretsError>> {
        Box::pin(async move {
            self.write_with_token(
                b.workshop,
                b.access_key_id,
                b.secret,
                b.region,
                b.written,
                b.token,
            )
        })
    }
    fn read_secret<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, Secret)>, SecretsError>> {
        Box::pin(async move { files::CredentialsDir::read_secret(self, workshop) })
    }
    fn read_token<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<BearerToken>, SecretsError>> {
        Box::pin(async move { files::CredentialsDir::read_token(self, workshop) })
    }
    fn file<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<CredentialsFile>, SecretsError>> {
        Box::pin(async move { files::CredentialsDir::file(self, workshop) })
    }
    fn remove_key<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PathBuf>, SecretsError>> {
        Box::pin(async move { files::CredentialsDir::remove_key(self, access_key_id) })
    }
}
