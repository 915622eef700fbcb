//! State in an S3 bucket the operator owns (the tool never creates or deletes buckets): records
//! as small objects under the prefix (`creating/<workshop>`, `deleted/<key id>`, no secrets),
//! and the lock as the object `lock`, a lease: taken with `If-None-Match: *` (exactly one of two
//! racing runs gets it), renewed every third of the lease with `If-Match` on its ETag, released
//! with a conditional delete. A holder that died leaves a lease that lapses; the next run takes
//! it over with `If-Match` on the lapsed lease's ETag, so of two runs doing so one wins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{HeldLock, LockError, StateStore};
use crate::core::observed::PendingCreate;
use crate::core::tags;
use crate::schedule::backends::S3Location;
use crate::store::SecretsError;

const SERVICE: &str = "S3";
const CREATING: &str = "creating/";
const DELETED: &str = "deleted/";
const LOCK: &str = "lock";

/// Records and the lock under one `s3://bucket/prefix`.
#[derive(Debug, Clone)]
pub struct S3State {
    client: Client,
    at: S3Location,
    lease: TimeDelta,
}

/// The lock object's body: who holds it, since when, until when (renewed).
#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    host: String,
    pid: u32,
    taken: DateTime<Utc>,
    expires: DateTime<Utc>,
    /// Makes every body (and so every ETag) unique, even for the same holder and time.
    nonce: String,
}

fn remote(action: &'static str, name: String, detail: String) -> SecretsError {
    SecretsError::Remote {
        service: SERVICE,
        action,
        name,
        detail,
    }
}

/// 412 (the condition failed) or 409 (a conditional write raced another).
fn lost_condition<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    matches!(
        e.code(),
        Some("PreconditionFailed") | Some("ConditionalRequestConflict")
    ) || e
        .raw_response()
        .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "unknown-host".into())
}

impl S3State {
    pub fn new(client: Client, at: S3Location, lease: TimeDelta) -> Self {
        S3State { client, at, lease }
    }

    async fn get(&self, key: &str) -> Result<Option<(String, String)>, SecretsError> {
        let got = self
            .client
            .get_object()
            .bucket(&self.at.bucket)
            .key(key)
            .send()
            .await;
        let out = match got {
            Ok(out) => out,
            Err(e) if e.code() == Some("NoSuchKey") => return Ok(None),
            Err(e) => {
                return Err(remote(
                    "read",
                    self.url(key),
                    DisplayErrorContext(&e).to_string(),
                ))
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| remote("read", self.url(key), e.to_string()))?;
        Ok(Some((
            etag,
            String::from_utf8_lossy(&body.into_bytes()).into_owned(),
        )))
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.at.bucket)
    }

    async fn put(&self, key: &str, body: String) -> Result<(), SecretsError> {
        self.client
            .put_object()
            .bucket(&self.at.bucket)
            .key(key)
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| remote("write", self.url(key), DisplayErrorContext(&e).to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), SecretsError> {
        self.client
            .delete_object()
            .bucket(&self.at.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| remote("delete", self.url(key), DisplayErrorContext(&e).to_string()))
    }

    /// The objects under `<prefix>/<dir>`: (rest of the key, body).
    async fn records(&self, dir: &str) -> Result<Vec<(String, String)>, SecretsError> {
        let prefix = self.at.key(dir);
        let mut keys = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.at.bucket)
                .prefix(&prefix)
                .set_continuation_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    remote(
                        "list",
                        self.url(&prefix),
                        DisplayErrorContext(&e).to_string(),
                    )
                })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => next = Some(t.to_string()),
                _ => break,
            }
        }
        let mut out = Vec::new();
        for key in keys {
            // Gone since the listing: a run before this one ended it.
            if let Some((_, body)) = self.get(&key).await? {
                out.push((key[prefix.len()..].to_string(), body));
            }
        }
        Ok(out)
    }

    async fn scan_creating_now(&self) -> Result<BTreeMap<String, PendingCreate>, SecretsError> {
        Ok(self
            .records(CREATING)
            .await?
            .into_iter()
            .filter_map(|(w, body)| Some((w, super::parse_creating(&body)?)))
            .collect())
    }

    async fn scan_deleted_now(&self) -> Result<BTreeMap<String, DateTime<Utc>>, SecretsError> {
        Ok(self
            .records(DELETED)
            .await?
            .into_iter()
            .filter_map(|(id, body)| Some((id, super::parse_deleted(&body)?)))
            .collect())
    }

    fn lease_body(&self, taken: DateTime<Utc>) -> String {
        let lease = Lease {
            host: host_name(),
            pid: std::process::id(),
            taken,
            expires: Utc::now() + self.lease,
            nonce: format!("{:x}", rand_nonce()),
        };
        serde_json::to_string(&lease).expect("plain data serialises")
    }

    /// One attempt: the lock's new ETag when this run holds it now, `None` when another does.
    async fn try_take(&self) -> Result<Option<String>, LockError> {
        let key = self.at.key(LOCK);
        let unusable = |detail: String| LockError::Unusable {
            location: PathBuf::from(self.url(&key)),
            source: std::io::Error::other(detail),
        };
        let put = self
            .client
            .put_object()
            .bucket(&self.at.bucket)
            .key(&key)
            .if_none_match("*")
            .body(ByteStream::from(self.lease_body(Utc::now()).into_bytes()))
            .send()
            .await;
        match put {
            Ok(out) => return Ok(Some(out.e_tag().unwrap_or_default().to_string())),
            Err(e) if lost_condition(&e) => {}
            Err(e) => return Err(unusable(DisplayErrorContext(&e).to_string())),
        }
        let Some((etag, body)) = self.get(&key).await.map_err(|e| unusable(e.to_string()))? else {
            // Released meanwhile: try again at once.
            return Box::pin(self.try_take()).await;
        };
        let held: Option<Lease> = serde_json::from_str(&body).ok();
        if held.as_ref().is_some_and(|l| l.expires > Utc::now()) {
            return Ok(None);
        }
        let put = self
            .client
            .put_object()
            .bucket(&self.at.bucket)
            .key(&key)
            .if_match(&etag)
            .body(ByteStream::from(self.lease_body(Utc::now()).into_bytes()))
            .send()
            .await;
        match put {
            Ok(out) => {
                let who = held.map_or("an unreadable lease".to_string(), |l| {
                    format!(
                        "{} pid {} (lapsed {})",
                        l.host,
                        l.pid,
                        crate::time::format_time(l.expires)
                    )
                });
                tracing::warn!(lock = %self.url(&key), "took over the lock of {who}");
                Ok(Some(out.e_tag().unwrap_or_default().to_string()))
            }
            Err(e) if lost_condition(&e) || e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(unusable(DisplayErrorContext(&e).to_string())),
        }
    }

    async fn lock_now(&self, timeout: Duration) -> Result<Box<dyn HeldLock>, LockError> {
        let started = Instant::now();
        loop {
            if let Some(etag) = self.try_take().await? {
                return Ok(Box::new(S3Lock::hold(self.clone(), etag)));
            }
            if started.elapsed() >= timeout {
                return Err(LockError::Taken {
                    location: PathBuf::from(self.url(&self.at.key(LOCK))),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Not cryptographic: only tells two lease bodies apart.
fn rand_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
    h.write_u32(std::process::id());
    h.finish()
}

/// A held lease, renewed in the background until released.
struct S3Lock {
    state: S3State,
    etag: Arc<Mutex<String>>,
    renew: tokio::task::JoinHandle<()>,
}

impl S3Lock {
    fn hold(state: S3State, etag: String) -> S3Lock {
        let etag = Arc::new(Mutex::new(etag));
        let every = (state.lease / 3).to_std().unwrap_or(Duration::from_secs(1));
        let (s, e) = (state.clone(), etag.clone());
        let renew = tokio::spawn(async move {
            let taken = Utc::now();
            loop {
                tokio::time::sleep(every).await;
                let key = s.at.key(LOCK);
                let current = e.lock().expect("not poisoned").clone();
                let put = s
                    .client
                    .put_object()
                    .bucket(&s.at.bucket)
                    .key(&key)
                    .if_match(&current)
                    .body(ByteStream::from(s.lease_body(taken).into_bytes()))
                    .send()
                    .await;
                match put {
                    Ok(out) => {
                        *e.lock().expect("not poisoned") =
                            out.e_tag().unwrap_or_default().to_string()
                    }
                    Err(err) if lost_condition(&err) => {
                        tracing::error!(lock = %s.url(&key), "the lock was taken over (this run's lease lapsed); stop overlapping runs, or raise lock_lease");
                        return;
                    }
                    // A blip: the lease still runs for two thirds; try again next time.
                    Err(err) => {
                        tracing::warn!(lock = %s.url(&key), "renewing the lock failed: {}", DisplayErrorContext(&err))
                    }
                }
            }
        });
        S3Lock { state, etag, renew }
    }
}

impl HeldLock for S3Lock {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        let mut this = self;
        Box::pin(async move {
            this.renew.abort();
            let _ = (&mut this.renew).await;
            let key = this.state.at.key(LOCK);
            let etag = this.etag.lock().expect("not poisoned").clone();
            let deleted = this
                .state
                .client
                .delete_object()
                .bucket(&this.state.at.bucket)
                .key(&key)
                .if_match(etag)
                .send()
                .await;
            if let Err(e) = deleted {
                // Someone took it over, or the call failed: the lease lapses on its own.
                tracing::warn!(lock = %this.state.url(&key), "releasing the lock failed ({}); it lapses after lock_lease", DisplayErrorContext(&e));
            }
        })
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        self.renew.abort();
    }
}

impl StateStore for S3State {
    fn begin_create<'a>(
        &'a self,
        workshop: &'a str,
        user: &'a str,
        at: DateTime<Utc>,
        keys_before: Option<&'a BTreeSet<String>>,
    ) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(async move {
            for (old, c) in self.scan_creating_now().await? {
                if super::is_old(c.at, at) {
                    let _ = self.delete(&self.at.key(&format!("{CREATING}{old}"))).await;
                }
            }
            let key = self.at.key(&format!("{CREATING}{workshop}"));
            self.put(&key, super::creating_text(user, at, keys_before))
                .await
        })
    }
    fn end_create<'a>(&'a self, workshop: &'a str) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(async move {
            self.delete(&self.at.key(&format!("{CREATING}{workshop}")))
                .await
        })
    }
    fn record_deleted<'a>(
        &'a self,
        access_key_id: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(async move {
            if !tags::is_access_key_id(access_key_id) {
                return Ok(());
            }
            for (id, when) in self.scan_deleted_now().await? {
                if super::is_old(when, at) {
                    let _ = self.delete(&self.at.key(&format!("{DELETED}{id}"))).await;
                }
            }
            let key = self.at.key(&format!("{DELETED}{access_key_id}"));
            self.put(&key, super::deleted_text(at)).await
        })
    }
    fn scan_creating(
        &self,
    ) -> BoxFuture<'_, Result<BTreeMap<String, PendingCreate>, SecretsError>> {
        Box::pin(self.scan_creating_now())
    }
    fn scan_deleted(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>> {
        Box::pin(self.scan_deleted_now())
    }
    fn lock(&self, timeout: Duration) -> BoxFuture<'_, Result<Box<dyn HeldLock>, LockError>> {
        Box::pin(self.lock_now(timeout))
    }
}
