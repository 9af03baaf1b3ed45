//! [`PasswordHasher`]: hashes with argon2id, verifies every supported format, and runs both off
//! the async executor on a bounded number of blocking threads.

use std::fmt;
use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Version};
use password_hash::SaltString;
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use tokio::sync::Semaphore;

use super::memory::BlockPool;
use super::stored::StoredHash;
use super::{Argon2Params, MAX_PASSWORD_BYTES, PasswordError, PasswordHash, PasswordPolicy};

/// The shortest pepper accepted, in bytes.
const MIN_PEPPER_BYTES: usize = 16;

/// Hashes and verifies passwords. Cheap to clone; clones share the concurrency limit.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    policy: PasswordPolicy,
    pepper: Option<SecretBox<[u8]>>,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
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
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        let builder = PasswordHasher::builder();
        Self::from_parts(builder.params, builder.policy, None, builder.max_concurrent)
    }
}

/// Configures a [`PasswordHasher`].
pub struct PasswordHasherBuilder {
    params: Argon2Params,
    policy: PasswordPolicy,
    pepper: Option<SecretBox<[u8]>>,
    max_concurrent: usize,
}

impl fmt::Debug for PasswordHasherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasherBuilder")
            .field("params", &self.params)
            .field("pepper", &self.pepper.as_ref().map(|_| "[REDACTED]"))
            .field("max_concurrent", &self.max_concurrent)
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

    /// Builds the hasher, checking the pepper length.
    pub fn build(self) -> Result<PasswordHasher, PasswordError> {
        if let Some(pepper) = &self.pepper
            && pepper.expose_secret().len() < MIN_PEPPER_BYTES
        {
            return Err(PasswordError::PepperTooShort {
                min: MIN_PEPPER_BYTES,
            });
        }
        Ok(PasswordHasher::from_parts(
            self.params,
            self.policy,
            self.pepper,
            self.max_concurrent,
        ))
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
        }
    }

    fn from_parts(
        params: Argon2Params,
        policy: PasswordPolicy,
        pepper: Option<SecretBox<[u8]>>,
        max_concurrent: usize,
    ) -> Self {
        // Params were validated when `Argon2Params` was built; 0 only keeps no buffers.
        let usual_blocks = params.to_argon2().map_or(0, |p| p.block_count());
        Self {
            inner: Arc::new(Inner {
                params,
                policy,
                pepper,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
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
        let pepper = match stored.format() {
            super::HashFormat::Argon2id
            | super::HashFormat::Argon2i
            | super::HashFormat::Argon2d => self.inner.pepper.as_ref().map(|p| p.expose_secret()),
            _ => None,
        };
        stored.verify(password, pepper, &self.inner.blocks)
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

    async fn run_blocking<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| PasswordError::NoRuntime)?;
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::WorkerFailed)?;
        let hasher = self.clone();
        runtime
            .spawn_blocking(move || {
                let result = work(&hasher);
                drop(permit);
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
}
