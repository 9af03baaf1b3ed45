//! The mixed load: workers that log in, validate, refresh (sometimes twice at once, one request
//! to each instance), revoke, log out everywhere and re-send tokens that must stay refused, and a
//! once-a-second health poll, every request recorded through `Ctx`. The report's method section
//! (`report.rs`) states the proportions chosen in `worker`; the two must be changed together.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::USERS;
use crate::records::{Kind, Log, Req, Tok, is_ok};

/// What every worker shares: the HTTP client, the two instances, the run's clock and records.
pub struct Ctx {
    pub client: reqwest::Client,
    pub bases: [String; 2],
    pub start: Instant,
    pub log: Mutex<Log>,
    pub users: Vec<(String, String)>,
    pub lineages: AtomicUsize,
    pub stop: AtomicBool,
}

impl Ctx {
    /// The context of a run against the servers at `bases`; its clock starts now.
    pub fn new(bases: [String; 2], users: Vec<(String, String)>) -> Self {
        Ctx {
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            bases,
            start: Instant::now(),
            log: Mutex::new(Log::default()),
            users,
            lineages: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        }
    }

    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub async fn call(
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

    pub fn token_form(&self, inst: usize, body: String) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/token", self.bases[inst]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Registers the tokens of a 200 from `/token`.
    pub fn issued(
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

/// A worker's live login: its user, login number, and current tokens (record index, value).
pub struct Sess {
    pub user: usize,
    pub lineage: usize,
    pub access: Option<(usize, String)>,
    pub refresh: (usize, String),
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

pub async fn worker(ctx: Arc<Ctx>, id: usize) {
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

pub async fn health_poller(ctx: Arc<Ctx>) {
    while !ctx.stop.load(Ordering::Relaxed) {
        for inst in 0..2 {
            let req = ctx.client.get(format!("{}/health", ctx.bases[inst]));
            ctx.call(Kind::Health, inst, None, usize::MAX, req).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
