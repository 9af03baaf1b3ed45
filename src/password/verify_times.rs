//! How long recent verifications took, per cost class: the floor a failed login is padded to,
//! so its duration does not tell which kind of hash (if any) the account has.
//!
//! An unknown user costs one argon2id verification at the current parameters, a user with a
//! bcrypt-12 or Django PBKDF2 hash costs ten to twenty-five times that. Padding every failed login
//! to the slowest class recently seen makes them all take about as long, at the price of latency
//! (no CPU: the padding is a timer, outside the hashing permits).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::limits::HashCost;

/// Measurements kept per class; the floor is the slowest of them, so one class's own failures
/// are padded to its recent worst case too.
const SAMPLES: usize = 16;
/// Classes remembered; a deployment has a handful (current argon2 params plus legacy formats).
const MAX_CLASSES: usize = 32;
/// Samples older than this no longer count: once the users of a legacy class have logged in
/// (and been upgraded), that class stops setting the floor.
const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Default)]
pub(crate) struct VerifyTimes {
    classes: Mutex<HashMap<HashCost, Samples>>,
}

#[derive(Default)]
struct Samples {
    recent: [Option<(Duration, Instant)>; SAMPLES],
    next: usize,
}

impl Samples {
    /// The slowest sample taken within [`MAX_AGE`] of `now`.
    fn slowest(&self, now: Instant) -> Duration {
        self.recent
            .iter()
            .flatten()
            .filter(|(_, taken)| now.duration_since(*taken) <= MAX_AGE)
            .map(|(took, _)| *took)
            .max()
            .unwrap_or_default()
    }
}

impl VerifyTimes {
    pub(crate) fn record(&self, class: HashCost, took: Duration) {
        self.record_at(class, took, Instant::now());
    }

    fn record_at(&self, class: HashCost, took: Duration, now: Instant) {
        let Ok(mut classes) = self.classes.lock() else {
            return;
        };
        if classes.len() >= MAX_CLASSES && !classes.contains_key(&class) {
            // Forget the cheapest class: the floor only needs the slow ones.
            if let Some(cheapest) = classes
                .iter()
                .min_by_key(|(_, samples)| samples.slowest(now))
                .map(|(class, _)| *class)
            {
                classes.remove(&cheapest);
            }
        }
        let samples = classes.entry(class).or_default();
        samples.recent[samples.next] = Some((took, now));
        samples.next = (samples.next + 1) % SAMPLES;
    }

    /// The slowest recent verification of any class.
    pub(crate) fn floor(&self) -> Duration {
        self.floor_at(Instant::now())
    }

    fn floor_at(&self, now: Instant) -> Duration {
        self.classes
            .lock()
            .map(|classes| classes.values().map(|s| s.slowest(now)).max())
            .ok()
            .flatten()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_the_slowest_recent_sample_of_any_class() {
        let times = VerifyTimes::default();
        assert_eq!(times.floor(), Duration::ZERO);
        let bcrypt = HashCost::Bcrypt { cost: 12 };
        let argon2 = HashCost::Argon2 {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        };
        times.record(argon2, Duration::from_millis(25));
        times.record(bcrypt, Duration::from_millis(250));
        times.record(argon2, Duration::from_millis(30));
        assert_eq!(times.floor(), Duration::from_millis(250));
        // Older samples of a class roll off.
        for _ in 0..SAMPLES {
            times.record(bcrypt, Duration::from_millis(200));
        }
        assert_eq!(times.floor(), Duration::from_millis(200));
        // A day later, a class nobody verified against since no longer sets the floor.
        let later = Instant::now() + MAX_AGE + Duration::from_secs(1);
        times.record_at(argon2, Duration::from_millis(25), later);
        assert_eq!(times.floor_at(later), Duration::from_millis(25));
    }
}
