//! Starting, watching and stopping a moto server process.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::http;

/// The moto version the tests are written against (see README).
pub const MOTO_VERSION: &str = "5.2.5";
/// How long a server may take to answer `GET /moto-api/` after it is spawned.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 3;
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs moto in the background and kills it as soon as the test process (`$2`) is gone, or when
/// the shell itself is told to stop. `$0` = moto_server, `$1` = port.
const WRAPPER: &str = r#"
"$0" -H 127.0.0.1 -p "$1" </dev/null &
child=$!
trap 'kill "$child" 2>/dev/null; exit 0' TERM INT HUP
while kill -0 "$2" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill "$child" 2>/dev/null
wait "$child"
"#;

/// `$WORKSHOP_KEYS_MOTO_SERVER`, or `<crate>/.venv/bin/moto_server`.
pub fn moto_server_path() -> PathBuf {
    match std::env::var_os("WORKSHOP_KEYS_MOTO_SERVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"),
    }
}

fn install_hint() -> String {
    format!(
        "The integration tests need moto's server (moto[server]=={MOTO_VERSION}). Install it with\n\
         \n    cd {dir} && python3 -m venv .venv && .venv/bin/pip install 'moto[server]=={MOTO_VERSION}'\n\
         \nor run the test command from README, or set WORKSHOP_KEYS_MOTO_SERVER to a moto_server \
         executable.",
        dir = env!("CARGO_MANIFEST_DIR"),
    )
}

/// A running moto server. The value returned by [`MotoServer::start`] kills the server when
/// dropped; the shared one ([`super::shared`]) lives until the test process ends.
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    addr: SocketAddr,
    log: PathBuf,
    /// The watcher shell, leader of a process group that also holds moto.
    wrapper: Mutex<Child>,
}

impl MotoServer {
    /// Starts a new server of its own on a free port and waits until it answers. Panics (never
    /// skips) when moto is missing or does not start within 20 s.
    pub fn start() -> MotoServer {
        MotoServer::start_with_env(&[])
    }

    /// Like [`MotoServer::start`], with extra environment for moto, e.g.
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true` to have AWS's managed policies (the quarantine
    /// policies among them) exist.
    pub fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        let moto = moto_server_path();
        if !moto.is_file() {
            panic!(
                "moto_server not found at {}.\n{}",
                moto.display(),
                install_hint()
            );
        }
        let log_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto");
        std::fs::create_dir_all(&log_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_dir.display()));
        prune_old_logs(&log_dir);
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".to_string());

        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let log = log_dir.join(format!("{binary}-{}-{port}.log", std::process::id()));
            match spawn(&moto, port, &log, env) {
                Ok(server) => return server,
                Err(why) => failures.push(format!("port {port}: {why} (log: {})", log.display())),
            }
        }
        panic!(
            "moto_server ({}) did not start:\n  {}\n{}",
            moto.display(),
            failures.join("\n  "),
            install_hint()
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Where moto's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `POST /moto-api/reset`: forgets all state of all accounts (not the authentication mode).
    pub fn reset(&self) {
        self.control("POST", "/moto-api/reset", None, b"");
    }

    /// Turns checking of signatures and IAM policies on (`POST /moto-api/reset-auth` with `0`)
    /// or off (`inf`). Server-wide: use a server of your own ([`MotoServer::start`]) for it, and
    /// create the credentials to use (e.g. with `create_admin`) before turning it on.
    pub fn set_auth(&self, enabled: bool) {
        let body: &[u8] = if enabled { b"0" } else { b"inf" };
        self.control("POST", "/moto-api/reset-auth", Some("text/plain"), body);
    }

    fn control(&self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) {
        let response = http::request(self.addr, method, path, content_type, body, CONTROL_TIMEOUT)
            .unwrap_or_else(|e| panic!("moto {method} {path}: {e} (log: {})", self.log.display()));
        assert!(
            (200..300).contains(&response.status),
            "moto {method} {path}: HTTP {} {} (log: {})",
            response.status,
            response.body,
            self.log.display()
        );
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let mut wrapper = self.wrapper.lock().unwrap_or_else(|e| e.into_inner());
        kill_group(&mut wrapper);
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

fn spawn(moto: &Path, port: u16, log: &Path, env: &[(&str, &str)]) -> Result<MotoServer, String> {
    let out = File::create(log).map_err(|e| format!("cannot create the log: {e}"))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot share the log: {e}"))?;
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(WRAPPER)
        .arg(moto)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: Drop kills the shell and moto together.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run /bin/sh: {e}"))?;

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status}): {}", log_tail(log)));
        }
        match http::request(addr, "GET", "/moto-api/", None, b"", Duration::from_secs(2)) {
            Ok(r) if r.status < 500 => {
                return Ok(MotoServer {
                    endpoint: format!("http://{addr}"),
                    addr,
                    log: log.to_path_buf(),
                    wrapper: Mutex::new(child),
                })
            }
            _ if Instant::now() >= deadline => {
                kill_group(&mut child);
                return Err(format!(
                    "no answer on /moto-api/ within {}s: {}",
                    START_TIMEOUT.as_secs(),
                    log_tail(log)
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// SIGTERM to the wrapper's process group (the shell, moto, a `sleep`), then reap the shell.
fn kill_group(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// Removes logs of servers from earlier runs (older than a day), once per process.
fn prune_old_logs(dir: &Path) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(24 * 3600));
            if old && entry.path().extension().is_some_and(|e| e == "log") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
    if tail.is_empty() {
        "(no output)".to_string()
    } else {
        tail
    }
}
