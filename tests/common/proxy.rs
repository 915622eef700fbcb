//! A fault-injecting HTTP proxy for the emulator tests: the built binary talks to it (through
//! `AWS_ENDPOINT_URL`) and it forwards to the moto server, both on 127.0.0.1.
//!
//! Each connection carries one request: the proxy reads it, picks a fault at random (seeded), and
//! either forwards it (after an optional delay) or fails it — by dropping the connection before or
//! after forwarding, or by answering HTTP 500 or IAM's `Throttling` error itself. Every answer is
//! sent with `Connection: close`, so the client opens a new connection for the next request and
//! each request gets its own draw. Bounded (at most [`MAX_CONNECTIONS`] at once, every socket with
//! a timeout, a bounded request log); stops accepting and cuts open connections when dropped.
//!
//! Also here: [`Rng`], a tiny seeded generator for the tests' own random choices, and
//! [`output_within`], which runs a command with a deadline.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections handled at once; more are closed at once (the client sees a dropped connection).
pub const MAX_CONNECTIONS: usize = 64;
/// Requests remembered by [`Proxy::seen`].
const MAX_LOG: usize = 10_000;
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// IAM's answer when it throttles a caller.
pub const THROTTLING_BODY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>";

/// What can go wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Close the connection without forwarding the request: IAM never sees it.
    DropBefore,
    /// Forward the request (IAM acts on it), then close the connection without answering.
    DropAfter,
    /// Answer HTTP 500 without forwarding.
    ServerError,
    /// Answer 400 with IAM's `Throttling` error without forwarding.
    Throttle,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::DropBefore,
        Fault::DropAfter,
        Fault::ServerError,
        Fault::Throttle,
    ];
}

/// How the proxy treats requests from now on.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Chance (0.0 to 1.0) that a request gets one of `kinds`.
    pub rate: f64,
    pub kinds: Vec<Fault>,
    /// Every request first waits a random time in this range (milliseconds, inclusive).
    pub delay_ms: (u64, u64),
    pub seed: u64,
}

impl Faults {
    /// Forward everything at once.
    pub fn off() -> Faults {
        Faults {
            rate: 0.0,
            kinds: Vec::new(),
            delay_ms: (0, 0),
            seed: 0,
        }
    }

    /// Each request fails with chance `rate`, with one of the four faults.
    pub fn random(seed: u64, rate: f64) -> Faults {
        Faults {
            rate,
            kinds: Fault::ALL.to_vec(),
            delay_ms: (0, 0),
            seed,
        }
    }

    /// Only a delay of `min_ms..=max_ms` before each request.
    pub fn delay(seed: u64, min_ms: u64, max_ms: u64) -> Faults {
        Faults {
            delay_ms: (min_ms, max_ms),
            ..Faults::random(seed, 0.0)
        }
    }

    pub fn with_delay(mut self, min_ms: u64, max_ms: u64) -> Faults {
        self.delay_ms = (min_ms, max_ms);
        self
    }
}

/// One request the proxy saw: what it was and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The IAM `Action=` of a form request, else `METHOD /path`.
    pub action: String,
    /// The `UserName=` of a form request.
    pub user: Option<String>,
    pub fault: Option<Fault>,
}

impl Seen {
    /// Whether IAM received the request (no fault, or the response was dropped afterwards).
    pub fn reached_upstream(&self) -> bool {
        matches!(self.fault, None | Some(Fault::DropAfter))
    }
}

/// IAM calls that change nothing.
pub fn is_read_only(action: &str) -> bool {
    ["Get", "List"].iter().any(|p| action.starts_with(p))
}

struct State {
    faults: Faults,
    rng: Rng,
    seen: Vec<Seen>,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    stop: AtomicBool,
    active: AtomicUsize,
    /// Open client connections, to cut when the proxy stops.
    open: Mutex<BTreeMap<u64, TcpStream>>,
}

/// The proxy; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on a free port of 127.0.0.1 forwarding to `upstream` (`http://127.0.0.1:PORT`),
    /// with faults off.
    pub fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("proxy upstream {upstream:?}: {e}"));
        assert!(
            upstream.ip().is_loopback(),
            "the proxy only forwards to loopback, not {upstream}"
        );
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("proxy: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("proxy: local address");
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State {
                faults: Faults::off(),
                rng: Rng::new(0),
                seen: Vec::new(),
            }),
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            open: Mutex::new(BTreeMap::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fault-proxy".into())
                .spawn(move || accept_loop(listener, shared))
                .expect("proxy: spawn the accept thread")
        };
        Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switch fault modes; the generator restarts from `faults.seed`.
    pub fn set_faults(&self, faults: Faults) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.rng = Rng::new(faults.seed);
        state.faults = faults;
    }

    /// Every request so far (at most the last 10,000), in the order they arrived.
    pub fn seen(&self) -> Vec<Seen> {
        let state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.seen.clone()
    }

    /// Forget the requests seen so far.
    pub fn clear_seen(&self) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.seen.clear();
    }

    /// Requests seen so far.
    pub fn request_count(&self) -> usize {
        let state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.seen.len()
    }

    /// Connections being handled now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Waits until no connection is being handled (e.g. after killing the client, so that no
    /// request of the dead process reaches IAM later). Panics after `timeout`.
    pub fn wait_idle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.active() > 0 {
            assert!(
                Instant::now() < deadline,
                "proxy still busy after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
        let open = self.shared.open.lock().unwrap_or_else(|e| e.into_inner());
        for stream in open.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id: u64 = 0;
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if shared.active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue; // dropped: closes the connection
        }
        next_id += 1;
        let id = next_id;
        if let Ok(clone) = stream.try_clone() {
            shared
                .open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, clone);
        }
        shared.active.fetch_add(1, Ordering::SeqCst);
        let worker = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || {
                handle(stream, &worker);
                worker
                    .open
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                worker.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            shared
                .open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        }
    }
}

/// One connection, one request.
fn handle(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_read_timeout(Some(IO_TIMEOUT));
    let _ = client.set_write_timeout(Some(IO_TIMEOUT));
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let (fault, delay) = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let State { faults, rng, seen } = &mut *state;
        let (lo, hi) = faults.delay_ms;
        let delay = Duration::from_millis(lo + rng.below(hi.saturating_sub(lo) + 1));
        let fault = (!faults.kinds.is_empty() && rng.chance(faults.rate))
            .then(|| faults.kinds[rng.below(faults.kinds.len() as u64) as usize]);
        if seen.len() < MAX_LOG {
            seen.push(Seen {
                action: request.action.clone(),
                user: request.user.clone(),
                fault,
            });
        }
        (fault, delay)
    };
    std::thread::sleep(delay);
    if shared.stop.load(Ordering::SeqCst) {
        return;
    }
    match fault {
        Some(Fault::DropBefore) => {}
        Some(Fault::ServerError) => {
            let _ = client.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Some(Fault::Throttle) => {
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                THROTTLING_BODY.len()
            );
            let _ = client.write_all(head.as_bytes());
            let _ = client.write_all(THROTTLING_BODY.as_bytes());
        }
        None | Some(Fault::DropAfter) => {
            let response = forward(shared.upstream, &request.bytes);
            if fault.is_none() {
                let reply = response.unwrap_or_else(|e| {
                    let body = format!("proxy: upstream failed: {e}");
                    format!(
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                });
                let _ = client.write_all(&reply);
            }
        }
    }
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
}

struct Request {
    /// The request as it goes upstream (with `Connection: close`).
    bytes: Vec<u8>,
    action: String,
    user: Option<String>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request (head and `Content-Length` body); `None` when the client closed or sent
/// something this proxy does not handle.
fn read_request(client: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let mut length = 0usize;
    let mut kept = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name_lc = name.trim().to_ascii_lowercase();
        match name_lc.as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => return None, // chunked bodies: not needed by the SDK's calls
            "connection" | "keep-alive" => continue,
            _ => {}
        }
        kept.push(line);
    }
    if length > MAX_BODY {
        return None;
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let user = form_value(&body, "UserName");
    let action = form_value(&body, "Action").unwrap_or_else(|| {
        let mut parts = request_line.split_whitespace();
        format!(
            "{} {}",
            parts.next().unwrap_or("?"),
            parts.next().unwrap_or("?")
        )
    });
    let mut bytes = request_line.into_bytes();
    bytes.extend_from_slice(b"\r\n");
    for line in kept {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"Connection: close\r\n\r\n");
    bytes.extend_from_slice(&body);
    Some(Request {
        bytes,
        action,
        user,
    })
}

/// A parameter of an AWS query-protocol form body (`Action`, `UserName`), as sent.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_string)
}

/// Sends the request upstream and returns its whole answer, with `Connection: close`.
fn forward(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(IO_TIMEOUT))?;
    server.set_write_timeout(Some(IO_TIMEOUT))?;
    server.write_all(request)?;
    server.flush()?;
    let raw = read_response(&mut server)?;
    let Some(head_end) = find(&raw, b"\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "upstream answer without a complete head",
        ));
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut out = Vec::with_capacity(raw.len() + 32);
    for line in head.split("\r\n") {
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&raw[head_end + 4..]);
    Ok(out)
}

/// The upstream's answer: complete once its `Content-Length` body is in, else at EOF. Not
/// waiting for EOF matters: moto closes a connection about 10 ms after it answered, which
/// would add that to every call's round trip.
fn read_response(server: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if let Some(head_end) = find(&raw, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..head_end]);
            let length = head.split("\r\n").find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|n| raw.len() >= head_end + 4 + n) {
                return Ok(raw);
            }
        }
        let n = server.read(&mut chunk)?;
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// splitmix64: small, seeded, good enough for choosing faults and moments.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// The seed in environment variable `var` (to replay a failure), or a fresh one. Printed, so
/// that a failing run can be repeated with `var=SEED cargo test ...`.
pub fn seed(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or_default();
            Rng::new(nanos ^ u64::from(std::process::id())).next_u64()
        });
    eprintln!("{var}={seed}");
    seed
}

/// Runs `cmd` with piped output; kills it and panics when it takes longer than `timeout`.
pub fn output_within(cmd: &mut Command, timeout: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    wait_within(child, timeout)
}

/// Waits for a child spawned with piped stdout and stderr; kills it and panics after `timeout`.
pub fn wait_within(mut child: std::process::Child, timeout: Duration) -> Output {
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = pipe(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            panic!(
                "still running after {timeout:?}; killed. stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
