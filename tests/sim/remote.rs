//! Fakes of the AWS store (Secrets Manager) and state (S3) for the simulation: each wraps the
//! local implementation (whose files stay the simulation's truth) and, before or after the
//! call, injects what a remote service does wrong: throttling, a timeout (the write may have
//! happened, the answer is lost), a conditional-write conflict.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use workshop_keys::bedrock_api_key::BearerToken;
use workshop_keys::core::observed::{CredentialsFile, PendingCreate};
use workshop_keys::state::{HeldLock, LockError, StateStore};
use workshop_keys::store::{Bundle, CredentialStore, Secret, SecretsError};

/// A fault for one call: the error, and whether the call still took effect.
pub struct Injected {
    pub code: &'static str,
    pub after: bool,
}

/// Asked before every call with the operation's name and whether it writes.
pub type Hook = Arc<dyn Fn(&'static str, bool) -> Option<Injected> + Send + Sync>;

fn error(service: &'static str, op: &'static str, code: &str) -> SecretsError {
    SecretsError::Remote {
        service,
        action: op,
        name: "(simulated)".into(),
        detail: format!("{code} (injected)"),
    }
}

/// Run `call` under the hook's fault: not at all (fault before), or with its answer lost.
async fn faulty<T>(
    hook: &Hook,
    service: &'static str,
    op: &'static str,
    writes: bool,
    call: impl std::future::Future<Output = Result<T, SecretsError>>,
) -> Result<T, SecretsError> {
    match hook(op, writes) {
        None => call.await,
        Some(Injected { code, after: false }) => Err(error(service, op, code)),
        Some(Injected { code, after: true }) => {
            let _ = call.await;
            Err(error(service, op, code))
        }
    }
}

pub struct FakeSecretsManager<S> {
    pub inner: S,
    pub hook: Hook,
}

const SM: &str = "Secrets Manager (fake)";
const S3: &str = "S3 (fake)";

impl<S: CredentialStore> CredentialStore for FakeSecretsManager<S> {
    fn describe(&self, workshop: &str) -> String {
        format!("the secret workshop-keys/{workshop}")
    }
    fn check(&self) -> BoxFuture<'_, Result<(), SecretsError>> {
        self.inner.check()
    }
    fn scan(&self) -> BoxFuture<'_, Result<BTreeMap<String, CredentialsFile>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "ListSecrets",
            false,
            self.inner.scan(),
        ))
    }
    fn scan_tokens(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "ListSecrets",
            false,
            self.inner.scan_tokens(),
        ))
    }
    fn write<'a>(&'a self, bundle: Bundle<'a>) -> BoxFuture<'a, Result<PathBuf, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "PutSecretValue",
            true,
            self.inner.write(bundle),
        ))
    }
    fn read_secret<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, Secret)>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "GetSecretValue",
            false,
            self.inner.read_secret(workshop),
        ))
    }
    fn read_token<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<BearerToken>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "GetSecretValue",
            false,
            self.inner.read_token(workshop),
        ))
    }
    fn file<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<CredentialsFile>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "DescribeSecret",
            false,
            self.inner.file(workshop),
        ))
    }
    fn remove_key<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PathBuf>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            SM,
            "DeleteSecret",
            true,
            self.inner.remove_key(access_key_id),
        ))
    }
}

pub struct FakeS3State<S> {
    pub inner: S,
    pub hook: Hook,
}

impl<S: StateStore> StateStore for FakeS3State<S> {
    fn begin_create<'a>(
        &'a self,
        workshop: &'a str,
        user: &'a str,
        at: DateTime<Utc>,
        keys_before: Option<&'a BTreeSet<String>>,
    ) -> BoxFuture<'a, Result<(), SecretsError>> {
        let call = self.inner.begin_create(workshop, user, at, keys_before);
        Box::pin(faulty(&self.hook, S3, "PutObject", true, call))
    }
    fn end_create<'a>(&'a self, workshop: &'a str) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            S3,
            "DeleteObject",
            true,
            self.inner.end_create(workshop),
        ))
    }
    fn record_deleted<'a>(
        &'a self,
        access_key_id: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), SecretsError>> {
        let call = self.inner.record_deleted(access_key_id, at);
        Box::pin(faulty(&self.hook, S3, "PutObject", true, call))
    }
    fn scan_creating(
        &self,
    ) -> BoxFuture<'_, Result<BTreeMap<String, PendingCreate>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            S3,
            "ListObjectsV2",
            false,
            self.inner.scan_creating(),
        ))
    }
    fn scan_deleted(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>> {
        Box::pin(faulty(
            &self.hook,
            S3,
            "ListObjectsV2",
            false,
            self.inner.scan_deleted(),
        ))
    }
    fn lock(&self, timeout: Duration) -> BoxFuture<'_, Result<Box<dyn HeldLock>, LockError>> {
        self.inner.lock(timeout)
    }
}
