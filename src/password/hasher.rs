//! [`PasswordHasher`]: hashes with argon2id, verifies every supported format, and runs both off
//! the async executor on a bounded number of blocking threads.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Version};
use password_hash::SaltString;
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use tokio::sync::Semaphore;

use super::limits::HashLimits;
use super::memory::BlockPool;
use super::stored::StoredHash;
use super::verify_times::VerifyTimes;
use super::{Argon2Params, MAX_PASSWORD_BYTES, PasswordError, PasswordHash, PasswordPolicy};

/// The shortest pepper accepted, in bytes.
const MIN_PEPPER_BYTES: usize = 16;
/// Hashes that may wait for a permit, per permit, by default.
const DEFAULT_WAITING_PER_PERMIT: usize = 32;

/// A snapshot of the hasher's load, for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HasherStats {
    /// Hashes running now (at most the permits).
    pub running: usize,
    /// Hashes waiting for a permit (at most [`PasswordHasherBuilder::max_waiting`]).
    pub waiting: usize,
    /// Verifications run since the hasher was built (dummy ones for unknown users included).
    pub verifications: u64,
    /// Async calls refused with [`PasswordError::Busy`] since the hasher was built.
    pub refused_busy: u64,
}

/// Hashes and verifies passwords. Cheap to clone; clones share the concurrency limit.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    policy: PasswordPolicy,
    pepper: Option<SecretBox<[u8]>>,
    limits: HashLimits,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    /// Permits plus waiting places: a call that cannot get one is refused, not queued.
    admission: Arc<Semaphore>,
    max_waiting: usize,
    verifications: AtomicU64,
    refused_busy: AtomicU64,
    verify_times: VerifyTimes,
    /// Verified against when a username is unknown, so that path costs what a real one does.
    dummy: OnceLock<PasswordHash>,
    /// argon2 working memory, reused across calls.
    blocks: BlockPool,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("policy", &self.inner.policy)
            .field("pepper", &self.inner.pepper.as_ref().map(|_| "[REDACTED]"))
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("max_waiting", &self.inner.max_waiting)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::from_builder(PasswordHasher::builder())
    }
}

/// Configures a [`PasswordHasher`].
pub struct PasswordHasherBuilder {
    params: Argon2Params,
    policy: PasswordPolicy,
    pepper: Option<SecretBox<[u8]>>,
    max_concurrent: usize,
    max_waiting: Option<usize>,
    limits: HashLimits,
}

impl fmt::Debug for PasswordHasherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasherBuilder")
            .field("params", &self.params)
            .field("pepper", &self.pepper.as_ref().map(|_| "[REDACTED]"))
            .field("max_concurrent", &self.max_concurrent)
            .field("max_waiting", &self.max_waiting)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl PasswordHasherBuilder {
    /// argon2id parameters for new hashes; existing hashes with weaker ones are reported by
    /// [`PasswordHasher::needs_rehash`].
    pub fn params(mut self, params: Argon2Params) -> Self {
        self.params = params;
        self
    }

    /// The policy [`PasswordHasher::hash_new_password`] enforces.
    pub fn policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// A pepper: a server-side secret mixed into every argon2 hash (argon2's "secret" input), kept
    /// outside the database so a stolen database alone cannot be attacked offline.
    ///
    /// **Losing or changing the pepper invalidates every argon2 hash made with it**: no user can
    /// log in until their password is reset. Hashes made without a pepper stop verifying once one
    /// is set. Legacy formats (bcrypt, PBKDF2) do not use it. At least 16 bytes.
    pub fn pepper(mut self, pepper: SecretBox<[u8]>) -> Self {
        self.pepper = Some(pepper);
        self
    }

    /// How many hashes may run at once through the async API (default: the machine's available
    /// parallelism). Peak memory is about `max_concurrent x params.memory_kib()`.
    pub fn max_concurrent(mut self, permits: usize) -> Self {
        self.max_concurrent = permits.max(1);
        self
    }

    /// How many async calls may wait for a permit (default 32 per permit). Past that a call is
    /// refused at once with [`PasswordError::Busy`], so a login storm costs a bounded queue
    /// instead of unbounded latency and memory.
    pub fn max_waiting(mut self, waiting: usize) -> Self {
        self.max_waiting = Some(waiting);
        self
    }

    /// The most expensive stored hashes to verify (default [`HashLimits::DEFAULT`]); always
    /// raised to admit hashes made with the configured [`Self::params`].
    pub fn hash_limits(mut self, limits: HashLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the hasher, checking the pepper length.
    pub fn build(self) -> Result<PasswordHasher, PasswordError> {
        if let Some(pepper) = &self.pepper
            && pepper.expose_secret().len() < MIN_PEPPER_BYTES
        {
            return Err(PasswordError::PepperTooShort {
                min: MIN_PEPPER_BYTES,
            });
        }
        Ok(PasswordHasher::from_builder(self))
    }
}

impl PasswordHasher {
    /// A builder with the defaults: OWASP argon2id parameters, the default policy, no pepper, and
    /// one permit per available core.
    pub fn builder() -> PasswordHasherBuilder {
        PasswordHasherBuilder {
            params: Argon2Params::DEFAULT,
            policy: PasswordPolicy::default(),
            pepper: None,
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_waiting: None,
            limits: HashLimits::DEFAULT,
        }
    }

    fn from_builder(builder: PasswordHasherBuilder) -> Self {
        let PasswordHasherBuilder {
            params,
            policy,
            pepper,
            max_concurrent,
            max_waiting,
            limits,
        } = builder;
        let max_waiting =
            max_waiting.unwrap_or(max_concurrent.saturating_mul(DEFAULT_WAITING_PER_PERMIT));
        // Params were validated when `Argon2Params` was built; 0 only keeps no buffers.
        let usual_blocks = params.to_argon2().map_or(0, |p| p.block_count());
        let places = max_concurrent
            .saturating_add(max_waiting)
            .min(Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                params,
                policy,
                pepper,
                limits: limits.admitting(&params),
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                admission: Arc::new(Semaphore::new(places)),
                max_waiting,
                verifications: AtomicU64::new(0),
                refused_busy: AtomicU64::new(0),
                verify_times: VerifyTimes::default(),
                dummy: OnceLock::new(),
                blocks: BlockPool::new(max_concurrent, usual_blocks),
            }),
        }
    }

    /// The argon2id parameters new hashes get.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// The policy for new passwords.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.inner.policy
    }

    /// How many hashes the async API runs at once.
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }

    /// The limits on stored hashes this hasher verifies. Peak hashing memory is about
    /// `max_concurrent() x limits().argon2_memory_kib()` KiB.
    pub fn limits(&self) -> &HashLimits {
        &self.inner.limits
    }

    /// Current load and counters.
    pub fn stats(&self) -> HasherStats {
        let inner = &self.inner;
        let running = inner.max_concurrent - inner.permits.available_permits();
        let places = inner
            .max_concurrent
            .saturating_add(inner.max_waiting)
            .min(Semaphore::MAX_PERMITS);
        let in_flight = places - inner.admission.available_permits();
        HasherStats {
            running,
            waiting: in_flight.saturating_sub(running),
            verifications: inner.verifications.load(Ordering::Relaxed),
            refused_busy: inner.refused_busy.load(Ordering::Relaxed),
        }
    }

    /// The cheap checks every password gets before any hashing: not empty, at most
    /// [`MAX_PASSWORD_BYTES`], no NUL. The same for every caller, so running it first reveals
    /// nothing about any account.
    pub fn check_input(password: &SecretString) -> Result<(), PasswordError> {
        checked_input(password).map(drop)
    }

    /// How long a failed login should take at least: the slowest verification recently run, of
    /// any kind of stored hash (or the dummy one). Padding failures to it keeps their timing from
    /// telling unknown users from users with a cheap or an expensive (legacy) hash.
    pub fn failed_login_floor(&self) -> Duration {
        self.inner.verify_times.floor()
    }

    /// Checks a user-chosen password against the policy, then hashes it.
    pub fn hash_new_password(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<PasswordHash, PasswordError> {
        self.inner.policy.check(username, password)?;
        self.hash(password)
    }

    /// Hashes a password with argon2id and a fresh random salt, without the policy check (for
    /// imports and tools; user-chosen passwords go through [`Self::hash_new_password`]).
    pub fn hash(&self, password: &SecretString) -> Result<PasswordHash, PasswordError> {
        let password = checked_input(password)?;
        let salt = SaltString::generate(&mut OsRng);
        let params = self.inner.params.to_argon2()?;
        let argon2 = match &self.inner.pepper {
            Some(pepper) => Argon2::new_with_secret(
                pepper.expose_secret(),
                Algorithm::Argon2id,
                Version::V0x13,
                params,
            )
            .map_err(|_| PasswordError::Hashing)?,
            None => Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        };
        // What `argon2::PasswordHasher::hash_password` does, but in reused working memory.
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|_| PasswordError::Hashing)?;
        let output = self
            .inner
            .blocks
            .with_blocks(argon2.params().block_count(), |blocks| {
                password_hash::Output::init_with(argon2::Params::DEFAULT_OUTPUT_LEN, |out| {
                    argon2
                        .hash_password_into_with_memory(password, salt_bytes, out, blocks)
                        .map_err(|_| password_hash::Error::Crypto)
                })
            })
            .map_err(|_| PasswordError::Hashing)?;
        let phc = password_hash::PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: password_hash::ParamsString::try_from(argon2.params())
                .map_err(|_| PasswordError::Hashing)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        PasswordHash::parse(phc.to_string())
    }

    /// Verifies `password` against a stored hash in any supported format. `Ok(false)` means the
    /// password is wrong; errors mean the input or the hash could not be checked at all.
    pub fn verify(
        &self,
        password: &SecretString,
        hash: &PasswordHash,
    ) -> Result<bool, PasswordError> {
        let password = checked_input(password)?;
        let stored = StoredHash::parse(hash.expose_secret())?;
        let cost = stored.cost();
        self.inner.limits.check(cost)?;
        let pepper = match stored.format() {
            super::HashFormat::Argon2id
            | super::HashFormat::Argon2i
            | super::HashFormat::Argon2d => self.inner.pepper.as_ref().map(|p| p.expose_secret()),
            _ => None,
        };
        self.inner.verifications.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let verdict = stored.verify(password, pepper, &self.inner.blocks);
        self.inner.verify_times.record(cost, started.elapsed());
        verdict
    }

    /// Whether a hash should be replaced after a successful verification: any format other than
    /// argon2id v0x13, or argon2id with parameters weaker than the configured ones.
    pub fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        StoredHash::parse(hash.expose_secret())
            .map_or(true, |stored| stored.is_outdated(&self.inner.params))
    }

    /// Spends the time of one verification with the current parameters, against a hash no
    /// password matches. Call it when the username is unknown, so a login attempt takes as long
    /// for a user that does not exist as for one that does. Always returns `false`.
    pub fn verify_dummy(&self, password: &SecretString) -> bool {
        let dummy = match self.inner.dummy.get() {
            Some(dummy) => dummy,
            None => {
                let mut random = [0u8; 32];
                OsRng.fill_bytes(&mut random);
                let secret = SecretString::from(format!("{random:02x?}"));
                match self.hash(&secret) {
                    Ok(hash) => self.inner.dummy.get_or_init(|| hash),
                    Err(_) => return false,
                }
            }
        };
        // The result is irrelevant, only the time spent matters.
        let _ = self.verify(password, dummy);
        false
    }

    /// [`Self::hash`] on tokio's blocking pool, within the concurrency limit.
    pub async fn hash_async(&self, password: &SecretString) -> Result<PasswordHash, PasswordError> {
        let password = password.clone();
        self.run_blocking(move |hasher| hasher.hash(&password))
            .await?
    }

    /// [`Self::hash_new_password`] on tokio's blocking pool, within the concurrency limit.
    pub async fn hash_new_password_async(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<PasswordHash, PasswordError> {
        // The policy check is cheap; failing it must not wait for a permit.
        self.inner.policy.check(username, password)?;
        self.hash_async(password).await
    }

    /// [`Self::verify`] on tokio's blocking pool, within the concurrency limit.
    pub async fn verify_async(
        &self,
        password: &SecretString,
        hash: &PasswordHash,
    ) -> Result<bool, PasswordError> {
        // Cheap rejections first, so oversized input never waits for (or holds) a permit.
        checked_input(password)?;
        let password = password.clone();
        let hash = hash.clone();
        self.run_blocking(move |hasher| hasher.verify(&password, &hash))
            .await?
    }

    /// [`Self::verify_dummy`] on tokio's blocking pool, within the concurrency limit.
    pub async fn verify_dummy_async(&self, password: &SecretString) -> Result<bool, PasswordError> {
        let password = password.clone();
        self.run_blocking(move |hasher| hasher.verify_dummy(&password))
            .await
    }

    pub(crate) async fn run_blocking<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| PasswordError::NoRuntime)?;
        let Ok(place) = Arc::clone(&self.inner.admission).try_acquire_owned() else {
            self.inner.refused_busy.fetch_add(1, Ordering::Relaxed);
            return Err(PasswordError::Busy);
        };
        let waiting_since = Instant::now();
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::WorkerFailed)?;
        metrics::histogram!(crate::metrics::HASH_WAIT)
            .record(waiting_since.elapsed().as_secs_f64());
        let hasher = self.clone();
        runtime
            .spawn_blocking(move || {
                let result = work(&hasher);
                drop(permit);
                drop(place);
                result
            })
            .await
            .map_err(|_| PasswordError::WorkerFailed)
    }
}

/// The checks every password gets before any hashing work.
fn checked_input(password: &SecretString) -> Result<&[u8], PasswordError> {
    let password = password.expose_secret();
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    if password.contains('\0') {
        return Err(PasswordError::ContainsNul);
    }
    Ok(password.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_work_never_exceeds_the_permits() {
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .max_concurrent(2)
            .build()
            .unwrap();
        let hash = hasher.hash(&SecretString::from("bounded")).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        // tokio's blocking pool alone would run all 16 at once; the semaphore must cap it at 2.
        for _ in 0..16 {
            let (hasher, hash) = (hasher.clone(), hash.clone());
            let (running, peak) = (running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                hasher
                    .run_blocking(move |h| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        let ok = h.verify(&SecretString::from("bounded"), &hash);
                        running.fetch_sub(1, Ordering::SeqCst);
                        ok
                    })
                    .await
            }));
        }
        for task in tasks {
            assert!(task.await.unwrap().unwrap().unwrap());
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "peak concurrency {peak}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_past_the_waiting_bound_are_refused_at_once() {
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .max_concurrent(1)
            .max_waiting(2)
            .build()
            .unwrap();
        // One call holds the permit until released; two more wait for it.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(std::sync::Mutex::new(held));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (hasher, held) = (hasher.clone(), held.clone());
            tasks.push(tokio::spawn(async move {
                hasher
                    .run_blocking(move |_| held.lock().map(|rx| rx.recv().is_ok()).unwrap_or(false))
                    .await
            }));
        }
        let settled = HasherStats {
            running: 1,
            waiting: 2,
            verifications: 0,
            refused_busy: 0,
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while hasher.stats() != settled {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("one call runs and two wait");
        // The fourth is refused without waiting, and counted.
        let refused = hasher.verify_dummy_async(&SecretString::from("x")).await;
        assert!(matches!(refused, Err(PasswordError::Busy)), "{refused:?}");
        assert_eq!(hasher.stats().refused_busy, 1);
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for task in tasks {
            assert!(matches!(task.await.unwrap(), Ok(true)));
        }
        let stats = hasher.stats();
        assert_eq!((stats.running, stats.waiting), (0, 0));
    }
}
