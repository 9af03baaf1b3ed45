//! [`HashLimits`]: the most expensive stored hash a hasher will verify. A stored hash can be
//! planted (an imported users file, a compromised row); the hard limits in
//! [`super::stored`] stop absurd ones at parse time, and these configurable ones bring the
//! ceiling down to what a deployment really stores, because the peak memory of logins is
//! `max_concurrent x` the largest argon2 memory cost admitted here.

use super::params::check_range;
use super::{Argon2Params, MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS, PasswordError};

/// What one verification may cost, read from a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum HashCost {
    Argon2 {
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    },
    Bcrypt {
        cost: u32,
    },
    Pbkdf2 {
        iterations: u32,
    },
}

/// Upper bounds on the parameters of stored hashes the hasher verifies. A hash above them is
/// refused before any work ([`PasswordError::UnsupportedParameters`]); a login against it fails
/// like a wrong password and is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    argon2_memory_kib: u32,
    argon2_iterations: u32,
    argon2_parallelism: u32,
    bcrypt_cost: u32,
    pbkdf2_iterations: u32,
}

impl HashLimits {
    /// argon2 m <= 64 MiB, t <= 10, p <= 8 (RFC 9106's second recommendation is 64 MiB, t = 3,
    /// p = 4); bcrypt cost <= 14 (about 1 s on one core); PBKDF2-SHA256 <= 1,500,000 iterations
    /// (Django 6 writes 1,200,000).
    pub const DEFAULT: Self = Self {
        argon2_memory_kib: 64 * 1024,
        argon2_iterations: 10,
        argon2_parallelism: 8,
        bcrypt_cost: 14,
        pbkdf2_iterations: 1_500_000,
    };

    /// Sets the argon2 bounds; each may be at most the hard limit of [`Argon2Params`].
    pub fn argon2(
        mut self,
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, PasswordError> {
        let max = Argon2Params::new(memory_kib, iterations, parallelism)?;
        self.argon2_memory_kib = max.memory_kib();
        self.argon2_iterations = max.iterations();
        self.argon2_parallelism = max.parallelism();
        Ok(self)
    }

    /// Sets the highest bcrypt cost (4 to [`MAX_BCRYPT_COST`]).
    pub fn bcrypt_cost(mut self, cost: u32) -> Result<Self, PasswordError> {
        check_range("bcrypt cost", cost, 4, MAX_BCRYPT_COST)?;
        self.bcrypt_cost = cost;
        Ok(self)
    }

    /// Sets the highest PBKDF2 iteration count (1 to [`MAX_PBKDF2_ITERATIONS`]).
    pub fn pbkdf2_iterations(mut self, iterations: u32) -> Result<Self, PasswordError> {
        check_range("PBKDF2 iterations", iterations, 1, MAX_PBKDF2_ITERATIONS)?;
        self.pbkdf2_iterations = iterations;
        Ok(self)
    }

    /// The largest argon2 memory cost admitted, in KiB: peak hashing memory is this times the
    /// hasher's permits.
    pub fn argon2_memory_kib(&self) -> u32 {
        self.argon2_memory_kib
    }

    /// These limits, raised where needed so hashes made with `params` always verify.
    pub(crate) fn admitting(mut self, params: &Argon2Params) -> Self {
        self.argon2_memory_kib = self.argon2_memory_kib.max(params.memory_kib());
        self.argon2_iterations = self.argon2_iterations.max(params.iterations());
        self.argon2_parallelism = self.argon2_parallelism.max(params.parallelism());
        self
    }

    pub(crate) fn check(&self, cost: HashCost) -> Result<(), PasswordError> {
        let over = |format, reason| Err(PasswordError::UnsupportedParameters { format, reason });
        match cost {
            HashCost::Argon2 {
                memory_kib,
                iterations,
                parallelism,
            } if memory_kib > self.argon2_memory_kib
                || iterations > self.argon2_iterations
                || parallelism > self.argon2_parallelism =>
            {
                over("argon2", "parameters above the configured limits")
            }
            HashCost::Bcrypt { cost } if cost > self.bcrypt_cost => {
                over("bcrypt", "cost above the configured limit")
            }
            HashCost::Pbkdf2 { iterations } if iterations > self.pbkdf2_iterations => {
                over("pbkdf2", "iteration count above the configured limit")
            }
            _ => Ok(()),
        }
    }
}

impl Default for HashLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_what_is_above_them_and_admit_the_configured_params() {
        let limits = HashLimits::DEFAULT;
        assert!(limits.check(HashCost::Bcrypt { cost: 14 }).is_ok());
        assert!(limits.check(HashCost::Bcrypt { cost: 15 }).is_err());
        assert!(
            limits
                .check(HashCost::Pbkdf2 {
                    iterations: 1_500_001
                })
                .is_err()
        );
        let big = HashCost::Argon2 {
            memory_kib: 128 * 1024,
            iterations: 2,
            parallelism: 1,
        };
        assert!(limits.check(big).is_err());
        let params = Argon2Params::new(128 * 1024, 2, 1).unwrap();
        assert!(limits.admitting(&params).check(big).is_ok());
        assert!(HashLimits::DEFAULT.bcrypt_cost(17).is_err());
        assert!(HashLimits::DEFAULT.pbkdf2_iterations(0).is_err());
    }
}
