//! Argon2id cost parameters, validated at construction.

use super::PasswordError;

/// Cost parameters for hashing new passwords with argon2id.
///
/// Construction validates every field, so a value of this type is always usable. The defaults are
/// the OWASP recommendation (m = 19 MiB, t = 2, p = 1). Other OWASP-equivalent pairs are
/// m = 46 MiB/t = 1, m = 12 MiB/t = 3, m = 9 MiB/t = 4 and m = 7 MiB/t = 5; [`Self::MIN_MEMORY_KIB`]
/// with one iteration is accepted for tests and very small devices, but is weaker than all of them.
///
/// Memory is per concurrent hash: with `N` hashing permits a server needs about `N x memory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl Argon2Params {
    /// Lowest accepted memory cost in KiB (7 MiB, the smallest OWASP configuration).
    pub const MIN_MEMORY_KIB: u32 = 7 * 1024;
    /// Default memory cost in KiB (19 MiB, OWASP).
    pub const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
    /// Highest accepted memory cost in KiB (256 MiB), for new hashes and for stored ones.
    ///
    /// A stored hash asking for more is refused before any memory is allocated, so a planted hash
    /// cannot make a verification allocate gigabytes.
    pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
    /// Lowest accepted iteration count.
    pub const MIN_ITERATIONS: u32 = 1;
    /// Default iteration count (OWASP).
    pub const DEFAULT_ITERATIONS: u32 = 2;
    /// Highest accepted iteration count, for new hashes and for stored ones.
    pub const MAX_ITERATIONS: u32 = 64;
    /// Lowest accepted degree of parallelism (lanes).
    pub const MIN_PARALLELISM: u32 = 1;
    /// Default degree of parallelism.
    pub const DEFAULT_PARALLELISM: u32 = 1;
    /// Highest accepted degree of parallelism, for new hashes and for stored ones.
    pub const MAX_PARALLELISM: u32 = 16;

    /// The OWASP default: m = 19 MiB, t = 2, p = 1.
    pub const DEFAULT: Self = Self {
        memory_kib: Self::DEFAULT_MEMORY_KIB,
        iterations: Self::DEFAULT_ITERATIONS,
        parallelism: Self::DEFAULT_PARALLELISM,
    };

    /// Validated parameters; an error names the field that is out of range.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, PasswordError> {
        check_range(
            "memory (KiB)",
            memory_kib,
            Self::MIN_MEMORY_KIB,
            Self::MAX_MEMORY_KIB,
        )?;
        check_range(
            "iterations",
            iterations,
            Self::MIN_ITERATIONS,
            Self::MAX_ITERATIONS,
        )?;
        check_range(
            "parallelism",
            parallelism,
            Self::MIN_PARALLELISM,
            Self::MAX_PARALLELISM,
        )?;
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes over memory.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// Whether a hash made with `other` is weaker than one made with `self` in any dimension.
    pub(crate) fn is_stronger_than(&self, other: &Self) -> bool {
        other.memory_kib < self.memory_kib
            || other.iterations < self.iterations
            || other.parallelism < self.parallelism
    }

    /// Parameters read from a stored hash: only the upper bounds apply (old, weak hashes must
    /// still verify so they can be upgraded), plus argon2's own structural lower bounds.
    pub(crate) fn from_stored(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, PasswordError> {
        let stored = |reason| PasswordError::UnsupportedParameters {
            format: "argon2",
            reason,
        };
        if memory_kib > Self::MAX_MEMORY_KIB {
            return Err(stored("memory cost above the 256 MiB limit"));
        }
        if iterations > Self::MAX_ITERATIONS {
            return Err(stored("iteration count above the limit of 64"));
        }
        if parallelism > Self::MAX_PARALLELISM {
            return Err(stored("parallelism above the limit of 16"));
        }
        if iterations < 1 || parallelism < 1 || memory_kib < 8 * parallelism {
            return Err(stored("parameters below argon2's minimum"));
        }
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    pub(crate) fn to_argon2(self) -> Result<argon2::Params, PasswordError> {
        argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(
            |_| PasswordError::UnsupportedParameters {
                format: "argon2",
                reason: "parameters rejected by argon2",
            },
        )
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

pub(crate) fn check_range(
    field: &'static str,
    value: u32,
    min: u32,
    max: u32,
) -> Result<(), PasswordError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(PasswordError::InvalidParameters {
            field,
            value,
            min,
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_owasp() {
        let p = Argon2Params::default();
        assert_eq!(
            (p.memory_kib(), p.iterations(), p.parallelism()),
            (19456, 2, 1)
        );
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_field() {
        for (m, t, p, field) in [
            (1024, 2, 1, "memory (KiB)"),
            (u32::MAX, 2, 1, "memory (KiB)"),
            (19456, 0, 1, "iterations"),
            (19456, 65, 1, "iterations"),
            (19456, 2, 0, "parallelism"),
            (19456, 2, 17, "parallelism"),
        ] {
            match Argon2Params::new(m, t, p) {
                Err(PasswordError::InvalidParameters { field: f, .. }) => assert_eq!(f, field),
                other => panic!("({m},{t},{p}) gave {other:?}"),
            }
        }
    }

    #[test]
    fn stored_bounds() {
        assert!(Argon2Params::from_stored(4 * 1024 * 1024, 1, 1).is_err());
        assert!(Argon2Params::from_stored(65536, 1000, 1).is_err());
        assert!(Argon2Params::from_stored(16, 1, 4).is_err());
        assert!(Argon2Params::from_stored(64, 1, 1).is_ok());
    }
}
