//! Model-based test (issue #18.2): any interleaving of login, refresh, revocation (RFC 7009),
//! logout-all, password change and reset, validation and clock steps on one user, on the memory
//! stores and on SQLite, checked after every step against a small reference model of what the
//! contract says about every token ever issued.
//!
//! The property that matters is one-directional: no token the model calls dead is ever accepted
//! (`validate`, `validate_user`, `refresh`). The model is exact, so the other direction is
//! checked too (a login with the current password works, a live token validates, an unused live
//! refresh token rotates), which keeps the test from passing by refusing everything.
//!
//! What the model says, from `src/issuer.rs`, `docs/SECURITY.md` and the HTTP contract:
//! - a login starts a family (session); refreshes add tokens to it, carrying the login's
//!   generation and session end;
//! - presenting a used refresh token again, while the codec and the revocation checks would
//!   still accept it, revokes its whole family (and nothing else);
//! - revoking an access token revokes it alone; revoking a refresh token (used or not) revokes
//!   its family; revoking an expired token does nothing (RFC 7009: accepted silently);
//! - logout-all, a password change and a password reset kill every token issued before them,
//!   and a login right after works, within the same clock second too;
//! - a token is refused from its `exp` on (leeway 0 here); access and refresh tokens never
//!   outlive their session.
//!
//! Refresh tokens have no non-spending check for first-party tokens (introspection answers only
//! a token's own OAuth client), so after every step each dead refresh token whose refusal has no
//! side effect (expired, revoked family, cut off) is presented to `refresh` and must be refused;
//! a used token of a live family is presented only by the generated steps, since presenting it
//! revokes its family.
//!
//! `PROPTEST_CASES` sets the number of cases per backend (default 64).

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::store::memory::{MemoryRevocation, MemoryThrottle, MemoryUserStore};
use tokenward::store::{LoginThrottle, ThrottlePolicy, TokenRevocation, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};
use tokenward::{Error, Rejection, TokenIssuer, TokenPair, TokenTypeHint};

const USERNAME: &str = "alice";
const FIRST_PASSWORD: &str = "alice's first passphrase";
/// Short lifetimes, so generated clock steps reach every expiry, the session's end included.
const ACCESS_TTL_SECS: i64 = 60;
const REFRESH_TTL_SECS: i64 = 120;
const SESSION_SECS: i64 = 240;

// ---------------------------------------------------------------------------------------------
// Generated operations

/// Which token an operation uses.
#[derive(Clone, Copy, Debug)]
enum Pick {
    /// The n-th token of its kind issued so far (modulo their number): often an old one, so
    /// replays, revoked families and cut-off tokens come up.
    Any(u8),
    /// The newest token of its kind of the n-th login (modulo the number of logins): long
    /// rotation chains.
    Newest(u8),
    /// The token of its kind issued before the newest in the n-th login (the newest if there
    /// is none): replays of a just-used refresh token while its family is still alive, and
    /// access tokens that outlive a rotation.
    Previous(u8),
}

#[derive(Clone, Debug)]
enum Op {
    /// A password login with the current password.
    Login,
    /// A login with the previous password (or one that never was the password): must fail.
    LoginWrongPassword,
    Refresh(Pick),
    /// `validate`, or `validate_user` when `with_user`.
    Validate {
        pick: Pick,
        with_user: bool,
    },
    /// RFC 7009 revocation of an access token, with this hint.
    RevokeAccess(Pick, Option<TokenTypeHint>),
    /// RFC 7009 revocation of a refresh token, with this hint.
    RevokeRefresh(Pick, Option<TokenTypeHint>),
    LogoutAll,
    /// `change_password` with the current password.
    ChangePassword,
    /// `set_password` (an administrator's reset).
    ResetPassword,
    /// Moves the clock forward by this many milliseconds.
    Advance(u32),
}

#[derive(Clone, Debug)]
struct Case {
    /// `check_user_on_validate`.
    check_user: bool,
    /// Milliseconds past a whole second at which the clock starts.
    start_ms: u16,
    ops: Vec<Op>,
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        1 => any::<u8>().prop_map(Pick::Any),
        3 => any::<u8>().prop_map(Pick::Newest),
        1 => any::<u8>().prop_map(Pick::Previous),
    ]
}

fn hint() -> impl Strategy<Value = Option<TokenTypeHint>> {
    prop_oneof![
        Just(None),
        Just(Some(TokenTypeHint::AccessToken)),
        Just(Some(TokenTypeHint::RefreshToken)),
    ]
}

/// Clock steps: none (same-instant cutoffs), within a second, across a second boundary, and
/// past the access and refresh lifetimes within a few steps.
fn advance() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(400),
        Just(1_000),
        Just(7_000),
        Just(29_000),
        Just(61_000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Login),
        12 => pick().prop_map(Op::Refresh),
        4 => (pick(), any::<bool>()).prop_map(|(pick, with_user)| Op::Validate { pick, with_user }),
        2 => (pick(), hint()).prop_map(|(pick, hint)| Op::RevokeAccess(pick, hint)),
        1 => (pick(), hint()).prop_map(|(pick, hint)| Op::RevokeRefresh(pick, hint)),
        // Each cutoff kills every token: rare enough that families live long enough to rotate,
        // be replayed and be revoked.
        1 => Just(Op::LogoutAll),
        1 => Just(Op::ChangePassword),
        1 => Just(Op::ResetPassword),
        2 => Just(Op::LoginWrongPassword),
        4 => advance().prop_map(Op::Advance),
    ]
}

fn sequence() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        0u16..1000,
        prop::collection::vec(op(), 1..40),
    )
        .prop_map(|(check_user, start_ms, ops)| Case {
            check_user,
            start_ms,
            ops,
        })
}

// ---------------------------------------------------------------------------------------------
// The reference model

/// Why the contract says a token is dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Death {
    Expired,
    /// Its login's family was revoked (a refresh-token replay or revocation).
    FamilyRevoked,
    /// Issued before a logout-all, password change or reset.
    CutOff,
    /// An access token revoked by itself.
    Revoked,
    /// A refresh token already exchanged.
    Used,
}

struct Family {
    revoked: bool,
    /// Cutoffs (logout-all, password changes) that happened before the login.
    cutoffs: u32,
    session_exp: i64,
    /// Indices of the family's newest tokens and of the ones issued before them.
    newest_access: usize,
    newest_refresh: usize,
    previous_access: usize,
    previous_refresh: usize,
}

struct AccessToken {
    family: usize,
    exp: i64,
    revoked: bool,
    token: SecretString,
}

struct RefreshToken {
    family: usize,
    exp: i64,
    used: bool,
    token: SecretString,
}

struct Model {
    now_ms: i64,
    cutoffs: u32,
    families: Vec<Family>,
    access: Vec<AccessToken>,
    refresh: Vec<RefreshToken>,
}

impl Model {
    fn now_s(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    fn family_death(&self, family: usize) -> Option<Death> {
        let f = &self.families[family];
        if f.revoked {
            Some(Death::FamilyRevoked)
        } else if f.cutoffs != self.cutoffs {
            Some(Death::CutOff)
        } else {
            None
        }
    }

    fn access_death(&self, i: usize) -> Option<Death> {
        let a = &self.access[i];
        if self.now_s() >= a.exp {
            Some(Death::Expired)
        } else if a.revoked {
            Some(Death::Revoked)
        } else {
            self.family_death(a.family)
        }
    }

    /// Checked in the library's order: the codec, then the revocation store, then use.
    fn refresh_death(&self, i: usize) -> Option<Death> {
        let r = &self.refresh[i];
        if self.now_s() >= r.exp {
            Some(Death::Expired)
        } else if let Some(death) = self.family_death(r.family) {
            Some(death)
        } else if r.used {
            Some(Death::Used)
        } else {
            None
        }
    }

    /// Records a login's or a refresh's pair in `family`, checking the lifetimes the library
    /// gave it against the model's.
    fn record(&mut self, family: usize, pair: TokenPair) -> Result<(usize, usize), String> {
        let now = self.now_s();
        let session_exp = self.families[family].session_exp;
        let access_exp = (now + ACCESS_TTL_SECS).min(session_exp);
        let refresh_exp = (now + REFRESH_TTL_SECS).min(session_exp);
        if pair.access_claims.exp != access_exp {
            return Err(format!(
                "model mismatch: access token exp {} (model: {access_exp})",
                pair.access_claims.exp
            ));
        }
        self.access.push(AccessToken {
            family,
            exp: access_exp,
            revoked: false,
            token: pair.access_token,
        });
        self.refresh.push(RefreshToken {
            family,
            exp: refresh_exp,
            used: false,
            token: pair.refresh_token,
        });
        let (a, r) = (self.access.len() - 1, self.refresh.len() - 1);
        let f = &mut self.families[family];
        f.previous_access = f.newest_access.min(a);
        f.previous_refresh = f.newest_refresh.min(r);
        f.newest_access = a;
        f.newest_refresh = r;
        Ok((a, r))
    }

    fn login(&mut self, pair: TokenPair) -> Result<String, String> {
        self.families.push(Family {
            revoked: false,
            cutoffs: self.cutoffs,
            session_exp: self.now_s() + SESSION_SECS,
            // Past the end: `record` makes them the first pair.
            newest_access: usize::MAX,
            newest_refresh: usize::MAX,
            previous_access: usize::MAX,
            previous_refresh: usize::MAX,
        });
        let family = self.families.len() - 1;
        let (a, r) = self.record(family, pair)?;
        Ok(format!("login L{family} -> a{a} r{r}"))
    }

    fn family(&self, n: u8) -> &Family {
        &self.families[usize::from(n) % self.families.len()]
    }

    fn pick_access(&self, pick: Pick) -> Option<usize> {
        match pick {
            _ if self.access.is_empty() => None,
            Pick::Any(n) => Some(usize::from(n) % self.access.len()),
            Pick::Newest(n) => Some(self.family(n).newest_access),
            Pick::Previous(n) => Some(self.family(n).previous_access),
        }
    }

    fn pick_refresh(&self, pick: Pick) -> Option<usize> {
        match pick {
            _ if self.refresh.is_empty() => None,
            Pick::Any(n) => Some(usize::from(n) % self.refresh.len()),
            Pick::Newest(n) => Some(self.family(n).newest_refresh),
            Pick::Previous(n) => Some(self.family(n).previous_refresh),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The system under test

#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    #[cfg(feature = "sqlite")]
    Sqlite,
}

struct Harness {
    issuer: TokenIssuer,
    clock: Arc<ManualClock>,
    user_id: String,
    password: String,
    previous_password: Option<String>,
    changes: u32,
    /// The SQLite database's directory, removed when the case ends.
    _dir: Option<tempfile::TempDir>,
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

impl Harness {
    async fn new(backend: Backend, check_user: bool, start: OffsetDateTime) -> Self {
        let clock = Arc::new(ManualClock::new(start));
        let codec =
            TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "iss", "aud")
                .clock(clock.clone())
                .access_ttl(Duration::seconds(ACCESS_TTL_SECS))
                .leeway(Duration::ZERO)
                .build()
                .unwrap();
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .build()
            .unwrap();
        type Stores = (
            Arc<dyn UserStore>,
            Arc<dyn TokenRevocation>,
            Arc<dyn LoginThrottle>,
            Option<tempfile::TempDir>,
        );
        let (users, revocation, throttle, dir): Stores = match backend {
            Backend::Memory => (
                Arc::new(MemoryUserStore::new()),
                Arc::new(MemoryRevocation::new()),
                Arc::new(MemoryThrottle::new()),
                None,
            ),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("tokenward.db").display());
                // One object for all three, as the servers use it: validation then answers the
                // revocation and the user question in one statement.
                let store = Arc::new(
                    tokenward::store::sqlite::SqliteStore::open(&url)
                        .await
                        .unwrap(),
                );
                (store.clone(), store.clone(), store, Some(dir))
            }
        };
        let user = users
            .upsert(User {
                id: String::new(),
                username: USERNAME.into(),
                password_hash: hasher.hash(&secret(FIRST_PASSWORD)).unwrap(),
                scopes: Scopes::parse("items:read items:write").unwrap(),
                disabled: false,
                full_name: None,
                email: None,
            })
            .await
            .unwrap();
        let issuer = TokenIssuer::builder(codec, users, revocation)
            .password_hasher(hasher)
            // Wrong-password steps must not lock the account: throttling is tested elsewhere.
            .throttle(
                throttle,
                ThrottlePolicy {
                    max_failures: 1000,
                    window_secs: 60,
                },
            )
            .refresh_ttl(Duration::seconds(REFRESH_TTL_SECS))
            .session_lifetime(Duration::seconds(SESSION_SECS))
            .check_user_on_validate(check_user)
            .build()
            .unwrap();
        Self {
            issuer,
            clock,
            user_id: user.id,
            password: FIRST_PASSWORD.into(),
            previous_password: None,
            changes: 0,
            _dir: dir,
        }
    }

    /// Runs one step on the library and the model; `Err` says what went wrong.
    async fn apply(&mut self, m: &mut Model, op: &Op) -> Result<String, String> {
        match *op {
            Op::Login => {
                let pair = self
                    .issuer
                    .login(USERNAME, &secret(&self.password), None)
                    .await
                    .map_err(|e| format!("a login with the current password failed: {e:?}"))?;
                m.login(pair)
            }
            Op::LoginWrongPassword => {
                let wrong = self
                    .previous_password
                    .clone()
                    .unwrap_or_else(|| "never alice's passphrase".into());
                match self.issuer.login(USERNAME, &secret(&wrong), None).await {
                    Err(Error::InvalidCredentials) => Ok(format!("login with {wrong:?}: refused")),
                    Ok(_) => Err(format!(
                        "BUG: a login with {wrong:?}, not the current password, succeeded"
                    )),
                    Err(e) => Err(format!("a wrong-password login failed oddly: {e:?}")),
                }
            }
            Op::Refresh(pick) => {
                let Some(i) = m.pick_refresh(pick) else {
                    return Ok("refresh: no refresh token yet".into());
                };
                let family = m.refresh[i].family;
                let death = m.refresh_death(i);
                let result = self
                    .issuer
                    .refresh(m.refresh[i].token.expose_secret(), None)
                    .await;
                match (death, result) {
                    (None, Ok(pair)) => {
                        m.refresh[i].used = true;
                        let (a, r) = m.record(family, pair)?;
                        Ok(format!("refresh r{i} (L{family}) -> a{a} r{r}"))
                    }
                    (None, Err(e)) => Err(format!(
                        "refreshing r{i} (L{family}), unused and alive in the model, failed: {e:?}"
                    )),
                    (Some(death), Ok(_)) => Err(format!(
                        "BUG: refresh accepted r{i} (L{family}), which the contract says is \
                         dead ({death:?})"
                    )),
                    (Some(Death::Used), Err(Error::InvalidGrant(Rejection::RefreshReused))) => {
                        m.families[family].revoked = true;
                        Ok(format!(
                            "refresh r{i} (L{family}): replay refused, family L{family} revoked"
                        ))
                    }
                    (Some(Death::Used), Err(e)) => Err(format!(
                        "a replay of r{i} (L{family}) should be RefreshReused, got {e:?}"
                    )),
                    (Some(death), Err(Error::InvalidGrant(_))) => {
                        Ok(format!("refresh r{i} (L{family}): refused ({death:?})"))
                    }
                    (Some(death), Err(e)) => Err(format!(
                        "refresh of r{i} ({death:?}) failed with {e:?}, not invalid_grant"
                    )),
                }
            }
            Op::Validate { pick, with_user } => {
                let Some(i) = m.pick_access(pick) else {
                    return Ok("validate: no access token yet".into());
                };
                let token = m.access[i].token.expose_secret();
                let result = if with_user {
                    self.issuer.validate_user(token).await.map(|_| ())
                } else {
                    self.issuer.validate(token).await.map(|_| ())
                };
                let call = if with_user {
                    "validate_user"
                } else {
                    "validate"
                };
                check_access(m, i, call, result)?;
                Ok(format!("{call} a{i}: {:?}", m.access_death(i)))
            }
            Op::RevokeAccess(pick, hint) => {
                let Some(i) = m.pick_access(pick) else {
                    return Ok("revoke access: no access token yet".into());
                };
                self.issuer
                    .revoke(m.access[i].token.expose_secret(), hint)
                    .await
                    .map_err(|e| format!("revoking a{i} failed: {e:?}"))?;
                // An expired token is ignored (RFC 7009), and stays dead anyway.
                m.access[i].revoked = true;
                Ok(format!("revoke a{i} (hint {hint:?})"))
            }
            Op::RevokeRefresh(pick, hint) => {
                let Some(i) = m.pick_refresh(pick) else {
                    return Ok("revoke refresh: no refresh token yet".into());
                };
                self.issuer
                    .revoke(m.refresh[i].token.expose_secret(), hint)
                    .await
                    .map_err(|e| format!("revoking r{i} failed: {e:?}"))?;
                let family = m.refresh[i].family;
                // A refresh token the codec still accepts, used or not, revokes its family; an
                // expired one is ignored (RFC 7009) and the family's newer tokens live on.
                if m.refresh_death(i) == Some(Death::Expired) {
                    Ok(format!("revoke r{i} (hint {hint:?}): expired, ignored"))
                } else {
                    m.families[family].revoked = true;
                    Ok(format!(
                        "revoke r{i} (hint {hint:?}): family L{family} revoked"
                    ))
                }
            }
            Op::LogoutAll => {
                self.issuer
                    .logout_all(&self.user_id)
                    .await
                    .map_err(|e| format!("logout_all failed: {e:?}"))?;
                m.cutoffs += 1;
                Ok("logout_all".into())
            }
            Op::ChangePassword | Op::ResetPassword => {
                self.changes += 1;
                let new = format!("alice's passphrase number {}", self.changes);
                if matches!(op, Op::ChangePassword) {
                    self.issuer
                        .change_password(&self.user_id, &secret(&self.password), &secret(&new))
                        .await
                        .map_err(|e| format!("change_password failed: {e:?}"))?;
                } else {
                    self.issuer
                        .set_password(&self.user_id, &secret(&new))
                        .await
                        .map_err(|e| format!("set_password failed: {e:?}"))?;
                }
                self.previous_password = Some(std::mem::replace(&mut self.password, new));
                m.cutoffs += 1;
                Ok(format!("{op:?}"))
            }
            Op::Advance(ms) => {
                self.clock.advance(Duration::milliseconds(i64::from(ms)));
                m.now_ms += i64::from(ms);
                Ok(format!("advance {ms} ms (now +{} ms)", m.now_ms % 1000))
            }
        }
    }

    /// Checks every token ever issued against the model, without changing either.
    async fn sweep(&self, m: &Model) -> Result<(), String> {
        for i in 0..m.access.len() {
            let result = self
                .issuer
                .validate(m.access[i].token.expose_secret())
                .await
                .map(|_| ());
            check_access(m, i, "validate", result)?;
        }
        for (i, r) in m.refresh.iter().enumerate() {
            // Refusing these has no side effect; presenting a live token would spend it, and
            // presenting a used token of a live family would revoke the family.
            let death = match m.refresh_death(i) {
                None | Some(Death::Used) => continue,
                Some(death) => death,
            };
            match self.issuer.refresh(r.token.expose_secret(), None).await {
                Err(Error::InvalidGrant(_)) => {}
                Ok(_) => {
                    return Err(format!(
                        "BUG: refresh accepted r{i} (L{}), which the contract says is dead \
                         ({death:?})",
                        r.family
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "refresh of r{i} ({death:?}) failed with {e:?}, not invalid_grant"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// An access token's validation against the model: dead means refused, alive means accepted.
fn check_access(m: &Model, i: usize, call: &str, result: Result<(), Error>) -> Result<(), String> {
    let family = m.access[i].family;
    match (m.access_death(i), result) {
        (None, Ok(())) | (Some(_), Err(Error::InvalidToken(_))) => Ok(()),
        (Some(death), Ok(())) => Err(format!(
            "BUG: {call} accepted a{i} (L{family}), which the contract says is dead ({death:?})"
        )),
        (None, Err(e)) => Err(format!(
            "{call} refused a{i} (L{family}), alive in the model: {e:?}"
        )),
        (Some(death), Err(e)) => Err(format!(
            "{call} of a{i} ({death:?}) failed with {e:?}, not invalid_token"
        )),
    }
}

async fn run(backend: Backend, case: &Case) -> Result<(), String> {
    // Now, at a whole second plus `start_ms`: the stores prune by the system clock, so the
    // manual clock must not lag behind it.
    let base_s = OffsetDateTime::now_utc().unix_timestamp();
    let start_ms = base_s * 1000 + i64::from(case.start_ms);
    let start = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000)
        .map_err(|e| e.to_string())?;
    let mut h = Harness::new(backend, case.check_user, start).await;
    let mut m = Model {
        now_ms: start_ms,
        cutoffs: 0,
        families: Vec::new(),
        access: Vec::new(),
        refresh: Vec::new(),
    };
    let mut trace = Vec::new();
    for (step, op) in case.ops.iter().enumerate() {
        let outcome = match h.apply(&mut m, op).await {
            Ok(done) => {
                trace.push(format!("{step:>2}. {done}"));
                h.sweep(&m)
                    .await
                    .map_err(|e| format!("after step {step}: {e}"))
            }
            Err(e) => Err(format!("at step {step} ({op:?}): {e}")),
        };
        if let Err(e) = outcome {
            return Err(format!(
                "{backend:?} stores: {e}\nsteps before it:\n{}",
                trace.join("\n")
            ));
        }
    }
    Ok(())
}

fn check(backend: Backend, case: &Case) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(run(backend, case))
        .map_err(TestCaseError::fail)
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(64);
    let mut config = ProptestConfig::with_cases(cases);
    // No regression files written into the source tree; a failure prints its minimal case.
    config.failure_persistence = None;
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn memory_stores_never_accept_a_dead_token(case in sequence()) {
        check(Backend::Memory, &case)?;
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_store_never_accepts_a_dead_token(case in sequence()) {
        check(Backend::Sqlite, &case)?;
    }
}
