//! Credentials bundles as AWS Secrets Manager secrets: `<secrets_prefix><workshop-id>`, a JSON
//! object with the variables of the `.env` file, tagged `managed-by = workshop-keys` with the
//! workshop, the key id and the write time (and the bearer token's expiry), so listing never
//! reads a secret out. Secrets under the prefix without the tag are never touched.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use zeroize::Zeroizing;

use super::{Bundle, CredentialStore, Secret, SecretsError};
use crate::bedrock_api_key::BearerToken;
use crate::core::observed::CredentialsFile;
use crate::core::tags;

const SERVICE: &str = "Secrets Manager";
const TAG_WORKSHOP: &str = "workshop";
const TAG_KEY: &str = "access-key-id";
const TAG_WRITTEN: &str = "written";
const TAG_TOKEN_EXPIRES: &str = "bearer-token-expires";
const TOKEN_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK";

/// The secret name of a workshop's bundle; a participant's (`label`) goes below it.
pub fn secret_name(prefix: &str, workshop: &str, label: Option<&str>) -> String {
    match label {
        Some(label) => format!("{prefix}{workshop}/{label}"),
        None => format!("{prefix}{workshop}"),
    }
}

/// The secrets under one prefix.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: Client,
    prefix: String,
}

fn remote(action: &'static str, name: &str, detail: String) -> SecretsError {
    SecretsError::Remote {
        service: SERVICE,
        action,
        name: name.to_string(),
        detail,
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn tag_map(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

fn is_managed(tags_of: &BTreeMap<String, String>) -> bool {
    tags_of.get(tags::MANAGED_BY_KEY).map(String::as_str) == Some(tags::MANAGED_BY_VALUE)
}

impl SecretsManagerStore {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        SecretsManagerStore {
            client,
            prefix: prefix.into(),
        }
    }

    fn name(&self, workshop: &str) -> String {
        secret_name(&self.prefix, workshop, None)
    }

    /// The tags of `name`, `None` when there is no such secret.
    async fn tags_of(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, SecretsError> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => Ok(Some(tag_map(out.tags()))),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(remote(
                "describe",
                name,
                DisplayErrorContext(&e).to_string(),
            )),
        }
    }

    /// Every managed secret under the prefix: (name, tags).
    async fn list(&self) -> Result<Vec<(String, BTreeMap<String, String>)>, SecretsError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let filter = Filter::builder()
                .key(FilterNameStringType::Name)
                .values(&self.prefix)
                .build();
            let page = self
                .client
                .list_secrets()
                .filters(filter)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    remote(
                        "list the secrets under",
                        &self.prefix,
                        DisplayErrorContext(&e).to_string(),
                    )
                })?;
            for s in page.secret_list() {
                let (Some(name), t) = (s.name(), tag_map(s.tags())) else {
                    continue;
                };
                if name.starts_with(&self.prefix) && is_managed(&t) {
                    out.push((name.to_string(), t));
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// A managed bundle's tags and JSON value.
    async fn read(
        &self,
        workshop: &str,
    ) -> Result<Option<(BTreeMap<String, String>, Zeroizing<String>)>, SecretsError> {
        let name = self.name(workshop);
        let Some(t) = self.tags_of(&name).await? else {
            return Ok(None);
        };
        if !is_managed(&t) {
            return Ok(None);
        }
        let value = match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) => Zeroizing::new(out.secret_string().unwrap_or_default().to_string()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(remote("read", &name, DisplayErrorContext(&e).to_string())),
        };
        Ok(Some((t, value)))
    }

    async fn write_bundle(&self, b: &Bundle<'_>) -> Result<PathBuf, SecretsError> {
        let name = self.name(b.workshop);
        let mut vars: BTreeMap<&str, &str> = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID", b.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", b.secret.expose()),
            ("AWS_DEFAULT_REGION", b.region),
        ]);
        if let Some(t) = b.token {
            vars.insert(TOKEN_VAR, t.token.expose());
        }
        let value = Zeroizing::new(serde_json::to_string(&vars).expect("strings serialise"));
        drop(vars);
        let written = crate::time::format_time(b.written);
        let mut bundle_tags = vec![
            tag(tags::MANAGED_BY_KEY, tags::MANAGED_BY_VALUE),
            tag(TAG_WORKSHOP, b.workshop),
            tag(TAG_KEY, b.access_key_id),
            tag(TAG_WRITTEN, &written),
        ];
        if let Some(t) = b.token {
            bundle_tags.push(tag(TAG_TOKEN_EXPIRES, &crate::time::format_time(t.expires)));
        }
        // A secret just force-deleted may keep its name a moment: retry the create briefly.
        for attempt in 0..6u64 {
            match self.tags_of(&name).await? {
                Some(t) if !is_managed(&t) => {
                    return Err(remote(
                        "write",
                        &name,
                        format!(
                            "the secret exists without the tag {}={}, so workshop-keys will not overwrite it; delete or rename it, or set another secrets_prefix",
                            tags::MANAGED_BY_KEY,
                            tags::MANAGED_BY_VALUE
                        ),
                    ))
                }
                Some(_) => return self.replace(&name, &value, bundle_tags, b.token.is_none()).await,
                None => {}
            }
            let created = self
                .client
                .create_secret()
                .name(&name)
                .secret_string(value.as_str())
                .set_tags(Some(bundle_tags.clone()))
                .send()
                .await;
            match created {
                Ok(_) => return Ok(location(&name)),
                Err(e)
                    if matches!(
                        e.code(),
                        Some("ResourceExistsException") | Some("InvalidRequestException")
                    ) && attempt < 5 =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(300 * (attempt + 1))).await;
                }
                Err(e) => return Err(remote("create", &name, DisplayErrorContext(&e).to_string())),
            }
        }
        Err(remote("create", &name, "the name stayed taken".into()))
    }

    /// A new value for an existing managed secret, then its tags: a stale tag names the old
    /// key, which is never claimed from it.
    async fn replace(
        &self,
        name: &str,
        value: &str,
        bundle_tags: Vec<Tag>,
        drop_token_tag: bool,
    ) -> Result<PathBuf, SecretsError> {
        let e = |action, err: String| remote(action, name, err);
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .map_err(|err| e("write", DisplayErrorContext(&err).to_string()))?;
        self.client
            .tag_resource()
            .secret_id(name)
            .set_tags(Some(bundle_tags))
            .send()
            .await
            .map_err(|err| e("tag", DisplayErrorContext(&err).to_string()))?;
        if drop_token_tag {
            self.client
                .untag_resource()
                .secret_id(name)
                .tag_keys(TAG_TOKEN_EXPIRES)
                .send()
                .await
                .map_err(|err| e("untag", DisplayErrorContext(&err).to_string()))?;
        }
        Ok(location(name))
    }

    async fn delete(&self, name: &str) -> Result<(), SecretsError> {
        match self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(remote("delete", name, DisplayErrorContext(&e).to_string())),
        }
    }
}

/// How reports name a secret.
fn location(name: &str) -> PathBuf {
    PathBuf::from(format!("secretsmanager:{name}"))
}

fn bundle_file(t: &BTreeMap<String, String>) -> Option<CredentialsFile> {
    Some(CredentialsFile {
        access_key_id: t.get(TAG_KEY)?.clone(),
        written: t.get(TAG_WRITTEN).and_then(|w| crate::time::parse_time(w)),
    })
}

/// The value of `var` in a bundle's JSON.
fn var(value: &str, name: &str, var: &str) -> Result<Option<Secret>, SecretsError> {
    let parsed: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| remote("read", name, "the secret is not a JSON object".into()))?;
    Ok(parsed
        .get(var)
        .and_then(|v| v.as_str())
        .map(|s| Secret::new(s.to_string())))
}

impl CredentialStore for SecretsManagerStore {
    fn describe(&self, workshop: &str) -> String {
        format!("the secret {}", self.name(workshop))
    }
    fn check(&self) -> BoxFuture<'_, Result<(), SecretsError>> {
        Box::pin(async { Ok(()) })
    }
    fn scan(&self) -> BoxFuture<'_, Result<BTreeMap<String, CredentialsFile>, SecretsError>> {
        Box::pin(async move {
            let mut out = BTreeMap::new();
            for (name, t) in self.list().await? {
                let Some(workshop) = t.get(TAG_WORKSHOP) else {
                    continue;
                };
                if name == self.name(workshop) {
                    if let Some(f) = bundle_file(&t) {
                        out.insert(workshop.clone(), f);
                    }
                }
            }
            Ok(out)
        })
    }
    fn scan_tokens(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>> {
        Box::pin(async move {
            let mut out = BTreeMap::new();
            for (name, t) in self.list().await? {
                let (Some(workshop), Some(expires)) =
                    (t.get(TAG_WORKSHOP), t.get(TAG_TOKEN_EXPIRES))
                else {
                    continue;
                };
                if let (true, Some(at)) = (
                    name == self.name(workshop),
                    crate::time::parse_time(expires),
                ) {
                    out.insert(workshop.clone(), at);
                }
            }
            Ok(out)
        })
    }
    fn write<'a>(&'a self, bundle: Bundle<'a>) -> BoxFuture<'a, Result<PathBuf, SecretsError>> {
        Box::pin(async move { self.write_bundle(&bundle).await })
    }
    fn read_secret<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, Secret)>, SecretsError>> {
        Box::pin(async move {
            let name = self.name(workshop);
            let Some((_, value)) = self.read(workshop).await? else {
                return Ok(None);
            };
            let id = var(&value, &name, "AWS_ACCESS_KEY_ID")?;
            let secret = var(&value, &name, "AWS_SECRET_ACCESS_KEY")?;
            match (id, secret) {
                (Some(id), Some(secret)) => Ok(Some((id.expose().to_string(), secret))),
                _ => Err(remote(
                    "read",
                    &name,
                    "the secret holds no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
                )),
            }
        })
    }
    fn read_token<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<BearerToken>, SecretsError>> {
        Box::pin(async move {
            let name = self.name(workshop);
            let Some((t, value)) = self.read(workshop).await? else {
                return Ok(None);
            };
            let expires = t
                .get(TAG_TOKEN_EXPIRES)
                .and_then(|e| crate::time::parse_time(e));
            Ok(var(&value, &name, TOKEN_VAR)?
                .zip(expires)
                .map(|(token, expires)| BearerToken { token, expires }))
        })
    }
    fn file<'a>(
        &'a self,
        workshop: &'a str,
    ) -> BoxFuture<'a, Result<Option<CredentialsFile>, SecretsError>> {
        Box::pin(async move {
            Ok(self
                .tags_of(&self.name(workshop))
                .await?
                .filter(is_managed)
                .and_then(|t| bundle_file(&t)))
        })
    }
    fn remove_key<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PathBuf>, SecretsError>> {
        Box::pin(async move {
            let mut removed = Vec::new();
            for (name, t) in self.list().await? {
                if t.get(TAG_KEY).map(String::as_str) == Some(access_key_id) {
                    self.delete(&name).await?;
                    removed.push(location(&name));
                }
            }
            Ok(removed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_leave_room_for_participants() {
        assert_eq!(
            secret_name("workshop-keys/", "ws-1", None),
            "workshop-keys/ws-1"
        );
        assert_eq!(
            secret_name("workshop-keys/", "ws-1", Some("alice")),
            "workshop-keys/ws-1/alice"
        );
    }
}
