//! A map of short-lived records with a hard size bound, for the in-memory authorization store.
//!
//! Records of one kind (codes, sessions, pending requests) all live equally long, so the order
//! they were written in is the order they expire in: a queue of keys beside the map finds the
//! expired ones at its front. Each insert drops the expired records at the front and, when the
//! map is full, the oldest live one, so the work per insert is O(1) amortised and nothing ever
//! scans the whole map under the lock. The queue keeps stale entries of removed or rewritten
//! records (told apart by a sequence number); when they make it twice the capacity long, one
//! pass drops them all, which happens at most once per `capacity` writes.

use std::collections::{HashMap, VecDeque};

/// A record with its expiry and the sequence number of its last write.
struct Entry<V> {
    value: V,
    expires_at: i64,
    seq: u64,
}

/// Records by key, at most `capacity` of them.
pub(crate) struct ExpiringMap<V> {
    entries: HashMap<String, Entry<V>>,
    /// Keys in the order they were written, with the sequence number of that write.
    order: VecDeque<(String, u64)>,
    next_seq: u64,
    capacity: usize,
}

impl<V> ExpiringMap<V> {
    /// An empty map holding at most `capacity` records (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            capacity: capacity.max(1),
        }
    }

    /// Writes `value` under `key` until `expires_at`, first dropping what expired by `now`, and
    /// then the oldest records while the map is over its capacity.
    pub(crate) fn insert(&mut self, key: &str, value: V, expires_at: i64, now: i64) {
        self.drop_expired(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            key.to_owned(),
            Entry {
                value,
                expires_at,
                seq,
            },
        );
        self.order.push_back((key.to_owned(), seq));
        while self.entries.len() > self.capacity {
            if !self.pop_front() {
                break;
            }
        }
        if self.order.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.order
                .retain(|(key, seq)| entries.get(key).is_some_and(|entry| entry.seq == *seq));
        }
    }

    /// The record under `key`, expired or not (the caller decides what expiry means).
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|entry| &entry.value)
    }

    /// The record under `key`, to change in place.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.entries.get_mut(key).map(|entry| &mut entry.value)
    }

    /// Removes and returns the record under `key`. Its queue entry goes stale and is dropped
    /// when it reaches the front.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        self.entries.remove(key).map(|entry| entry.value)
    }

    /// How many records the map holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops queue entries from the front while they are stale or their record has expired.
    fn drop_expired(&mut self, now: i64) {
        while let Some((key, seq)) = self.order.front() {
            match self.entries.get(key) {
                Some(entry) if entry.seq == *seq && entry.expires_at >= now => break,
                _ => {
                    self.pop_front();
                }
            }
        }
    }

    /// Drops the front queue entry and, if it is its record's latest write, the record.
    /// `false` when the queue is empty.
    fn pop_front(&mut self) -> bool {
        let Some((key, seq)) = self.order.pop_front() else {
            return false;
        };
        if self.entries.get(&key).is_some_and(|entry| entry.seq == seq) {
            self.entries.remove(&key);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_drops_its_oldest_record() {
        let mut map = ExpiringMap::new(3);
        for (i, key) in ["a", "b", "c", "d"].into_iter().enumerate() {
            map.insert(key, i, 100, 0);
        }
        assert_eq!(map.len(), 3);
        assert_eq!(map.get("a"), None);
        assert_eq!(map.get("d"), Some(&3));
    }

    #[test]
    fn expired_records_leave_first() {
        let mut map = ExpiringMap::new(10);
        map.insert("old", 1, 50, 0);
        map.insert("new", 2, 200, 0);
        map.insert("newer", 3, 300, 100);
        assert_eq!(map.get("old"), None, "expired at 50, dropped at 100");
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn a_rewritten_record_keeps_its_latest_value_and_place() {
        let mut map = ExpiringMap::new(2);
        map.insert("a", 1, 100, 0);
        map.insert("b", 2, 100, 0);
        map.insert("a", 3, 100, 0);
        map.insert("c", 4, 100, 0);
        // "b" is now the oldest write: it goes, the rewritten "a" stays.
        assert_eq!(map.get("b"), None);
        assert_eq!(map.get("a"), Some(&3));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn rewrites_never_cost_a_live_record_below_capacity() {
        let mut map = ExpiringMap::new(4);
        map.insert("kept", 0, 100, 0);
        for i in 0..1000 {
            map.insert("busy", i, 100, 0);
        }
        assert_eq!(
            map.get("kept"),
            Some(&0),
            "one live record of two, capacity four"
        );
        assert_eq!(map.get("busy"), Some(&999));
        assert!(map.order.len() <= 8, "{}", map.order.len());
    }

    #[test]
    fn removals_do_not_let_the_queue_grow_without_bound() {
        let mut map = ExpiringMap::new(4);
        for i in 0..1000 {
            let key = format!("k{i}");
            map.insert(&key, i, 100, 0);
            map.remove(&key);
        }
        assert_eq!(map.len(), 0);
        assert!(map.order.len() <= 8, "{}", map.order.len());
    }
}
