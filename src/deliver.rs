//! Handing keys over (`settings.deliver`) and telling people (`settings.notify`): run the
//! configured command with a JSON document on its standard input. The secret goes only there:
//! never into arguments, the environment, logs or error messages (the command's own output is
//! scrubbed of it before it is shown).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::apply::{self, ActionResult, Bookkeeping, Report};
use crate::core::plan::{Delivery, Plan};
use crate::core::tags;
use crate::iam::Iam;
use crate::schedule::Schedule;
use crate::store::CredentialStore;

/// A hook that takes longer is killed (with every process it started) and counts as failed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// Test-only override of [`HOOK_TIMEOUT`] (a duration such as "2s"), so that the tests of the
/// timeout do not wait a minute. Not part of the documented interface.
const TEST_TIMEOUT_ENV: &str = "WORKSHOP_KEYS_TEST_HOOK_TIMEOUT";

/// At most this much of each of a hook's output streams is kept; the rest is read and dropped.
const KEEP_OUTPUT: usize = 64 * 1024;
/// And at most this many characters of each is shown in a report.
const SHOW_OUTPUT: usize = 300;

fn hook_timeout() -> Duration {
    std::env::var(TEST_TIMEOUT_ENV)
        .ok()
        .and_then(|v| humantime::parse_duration(v.trim()).ok())
        .unwrap_or(HOOK_TIMEOUT)
}

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
    /// The IAM writes that recorded the hand-over, for the run's results.
    #[serde(skip)]
    pub recorded: Vec<ActionResult>,
}

/// The document a `deliver` command reads on standard input.
#[derive(Serialize)]
struct Handover<'a> {
    workshop: &'a str,
    /// The participant (`p07`) of a workshop with `participants`.
    #[serde(skip_serializing_if = "Option::is_none")]
    participant: Option<&'a str>,
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
    /// `settings.bedrock_api_key`: the bearer token for `AWS_BEARER_TOKEN_BEDROCK`, and when
    /// AWS stops accepting it (each renewal is handed over again).
    #[serde(skip_serializing_if = "Option::is_none")]
    bedrock_api_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bedrock_api_key_expires: Option<DateTime<Utc>>,
}

/// Run `argv` with `input` on standard input; fail on a non-zero exit, a spawn error or the
/// timeout. `secret`, when given, is cut out of anything the command printed. `schedule_file`
/// is where a relative program path is resolved from.
///
/// The command runs in a process group of its own: on the timeout, and when it is done, the
/// whole group is killed, so a `gpg` or `curl` it started never outlives the run.
pub async fn run_hook(
    argv: &[String],
    schedule_file: &Path,
    input: &[u8],
    secret: Option<&str>,
) -> Result<(), String> {
    let secrets: Vec<&str> = secret.into_iter().collect();
    run_hook_redacting(argv, schedule_file, input, &secrets).await
}

/// [`run_hook`], cutting every one of `secrets` (a secret key, a bearer token) out of what the
/// command printed.
pub async fn run_hook_redacting(
    argv: &[String],
    schedule_file: &Path,
    input: &[u8],
    secrets: &[&str],
) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let path = crate::schedule::hook_program(schedule_file, program);
    let shown = path.display();
    let mut group = HookGroup::arm();
    let mut child = tokio::process::Command::new(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    // The group's id is the new process's id (`process_group(0)`).
    group.started(child.id());
    let (Some(mut stdin), stdout, stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(format!("cannot run {shown}: no standard input"));
    };
    let timeout = hook_timeout();
    let run = async {
        let feed = async {
            // A command that exits without reading its input is judged by its exit status.
            let _ = stdin.write_all(input).await;
            drop(stdin);
        };
        let (_, out, err, status) = tokio::join!(feed, keep(stdout), keep(stderr), child.wait());
        status.map(|status| (status, out, err))
    };
    let (status, out, err) = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(format!("{shown} failed: {e}")),
        Err(_) => {
            group.kill();
            let _ = child.wait().await;
            return Err(format!(
                "{shown} did not finish within {}s and was stopped, with every process it started",
                timeout.as_secs()
            ));
        }
    };
    if status.success() {
        return Ok(());
    }
    let said: Vec<String> = [("stdout", &out), ("stderr", &err)]
        .into_iter()
        .filter_map(|(name, bytes)| {
            let text = printed(bytes, secrets);
            (!text.is_empty()).then(|| format!("{name}: {text}"))
        })
        .collect();
    Err(format!(
        "{shown} exited with {status}{}",
        if said.is_empty() {
            String::new()
        } else {
            format!("; {}", said.join("; "))
        }
    ))
}

/// The first [`KEEP_OUTPUT`] bytes of a pipe, read to its end (so the command never blocks on
/// a full pipe). Wiped when dropped: a hook may echo its input, secret included.
async fn keep(pipe: Option<impl AsyncRead + Unpin>) -> Zeroizing<Vec<u8>> {
    // Allocated once: growing would leave copies behind that are not wiped.
    let mut kept = Zeroizing::new(Vec::with_capacity(KEEP_OUTPUT));
    let Some(mut pipe) = pipe else {
        return kept;
    };
    let mut buf = Zeroizing::new([0u8; 8192]);
    while let Ok(n @ 1..) = pipe.read(&mut buf[..]).await {
        let room = KEEP_OUTPUT - kept.len();
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

/// What a command printed, for a report: the secrets cut out first, then one line, control
/// characters escaped (no terminal escapes from a hook), at most [`SHOW_OUTPUT`] characters.
fn printed(bytes: &[u8], secrets: &[&str]) -> String {
    let mut text = Zeroizing::new(String::from_utf8_lossy(bytes).into_owned());
    // Longest first: a token could contain a shorter secret.
    let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        text = Zeroizing::new(text.replace(s, "<secret>"));
    }
    let mut shown = String::new();
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    for (i, line) in lines.enumerate() {
        if i > 0 {
            shown.push_str(" | ");
        }
        for c in line.chars() {
            if c.is_control() {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
        }
        if shown.chars().count() > SHOW_OUTPUT {
            break;
        }
    }
    match shown.char_indices().nth(SHOW_OUTPUT) {
        Some((cut, _)) => format!("{}…", &shown[..cut]),
        None => shown,
    }
}

/// The process group of the hook that is running (0: none), for [`on_signal`]. Hooks run one
/// at a time.
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

/// Signals that end workshop-keys (Ctrl-C, `kill`, a closed terminal). A hook in its own group
/// no longer gets them from the terminal, so while one runs they are passed on as SIGKILL to
/// its group before workshop-keys ends as it would have.
const ENDING_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(signal: libc::c_int) {
    let group = RUNNING_GROUP.load(Ordering::SeqCst);
    // SAFETY: kill, signal and raise are async-signal-safe.
    unsafe {
        if group > 0 {
            libc::kill(-group, libc::SIGKILL);
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// A running hook's process group: killed when dropped; meanwhile the ending signals kill it
/// too (their earlier handling is restored on drop).
struct HookGroup {
    group: i32,
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl HookGroup {
    /// Set up the signal handling before the hook starts, so that no signal finds it half done.
    fn arm() -> HookGroup {
        let mut previous = Vec::new();
        for signal in ENDING_SIGNALS {
            // SAFETY: plain sigaction calls with zeroed, then filled, structures.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    // Ignored (e.g. SIGHUP under nohup): it stays ignored.
                    continue;
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                libc::sigemptyset(&mut new.sa_mask);
                if libc::sigaction(signal, &new, std::ptr::null_mut()) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        // `main` restores SIGPIPE's default (so `status | head` ends quietly): a hook that exits
        // before reading its input would then kill workshop-keys with it. While a hook runs, a
        // closed pipe is an error to handle, not a signal.
        // SAFETY: as above; restored on drop like the others.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            let mut ignore: libc::sigaction = std::mem::zeroed();
            ignore.sa_sigaction = libc::SIG_IGN;
            libc::sigemptyset(&mut ignore.sa_mask);
            if libc::sigaction(libc::SIGPIPE, &ignore, &mut old) == 0 {
                previous.push((libc::SIGPIPE, old));
            }
        }
        HookGroup { group: 0, previous }
    }

    fn started(&mut self, pid: Option<u32>) {
        self.group = pid.and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        RUNNING_GROUP.store(self.group, Ordering::SeqCst);
    }

    fn kill(&self) {
        if self.group > 0 {
            // SAFETY: signals only the hook's own group; ESRCH (already gone) is fine.
            unsafe {
                libc::kill(-self.group, libc::SIGKILL);
            }
        }
    }
}

impl Drop for HookGroup {
    fn drop(&mut self) {
        // Whatever the hook left behind goes with it.
        self.kill();
        for (signal, old) in &self.previous {
            // SAFETY: puts back the handling read in `arm`.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
        RUNNING_GROUP.store(0, Ordering::SeqCst);
    }
}

/// Hand over the plan's deliveries: keys created in this run (found in the report) and live
/// keys whose earlier delivery failed. A success is recorded as the user tag
/// `workshop-keys:delivered:<key id>`; without it the next run tries again.
pub async fn deliver(
    plan: &Plan,
    report: &Report,
    schedule: &Schedule,
    credentials: &dyn CredentialStore,
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
                    r.action.claim().as_ref() == Some(&d.workshop) && r.credentials_file.is_some()
                })
                .and_then(|r| r.created_key.clone())
        });
        let mut result = DeliveryResult {
            workshop: d.workshop.clone(),
            user: d.user.clone(),
            access_key_id: key_id.clone(),
            ok: false,
            detail: None,
            recorded: Vec::new(),
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
                let tags = [(tags::delivered_tag(&key_id), crate::time::format_time(now))].into();
                let entry = bookkeeping(d, &key_id, tags, Vec::new(), "record the hand-over");
                result.recorded = apply::record(iam, vec![entry]).await;
                match result.recorded.iter().find_map(|r| r.detail.as_ref()) {
                    None => result.ok = true,
                    Some(e) => {
                        result.detail = Some(format!(
                        "delivered, but recording it failed ({e}); the next run delivers it again"
                    ))
                    }
                }
            }
            Err(e) => {
                // A renewed token of a key handed over before: without the record of that
                // hand-over, the next run hands the key (and its current token) over again.
                if d.reason == crate::core::plan::TOKEN_RENEWED {
                    let untag = vec![tags::delivered_tag(&key_id)];
                    let why = "drop the record of an earlier hand-over";
                    let entry = bookkeeping(d, &key_id, BTreeMap::new(), untag, why);
                    result.recorded = apply::record(iam, vec![entry]).await;
                    if let Some(untag) = result.recorded.iter().find_map(|r| r.detail.as_ref()) {
                        tracing::warn!(workshop = %d.workshop, "cannot drop the record of an earlier hand-over: {untag}");
                    }
                }
                result.detail = Some(format!("{e}; the next run tries again"))
            }
        }
        tracing::info!(workshop = %d.workshop, key = %key_id, ok = result.ok, "deliver");
        results.push(result);
    }
    results
}

async fn deliver_one(
    argv: &[String],
    schedule: &Schedule,
    credentials: &dyn CredentialStore,
    claim: &str,
    user: &str,
    key_id: &str,
) -> Result<(), String> {
    // The file is the claim's: `ws.env`, or `ws/p07.env` for a participant.
    let (id, participant) = crate::core::participants::parse_claim(claim);
    let workshop = claim;
    let w = schedule
        .workshop(id)
        .ok_or_else(|| format!("workshop {id} is no longer in the schedule"))?;
    let bundle = credentials.describe(workshop);
    let (file_key, secret) = credentials
        .read_secret(workshop)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{bundle} is missing"))?;
    if file_key != key_id {
        return Err(format!("{bundle} holds another key ({file_key})"));
    }
    let token = if schedule.settings.bedrock_api_key {
        credentials
            .read_token(workshop)
            .await
            .map_err(|e| e.to_string())?
    } else {
        None
    };
    let doc = Handover {
        workshop: id,
        participant,
        title: w.title.as_deref(),
        user,
        access_key_id: key_id,
        secret_access_key: secret.expose(),
        region: &schedule.settings.region,
        start: w.start,
        end: w.end,
        expires: w.revoke_at(),
        bedrock_api_key: token.as_ref().map(|t| t.token.expose()),
        bedrock_api_key_expires: token.as_ref().map(|t| t.expires),
    };
    let input = Zeroizing::new(serde_json::to_vec(&doc).expect("plain data serialises"));
    let mut secrets = vec![secret.expose()];
    secrets.extend(token.as_ref().map(|t| t.token.expose()));
    run_hook_redacting(argv, &schedule.file, &input, &secrets).await
}

/// Send the summary of a reconcile that changed something to `settings.notify`. No secrets:
/// the summary is made of the plan, the report and outcomes, which hold none.
pub async fn notify(
    schedule: &Schedule,
    summary: &serde_json::Value,
) -> Option<Result<(), String>> {
    let argv = schedule.settings.notify.as_ref()?;
    let input = serde_json::to_vec(summary).expect("plain data serialises");
    let result = run_hook(argv, &schedule.file, &input, None).await;
    if let Err(e) = &result {
        tracing::warn!("notify failed: {e}");
    }
    Some(result)
}

/// The tag write that records (or drops the record of) a hand-over of `key` for `d`.
fn bookkeeping(
    d: &Delivery,
    key: &str,
    tags: BTreeMap<String, String>,
    untag: Vec<String>,
    reason: &str,
) -> Bookkeeping {
    Bookkeeping {
        user: d.user.clone(),
        workshop: d.workshop.clone(),
        access_key_id: key.to_string(),
        tags,
        untag,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hook that closes its input without reading it, while workshop-keys runs with SIGPIPE's
    /// default disposition (as `main` sets it): the run goes on and reports the hook's exit,
    /// instead of dying of SIGPIPE (seen as a reconcile ending by a signal with `notify =
    /// ["/bin/false"]`). The input is larger than a pipe's buffer, so the write meets the closed
    /// pipe every time.
    #[test]
    fn a_hook_that_ignores_its_input_does_not_end_the_run_by_sigpipe() {
        // SAFETY: sets and puts back a signal disposition; no other test relies on SIGPIPE.
        let before = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let argv = ["/bin/sh", "-c", "exec 0<&-; exit 3"].map(String::from);
        let input = vec![b'x'; 1 << 20];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(run_hook(&argv, Path::new("w.toml"), &input, None));
        let after = unsafe { libc::signal(libc::SIGPIPE, before) };
        let err = result.unwrap_err();
        assert!(err.contains("exit status: 3"), "{err}");
        assert_eq!(
            after,
            libc::SIG_DFL,
            "the disposition is put back after the hook"
        );
    }

    #[test]
    fn printed_output_is_one_scrubbed_line_without_terminal_escapes() {
        let out = b"  first SECRETKEY line \n\n\x1b[31mred\x1b[0m\tend\n";
        assert_eq!(
            printed(out, &["SECRETKEY"]),
            "first <secret> line | \\u{1b}[31mred\\u{1b}[0m\\tend"
        );
        assert_eq!(printed(b"", &["x"]), "");
        // Cut after the secret is replaced: a cut never shows part of it.
        let long = format!("{}SECRETKEY", "a".repeat(SHOW_OUTPUT - 3));
        let shown = printed(long.as_bytes(), &["SECRETKEY"]);
        assert!(shown.ends_with("<se…"), "{shown}");
        assert!(!shown.contains("SEC"), "{shown}");
        // A bearer token is cut out like the secret, whole, even when it holds the secret.
        let out = b"key SECRETKEY token bedrock-api-key-SECRETKEYxyz";
        assert_eq!(
            printed(out, &["SECRETKEY", "bedrock-api-key-SECRETKEYxyz"]),
            "key <secret> token <secret>"
        );
    }
}
