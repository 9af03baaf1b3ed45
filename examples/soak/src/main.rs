//! Soak test with faults (issue 18, part 3); run through `scripts/soak.sh`.
//!
//! Starts a private redis-server, a fresh PostgreSQL database and two instances of an example
//! server sharing both, drives mixed load at the two instances (logins, validations, refreshes,
//! concurrent duplicate refreshes, revocations, logout-alls, and probes of tokens that must stay
//! refused), restarts Redis and PostgreSQL meanwhile, then checks its own records:
//!
//! 1. no token accepted that should have been refused (revoked access token, token of a revoked
//!    login, token from before a completed logout-all, refresh token redeemed before);
//! 2. no refresh token redeemed twice;
//! 3. every answer 2xx, 4xx or 503, and no connection error;
//! 4. both instances healthy within 5 s after each store restart completes;
//! 5. resident memory flat over the second half of the run.
//!
//! Arguments: `SECONDS [OUT_MD]`. Environment: `SOAK_SERVER_BIN` (required), `SOAK_COMMAND` (the
//! command line written into the report), `SOAK_WORKERS` (default 6), `SOAK_KEEP=1` (keep the work
//! directory with the logs even when every check passes).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PG: &str = "postgres://postgres@127.0.0.1:5432";
const ISSUER: &str = "http://soak.test";
const USERS: usize = 8;
/// Recovery bound after a store restart completes.
const RECOVERY_BOUND: f64 = 5.0;
/// Memory bound over the second half: growth above both fails.
const RSS_GROWTH_PCT: f64 = 10.0;
const RSS_GROWTH_KIB: u64 = 8 * 1024;
const RSS_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum Kind {
    Login,
    Validate,
    Refresh,
    RefreshDup,
    RevokeAccess,
    RevokeRefresh,
    LogoutAll,
    ProbeAccess,
    ProbeRefresh,
    Health,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Login => "login (password grant)",
            Kind::Validate => "validate (GET /users/me)",
            Kind::Refresh => "refresh",
            Kind::RefreshDup => "refresh, concurrent duplicate",
            Kind::RevokeAccess => "revoke access token",
            Kind::RevokeRefresh => "revoke refresh token",
            Kind::LogoutAll => "logout-all",
            Kind::ProbeAccess => "probe: refused access token",
            Kind::ProbeRefresh => "probe: spent refresh token",
            Kind::Health => "GET /health (1/s)",
        }
    }
    /// Requests whose 2xx means the token was accepted.
    fn accepts_token(self) -> bool {
        matches!(
            self,
            Kind::Validate
                | Kind::ProbeAccess
                | Kind::LogoutAll
                | Kind::Refresh
                | Kind::RefreshDup
                | Kind::ProbeRefresh
        )
    }
    fn redeems(self) -> bool {
        matches!(self, Kind::Refresh | Kind::RefreshDup | Kind::ProbeRefresh)
    }
}

struct Req {
    kind: Kind,
    inst: usize,
    token: Option<usize>,
    user: usize,
    sent: f64,
    done: f64,
    status: Option<u16>,
    error: Option<String>,
}

struct Tok {
    access: bool,
    user: usize,
    lineage: usize,
    issued_sent: f64,
    issued_done: f64,
}

#[derive(Default)]
struct Log {
    reqs: Vec<Req>,
    toks: Vec<Tok>,
}

struct Ctx {
    client: reqwest::Client,
    bases: [String; 2],
    start: Instant,
    log: Mutex<Log>,
    users: Vec<(String, String)>,
    lineages: AtomicUsize,
    stop: AtomicBool,
}

impl Ctx {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    async fn call(
        &self,
        kind: Kind,
        inst: usize,
        token: Option<usize>,
        user: usize,
        request: reqwest::RequestBuilder,
    ) -> (Option<u16>, Option<Value>, f64, f64) {
        let sent = self.now();
        let result = request.send().await;
        let (status, error, body) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => (
                        Some(status),
                        None,
                        serde_json::from_slice::<Value>(&bytes).ok(),
                    ),
                    Err(e) => (Some(status), Some(format!("body: {e}")), None),
                }
            }
            Err(e) => (None, Some(error_text(&e)), None),
        };
        let done = self.now();
        self.log.lock().unwrap().reqs.push(Req {
            kind,
            inst,
            token,
            user,
            sent,
            done,
            status: if error.is_some() { None } else { status },
            error,
        });
        (status, body, sent, done)
    }

    fn token_form(&self, inst: usize, body: String) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/token", self.bases[inst]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Registers the tokens of a 200 from `/token`.
    fn issued(
        &self,
        body: &Option<Value>,
        user: usize,
        lineage: usize,
        sent: f64,
        done: f64,
    ) -> Option<Sess> {
        let body = body.as_ref()?;
        let access = body.get("access_token")?.as_str()?.to_owned();
        let refresh = body.get("refresh_token")?.as_str()?.to_owned();
        let mut log = self.log.lock().unwrap();
        let a = log.toks.len();
        for access in [true, false] {
            log.toks.push(Tok {
                access,
                user,
                lineage,
                issued_sent: sent,
                issued_done: done,
            });
        }
        Some(Sess {
            user,
            lineage,
            access: Some((a, access)),
            refresh: (a + 1, refresh),
        })
    }
}

fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

struct Sess {
    user: usize,
    lineage: usize,
    access: Option<(usize, String)>,
    refresh: (usize, String),
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Tokens that must stay refused, or may: probed now and then.
struct Dead(Vec<(usize, bool, String)>);

impl Dead {
    fn push(&mut self, rng: &mut Rng, entry: (usize, bool, String)) {
        if self.0.len() < 200 {
            self.0.push(entry);
        } else {
            let i = rng.below(self.0.len());
            self.0[i] = entry;
        }
    }
    fn bury(&mut self, rng: &mut Rng, s: Sess) {
        if let Some((i, a)) = s.access {
            self.push(rng, (i, true, a));
        }
        self.push(rng, (s.refresh.0, false, s.refresh.1));
    }
}

fn is_ok(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

async fn worker(ctx: Arc<Ctx>, id: usize) {
    let mut rng =
        Rng(0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) * 0x1000_0001) ^ std::process::id() as u64);
    let mut sessions: Vec<Sess> = Vec::new();
    let mut dead = Dead(Vec::new());
    while !ctx.stop.load(Ordering::Relaxed) {
        let r = rng.below(100);
        let inst = rng.below(2);
        let mut unavailable = false;
        if sessions.is_empty() || r < 8 {
            let user = rng.below(USERS);
            let (name, password) = &ctx.users[user];
            let body = format!("grant_type=password&username={name}&password={password}");
            let (status, body, sent, done) = ctx
                .call(Kind::Login, inst, None, user, ctx.token_form(inst, body))
                .await;
            unavailable = status == Some(503);
            if status == Some(200) {
                let lineage = ctx.lineages.fetch_add(1, Ordering::Relaxed);
                if let Some(s) = ctx.issued(&body, user, lineage, sent, done) {
                    if sessions.len() >= 3 {
                        sessions.remove(0);
                    }
                    sessions.push(s);
                }
            }
        } else if r < 79 {
            let i = rng.below(sessions.len());
            let has_access = sessions[i].access.is_some();
            if r < 50 && has_access {
                let (t, a) = sessions[i].access.clone().unwrap();
                let user = sessions[i].user;
                let req = ctx
                    .client
                    .get(format!("{}/users/me", ctx.bases[inst]))
                    .bearer_auth(&a);
                let (status, ..) = ctx.call(Kind::Validate, inst, Some(t), user, req).await;
                unavailable = status == Some(503);
                if status == Some(401) {
                    let s = sessions.remove(i);
                    dead.bury(&mut rng, s);
                }
            } else if r < 68 || !has_access {
                // Refresh; one in three as two identical requests at once, one per instance.
                let duplicate = (62..68).contains(&r);
                let (t, rt) = sessions[i].refresh.clone();
                let user = sessions[i].user;
                let lineage = sessions[i].lineage;
                let body = format!("grant_type=refresh_token&refresh_token={rt}");
                let results = if duplicate {
                    let (a, b) = tokio::join!(
                        ctx.call(
                            Kind::RefreshDup,
                            0,
                            Some(t),
                            user,
                            ctx.token_form(0, body.clone())
                        ),
                        ctx.call(Kind::RefreshDup, 1, Some(t), user, ctx.token_form(1, body))
                    );
                    vec![a, b]
                } else {
                    vec![
                        ctx.call(
                            Kind::Refresh,
                            inst,
                            Some(t),
                            user,
                            ctx.token_form(inst, body),
                        )
                        .await,
                    ]
                };
                unavailable = results.iter().any(|r| r.0 == Some(503));
                let won = results.iter().find(|r| r.0 == Some(200));
                if let Some((_, body, sent, done)) = won {
                    if let Some(new) = ctx.issued(body, user, lineage, *sent, *done) {
                        let old = std::mem::replace(&mut sessions[i], new);
                        dead.push(&mut rng, (old.refresh.0, false, old.refresh.1));
                    } else {
                        sessions.remove(i);
                    }
                } else if results.iter().any(|r| r.0 == Some(400) || r.0 == Some(401)) {
                    let s = sessions.remove(i);
                    dead.bury(&mut rng, s);
                }
            } else if r < 74 {
                let (t, a) = sessions[i].access.clone().unwrap();
                let user = sessions[i].user;
                let req = ctx
                    .client
                    .post(format!("{}/revoke", ctx.bases[inst]))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("token={a}&token_type_hint=access_token"));
                let (status, ..) = ctx.call(Kind::RevokeAccess, inst, Some(t), user, req).await;
                unavailable = status == Some(503);
                if status == Some(200) {
                    sessions[i].access = None;
                    dead.push(&mut rng, (t, true, a));
                }
            } else if r < 77 {
                let (t, rt) = sessions[i].refresh.clone();
                let user = sessions[i].user;
                let req = ctx
                    .client
                    .post(format!("{}/revoke", ctx.bases[inst]))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("token={rt}&token_type_hint=refresh_token"));
                let (status, ..) = ctx
                    .call(Kind::RevokeRefresh, inst, Some(t), user, req)
                    .await;
                unavailable = status == Some(503);
                if status == Some(200) {
                    let s = sessions.remove(i);
                    dead.bury(&mut rng, s);
                }
            } else {
                let (t, a) = sessions[i].access.clone().unwrap();
                let user = sessions[i].user;
                let req = ctx
                    .client
                    .post(format!("{}/users/me/logout-all", ctx.bases[inst]))
                    .bearer_auth(&a);
                let (status, ..) = ctx.call(Kind::LogoutAll, inst, Some(t), user, req).await;
                unavailable = status == Some(503);
                if is_ok(status) {
                    let (gone, kept): (Vec<Sess>, Vec<Sess>) =
                        sessions.drain(..).partition(|s| s.user == user);
                    sessions = kept;
                    for s in gone {
                        dead.bury(&mut rng, s);
                    }
                } else if status == Some(401) {
                    let s = sessions.remove(i);
                    dead.bury(&mut rng, s);
                }
            }
        } else if !dead.0.is_empty() {
            let (t, access, value) = dead.0[rng.below(dead.0.len())].clone();
            let user = ctx.log.lock().unwrap().toks[t].user;
            let (status, ..) = if access {
                let req = ctx
                    .client
                    .get(format!("{}/users/me", ctx.bases[inst]))
                    .bearer_auth(&value);
                ctx.call(Kind::ProbeAccess, inst, Some(t), user, req).await
            } else {
                let body = format!("grant_type=refresh_token&refresh_token={value}");
                ctx.call(
                    Kind::ProbeRefresh,
                    inst,
                    Some(t),
                    user,
                    ctx.token_form(inst, body),
                )
                .await
            };
            unavailable = status == Some(503);
        }
        // Back off a little while a store is down, rather than spin on 503s.
        let pause = if unavailable { 100 } else { 2 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

async fn health_poller(ctx: Arc<Ctx>) {
    while !ctx.stop.load(Ordering::Relaxed) {
        for inst in 0..2 {
            let req = ctx.client.get(format!("{}/health", ctx.bases[inst]));
            ctx.call(Kind::Health, inst, None, usize::MAX, req).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

struct ServerProc {
    child: Child,
    base: String,
    pid: u32,
}

async fn start_server(bin: &Path, args: &[String], log: &Path) -> ServerProc {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .args(["--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(log).expect("server log file"),
        ))
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("TOKENWARD_") {
            cmd.env_remove(key);
        }
    }
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn");
    }
    let mut child = cmd.spawn().expect("spawn the server binary");
    let pid = child.id().expect("server pid");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let base = loop {
        match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                if let Some(address) = line.strip_prefix("listening on ") {
                    break address.trim().to_owned();
                }
            }
            other => {
                let status = child.try_wait().ok().flatten();
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("server did not start ({other:?}, exit {status:?}): {text}");
            }
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServerProc { child, base, pid }
}

struct Redis {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Redis {
    async fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            ))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGTERM to our own redis-server's pid, and wait for it to exit.
    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

fn psql(sql: &str) -> bool {
    std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pg_version() -> String {
    if let Ok(v) = std::env::var("SOAK_PG_VERSION") {
        return v;
    }
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL cluster in /etc/postgresql")
}

async fn restart_postgres() -> bool {
    Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &pg_version(),
            "main",
            "restart",
        ])
        .stdout(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// A memory sample: seconds since the start, and each instance's RSS in KiB.
type RssSample = (f64, [Option<u64>; 2]);

fn rss_kib(pid: u32) -> Option<u64> {
    let mut text = String::new();
    std::fs::File::open(format!("/proc/{pid}/status"))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn argon2_hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut salt)
        .unwrap();
    let params = Params::new(7 * 1024, 5, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &SaltString::encode_b64(&salt).unwrap())
        .unwrap()
        .to_string()
}

struct Fault {
    what: &'static str,
    at: f64,
    completed: f64,
    ok: bool,
    recovery: [Option<f64>; 2],
    /// Non-200 health answers (or no answer) while polling around the restart.
    unhealthy_seen: [usize; 2],
    /// Per instance: first non-200 health request sent, last non-200 answered.
    outage: [Option<(f64, f64)>; 2],
}

struct Cleanup {
    db: String,
    dropped: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.dropped {
            psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db));
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let duration: f64 = args.get(1).map_or(600.0, |s| s.parse().expect("SECONDS"));
    let out_md = args.get(2).filter(|s| !s.is_empty()).map(PathBuf::from);
    let bin = PathBuf::from(std::env::var("SOAK_SERVER_BIN").expect("SOAK_SERVER_BIN"));
    let command = std::env::var("SOAK_COMMAND").unwrap_or_else(|_| args.join(" "));
    let workers: usize = std::env::var("SOAK_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let profile = if bin.components().any(|c| c.as_os_str() == "release") {
        "release"
    } else if bin.components().any(|c| c.as_os_str() == "debug") {
        "debug"
    } else {
        "unknown profile"
    };
    let pid = std::process::id();
    let work = std::env::temp_dir().join(format!("tw_soak_{pid}"));
    std::fs::create_dir_all(&work).unwrap();
    let db = format!("tw_soak_{pid}");
    let wall_start = Instant::now();
    let started_at = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    assert!(
        psql(&format!("CREATE DATABASE {db}")),
        "could not create database {db}"
    );
    let mut cleanup = Cleanup {
        db: db.clone(),
        dropped: false,
    };

    let mut redis = Redis {
        child: None,
        port: free_port(),
        log: work.join("redis.log"),
    };
    redis.start().await;

    let users: Vec<(String, String)> = (0..USERS)
        .map(|i| {
            (
                format!("soak-user-{i}"),
                format!("soak-passphrase-{i}-{pid}"),
            )
        })
        .collect();
    let users_json: Vec<Value> = users
        .iter()
        .map(|(u, p)| json!({"username": u, "password_hash": argon2_hash(p), "scopes": ["items:read"]}))
        .collect();
    std::fs::write(
        work.join("users.json"),
        Value::Array(users_json).to_string(),
    )
    .unwrap();

    let server_args: Vec<String> = [
        "--database-url",
        &format!("{PG}/{db}"),
        "--redis-url",
        &format!("redis://127.0.0.1:{}", redis.port),
        "--issuer",
        ISSUER,
        "--users",
        &work.join("users.json").display().to_string(),
        "--key-file",
        &work.join("key.json").display().to_string(),
        "--max-failed-logins",
        "1000",
        "--max-logins-per-client",
        "100000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // One after the other: the first creates the schema, the users and the shared key file.
    let s0 = start_server(&bin, &server_args, &work.join("server-0.log")).await;
    let s1 = start_server(&bin, &server_args, &work.join("server-1.log")).await;
    let startup = wall_start.elapsed().as_secs_f64();
    let pids = [s0.pid, s1.pid];
    println!(
        "soak: servers {} (pid {}) and {} (pid {}), redis port {}, database {db}, {duration} s, {workers} workers",
        s0.base, s0.pid, s1.base, s1.pid, redis.port
    );

    let ctx = Arc::new(Ctx {
        client: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        bases: [s0.base.clone(), s1.base.clone()],
        start: Instant::now(),
        log: Mutex::new(Log::default()),
        users,
        lineages: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });

    // Memory samples.
    let rss: Arc<Mutex<Vec<RssSample>>> = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (ctx, rss) = (ctx.clone(), rss.clone());
        tokio::spawn(async move {
            while !ctx.stop.load(Ordering::Relaxed) {
                rss.lock().unwrap().push((ctx.now(), pids.map(rss_kib)));
                tokio::time::sleep(RSS_EVERY).await;
            }
        })
    };
    let poller = tokio::spawn(health_poller(ctx.clone()));
    let handles: Vec<_> = (0..workers)
        .map(|i| tokio::spawn(worker(ctx.clone(), i)))
        .collect();

    // Faults: once each in a short run, twice each otherwise.
    let schedule: Vec<(f64, &'static str)> = if duration < 120.0 {
        vec![(0.3, "redis"), (0.6, "postgres")]
    } else {
        vec![
            (0.15, "redis"),
            (0.35, "postgres"),
            (0.55, "redis"),
            (0.75, "postgres"),
        ]
    };
    let probe = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut faults = Vec::new();
    for (fraction, what) in schedule {
        let at = fraction * duration;
        tokio::time::sleep_until((ctx.start + Duration::from_secs_f64(at)).into()).await;
        let began = ctx.now();
        // Each instance's /health polled every 50 ms from before the restart until it answers
        // 200 to a request sent after the restart completed (at most 60 s after).
        let completed_at: Arc<Mutex<Option<f64>>> = Arc::new(Mutex::new(None));
        let pollers: Vec<_> = (0..2)
            .map(|inst| {
                let (probe, ctx, completed_at) = (probe.clone(), ctx.clone(), completed_at.clone());
                tokio::spawn(async move {
                    let mut seen: Vec<(f64, f64, Option<u16>)> = Vec::new();
                    loop {
                        let sent = ctx.now();
                        let status = probe
                            .get(format!("{}/health", ctx.bases[inst]))
                            .send()
                            .await
                            .ok()
                            .map(|r| r.status().as_u16());
                        let answered = ctx.now();
                        seen.push((sent, answered, status));
                        let completed = *completed_at.lock().unwrap();
                        if let Some(c) = completed
                            && ((status == Some(200) && sent >= c) || answered - c > 60.0)
                        {
                            return seen;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            })
            .collect();
        let ok = if what == "redis" {
            redis.stop().await;
            redis.start().await;
            true
        } else {
            restart_postgres().await
        };
        let completed = ctx.now();
        *completed_at.lock().unwrap() = Some(completed);
        let mut recovery = [None, None];
        let mut unhealthy_seen = [0usize, 0usize];
        let mut outage = [None, None];
        for (inst, poller) in pollers.into_iter().enumerate() {
            let seen = poller.await.unwrap();
            recovery[inst] = seen
                .iter()
                .find(|(sent, _, st)| *st == Some(200) && *sent >= completed)
                .map(|(_, answered, _)| answered - completed);
            let bad: Vec<_> = seen.iter().filter(|(_, _, st)| *st != Some(200)).collect();
            unhealthy_seen[inst] = bad.len();
            if let (Some(first), Some(last)) = (bad.first(), bad.last()) {
                outage[inst] = Some((first.0, last.1));
            }
        }
        println!(
            "soak: {what} restarted at {began:.1} s (took {:.2} s{}), healthy again after {:?} s, non-200 health answers {:?}",
            completed - began,
            if ok { "" } else { ", FAILED" },
            recovery.map(|r| r.map(|r| (r * 1000.0).round() / 1000.0)),
            unhealthy_seen
        );
        faults.push(Fault {
            what,
            at: began,
            completed,
            ok,
            recovery,
            unhealthy_seen,
            outage,
        });
    }
    tokio::time::sleep_until((ctx.start + Duration::from_secs_f64(duration)).into()).await;
    ctx.stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.await;
    }
    let _ = poller.await;
    let _ = sampler.await;
    let load_end = ctx.now();
    rss.lock().unwrap().push((load_end, pids.map(rss_kib)));
    let mut final_health = [None, None];
    for (health, base) in final_health.iter_mut().zip(&ctx.bases) {
        *health = probe
            .get(format!("{base}/health"))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
    }

    // Shut down: SIGTERM, exit status 0 expected.
    let mut exits = Vec::new();
    for mut s in [s0, s1] {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &s.pid.to_string()])
            .status();
        let status = tokio::time::timeout(Duration::from_secs(20), s.child.wait()).await;
        exits.push(match status {
            Ok(Ok(st)) => st.code(),
            _ => {
                let _ = s.child.kill().await;
                None
            }
        });
    }
    redis.stop().await;
    cleanup.dropped = psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));

    let log = std::mem::take(&mut *ctx.log.lock().unwrap());
    let rss = rss.lock().unwrap().clone();
    let report = analyse(&log, &faults, &rss, duration, final_health, &exits);
    let total = wall_start.elapsed().as_secs_f64();

    let mut md = String::new();
    let _ = writeln!(md, "# Reliability: soak test with store restarts\n");
    let _ = writeln!(
        md,
        "Produced by `{command}` (`scripts/soak.sh`, driver `examples/soak`), {started_at}.\n"
    );
    let _ = writeln!(
        md,
        "- Load: {duration} s, {workers} concurrent workers, each request to one of two instances at random (duplicate refreshes: one to each, at once); end to end {total:.0} s including {startup:.1} s start-up."
    );
    let _ = writeln!(
        md,
        "- Server: `{}` ({profile} build), two instances, one PostgreSQL database (`tw_soak_<pid>` on 127.0.0.1:5432) and one private redis-server (no persistence), `--max-failed-logins 1000 --max-logins-per-client 100000`, {USERS} users (argon2id).",
        bin.display()
    );
    let _ = writeln!(
        md,
        "- Faults: {}.",
        faults
            .iter()
            .map(|f| format!("{} restart at {:.0} s", f.what, f.at))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Ok(revision) = std::env::var("SOAK_REVISION") {
        let _ = writeln!(md, "- Source: {revision}.");
    }
    let _ = writeln!(
        md,
        "- Machine: {} cores.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    md.push_str(METHOD);
    md.push_str(&report.text);
    md.push_str(NOTES);
    print!("{}", report.text);
    println!(
        "soak: start-up {startup:.1} s, end to end {total:.1} s; work directory {}",
        work.display()
    );
    if let Some(path) = out_md {
        std::fs::write(&path, md).expect("write the report");
        println!("soak: wrote {}", path.display());
    }
    if report.pass {
        println!("soak: PASS");
        if std::env::var_os("SOAK_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&work);
        }
    } else {
        println!("soak: FAIL (logs kept in {})", work.display());
        std::process::exit(1);
    }
}

/// How the figures below are obtained, for the markdown report.
const METHOD: &str = "## What runs and what is checked

Each of the workers loops: a password login (8%), a validation `GET /users/me` of one of its
live sessions' access token (42%), a refresh (12%, or whenever the session's access token was
revoked), a concurrent duplicate refresh (6%: the same refresh token sent at once to both
instances), `POST /revoke` of an access token (6%) or of a refresh token (3%), `POST
/users/me/logout-all` (2%), and a probe (21%) re-sending a token it saw refused or spent (an
access token to `/users/me`, a refresh token to `/token`). Every request is recorded with the
instance, the token, the time it was sent and answered, and the answer. A `GET /health` of each
instance once a second is recorded too. The checks run on these records after the load:

1. A use (validation, refresh, logout-all) sent after a refusal point may not be answered 2xx.
   Refusal points: the 200 answer to `/revoke` of that access token; the 200 answer to `/revoke`
   of any refresh token of the same login (a refresh token revokes its whole login); the 204
   answer to a logout-all of the token's user, for tokens whose issuing answer came before that
   logout-all was sent; a 200 redemption of that refresh token; the completion of a Redis restart
   (all data lost), for tokens whose issuing answer came before the restart began. Tokens issued
   while the refusal was in flight are not judged. Refusals of valid tokens are not failures.
2. No refresh token has more than one 200 redemption (of the concurrent duplicates, at most one).
3. Every answer is 2xx, 4xx or 503; a connection error, a timeout (30 s) or a 5xx other than 503
   fails.
4. After each restart completes, each instance answers 200 to a `GET /health` sent after it
   within 5 s, and both answer 200 after the load.
5. VmRSS of both server processes (`/proc/PID/status`, every 5 s): the growth from the sample
   nearest 50% of the run to the last (after the load) may not exceed both 10% and 8 MiB.

";

/// Reading the figures, and running it; appended to the markdown report.
const NOTES: &str = "## Notes

- A Redis restart is SIGTERM to the private redis-server and a new one on the same port, with no
  persistence: every key is lost, which the servers must detect (the revocation epoch) and answer
  by refusing every earlier token (check 1's last figure counts such uses, all of which must be
  refused). The outage lasts tens of milliseconds, so the 50 ms health polls may see no 503.
- `pg_ctlcluster ... restart` (fast shutdown) returns a few seconds after PostgreSQL accepts
  connections again, so \"restart took\" overstates the outage; the window of non-200 health
  answers shows the outage as the servers saw it.
- 503 answers during a store outage are allowed (never a pass, never a 401); refusals of tokens
  that were valid (after a Redis data loss, or because a duplicate refresh revoked the login) are
  correct behaviour and not counted as failures.
- Not covered: restarts of the server processes themselves, network faults other than a stopped
  store, the actix-web server (`SOAK_SERVER_BIN=.../tokenward-actix`), release builds
  (`SOAK_SERVER_BIN=.../release/tokenward-axum`).
- CI: `bash scripts/soak.sh 60` (one restart of each store), with psql, redis-server and
  pg_ctlcluster installed, PostgreSQL on 127.0.0.1:5432 (trust, user postgres, database `test`)
  and a user allowed to restart it (root). Exit status 0 only when every check passes; the
  servers' and redis-server's logs are kept in `$TMPDIR/tw_soak_<pid>` when one fails
  (`SOAK_KEEP=1` keeps them always).
";

struct Report {
    text: String,
    pass: bool,
}

fn status_name(r: &Req) -> String {
    match (r.status, &r.error) {
        (Some(s), None) => s.to_string(),
        (_, Some(e)) => {
            if e.contains("timed out") {
                "error: timeout".into()
            } else if e.contains("onnection refused") {
                "error: connection refused".into()
            } else {
                "error: other".into()
            }
        }
        (None, None) => "?".into(),
    }
}

fn analyse(
    log: &Log,
    faults: &[Fault],
    rss: &[RssSample],
    duration: f64,
    final_health: [Option<u16>; 2],
    exits: &[Option<i32>],
) -> Report {
    let mut out = String::new();
    let mut pass = true;

    // Counts by kind and status.
    let mut counts: BTreeMap<Kind, BTreeMap<String, usize>> = BTreeMap::new();
    for r in &log.reqs {
        *counts
            .entry(r.kind)
            .or_default()
            .entry(status_name(r))
            .or_default() += 1;
    }
    let _ = writeln!(out, "## Requests by kind and answer\n");
    let _ = writeln!(out, "| kind | total | answers |");
    let _ = writeln!(out, "|---|---:|---|");
    for (kind, by) in &counts {
        let total: usize = by.values().sum();
        let answers: Vec<String> = by.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        let _ = writeln!(
            out,
            "| {} | {total} | {} |",
            kind.name(),
            answers.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "| all | {} | {} tokens issued |\n",
        log.reqs.len(),
        log.toks.len()
    );

    // Check 1: tokens accepted that should have been refused.
    let mut revoked_at: HashMap<usize, f64> = HashMap::new();
    let mut lineage_revoked_at: HashMap<usize, f64> = HashMap::new();
    let mut logouts: HashMap<usize, Vec<(f64, f64)>> = HashMap::new();
    let mut redeemed: HashMap<usize, Vec<&Req>> = HashMap::new();
    for r in &log.reqs {
        let Some(t) = r.token else { continue };
        match r.kind {
            Kind::RevokeAccess if r.status == Some(200) => {
                let e = revoked_at.entry(t).or_insert(f64::MAX);
                *e = e.min(r.done);
            }
            Kind::RevokeRefresh if r.status == Some(200) => {
                let e = lineage_revoked_at
                    .entry(log.toks[t].lineage)
                    .or_insert(f64::MAX);
                *e = e.min(r.done);
            }
            Kind::LogoutAll if is_ok(r.status) => {
                logouts.entry(r.user).or_default().push((r.sent, r.done));
            }
            k if k.redeems() && r.status == Some(200) => redeemed.entry(t).or_default().push(r),
            _ => {}
        }
    }
    let first_redeem: HashMap<usize, f64> = redeemed
        .iter()
        .map(|(t, rs)| (*t, rs.iter().map(|r| r.done).fold(f64::MAX, f64::min)))
        .collect();
    let mut violations: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut checked = [0usize; 5];
    for r in &log.reqs {
        let Some(t) = r.token else { continue };
        if !r.kind.accepts_token() {
            continue;
        }
        let tok = &log.toks[t];
        let accepted = is_ok(r.status);
        let describe = |why: &str| {
            format!(
                "{why}: {} of token #{t} ({} of user {}, login #{}, issued {:.3}-{:.3} s) to instance {} sent {:.3} s, answered {} at {:.3} s",
                r.kind.name(),
                if tok.access { "access" } else { "refresh" },
                tok.user,
                tok.lineage,
                tok.issued_sent,
                tok.issued_done,
                r.inst,
                r.sent,
                status_name(r),
                r.done
            )
        };
        if let Some(at) = revoked_at.get(&t).filter(|at| **at < r.sent) {
            checked[0] += 1;
            if accepted {
                violations
                    .entry("revoked access token accepted")
                    .or_default()
                    .push(describe(&format!("revoked at {at:.3} s")));
            }
        }
        if let Some(at) = lineage_revoked_at
            .get(&tok.lineage)
            .filter(|at| **at < r.sent)
        {
            checked[1] += 1;
            if accepted {
                violations
                    .entry("token of a revoked login accepted")
                    .or_default()
                    .push(describe(&format!("login revoked at {at:.3} s")));
            }
        }
        // After Redis lost its data, tokens issued before must be refused (the epoch).
        if let Some(f) = faults
            .iter()
            .find(|f| f.what == "redis" && tok.issued_done < f.at && f.completed < r.sent)
        {
            checked[4] += 1;
            if accepted {
                violations
                    .entry("token from before a Redis data loss accepted")
                    .or_default()
                    .push(describe(&format!(
                        "redis restarted {:.3}-{:.3} s",
                        f.at, f.completed
                    )));
            }
        }
        if let Some(list) = logouts.get(&tok.user)
            && let Some((s, d)) = list
                .iter()
                .find(|(s, d)| tok.issued_done < *s && *d < r.sent)
        {
            checked[2] += 1;
            if accepted {
                violations
                    .entry("token from before a logout-all accepted")
                    .or_default()
                    .push(describe(&format!(
                        "logout-all sent {s:.3} s, done {d:.3} s"
                    )));
            }
        }
        if r.kind.redeems()
            && let Some(at) = first_redeem.get(&t).filter(|at| **at < r.sent)
        {
            checked[3] += 1;
            if accepted {
                violations
                    .entry("refresh token redeemed again after a redemption")
                    .or_default()
                    .push(describe(&format!("first redeemed by {at:.3} s")));
            }
        }
    }
    // Check 2: at most one redemption per refresh token.
    let twice: Vec<(&usize, &Vec<&Req>)> = redeemed.iter().filter(|(_, rs)| rs.len() > 1).collect();
    let dup_pairs = log
        .reqs
        .iter()
        .filter(|r| r.kind == Kind::RefreshDup)
        .count()
        / 2;
    let dup_both = {
        let mut by: HashMap<usize, usize> = HashMap::new();
        for r in log
            .reqs
            .iter()
            .filter(|r| r.kind == Kind::RefreshDup && r.status == Some(200))
        {
            *by.entry(r.token.unwrap()).or_default() += 1;
        }
        by.values().filter(|n| **n > 1).count()
    };
    let dup_one = {
        let mut by: HashMap<usize, usize> = HashMap::new();
        for r in log
            .reqs
            .iter()
            .filter(|r| r.kind == Kind::RefreshDup && r.status == Some(200))
        {
            *by.entry(r.token.unwrap()).or_default() += 1;
        }
        by.values().filter(|n| **n == 1).count()
    };
    // Check 3: answers.
    let bad: Vec<&Req> = log
        .reqs
        .iter()
        .filter(|r| match r.status {
            Some(s) if r.error.is_none() => {
                !((200..300).contains(&s) || (400..500).contains(&s) || s == 503)
            }
            _ => true,
        })
        .collect();

    let n_viol: usize = violations.values().map(Vec::len).sum();
    let c1 = n_viol == 0;
    let c2 = twice.is_empty();
    let c3 = bad.is_empty();
    let c4 = faults.iter().all(|f| {
        f.ok && f
            .recovery
            .iter()
            .all(|r| r.is_some_and(|r| r <= RECOVERY_BOUND))
    }) && final_health == [Some(200), Some(200)];
    // Check 5: memory, samples nearest to 25, 50, 75 and 100 % of the run.
    let nearest = |f: f64| -> Option<&(f64, [Option<u64>; 2])> {
        rss.iter().min_by(|a, b| {
            (a.0 - f * duration)
                .abs()
                .total_cmp(&(b.0 - f * duration).abs())
        })
    };
    let quarters: Vec<(f64, Option<&RssSample>)> = [0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|f| (*f, nearest(*f)))
        .collect();
    let mut growth = [None, None];
    let mut c5 = true;
    for (inst, grown) in growth.iter_mut().enumerate() {
        let half = quarters[1].1.and_then(|s| s.1[inst]);
        let end = rss.last().and_then(|s| s.1[inst]);
        match (half, end) {
            (Some(h), Some(e)) => {
                let g = e as f64 - h as f64;
                let pct = 100.0 * g / h as f64;
                *grown = Some((g, pct));
                if pct > RSS_GROWTH_PCT && g > RSS_GROWTH_KIB as f64 {
                    c5 = false;
                }
            }
            _ => c5 = false,
        }
    }
    let exits_ok = exits.iter().all(|e| *e == Some(0));
    pass &= c1 && c2 && c3 && c4 && c5;

    let verdict = |ok: bool| if ok { "pass" } else { "**FAIL**" };
    let _ = writeln!(out, "## Checks\n");
    let _ = writeln!(out, "| # | check | figure | result |");
    let _ = writeln!(out, "|---|---|---|---|");
    let _ = writeln!(
        out,
        "| 1 | no token accepted that should have been refused | {n_viol} accepted; uses checked after the refusal point: {} of revoked access tokens, {} of tokens of revoked logins, {} of tokens from before a completed logout-all, {} redemptions of refresh tokens already redeemed, {} of tokens from before a Redis data loss | {} |",
        checked[0],
        checked[1],
        checked[2],
        checked[3],
        checked[4],
        verdict(c1)
    );
    let _ = writeln!(
        out,
        "| 2 | no refresh token redeemed twice | {} of {} redeemed refresh tokens redeemed more than once; concurrent duplicate pairs: {dup_pairs} sent, {dup_one} with exactly one 200, {dup_both} with two | {} |",
        twice.len(),
        redeemed.len(),
        verdict(c2)
    );
    let _ = writeln!(
        out,
        "| 3 | every answer 2xx, 4xx or 503; no connection error | {} of {} otherwise | {} |",
        bad.len(),
        log.reqs.len(),
        verdict(c3)
    );
    let _ = writeln!(
        out,
        "| 4 | both instances healthy (GET /health 200) within {RECOVERY_BOUND} s after each restart completes | slowest {}; after the load: {:?} | {} |",
        faults
            .iter()
            .flat_map(|f| f.recovery)
            .map(|r| r.map_or("never (60 s)".to_owned(), |r| format!("{r:.3} s")))
            .max_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
            .unwrap_or_default(),
        final_health,
        verdict(c4)
    );
    let _ = writeln!(
        out,
        "| 5 | memory flat: second-half RSS growth not over {RSS_GROWTH_PCT}% and {} MiB | instance 0: {}, instance 1: {} | {} |",
        RSS_GROWTH_KIB / 1024,
        fmt_growth(growth[0]),
        fmt_growth(growth[1]),
        verdict(c5)
    );
    let _ = writeln!(
        out,
        "\nServer exit statuses after SIGTERM: {exits:?}{}.\n",
        if exits_ok { "" } else { " (expected 0)" }
    );

    let _ = writeln!(out, "## Restarts and recovery\n");
    let _ = writeln!(
        out,
        "Recovery: from the restart's completion (redis-server accepting connections again after SIGTERM and a fresh start on the same port, which loses every key; `pg_ctlcluster ... restart` returned) to the answer of the first `GET /health` sent after it that answered 200. Each instance's `/health` is polled every 50 ms from the restart's start; \"non-200 health answers\" counts the answers other than 200 (or none within 10 s) meanwhile, and the window runs from the first such request sent to the last such answer.\n"
    );
    let _ = writeln!(
        out,
        "| store | restart began | restart took | instance 0 healthy after | instance 1 healthy after | non-200 health answers (instance 0, 1) | their window |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---|");
    for f in faults {
        let rec = |r: Option<f64>| r.map_or("not within 60 s".to_owned(), |r| format!("{r:.3} s"));
        let _ = writeln!(
            out,
            "| {} | {:.1} s | {:.2} s{} | {} | {} | {}, {} | {} |",
            f.what,
            f.at,
            f.completed - f.at,
            if f.ok { "" } else { " (command failed)" },
            rec(f.recovery[0]),
            rec(f.recovery[1]),
            f.unhealthy_seen[0],
            f.unhealthy_seen[1],
            f.outage
                .iter()
                .map(|o| o.map_or("-".to_owned(), |(a, b)| format!("{a:.2}-{b:.2} s")))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(out, "\n## Memory (VmRSS, MiB)\n");
    let _ = writeln!(out, "| point | time | instance 0 | instance 1 |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (f, s) in &quarters {
        if let Some((t, v)) = s {
            let _ = writeln!(
                out,
                "| {:.0}% | {t:.0} s | {} | {} |",
                f * 100.0,
                mib(v[0]),
                mib(v[1])
            );
        }
    }
    let _ = writeln!(
        out,
        "\nAll samples (every {} s; time s: instance 0 / instance 1 MiB): {}\n",
        RSS_EVERY.as_secs(),
        rss.iter()
            .map(|(t, v)| format!("{t:.0}: {}/{}", mib(v[0]), mib(v[1])))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if n_viol > 0 || !twice.is_empty() || !bad.is_empty() {
        let _ = writeln!(out, "## Failures (first 10 of each)\n");
        for (what, list) in &violations {
            let _ = writeln!(out, "- {what}: {}", list.len());
            for v in list.iter().take(10) {
                let _ = writeln!(out, "  - {v}");
            }
        }
        for (t, rs) in twice.iter().take(10) {
            let _ = writeln!(
                out,
                "- refresh token #{t} redeemed {} times: {}",
                rs.len(),
                rs.iter()
                    .map(|r| format!(
                        "{} instance {} sent {:.3} s answered {:.3} s",
                        r.kind.name(),
                        r.inst,
                        r.sent,
                        r.done
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        for r in bad.iter().take(10) {
            let _ = writeln!(
                out,
                "- {} to instance {} sent {:.3} s: {:?} {:?}",
                r.kind.name(),
                r.inst,
                r.sent,
                r.status,
                r.error
            );
        }
        let _ = writeln!(out);
    }
    Report { text: out, pass }
}

fn mib(k: Option<u64>) -> String {
    k.map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn fmt_growth(g: Option<(f64, f64)>) -> String {
    g.map_or("no samples".to_owned(), |(k, pct)| {
        format!("{:+.1} MiB ({pct:+.1}%)", k / 1024.0)
    })
}
