//! Mining: the parallel nonce search, and the phase of a run that drives it and reports its
//! progress. The first 64 header bytes do not depend on the nonce, so their SHA-256 state is
//! computed once and every try compresses one more block, then the 32-byte digest. The result is
//! the smallest valid nonce, whatever the number of threads, so a block never depends on
//! scheduling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::core::hash::BlockHash;
use crate::core::header::BlockHeader;
use crate::hashing::lanes as short;

/// Nonces one task tries before reporting back.
const CHUNK: u64 = 1 << 16;

/// Hashes tried so far by every thread; read by a progress display.
#[derive(Debug, Default)]
pub struct MiningProgress {
    /// Headers hashed.
    pub hashes: AtomicU64,
}

/// Leading zero bits of a digest, checked without building a [`BlockHash`].
fn meets(hash: &[u8; 32], difficulty: u32) -> bool {
    let full = (difficulty / 8) as usize;
    if hash[..full].iter().any(|&b| b != 0) {
        return false;
    }
    let rest = difficulty % 8;
    rest == 0 || hash[full].leading_zeros() >= rest
}

/// Tries nonces `start..start + count` and returns the first that meets the target.
fn search_chunk(
    midstate: &[u32; 8],
    tail: &[u8; 32],
    difficulty: u32,
    start: u64,
    count: u64,
) -> Option<u64> {
    let end = start.saturating_add(count);
    let mut tails = [*tail; short::LANES];
    let mut nonce = start;
    while nonce < end {
        // LANES nonces side by side (short::finish_lanes); past `end`, lanes repeat the last one.
        let nonces: [u64; short::LANES] = std::array::from_fn(|l| (nonce + l as u64).min(end - 1));
        for (t, n) in tails.iter_mut().zip(nonces) {
            t[24..32].copy_from_slice(&n.to_be_bytes());
        }
        let first = short::finish_lanes(
            [*midstate; short::LANES],
            [64; short::LANES],
            tails.each_ref().map(|t| &t[..]),
        );
        let second = short::finish_lanes(
            [short::INITIAL; short::LANES],
            [0; short::LANES],
            first.each_ref().map(|f| &f[..]),
        );
        // In lane order, so the smallest valid nonce wins.
        if let Some(l) = second.iter().position(|h| meets(h, difficulty)) {
            return Some(nonces[l]);
        }
        nonce = nonce.saturating_add(short::LANES as u64);
    }
    None
}

/// The SHA-256 state after the header's first 64 bytes, which no nonce changes, and the last 32
/// bytes, into which each nonce is written.
fn midstate(template: &BlockHeader) -> ([u32; 8], [u8; 32]) {
    let bytes = template.to_bytes();
    let mut first = [0u8; 64];
    first.copy_from_slice(&bytes[..64]);
    let mut tail = [0u8; 32];
    tail.copy_from_slice(&bytes[64..]);
    (short::absorb(short::INITIAL, &first), tail)
}

/// Hashes `count` nonces of `template` from `start` on the calling thread and returns the first
/// that meets its difficulty: the unit of work of [`mine`], public for benchmarks.
pub fn hash_range(template: &BlockHeader, start: u64, count: u64) -> Option<u64> {
    let (midstate, tail) = midstate(template);
    let mut next = start;
    let end = start.saturating_add(count);
    while next < end {
        let n = CHUNK.min(end - next);
        if let Some(hit) = search_chunk(&midstate, &tail, template.difficulty, next, n) {
            return Some(hit);
        }
        next += n;
    }
    None
}

/// Finds the smallest nonce that gives `template` a hash with `template.difficulty` leading zero
/// bits, on all rayon threads. `None` only if no 64-bit nonce works (difficulty far above 64).
pub fn mine(template: &BlockHeader, progress: &MiningProgress) -> Option<(BlockHeader, BlockHash)> {
    let (midstate, tail) = midstate(template);
    let per_round = (rayon::current_num_threads() as u64 * 4).max(1);
    let mut round_start = 0u64;
    loop {
        let found = (0..per_round)
            .into_par_iter()
            .filter_map(|k| {
                let start = round_start.checked_add(k.checked_mul(CHUNK)?)?;
                let hit = search_chunk(&midstate, &tail, template.difficulty, start, CHUNK);
                progress.hashes.fetch_add(CHUNK, Ordering::Relaxed);
                hit
            })
            .min();
        if let Some(nonce) = found {
            let header = BlockHeader { nonce, ..*template };
            return Some((header, header.hash()));
        }
        round_start = round_start.checked_add(per_round * CHUNK)?;
    }
}

/// A mined block: its header and hash, the time the search took and the hashes it tried.
pub(super) struct Mined {
    pub header: BlockHeader,
    pub hash: BlockHash,
    pub elapsed: Duration,
    pub hashes: u64,
}

/// The mining phase of a run: [`mine`] on all cores while another thread tells `progress` how
/// many hashes were tried, ten times a second.
///
/// # Errors
/// When no 64-bit nonce meets the difficulty.
pub(super) fn mine_block(
    template: &BlockHeader,
    progress: &dyn super::Progress,
) -> Result<Mined, super::PipelineError> {
    let start = Instant::now();
    let counter = MiningProgress::default();
    progress.mining_started(template.difficulty);
    let found = std::thread::scope(|scope| {
        let counter = &counter;
        // Dropping `stop` wakes the reporter at once: a run never waits out its interval.
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(100))
            {
                progress.mining(counter.hashes.load(Ordering::Relaxed));
            }
        });
        let found = mine(template, counter);
        drop(stop);
        found
    });
    progress.mining_finished();
    let (header, hash) = found.ok_or_else(|| {
        super::PipelineError::Usage("no nonce meets this difficulty; lower --difficulty".into())
    })?;
    Ok(Mined {
        header,
        hash,
        elapsed: start.elapsed(),
        hashes: counter.hashes.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::empty_root;
    use crate::core::header::{HEADER_VERSION, leading_zero_bits};

    fn template(difficulty: u32) -> BlockHeader {
        BlockHeader {
            version: HEADER_VERSION,
            height: 0,
            prev: BlockHash::default(),
            anchor_root: empty_root(),
            time: 1_790_000_000,
            difficulty,
            nonce: 0,
        }
    }

    #[test]
    fn finds_the_smallest_valid_nonce() {
        let t = template(12);
        let (header, hash) = mine(&t, &MiningProgress::default()).unwrap();
        assert!(leading_zero_bits(&hash) >= 12);
        assert_eq!(hash, header.hash());
        // No smaller nonce qualifies: the result does not depend on which thread won.
        for n in 0..header.nonce {
            assert!(
                leading_zero_bits(&BlockHeader { nonce: n, ..t }.hash()) < 12,
                "nonce {n}"
            );
        }
    }

    /// Ranges of every length from every start, hashed LANES nonces at a time, give the first
    /// valid nonce in the range and never one past its end.
    #[test]
    fn hash_range_gives_the_first_valid_nonce_in_range() {
        let t = template(2);
        for start in 0..12u64 {
            for count in 0..9u64 {
                let want = (start..start + count)
                    .find(|&n| leading_zero_bits(&BlockHeader { nonce: n, ..t }.hash()) >= 2);
                assert_eq!(hash_range(&t, start, count), want, "{start} + {count}");
            }
        }
    }

    #[test]
    fn same_result_on_one_thread() {
        let t = template(10);
        let many = mine(&t, &MiningProgress::default()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let one = pool
            .install(|| mine(&t, &MiningProgress::default()))
            .unwrap();
        assert_eq!(many, one);
    }

    #[test]
    fn target_check_matches_leading_zero_bits() {
        for d in 0..=24 {
            let mut h = [0xffu8; 32];
            for bit in 0..d {
                h[bit / 8] &= !(0x80 >> (bit % 8));
            }
            assert!(meets(&h, d as u32));
            assert!(!meets(&h, d as u32 + 1));
        }
    }
}
