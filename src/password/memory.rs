//! Reused argon2 working memory.
//!
//! Every argon2 call needs `m` KiB of blocks. Allocating and freeing them per call lets glibc keep
//! the freed blocks in per-thread arenas, and tokio's blocking pool runs the calls on many
//! threads: a login storm grew an example server to 470-700 MiB with 2 permits of 19 MiB. Here
//! each call takes a buffer from a small pool (at most one per permit) and gives it back, so
//! resident memory stays near `permits x m`.

use std::sync::Mutex;

use argon2::Block;
use zeroize::Zeroize;

/// Buffers of argon2 blocks, handed out one per running hash.
pub(crate) struct BlockPool {
    free: Mutex<Vec<Vec<Block>>>,
    /// Buffers kept when returned; more than this are freed.
    keep: usize,
    /// Buffers larger than this (a legacy hash with a big `m`) are freed, not kept.
    keep_blocks: usize,
}

impl BlockPool {
    /// A pool keeping up to `keep` buffers of at most `keep_blocks` blocks.
    pub(crate) fn new(keep: usize, keep_blocks: usize) -> Self {
        Self {
            free: Mutex::new(Vec::new()),
            keep,
            keep_blocks,
        }
    }

    /// Runs `work` with exactly `count` blocks of working memory.
    pub(crate) fn with_blocks<T>(&self, count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut buffer = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        if buffer.len() < count {
            buffer.resize(count, Block::default());
        }
        let result = work(&mut buffer[..count]);
        // A kept buffer holds password-derived state until its next use overwrites every block
        // (argon2's first pass writes them all); a freed one is wiped first.
        let kept = buffer.len() <= self.keep_blocks
            && self
                .free
                .lock()
                .map(|mut free| {
                    if free.len() < self.keep {
                        free.push(std::mem::take(&mut buffer));
                        true
                    } else {
                        false
                    }
                })
                .unwrap_or(false);
        if !kept {
            buffer.iter_mut().for_each(Zeroize::zeroize);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_keep_buffers_of_the_usual_size() {
        let pool = BlockPool::new(1, 8);
        pool.with_blocks(8, |blocks| assert_eq!(blocks.len(), 8));
        assert_eq!(pool.free.lock().unwrap().len(), 1);
        // A legacy hash needing more memory gets it, but the big buffer is not kept.
        pool.with_blocks(16, |blocks| assert_eq!(blocks.len(), 16));
        assert_eq!(pool.free.lock().unwrap().len(), 0);
        pool.with_blocks(4, |blocks| assert_eq!(blocks.len(), 4));
        pool.with_blocks(4, |_| pool.with_blocks(4, |_| ()));
        assert_eq!(pool.free.lock().unwrap().len(), 1);
    }
}
