//! Handing keys over (`settings.deliver`) and telling people (`settings.notify`): run the
//! configured command with a JSON document on its standard input. The secret goes only there:
//! never into arguments, the environment, logs or error messages (the command's own output is
//! scrubbed of it before it is shown).

use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use zeroize::Zeroizing;

use crate::apply::Report;
use crate::iam::Iam;
use crate::plan::Plan;
use crate::schedule::Schedule;
use crate::secrets::CredentialsDir;
use crate::tags;

/// A hook that takes longer is killed and counts as failed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// What happened to one delivery.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryResult {
    pub workshop: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The document a `deliver` command reads on standard input.
#[derive(Serialize)]
struct Handover<'a> {
    workshop: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    user: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    region: &'a str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// When the key is deactivated.
    expires: DateTime<Utc>,
}

/// Run `argv` with `input` on standard input; fail on a non-zero exit, a spawn error or the
/// timeout. `secret`, when given, is cut out of anything the command printed.
pub async fn run_hook(argv: &[String], input: &[u8], secret: Option<&str>) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let run = async {
        // A command that exits without reading its input is judged by its exit status.
        let _ = stdin.write_all(input).await;
        drop(stdin);
        child.wait_with_output().await
    };
    let out = match tokio::time::timeout(HOOK_TIMEOUT, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("{program} failed: {e}")),
        Err(_) => {
            return Err(format!(
                "{program} did not finish within {}s and was stopped",
                HOOK_TIMEOUT.as_secs()
            ))
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let mut said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if let Some(s) = secret.filter(|s| !s.is_empty()) {
        said = said.replace(s, "<secret>");
    }
    let said: String = said.chars().take(300).collect();
    Err(format!(
        "{program} exited with {}{}",
        out.status,
        if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        }
    ))
}

/// Hand over the plan's deliveries: keys created in this run (found in the report) and live
/// keys whose earlier delivery failed. A success is recorded as the user tag
/// `workshop-keys:delivered:<key id>`; without it the next run tries again.
pub async fn deliver(
    plan: &Plan,
    report: &Report,
    schedule: &Schedule,
    credentials: &CredentialsDir,
    iam: &impl Iam,
    now: DateTime<Utc>,
) -> Vec<DeliveryResult> {
    let Some(argv) = &schedule.settings.deliver else {
        return Vec::new();
    };
    let mut results = Vec::new();
    for d in &plan.deliveries {
        let key_id = d.access_key_id.clone().or_else(|| {
            report
                .results
                .iter()
                .find(|r| {
                    r.action.workshop.as_ref() == Some(&d.workshop) && r.credentials_file.is_some()
                })
                .and_then(|r| r.created_key.clone())
        });
        let mut result = DeliveryResult {
            workshop: d.workshop.clone(),
            user: d.user.clone(),
            access_key_id: key_id.clone(),
            ok: false,
            detail: None,
        };
        let Some(key_id) = key_id else {
            result.detail =
                Some("the key was not created in this run; the next run hands it over".into());
            results.push(result);
            continue;
        };
        let outcome = deliver_one(argv, schedule, credentials, &d.workshop, &d.user, &key_id).await;
        match outcome {
            Ok(()) => {
                let tag = [(tags::delivered_tag(&key_id), tags::format_time(now))].into();
                match iam.tag_user(&d.user, &tag).await {
                    Ok(()) => result.ok = true,
                    Err(e) => {
                        result.detail = Some(format!(
                        "delivered, but recording it failed ({e}); the next run delivers it again"
                    ))
                    }
                }
            }
            Err(e) => result.detail = Some(format!("{e}; the next run tries again")),
        }
        tracing::info!(workshop = %d.workshop, key = %key_id, ok = result.ok, "deliver");
        results.push(result);
    }
    results
}

async fn deliver_one(
    argv: &[String],
    schedule: &Schedule,
    credentials: &CredentialsDir,
    workshop: &str,
    user: &str,
    key_id: &str,
) -> Result<(), String> {
    let w = schedule
        .workshop(workshop)
        .ok_or_else(|| format!("workshop {workshop} is no longer in the schedule"))?;
    let (file_key, secret) = credentials
        .read_secret(workshop)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the credentials file {workshop}.env is missing"))?;
    if file_key != key_id {
        return Err(format!(
            "the credentials file {workshop}.env holds another key ({file_key})"
        ));
    }
    let doc = Handover {
        workshop,
        title: w.title.as_deref(),
        user,
        access_key_id: key_id,
        secret_access_key: secret.expose(),
        region: &schedule.settings.region,
        start: w.start,
        end: w.end,
        expires: w.revoke_at(),
    };
    let input = Zeroizing::new(serde_json::to_vec(&doc).expect("plain data serialises"));
    run_hook(argv, &input, Some(secret.expose())).await
}

/// Send the summary of a reconcile that changed something to `settings.notify`. No secrets:
/// the summary is made of the plan, the report and outcomes, which hold none.
pub async fn notify(
    schedule: &Schedule,
    summary: &serde_json::Value,
) -> Option<Result<(), String>> {
    let argv = schedule.settings.notify.as_ref()?;
    let input = serde_json::to_vec(summary).expect("plain data serialises");
    let result = run_hook(argv, &input, None).await;
    if let Err(e) = &result {
        tracing::warn!("notify failed: {e}");
    }
    Some(result)
}
