//! SHA-256 of short messages straight on sha2's compression function, several side by side:
//! the sponsor's speed work. A tail of at most [`MAX_TAIL`] bytes after a state that has absorbed
//! whole blocks (or none) is padded in one stack buffer and compressed, without the streaming
//! API's buffering; node hashes, record leaves, salts and mining hash millions of such
//! fixed-size messages. Tests check every tail length, and every lane, against the plain
//! SHA-256 of the verification core (`core::hash`), which no verifier needs this for.

use sha2::digest::generic_array::GenericArray;

use crate::core::hash::{HASH_SIZE, NODE_PREFIX, NodeHash};

/// SHA-256's initial state (FIPS 180-4 section 5.3.3).
pub const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Longest tail [`finish`] takes: two blocks less the padding's `0x80` and 8 length bytes.
pub const MAX_TAIL: usize = 2 * 64 - 9;

/// `state` after compressing one more whole block.
pub fn absorb(mut state: [u32; 8], block: &[u8; 64]) -> [u32; 8] {
    sha2::compress256(
        &mut state,
        std::slice::from_ref(GenericArray::from_slice(block)),
    );
    state
}

/// The digest of a message whose first `absorbed` bytes (a multiple of 64) are in `state` and
/// whose remaining bytes are `tail`.
///
/// # Panics
/// When `tail` is longer than [`MAX_TAIL`]: every caller passes a fixed size below it.
pub fn finish(state: [u32; 8], absorbed: u64, tail: &[u8]) -> [u8; 32] {
    let [out] = finish_lanes([state], [absorbed], [tail]);
    out
}

/// Messages hashed side by side by [`digest_lanes`] and [`finish_lanes`].
pub const LANES: usize = 8;

/// [`finish`] for several messages at once. A compression is a chain of dependent rounds, so
/// one message at a time leaves most of the SHA unit idle; issuing the messages' compressions
/// in turn lets the CPU run the independent chains side by side (about 1.5x the rate here;
/// eight lanes measured best end to end, against four and sixteen).
///
/// # Panics
/// When a tail is longer than [`MAX_TAIL`]: every caller passes a bounded size.
pub fn finish_lanes<const N: usize>(
    mut states: [[u32; 8]; N],
    absorbed: [u64; N],
    tails: [&[u8]; N],
) -> [[u8; 32]; N] {
    let mut bufs = [[0u8; 128]; N];
    let mut blocks = [0; N];
    for l in 0..N {
        let tail = tails[l];
        assert!(tail.len() <= MAX_TAIL, "tail of {} bytes", tail.len());
        let buf = &mut bufs[l];
        buf[..tail.len()].copy_from_slice(tail);
        buf[tail.len()] = 0x80;
        blocks[l] = if tail.len() + 9 <= 64 { 1 } else { 2 };
        let bits = (absorbed[l] + tail.len() as u64) * 8;
        buf[blocks[l] * 64 - 8..blocks[l] * 64].copy_from_slice(&bits.to_be_bytes());
    }
    for k in 0..2 {
        for l in 0..N {
            if k < blocks[l] {
                // 128 bytes are exactly two blocks.
                states[l] = absorb(states[l], &bufs[l].as_chunks::<64>().0[k]);
            }
        }
    }
    states.map(|state| {
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    })
}

/// SHA-256 of each message, their compressions issued in turn (see [`finish_lanes`]).
pub fn digest_lanes<const N: usize>(messages: [&[u8]; N]) -> [[u8; 32]; N] {
    let mut states = [INITIAL; N];
    let whole = messages.map(|m| m.len() / 64);
    for k in 0..whole.iter().copied().max().unwrap_or(0) {
        for l in 0..N {
            if k < whole[l] {
                // `whole[l]` counts the message's whole blocks, so block `k` exists.
                states[l] = absorb(states[l], &messages[l].as_chunks::<64>().0[k]);
            }
        }
    }
    let absorbed = whole.map(|w| 64 * w as u64);
    let mut tails = [&[][..]; N];
    for l in 0..N {
        tails[l] = &messages[l][64 * whole[l]..];
    }
    finish_lanes(states, absorbed, tails)
}

/// [`crate::core::hash::node_hash`] of several pairs at once, hashed side by side
/// ([`finish_lanes`]).
pub fn node_hashes<const N: usize>(pairs: [(&NodeHash, &NodeHash); N]) -> [NodeHash; N] {
    let bufs = pairs.map(|(left, right)| {
        let mut buf = [0u8; 1 + 2 * HASH_SIZE];
        buf[0] = NODE_PREFIX;
        buf[1..1 + HASH_SIZE].copy_from_slice(left.as_bytes());
        buf[1 + HASH_SIZE..].copy_from_slice(right.as_bytes());
        buf
    });
    finish_lanes([INITIAL; N], [0; N], bufs.each_ref().map(|b| &b[..])).map(NodeHash::from_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::{leaf_hash, node_hash};
    use sha2::{Digest, Sha256};

    /// Every tail length after zero, one and two absorbed blocks, against the streaming API.
    #[test]
    fn short_finish_matches_sha256() {
        let message: Vec<u8> = (0..=255u8).cycle().take(128 + MAX_TAIL).collect();
        for blocks in 0..=2 {
            let mut state = INITIAL;
            for b in message[..64 * blocks].chunks_exact(64) {
                state = absorb(state, b.try_into().unwrap());
            }
            for len in 0..=MAX_TAIL {
                let whole = &message[..64 * blocks + len];
                let want: [u8; 32] = Sha256::digest(whole).into();
                let got = finish(state, 64 * blocks as u64, &whole[64 * blocks..]);
                assert_eq!(got, want, "{blocks} blocks then {len} bytes");
            }
        }
    }

    /// Messages of every length from 0 to 300 bytes, four side by side with different lengths,
    /// against the streaming API.
    #[test]
    fn lanes_match_sha256() {
        let message: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for len in 0..=300 {
            let lens = [len, 300 - len, len / 2, (len * 7) % 301];
            let got = digest_lanes(lens.map(|n| &message[..n]));
            for (n, d) in lens.iter().zip(got) {
                assert_eq!(
                    d,
                    <[u8; 32]>::from(Sha256::digest(&message[..*n])),
                    "{n} bytes"
                );
            }
        }
        let nodes: Vec<NodeHash> = (0..8u8).map(|i| leaf_hash(&[i]).into_node()).collect();
        let pairs = std::array::from_fn::<_, 4, _>(|l| (&nodes[2 * l], &nodes[7 - l]));
        for ((l, r), got) in pairs.iter().zip(node_hashes(pairs)) {
            assert_eq!(got, node_hash(l, r));
        }
    }
}
