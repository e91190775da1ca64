//! The train/test split: stable per item, the same on every platform and run.

use uuid::Uuid;

/// "train" or "test" for an item, from a stable hash of its id: FNV-1a 64 over the 16 bytes,
/// then the MurmurHash3 finaliser to spread the high bits. The same on every platform and
/// run; the item is "test" when the hash, as a fraction of 2^64, is below `test_fraction`.
pub fn split(item_id: Uuid, test_fraction: f64) -> &'static str {
    let h = stable_hash(item_id, 0);
    let fraction = (h >> 11) as f64 / (1u64 << 53) as f64;
    if fraction < test_fraction {
        "test"
    } else {
        "train"
    }
}

/// One of `n` (> 0) choices for an item, stable as [`split`] is but independent of it: the
/// answer drawn for a best-vs-random pair.
pub fn stable_choice(item_id: Uuid, n: usize) -> usize {
    (stable_hash(item_id, 0x9e37_79b9_7f4a_7c15) % n.max(1) as u64) as usize
}

/// FNV-1a 64 over the 16 bytes (its offset basis xor `seed`), then the MurmurHash3
/// finaliser to spread the high bits.
fn stable_hash(item_id: Uuid, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in item_id.as_bytes() {
        h = (h ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}
